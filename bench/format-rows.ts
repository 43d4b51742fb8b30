#!/usr/bin/env bun
/**
 * The row writers alone (src/flows/format/rows.ts), in one process: a capture is read into a
 * FlowEngine with the FlowAnnotator (as `flows --read` does), then every live slot is written
 * `--passes` times into a 256 KiB buffer that is reset when full (no I/O). Per pass: ns per row of
 * each writer, and of its parts (the extras lookup alone, the Community ID alone, the JSON row with
 * no extras), so a change to one part is measured on its own. Times are this thread's CPU time
 * (process.threadCpuUsage: steadier than wall time on a shared machine; the JIT's compiler threads
 * are not in it). Pass 1 includes the JIT's warm-up in this thread (the CLI writes each row once:
 * that pass is what `flows` pays); later passes are steady state (min and median reported).
 *
 *   bun bench/format-rows.ts [--pcap FILE] [--passes N] [--only json,csv,table,...]
 *                            [--addresses as-read|public|public-4k] [--dfg]
 *
 * `--dfg` keeps the writers in JSC's DFG tier, as `flows` does when it prints fewer than
 * ROWS_FOR_FTL rows (rows.ts limitRowTier); without it they may reach FTL, as in the server.
 *
 * `--addresses public` moves every IPv4 address of the table's keys (after the read, before the
 * passes) into global unicast /8s, keeping its low 24 bits (the scan's 950 k private clients become
 * 950 k global ones: every lookup misses the caches and asks the country MMDB and the AS table, which
 * load in pass 1); `public-4k` into a pool of 4,096 global addresses per /8 (the caches' hit path).
 * Only the extras read the moved keys (the table's hash is stale: read-only use, as here).
 *
 * Cases run one after another in one process and share the JIT's state (a writer compiled for one
 * case is reused by the next); for figures to compare, run one case per process (`--only json`)
 * and several processes, alternating the variants. Whole-program effects (the JIT's compiler
 * threads, rows interleaved with the read) show only in `flows` itself: bench/run.ts, or A/B runs
 * of two trees under bench/prioritised.sh.
 *
 * Default capture: the scan (950 k flows) that bench/run.ts generates into bench/.cache.
 */
import { parseArgs } from "node:util";
import { loadavg } from "node:os";
import { FlowEngine } from "../src/flows/engine.ts";
import { FlowAnnotator } from "../src/l7/annotate.ts";
import { openFileSource } from "../src/capture/open-file.ts";
import { extrasOf, NO_EXTRAS } from "../src/flows/table/extras.ts";
import { limitRowTier, putCsvRow, putJsonRow, putTableRow, MAX_COLUMN_ROW } from "../src/flows/format/rows.ts";
import { putCommunityId } from "../src/flows/table/community-id.ts";
import type { FlowColumns } from "../src/flows/table/columns.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    pcap: { type: "string", default: new URL("./.cache/p1000000-f950000-s2.pcap", import.meta.url).pathname },
    passes: { type: "string", default: "3" },
    only: { type: "string" },
    addresses: { type: "string", default: "as-read" },
    dfg: { type: "boolean", default: false },
  },
});
const passes = Number(values.passes);
// --dfg: the writers as `flows` runs them when it prints fewer than ROWS_FOR_FTL rows (JSC's DFG tier).
if (values.dfg) limitRowTier(0);

const engine = new FlowEngine({});
const annotator = new FlowAnnotator(engine, { ring: false });
annotator.attach();
const source = await openFileSource(values.pcap);
const t0 = performance.now();
source.readSync(engine);
const readMs = performance.now() - t0;
const cols = engine.table.cols;
const slots: number[] = [];
engine.table.forEach((_c, i) => slots.push(i));
const live = Int32Array.from(slots);
if (values.addresses !== "as-read") {
  if (values.addresses !== "public" && values.addresses !== "public-4k") throw new Error(`--addresses: as-read, public or public-4k (got ${values.addresses})`);
  const pool = values.addresses === "public-4k" ? 0xfff : 0xffffff;
  const PUBLIC_8 = [8, 23, 31, 45, 52, 62, 77, 81, 91, 104, 151, 185, 212, 217];
  const move = (w: number) => (PUBLIC_8[(Math.imul(w, 0x9e3779b1) >>> 0) % PUBLIC_8.length]! << 24) | (w & pool);
  for (const i of live) {
    if (cols.ipVersion(i) !== 4) continue;
    cols.key[cols.srcAddrOff(i)] = move(cols.key[cols.srcAddrOff(i)]!);
    cols.key[cols.dstAddrOff(i)] = move(cols.key[cols.dstAddrOff(i)]!);
  }
}
console.log(`${values.pcap} (addresses ${values.addresses}): read ${readMs.toFixed(0)} ms, ${live.length} live flows; load ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);

const buf = new Uint8Array(256 * 1024);
/** A copy of the first live flow's extras: rows with extras, without the lookup per row. */
const fixed = { ...extrasOf(cols, live[0]!) };
const limit = buf.length - MAX_COLUMN_ROW;
type Case = (c: FlowColumns, i: number, p: number) => number;
const cases: Record<string, Case> = {
  json: (c, i, p) => putJsonRow(c, i, buf, p),
  "json-no-extras": (c, i, p) => putJsonRow(c, i, buf, p, NO_EXTRAS),
  "json-fixed-extras": (c, i, p) => putJsonRow(c, i, buf, p, fixed),
  csv: (c, i, p) => putCsvRow(c, i, buf, p),
  table: (c, i, p) => putTableRow(c, i, buf, p),
  extras: (c, i, p) => (extrasOf(c, i) === null ? p + 1 : p),
  "community-id": (c, i, p) => putCommunityId(c, i, buf, p),
};
const only = values.only?.split(",") ?? Object.keys(cases);
for (const name of only) {
  const f = cases[name];
  if (!f) throw new Error(`unknown case ${name} (${Object.keys(cases).join(", ")})`);
  const ns: number[] = [];
  let bytes = 0;
  for (let pass = 0; pass < passes; pass++) {
    let p = 0;
    bytes = 0;
    const t = process.threadCpuUsage();
    for (let k = 0; k < live.length; k++) {
      if (p > limit) {
        bytes += p;
        p = 0;
      }
      p = f(cols, live[k]!, p);
    }
    bytes += p;
    const u = process.threadCpuUsage(t);
    ns.push(((u.user + u.system) * 1e3) / live.length);
  }
  const steady = ns.slice(1).sort((a, b) => a - b);
  const med = steady.length ? steady[steady.length >> 1]! : NaN;
  console.log(`${name.padEnd(14)} CPU ns/row: first pass ${ns[0]!.toFixed(0)}, then min ${steady[0]?.toFixed(0) ?? "-"} median ${med.toFixed(0)}   (${(bytes / live.length).toFixed(0)} B/row)`);
}
annotator.detach();
