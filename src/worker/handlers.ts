/**
 * What the engine Worker answers: pages of flows (one query module: parse → compile → select),
 * one flow by id, top talkers, bandwidth series, capture status, and the per-second summary.
 */
import { compileQuery } from "../flows/query-compile.ts";
import { parseQuery } from "../flows/query.ts";
import type { FlowEngine } from "../flows/engine.ts";
import { toRecord, type FlowRecord } from "../flows/record.ts";
import { selectFlows } from "../flows/select.ts";
import { findScans } from "../flows/scan.ts";
import type { Call, CaptureStatus, SeriesPayload, TickSummary } from "./protocol.ts";

const compiled = new Map<string, ReturnType<typeof compileQuery>>();

function predicate(q: string) {
  let p = compiled.get(q);
  if (!p) {
    p = compileQuery(parseQuery(q));
    if (compiled.size > 200) compiled.clear();
    compiled.set(q, p);
  }
  return p;
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
      const { records, total } = selectFlows(engine.table, engine.recent, predicate(p.q), p);
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
  const top = selectFlows(engine.table, engine.recent, () => true, {
    state: "active", sortBy: "bps", order: "desc", offset: 0, limit: 5,
  }).records.filter((r) => r.bps > 0);
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
    scans: findScans(engine.table),
  };
}
