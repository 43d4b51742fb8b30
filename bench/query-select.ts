#!/usr/bin/env bun
/**
 * The engine's side of an interactive query and of an export page, alone in one process: the scan
 * capture (950 k flows) read into a FlowEngine with the FlowAnnotator, then
 * - `top100`: selectFlows for sort_by=bytes&limit=100 over the whole table (what
 *   GET /api/v1/flows?sort_by=bytes&limit=100 costs the engine Worker), ms per query;
 * - `records`: toRecord of 2,000 flows (what an export page cost the engine before), µs per row;
 * - `copy`: copying 2,000 flows' slots and extras into an export batch (ExportBatch), µs per row.
 * Median of --rounds rounds; the load average is printed (a shared 2-core machine).
 *
 *   bun bench/query-select.ts [--pcap FILE] [--rounds 15]
 */
import { loadavg } from "node:os";
import { FlowEngine } from "../src/flows/engine.ts";
import { FlowAnnotator } from "../src/l7/annotate.ts";
import { openFileSource } from "../src/capture/open-file.ts";
import { selectFlows } from "../src/flows/query/select.ts";
import { compileScan } from "../src/flows/query/query-compile.ts";
import { toRecord } from "../src/flows/format/record.ts";
import { opt } from "./args.ts";

const i = process.argv.indexOf("--pcap");
const pcap = i >= 0 ? process.argv[i + 1]! : new URL("./.cache/p1000000-f950000-s2.pcap", import.meta.url).pathname;
const rounds = opt("rounds", 15);
const engine = new FlowEngine({ maxFlows: 1_100_000, idleTimeout: 3600 });
const annotator = new FlowAnnotator(engine, {});
annotator.attach();
(await openFileSource(pcap)).readSync(engine);
console.log(`${engine.table.count} flows; load ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
const med = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
const q = { query: { kind: "all" } as const, state: "all" as const, sortBy: "bytes" as const, order: "desc" as const, offset: 0, limit: 100 };
const scan = compileScan(q.query);
const t: number[] = [];
for (let r = 0; r < rounds; r++) {
  const a = performance.now();
  selectFlows(engine.table, engine.recent, scan, q);
  t.push(performance.now() - a);
}
console.log(`top100: median ${med(t).toFixed(1)} ms, min ${Math.min(...t).toFixed(1)}, max ${Math.max(...t).toFixed(1)}`);
const slots: number[] = [];
engine.table.forEach((_c, s) => { if (slots.length < 2000) slots.push(s); });
const rec: number[] = [];
for (let r = 0; r < rounds; r++) {
  const a = performance.now();
  for (const s of slots) toRecord(engine.table.cols, s);
  rec.push(((performance.now() - a) * 1000) / slots.length);
}
console.log(`records: median ${med(rec).toFixed(2)} µs/row`);
{
  const c = engine.table.cols;
  const out = new Uint32Array(engine.table.hwm);
  const ts: number[] = [];
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    const a = performance.now();
    n = scan(c, 0, engine.table.hwm, out, true);
    ts.push(performance.now() - a);
  }
  console.log(`scan only: median ${med(ts).toFixed(1)} ms (${n} of hwm ${engine.table.hwm}); ring size ${engine.recent.size}`);
  const ts2: number[] = [];
  let s = 0;
  for (let r = 0; r < rounds; r++) {
    const a = performance.now();
    const f = c.f64;
    for (let i = 0; i < engine.table.hwm; i++) s += f[i * 8 + 2]! + f[i * 8 + 3]!;
    ts2.push(performance.now() - a);
  }
  console.log(`read bytes only: median ${med(ts2).toFixed(1)} ms ${s > 0}`);
}
