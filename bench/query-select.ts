#!/usr/bin/env bun
/**
 * The engine's side of an interactive query and of an export page, alone in one process: the scan
 * capture (950 k flows) read into a FlowEngine with the FlowAnnotator, then
 * - `top100`: selectFlows for sort_by=bytes&limit=100 over the whole table (what
 *   GET /api/v1/flows?sort_by=bytes&limit=100 costs the engine Worker), ms per query;
 * - an export page of 2,000 flows, µs per row: on the engine thread, toRecord (what a page cost
 *   before) against the copy into ExportRows (now); the structured clone of either; on the server
 *   thread, records from the raw rows, withSuspicious + csvRecords (the API's CSV path today), and
 *   putCsvRow straight from the raw rows (what the API could do instead).
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
import { ExportBatchReader, ExportRows } from "../src/flows/query/export-cursor.ts";
import { csvRecords } from "../src/flows/format/records.ts";
import { MAX_COLUMN_ROW, putCsvRow } from "../src/flows/format/rows.ts";
import { withSuspicious } from "../src/alerts/suspicious.ts";
import { FlowColumns } from "../src/flows/table/columns.ts";
import { FlowSide } from "../src/flows/table/extras.ts";

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
/** µs per row of `fn` over the 2,000 slots, median of the rounds. */
function perRow(fn: () => void): number {
  const xs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const a = performance.now();
    fn();
    xs.push(((performance.now() - a) * 1000) / slots.length);
  }
  return med(xs);
}
const cols = engine.table.cols;
console.log(`engine thread, per export row: toRecord ${perRow(() => { for (const s of slots) toRecord(cols, s); }).toFixed(2)} µs (before), ` +
  `copy into ExportRows ${perRow(() => { const rows = new ExportRows(slots.length); for (const s of slots) rows.push(cols, s); rows.batch(); }).toFixed(2)} µs (now)`);
const rows = new ExportRows(slots.length);
for (const s of slots) rows.push(cols, s);
const batch = structuredClone(rows.batch());
console.log(`structured clone of a page: records ${perRow(() => structuredClone(slots.map((s) => toRecord(cols, s)))).toFixed(2)} µs/row (incl. toRecord), ` +
  `raw rows ${perRow(() => structuredClone(rows.batch())).toFixed(2)} µs/row`);
annotator.detach(); // the server thread has no resolver: extras come from the batch
const reader = new ExportBatchReader(batch);
const recs = reader.records(0, batch.count);
const sc = { flowBps: 50e6, scanSources: new Set<string>() };
const out = new Uint8Array(slots.length * MAX_COLUMN_ROW);
const bc = FlowColumns.wrap(batch.key, batch.rec), side = FlowSide.fromData(batch.side);
console.log(`server thread, per export row: records from raw rows ${perRow(() => reader.records(0, batch.count)).toFixed(2)} µs, ` +
  `withSuspicious + csvRecords ${perRow(() => csvRecords(withSuspicious(recs, sc))).toFixed(2)} µs; ` +
  `putCsvRow straight from the raw rows ${perRow(() => { let p = 0; for (let j = 0; j < batch.count; j++) p = putCsvRow(bc, j, out, p, side.get(j)); }).toFixed(2)} µs`);
