/**
 * What the engine Worker answers: pages of flows (one query module: parse → compile → select),
 * one flow by id, top talkers, bandwidth series, capture status, and the per-second summary.
 */
import { compileScan } from "../flows/query-compile.ts";
import { parseQuery } from "../flows/query.ts";
import type { FlowEngine } from "../flows/engine.ts";
import { toRecord, type FlowRecord } from "../flows/record.ts";
import { selectFlows } from "../flows/select.ts";
import { ScanDetector } from "../flows/scan.ts";
import { META_LIVE, REC_U32, U_FLAGS, U_RATE } from "../flows/columns.ts";
import type { Call, CaptureStatus, SeriesPayload, TickSummary } from "./protocol.ts";

/** compileScan caches the generated function per query. */
function scanFor(q: string) {
  return compileScan(parseQuery(q));
}

function findFlow(engine: FlowEngine, id: number): FlowRecord | null {
  const i = engine.table.findById(id);
  if (i >= 0) return toRecord(engine.table.cols, i);
  const j = engine.recent.findById(id);
  return j >= 0 ? toRecord(engine.recent.cols, j) : null;
}

/** Bandwidth series: per second up to 1 h, per minute beyond (up to 24 h). */
export function bandwidth(engine: FlowEngine, duration: number, maxPoints = 1000): SeriesPayload {
  const until = Math.floor(engine.now);
  const ring = duration <= 3600 ? engine.totals.perSecond : engine.totals.perMinute;
  return ring.range(until - duration, until, maxPoints);
}

export function handleCall(engine: FlowEngine, status: CaptureStatus, call: Call): unknown {
  switch (call.method) {
    case "flows": {
      const p = call.params;
      const { records, total } = selectFlows(engine.table, engine.recent, scanFor(p.q), p);
      return { records, total };
    }
    case "flow":
      return findFlow(engine, call.params.id);
    case "talkers":
      return engine.talkers?.top(call.params.by, call.params.window, call.params.limit, engine.now) ?? [];
    case "bandwidth":
      return bandwidth(engine, call.params.duration, call.params.maxPoints);
    case "status":
      return { capture: status, stats: engine.stats(), capacity: engine.table.maxFlows, now: engine.now };
  }
}

const SCAN_EVERY_MS = 5000;
const SCAN_SLICE = 65_536;
const detector = new ScanDetector();
let scansAt = 0;

const PROTO_SERIES = ["tcp_bytes", "udp_bytes", "icmp_bytes", "other_bytes", "non_ip_bytes"] as const;

export function tickSummary(engine: FlowEngine, status: CaptureStatus): TickSummary {
  const last60 = bandwidth(engine, 60);
  const s = last60.series;
  const n = last60.t.length;
  const lastIdx = n - 2 >= 0 ? n - 2 : n - 1; // the newest step may still be filling
  const at = (name: string) => (lastIdx >= 0 ? (s[name]?.[lastIdx] ?? 0) : 0) ?? 0;
  const protocols: Record<string, number> = {};
  for (const name of PROTO_SERIES) {
    protocols[name.replace("_bytes", "")] = (s[name] ?? []).reduce<number>((a, v) => a + (v ?? 0), 0);
  }
  const top = topByRate(engine, 5);
  return {
    wall: Date.now() / 1000,
    now: engine.now,
    capture: { ...status },
    stats: engine.stats(),
    bps: (at("bytes") as number) * 8,
    pps: at("packets") as number,
    active_flows: engine.table.count,
    last60,
    protocols,
    talkers: engine.talkers?.top("host", 60, 10, engine.now) ?? [],
    top_flows: top,
    scans: latestScans(engine),
  };
}

/**
 * Scan detection walks the whole table: a pass starts every SCAN_EVERY_MS and runs in slices of
 * SCAN_SLICE slots between other work (setImmediate), so queries never wait for a whole pass.
 */
function latestScans(engine: FlowEngine): TickSummary["scans"] {
  const now = Date.now();
  if (now - scansAt >= SCAN_EVERY_MS && !detector.busy) {
    scansAt = now;
    detector.begin();
    const slice = () => {
      if (detector.step(engine.table, SCAN_SLICE)) setImmediate(slice);
    };
    slice();
  }
  return detector.result;
}

/** The n live flows with the highest rate over the last tick (one pass, no sort of the table). */
function topByRate(engine: FlowEngine, n: number): FlowRecord[] {
  const c = engine.table.cols;
  const u32 = c.u32;
  const slots: number[] = [];
  const rates: number[] = [];
  for (let i = 0; i < engine.table.hwm; i++) {
    const o = i * REC_U32;
    const rate = u32[o + U_RATE]!;
    if (rate === 0 || !((u32[o + U_FLAGS]! >>> 16) & META_LIVE)) continue;
    if (slots.length === n && rate <= rates[n - 1]!) continue;
    let j = slots.length < n ? slots.length : n - 1;
    while (j > 0 && rates[j - 1]! < rate) {
      if (j < n) {
        rates[j] = rates[j - 1]!;
        slots[j] = slots[j - 1]!;
      }
      j--;
    }
    rates[j] = rate;
    slots[j] = i;
  }
  return slots.map((i) => toRecord(c, i));
}
