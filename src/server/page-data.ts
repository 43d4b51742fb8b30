/**
 * View models for the dashboard pages and the live push, built from the server context.
 *
 * Sources: the engine's latest TickSummary (60 s bandwidth, counters, protocol mix, talkers —
 * no Worker round trip), the alert engine, the health computation of ./health.ts (one engine
 * status call), and for history the store (ctx.history: survives restarts) or, without one
 * (--no-store), the metrics collector's and the engine's memory rings. Flow pages reuse the API's
 * parameter parsing (api/flow-request.ts, since/until included) and suspicious-flow reasons
 * (alerts/suspicious.ts), and read flows through flow-source.ts (live + stored).
 *
 * Limits: before the first engine tick the live parts are empty (zero series, no talkers). The
 * 15 min / 1 h charts read the store's per-second traffic (at most 300 points; a second the
 * server did not record is a gap), or without a store ask the engine. Health history from the
 * store asks for points no finer than twice the metrics interval (a bucket does not miss its
 * sample) and no coarser than the store's minute rows up to 24 h. Page
 * parameters other than q, since and until that are invalid (sort_by, order, limit, offset) are
 * dropped, not reported; the query text and the times produce the inline error.
 */
import type { SeriesPayload, TickSummary } from "../worker/protocol.ts";
import type { FlowQuery } from "../flows/query/flow-query.ts";
import type {
  Alert, AlertHistoryEvent, AlertHistoryJson, AlertsJson, BandwidthJson, ChartRange, CountersView, FlowsParams,
  FlowsView, HealthJson, HistoryRange, MetricsHistoryJson, QueryError as ViewQueryError, ReplayView, Series,
} from "../../views/types.ts";
import type { SeriesRange } from "../metrics/ring.ts";
import { SORT_KEYS, type SortKey } from "../flows/query/select.ts";
import { QueryError } from "../flows/query/query-error.ts";
import { withSuspicious } from "../alerts/suspicious.ts";
import { EngineCallError } from "../worker/engine-call-error.ts";
import { BadRequestError } from "./api/bad-request-error.ts";
import { PAGE_DEFAULT, parseFlowRequest } from "./api/flow-request.ts";
import { queryFlows } from "./flow-source.ts";
import { suspiciousContext } from "./api/flows.ts";
import type { ServerContext } from "./context.ts";
import { healthReport, type HealthReport } from "./health.ts";
import { isBandwidthAlert } from "../alerts/registry.ts";
import { HISTORY_RANGES, MEMORY_HISTORY_RANGES } from "../../views/types.ts";

export const CHART_SECONDS: Record<ChartRange, number> = { "60s": 60, "15m": 900, "1h": 3600 };
export const HISTORY_SECONDS: Record<HistoryRange, number> = {
  "15m": 900, "1h": 3600, "6h": 21_600, "24h": 86_400, "7d": 7 * 86_400,
};
/** Points in a health history chart from the memory ring, at most. */
export const HISTORY_POINTS = 360;
/**
 * Points asked of the store, at most: 24 h at its per-minute resolution (1,441 minutes touch a
 * 24 h window; the chart draws at most chart.tsx's MAX_POINTS, keeping each bucket's peak; the
 * coverage line reads the finer grid).
 */
export const STORED_HISTORY_POINTS = 1441;
/** Points in a 15 min / 1 h bandwidth chart, at most. */
export const CHART_POINTS = 300;
/** Events in the alert history list. */
export const ALERT_HISTORY_LIMIT = 100;
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
  if (ctx.history) return storedBandwidth(ctx, CHART_SECONDS[range]);
  return { ...toBandwidthJson(await ctx.engine.call("bandwidth", { duration: CHART_SECONDS[range], maxPoints: CHART_POINTS })), source: "memory" };
}

const bits = (vs: Series | undefined, n: number, k: number): Series =>
  vs ? vs.map((v) => (v == null ? null : v * k)) : new Array<number | null>(n).fill(null);

/**
 * The last `durationSec` of traffic from the history store. Its traffic rows are per-second
 * amounts at any step (bytes/s); "now" is the engine clock, as the traffic is stamped with it
 * (a replay's packet time). Active flows come from the stored metric samples when they share
 * the grid, else stay empty (the chart does not draw them).
 */
export async function storedBandwidth(ctx: ServerContext, durationSec: number): Promise<BandwidthJson> {
  const store = ctx.history!.store;
  const now = Math.floor(ctx.engine.last?.now || Date.now() / 1000);
  const [s, m] = await Promise.all([
    store.trafficHistory(now - durationSec, now, CHART_POINTS),
    store.metricsHistory(now - durationSec, now, CHART_POINTS),
  ]);
  const n = s.t.length;
  const x = s.series;
  const by_protocol: Record<string, Series> = {};
  for (const p of PROTO_SERIES) by_protocol[p] = bits(x[`${p}_bytes`], n, 8);
  const sameGrid = m.t.length === n && m.t[0] === s.t[0];
  return {
    step: s.step,
    t: s.t,
    bps: bits(x.bytes, n, 8),
    pps: bits(x.packets, n, 1),
    flows: sameGrid ? bits(m.series.active_flows, n, 1) : new Array<number | null>(n).fill(null),
    by_protocol,
    source: "history",
  };
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
    collector: r.collector
      ? {
        listen: r.collector.listen, state: r.collector.state, error: r.collector.error, packets: r.collector.packets,
        records: r.collector.records, errors: r.collector.errors, error_reasons: { ...r.collector.error_reasons },
        exporters: r.collector.exporters.map((e) => ({
          address: e.address, versions: [...e.versions], packets: e.packets, records: e.records, errors: e.errors,
          error_reasons: { ...e.error_reasons }, lost: e.lost, sampling_rate: e.sampling_rate, last_seen: e.last_seen,
        })),
      }
      : null,
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

/** The history ranges this server offers: 7 d only with the store (the memory rings hold 24 h). */
export function historyRanges(ctx: ServerContext): readonly HistoryRange[] {
  return ctx.history ? HISTORY_RANGES : MEMORY_HISTORY_RANGES;
}

/** A range this server offers, else the default (15m). */
export function pickHistoryRange(ctx: ServerContext, v: string | null): HistoryRange {
  const ranges = historyRanges(ctx);
  return (ranges as readonly string[]).includes(v ?? "") ? (v as HistoryRange) : "15m";
}

/** Metrics history for a Health chart range: from the store when there is one, else the memory ring. */
export async function metricsHistory(ctx: ServerContext, range: HistoryRange): Promise<MetricsHistoryJson> {
  const sec = HISTORY_SECONDS[range];
  let h: SeriesRange;
  let source: MetricsHistoryJson["source"] = "memory";
  if (ctx.history) {
    // Samples come every interval; a bucket narrower than two intervals could miss one (a gap).
    const interval = (ctx.config.metricsIntervalMs ?? 5000) / 1000;
    const points = Math.max(10, Math.min(STORED_HISTORY_POINTS, Math.floor(sec / (2 * interval))));
    const now = Date.now() / 1000;
    h = await ctx.history.store.metricsHistory(now - sec, now, points);
    source = "history";
  } else {
    h = ctx.metrics.history(sec, HISTORY_POINTS);
  }
  const series = {} as MetricsHistoryJson["series"];
  for (const [out, name] of Object.entries(HISTORY_NAMES) as [keyof MetricsHistoryJson["series"], string][]) {
    series[out] = h.series[name] ?? h.t.map(() => null);
  }
  return { step: h.step, t: h.t, series, source };
}

/**
 * Every raise and clear, newest first: from the store (across restarts), else this run's recent
 * list (bounded: AlertEngine keeps the last 200 raised), where a cleared alert gives two events.
 */
export async function alertHistory(ctx: ServerContext, limit = ALERT_HISTORY_LIMIT): Promise<AlertHistoryJson> {
  if (ctx.history) {
    const rows = await ctx.history.store.alerts({ limit });
    return { events: rows.map((r) => ({ at: r.at, event: r.event, alert: r.alert as Alert })), source: "history", limit };
  }
  const events: AlertHistoryEvent[] = [];
  for (const a of ctx.alerts.recent() as Alert[]) {
    events.push({ at: a.since, event: "raised", alert: { ...a, cleared: null } });
    if (a.cleared) events.push({ at: a.cleared, event: "cleared", alert: a });
  }
  events.sort((x, y) => Date.parse(y.at) - Date.parse(x.at));
  return { events: events.slice(0, limit), source: "memory", limit };
}

function one(sp: URLSearchParams, name: string): string | undefined {
  const v = sp.get(name)?.trim();
  return v ? v : undefined;
}

/** Page parameters from the URL: q, since and until kept as typed; invalid sort/order/limit/offset dropped. */
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
    since: one(sp, "since"),
    until: one(sp, "until"),
  };
}

function viewError(e: unknown): ViewQueryError | null {
  if (e instanceof BadRequestError) return { message: e.message, position: e.position ?? 0, field: e.field };
  if (e instanceof QueryError) return { message: e.message, position: e.position };
  if (e instanceof EngineCallError && e.kind === "QueryError") return { message: e.message, position: 0 };
  return null;
}

/** Runs the flows query of a page URL; a bad query comes back as `error` (never thrown). */
export async function flowsView(ctx: ServerContext, sp: URLSearchParams): Promise<FlowsView> {
  const params = flowsParams(sp);
  const stored = ctx.history !== null;
  let query: FlowQuery;
  try {
    const raw: Record<string, string> = { q: params.q };
    if (params.sort_by) raw.sort_by = params.sort_by;
    if (params.order) raw.order = params.order;
    raw.limit = String(params.limit ?? PAGE_DEFAULT);
    if (params.offset) raw.offset = String(params.offset);
    if (params.since) raw.since = params.since;
    if (params.until) raw.until = params.until;
    query = parseFlowRequest(raw).query;
  } catch (e) {
    const error = viewError(e);
    if (!error) throw e;
    return { params, limit: params.limit ?? PAGE_DEFAULT, flows: [], total: null, error, stored };
  }
  const window = query.since !== undefined || query.until !== undefined
    ? { since: query.since ?? null, until: query.until ?? null }
    : null;
  try {
    const { records, total } = await queryFlows(ctx, query);
    return { params, limit: query.limit, flows: withSuspicious(records, suspiciousContext(ctx)), total, error: null, window, stored };
  } catch (e) {
    const error = viewError(e);
    if (!error) throw e;
    return { params, limit: params.limit ?? PAGE_DEFAULT, flows: [], total: null, error, window, stored };
  }
}
