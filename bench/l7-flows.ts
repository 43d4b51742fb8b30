/**
 * The L7 comparison harness: `bun bench/l7-flows.ts flows --read FILE --format json` prints what
 * `flowmatrix flows --read FILE --format json` prints, plus `app`, `app_source` and `server_name`
 * per flow, so ../shared/tools/compare-l7.mjs can score the inspector before the lead wires the
 * fields into records:
 *
 *   CMD="bun bench/l7-flows.ts" node ../shared/tools/compare-l7.mjs ../shared/pcaps-l7
 *   L7_ENGINE=ndpi CMD="bun bench/l7-flows.ts" node ../shared/tools/compare-l7.mjs ../shared/pcaps-l7
 *
 * L7_ENGINE=ts (default): src/l7's FlowInspector in the packet loop (the engine's per-packet hook).
 * L7_ENGINE=ndpi: Debian's libndpi 4.2 through the TinyCC batch shim (src/l7/ndpi/), for the
 * measurement in the README; L7_ENGINE=none: no inspection (baseline timing).
 * Other flags as `flows`: --idle-timeout S. Timing goes to stderr (`l7-time`).
 */
import { FileSource } from "../src/capture/file-source.ts";
import { FlowEngine } from "../src/flows/engine.ts";
import { toRecord } from "../src/flows/format/record.ts";
import { FlowInspector } from "../src/l7/inspector.ts";

const args = process.argv.slice(2);
const at = (f: string) => { const i = args.indexOf(f); return i >= 0 ? args[i + 1] : undefined; };
const path = at("--read");
if (!path) {
  console.error("usage: bun bench/l7-flows.ts flows --read FILE [--format json|summary]");
  process.exit(2);
}
const mode = process.env.L7_ENGINE ?? "ts";
const format = at("--format") ?? "json";
const engine = new FlowEngine({ rates: false, sweepEvery: 10, idleTimeout: Number(at("--idle-timeout") ?? 60) });
const rows: unknown[] = [];
let result: (slot: number) => { app: string | null; app_source: string | null; server_name: string | null };
let finish: () => void = () => {};
let stats: () => unknown = () => ({});
if (mode === "ndpi") {
  const { NdpiInspector } = await import("../src/l7/ndpi/ndpi.ts");
  const n = new NdpiInspector(engine.table);
  engine.setHook(n);
  result = (s) => n.result(s);
  finish = () => n.flushAll();
  stats = () => n.stats();
  engine.onEnded((_c, i) => n.beforeEnd(i));
} else if (mode === "ts") {
  const ins = new FlowInspector(engine.table);
  engine.setHook(ins);
  (engine as unknown as { l7?: FlowInspector }).l7 = ins;
  result = (s) => ins.result(s);
  stats = () => ({ ...ins.stats(), bytes: ins.byteSize() });
} else {
  result = () => ({ app: null, app_source: null, server_name: null });
}
if (format === "json") engine.onEnded((c, i) => rows.push({ ...toRecord(c, i), ...result(i) }));
if (mode === "ts") engine.onEnded((_c, i) => (engine as unknown as { l7?: FlowInspector }).l7?.release(i));
const t0 = performance.now();
new FileSource({ path }).readSync({ packet: (b, o, c, w, t, l) => engine.packet(b, o, c, w, t, l) });
finish();
engine.finish();
const ms = performance.now() - t0;
const st = engine.stats();
console.error(`l7-time engine=${mode} packets=${st.packets} flows=${st.flows} ms=${ms.toFixed(1)} ns_per_packet=${((ms * 1e6) / Math.max(1, st.packets)).toFixed(0)} ${JSON.stringify(stats())}`);
if (format === "json") process.stdout.write(JSON.stringify({ flows: rows, stats: st }));
else console.log(JSON.stringify(st));
