/**
 * History store insert rate and size: synthetic ended flows in the flow table's column layout
 * (src/store/synthetic-flows.ts) inserted into a FlowStore in batches, as the engine's sink will.
 *
 *   bun bench/store-insert.ts [--rows 10000000] [--batch 4096] [--span-hours 168] [--keep DIR]
 *
 * Flows end evenly over the last `span-hours` (default 7 days: the retention window), so segments
 * roll over by the hour (or at 250,000 flows). Prints the sustained rate (flows/s over the whole
 * run, retention step included every second) and the database bytes per stored flow at 1 M and
 * at the end (page_count × page_size / rows, and pages in use / rows). With --keep the database
 * stays in DIR/history.db for bench/store-query.ts.
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FlowColumns } from "../src/flows/table/columns.ts";
import { FlowStore } from "../src/store/flow-store.ts";
import { SEGMENT_INDEXES } from "../src/store/schema.ts";
import { SyntheticFlows } from "../src/store/synthetic-flows.ts";
import { opt } from "./args.ts";

const rows = opt("rows", 10_000_000);
const batch = opt("batch", 4096);
const spanHours = opt("span-hours", 168);
const keepIdx = process.argv.indexOf("--keep");
const dir = keepIdx > 0 ? process.argv[keepIdx + 1]! : mkdtempSync(join(tmpdir(), "store-insert-"));
const path = join(dir, "history.db");
rmSync(path, { force: true });
rmSync(path + "-wal", { force: true });
rmSync(path + "-shm", { force: true });

const nowSec = Date.now() / 1000;
const spacing = (spanHours * 3600) / rows;
const gen = new SyntheticFlows(42, 1, nowSec - spanHours * 3600, spacing);
const store = new FlowStore({ path, retentionBytes: 64 * 1024 ** 3, retentionDays: 30 });
store.start();
const cols = new FlowColumns(batch);
const checkpoints = new Set([1_000_000, rows]);

function size(label: string, n: number, secs: number): void {
  const db = new Database(path, { readonly: true });
  const g = (p: string) => Object.values(db.query(`PRAGMA ${p}`).get() as Record<string, number>)[0]!;
  const pageSize = g("page_size"), pages = g("page_count"), free = g("freelist_count");
  db.close();
  const st = store.status();
  console.log(`${label}: ${n.toLocaleString()} flows in ${secs.toFixed(1)} s = ${Math.round(n / secs).toLocaleString()} flows/s; ` +
    `file ${(pages * pageSize / 1e6).toFixed(1)} MB = ${(pages * pageSize / n).toFixed(1)} B/flow ` +
    `(in use ${((pages - free) * pageSize / n).toFixed(1)} B/flow); wal ${(statSync(path + "-wal").size / 1e6).toFixed(1)} MB; ` +
    `status flows ${st.flows}, dropped ${st.dropped}, state ${st.state}`);
}

let done = 0;
const t0 = performance.now();
let genMs = 0;
while (done < rows) {
  const n = Math.min(batch, rows - done);
  const g0 = performance.now();
  gen.fill(cols, n);
  genMs += performance.now() - g0;
  store.insertColumns(cols, n);
  done += n;
  if (done % (batch * 64) < batch) await Bun.sleep(0); // let the retention timer run
  for (const c of checkpoints) {
    if (done >= c && done - n < c) size(`${c === rows ? "end" : "1M"}`, done, (performance.now() - t0) / 1000);
  }
}
const secs = (performance.now() - t0) / 1000;
console.log(`insert only (generation excluded): ${Math.round(rows / (secs - genMs / 1000)).toLocaleString()} flows/s; generation ${(genMs / 1000).toFixed(1)} s`);

// where the bytes go: one full segment, by table and index (dbstat)
const db = new Database(path, { readonly: true });
const seg = db.query("SELECT n, rows FROM segments WHERE rows > 0 ORDER BY sealed DESC, rows DESC LIMIT 1").get() as { n: number; rows: number };
const names = [`flows_${seg.n}`, ...SEGMENT_INDEXES.map(([name]) => `flows_${seg.n}_${name}`)];
const parts = db.query(`SELECT name, sum(pgsize) AS bytes FROM dbstat WHERE name IN (${names.map(() => "?").join(", ")}) GROUP BY name`).all(...names) as { name: string; bytes: number }[];
console.log(`segment flows_${seg.n}: ${seg.rows} flows; ` + parts.map((p) => `${p.name} ${(p.bytes / seg.rows).toFixed(1)} B/flow`).join(", "));
console.log(`segments: ${(db.query("SELECT count(*) AS n FROM segments").get() as { n: number }).n}`);
db.close();
store.stop();
if (keepIdx < 0) rmSync(dir, { recursive: true, force: true });
else console.log(`kept ${path}`);
