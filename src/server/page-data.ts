/**
 * View models for the dashboard pages and the live push, built from the server context.
 *
 * Sources: the engine's latest TickSummary (60 s bandwidth, counters, protocol mix, talkers —
 * no Worker round trip), the alert engine, the health computation of ./health.ts (one engine
 * status call) and the metrics collector's history. Flow pages reuse the API's parameter parsing
 * (api/flow-request.ts) and suspicious-flow reasons (alerts/suspicious.ts).
 *
 * Limits: before the first engine tick the live parts are empty (zero series, no talkers). The
 * 15 min / 1 h charts ask the engine (per-second steps, at most 300 points). Page parameters other
 * than q that are invalid (sort_by, order, limit, offset) are dropped, not reported; only the
 * query text produces the inline parse error.
 */
import type { SeriesPayload, TickSummary } from "../worker/protocol.ts";
import type { FlowQuery } from "../flows/flow-query.ts";
import type {
  AlertsJson, BandwidthJson, ChartRange, CountersView, FlowsParams, FlowsView, HealthJson, HistoryRange,
  MetricsHistoryJson, QueryError as ViewQueryError, ReplayView,
} from "../../views/types.ts";
import { SORT_KEYS, type SortKey } from "../flows/select.ts";
import { QueryError } from "../flows/query-error.ts";
import { withSuspicious } from "../alerts/suspicious.ts";
import { EngineCallError } from "../worker/engine-call-error.ts";
import { BadRequestError } from "./api/bad-request-error.ts";
import { PAGE_DEFAULT, parseFlowRequest } from "./api/flow-request.ts";
import { queryFlows } from "./flow-source.ts";
import { suspiciousContext } from "./api/flows.ts";
import type { ServerContext } from "./context.ts";
import { healthReport, type HealthReport } from "./health.ts";
import { isBandwidthAlert } from "../alerts/registry.ts";

export const CHART_SECONDS: Record<ChartRange, number> = { "60s": 60, "15m": 900, "1h": 3600 };
export const HISTORY_SECONDS: Record<HistoryRange, number> = { "15m": 900, "1h": 3600, "6h": 21_600, "24h": 86_400 };
/** The largest page the flows page asks for (the API allows more; a browser table should not). */
export const PAGE_LIMIT_MAX = 1000;

const PROTO_SERIES = ["tcp", "udp", "icmp", "other", "non_ip"] as const;

function rate(values: (number | null)[] | undefined, factor: number): number[] {
  return (values ?? []).map((v) => (v == null ? 0 : v * factor));
}

/** Engine per-step totals (bytes, packets per step) → bits/s and packets/s per point. */
export function toBandwidthJson(s: SeriesPayload): BandwidthJson {
  const step = s.step > 0 ? s.step : 1;
  const x = s.series;
  const by_protocol: Record<string, number[]> = {};
  for (const p of PROTO_SERIES) by_protocol[p] = rate(x[`${p}_bytes`], 8 / step);
  return {
    step,
    t: s.t,
    bps: rate(x.bytes, 8 / step),
    pps: rate(x.packets, 1 / step),
    flows: rate(x.active_flows, 1),
    by_protocol,
  };
}

export const EMPTY_BANDWIDTH: BandwidthJson = { step: 1, t: [], bps: [], pps: [], flows: [], by_protocol: {} };

/** The 60 s chart from the latest tick (no engine call). */
export function liveBandwidth(tick: TickSummary | null): BandwidthJson {
  return tick ? toBandwidthJson(tick.last60) : EMPTY_BANDWIDTH;
}

export async function rangeBandwidth(ctx: ServerContext, range: ChartRange): Promise<BandwidthJson> {
  if (range === "60s") return liveBandwidth(ctx.engine.last);
  return toBandwidthJson(await ctx.engine.call("bandwidth", { duration: CHART_SECONDS[range], maxPoints: 300 }));
}

export function countersFromTick(t: TickSummary | null): CountersView {
  if (!t) return { bps: 0, pps: 0, active_flows: 0, packets: 0, dropped: 0 };
  return {
    bps: t.bps, pps: t.pps, active_flows: t.active_flows,
    packets: t.capture.packets, dropped: t.capture.dropped + t.capture.if_dropped,
  };
}

export function alertsJson(ctx: ServerContext): AlertsJson {
  return { active: ctx.alerts.active(), recent: ctx.alerts.recent().slice(0, 20) };
}

/** True while a bandwidth alert (bandwidth, host_bandwidth, flow_bandwidth) is active: chart goes red. */
export function highBandwidth(alerts: AlertsJson): boolean {
  return alerts.active.some((a) => isBandwidthAlert(a.rule));
}

/** ./health.ts's report in the shape the views take. */
export function toHealthJson(r: HealthReport): HealthJson {
  const s = r.system;
  return {
    status: r.status,
    reasons: r.reasons.map((x) => x.message),
    capture: {
      interface: r.capture.interface,
      source: r.capture.source,
      state: r.capture.state as HealthJson["capture"]["state"],
      linktype: r.capture.linktype ?? "unknown",
      packets: r.capture.packets,
      dropped: r.capture.dropped,
      if_dropped: r.capture.if_dropped,
      drop_rate: r.capture.drop_rate,
    },
    flows: { active: r.flows.active, ended: r.flows.ended, evicted: r.flows.evicted, capacity: r.flows.capacity },
    system: {
      cpu_percent: s.cpu_percent ?? 0,
      load: [...s.load],
      memory_used: s.memory_used ?? 0,
      memory_total: s.memory_total ?? 0,
      process_rss: s.process_rss,
      process_cpu: s.process_cpu,
    },
    uptime_s: r.uptime_s,
    version: r.version,
  };
}

/** A replay's position from the latest tick (null for a live capture or before the first tick). */
export function replayView(t: TickSummary | null): ReplayView | null {
  const r = t?.replay;
  if (!r) return null;
  const ratio = r.total !== null ? (r.total > 0 ? r.packets / r.total : 0) : r.span > 0 ? r.offset / r.span : 0;
  const percent = Math.min(100, Math.max(0, Math.floor(ratio * 100)));
  return {
    pass: r.pass, packets: r.packets, total: r.total, percent, offset_s: r.offset, span_s: r.span,
    loop: r.loop, done: r.done,
  };
}

export async function currentHealth(ctx: ServerContext): Promise<HealthJson | null> {
  try {
    return { ...toHealthJson(await healthReport(ctx)), replay: replayView(ctx.engine.last) };
  } catch {
    return null; // engine not answering (stopping): the header shows "starting…" / stale parts stay
  }
}

/** Health with uptime, capture state and replay position refreshed from the latest tick (for the 1 s header push). */
export function refreshHealth(h: HealthJson | null, ctx: ServerContext): HealthJson | null {
  if (!h) return null;
  const t = ctx.engine.last;
  const capture = t ? { ...h.capture, state: t.capture.state as HealthJson["capture"]["state"], packets: t.capture.packets } : h.capture;
  return { ...h, capture, uptime_s: Math.round((Date.now() - ctx.startedAt) / 1000), replay: t ? replayView(t) : (h.replay ?? null) };
}

const HISTORY_NAMES: Record<keyof MetricsHistoryJson["series"], string> = {
  cpu_percent: "cpu", memory_used: "mem_used", process_rss: "rss", dropped: "dropped",
  bps: "bps", pps: "pps", active_flows: "active_flows",
};

export function metricsHistory(ctx: ServerContext, range: HistoryRange): MetricsHistoryJson {
  const h = ctx.metrics.history(HISTORY_SECONDS[range], 360);
  const series = {} as MetricsHistoryJson["series"];
  for (const [out, name] of Object.entries(HISTORY_NAMES) as [keyof MetricsHistoryJson["series"], string][]) {
    series[out] = h.series[name] ?? h.t.map(() => null);
  }
  return { step: h.step, t: h.t, series };
}

function one(sp: URLSearchParams, name: string): string | undefined {
  const v = sp.get(name)?.trim();
  return v ? v : undefined;
}

/** Page parameters from the URL: q kept as typed; invalid sort/order/limit/offset dropped. */
export function flowsParams(sp: URLSearchParams): FlowsParams {
  const sortRaw = one(sp, "sort_by")?.toLowerCase();
  const orderRaw = one(sp, "order")?.toLowerCase();
  const limitRaw = one(sp, "limit");
  const offsetRaw = one(sp, "offset");
  const limit = limitRaw && /^\d{1,6}$/.test(limitRaw) ? Math.min(PAGE_LIMIT_MAX, Math.max(1, Number(limitRaw))) : undefined;
  const offset = offsetRaw && /^\d{1,6}$/.test(offsetRaw) ? Number(offsetRaw) : undefined;
  return {
    q: sp.get("q") ?? "",
    sort_by: (SORT_KEYS as readonly string[]).includes(sortRaw ?? "") ? (sortRaw as SortKey) : undefined,
    order: orderRaw === "asc" || orderRaw === "desc" ? orderRaw : undefined,
    limit,
    offset: offset || undefined,
  };
}

function viewError(e: unknown): ViewQueryError | null {
  if (e instanceof BadRequestError) return { message: e.message, position: e.position ?? 0 };
  if (e instanceof QueryError) return { message: e.message, position: e.position };
  if (e instanceof EngineCallError && e.kind === "QueryError") return { message: e.message, position: 0 };
  return null;
}

/** Runs the flows query of a page URL; a bad query comes back as `error` (never thrown). */
export async function flowsView(ctx: ServerContext, sp: URLSearchParams): Promise<FlowsView> {
  const params = flowsParams(sp);
  let query: FlowQuery;
  try {
    const raw: Record<string, string> = { q: params.q };
    if (params.sort_by) raw.sort_by = params.sort_by;
    if (params.order) raw.order = params.order;
    raw.limit = String(params.limit ?? PAGE_DEFAULT);
    if (params.offset) raw.offset = String(params.offset);
    query = parseFlowRequest(raw).query;
  } catch (e) {
    const error = viewError(e);
    if (!error) throw e;
    return { params, limit: params.limit ?? PAGE_DEFAULT, flows: [], total: null, error };
  }
  try {
    const { records, total } = await queryFlows(ctx, query);
    return { params, limit: query.limit, flows: withSuspicious(records, suspiciousContext(ctx)), total, error: null };
  } catch (e) {
    const error = viewError(e);
    if (!error) throw e;
    return { params, limit: params.limit ?? PAGE_DEFAULT, flows: [], total: null, error };
  }
}
