/**
 * Schemas of GET /api/v1/health, /api/v1/metrics/history and /api/v1/alerts (parameters and JSON
 * bodies), tied to the TypeScript types by sameType where one exists.
 */
import { t, type Static } from "elysia";
import type { Alert } from "../../../alerts/alert.ts";
import type { HealthReport } from "../../health.ts";
import { FlowRecordRef } from "./flow.ts";
import { named } from "./operation.ts";
import { duration, int as integerSchema, integer, oneOf, time } from "./params.ts";
import { sameType, type Same } from "./same-type.ts";

const closed = { additionalProperties: false } as const;
const opt = t.Optional;
const n = t.Number;
const count = () => integerSchema({ minimum: 0 });
const str = t.String;
const nullable = <S extends Parameters<typeof t.Union>[0][number]>(s: S) => t.Union([s, t.Null()]);
const generatedAt = t.String({ format: "date-time", description: "When the answer was made." });
const SEVERITIES = ["warning", "error", "critical"] as const;

const ExporterStatsSchema = t.Object({
  address: str(), versions: t.Array(count()), packets: count(), records: count(), flow_packets: count(), flow_bytes: count(),
  errors: count(), error_reasons: t.Record(t.String(), count()), skipped_records: count(), lost: count(),
  sampling_rate: integerSchema({ minimum: 1 }), last_seen: n(),
  domains: t.Array(t.Object({ id: count(), templates: count(), sampling_rate: count(), lost: count(), last_seen: n() }, closed)),
}, closed);

const StoreStatusSchema = t.Object({
  state: oneOf(["ok", "degraded"] as const, undefined, "Store state."),
  reason: nullable(str()), flows: count(), bytes: count(), oldest: nullable(str({ format: "date-time" })),
  inserted: count(), dropped: count(), errors: count(),
}, closed);

const HealthSchema = t.Object({
  status: oneOf(["ok", "degraded", "critical"] as const, undefined, "critical answers HTTP 503."),
  reasons: t.Array(t.Object({
    severity: oneOf(SEVERITIES, undefined, "Severity."),
    code: oneOf(["engine_down", "engine_fault", "capture_down", "capture_fatal", "link_down", "capture_drops", "cpu_high", "history_degraded", "collector_down"] as const, undefined, "Reason code."),
    message: str(),
  }, closed)),
  capture: t.Object({
    interface: str(), source: oneOf(["live", "file", "none"] as const, undefined, "Capture source."), state: str({ description: "starting, active, down, stopped, finished." }),
    linktype: nullable(count()), link: nullable(str({ description: "Live interface link: up, down, unknown, missing; null for a file." })),
    packets: count(), received: count(), dropped: count(), if_dropped: count(), drop_rate: n({ minimum: 0, maximum: 1 }), dropped_last: count(), reopens: count(),
    error: nullable(str()),
  }, closed),
  flows: t.Object({ active: count(), ended: count(), evicted: count(), total: count(), capacity: count() }, closed),
  engine: t.Object({
    state: oneOf(["running", "restarting", "stopped"] as const, undefined, "Engine Worker state."), faults: count(), restarts: count(),
    last_fault: nullable(t.Object({ where: str(), message: str(), at: str({ format: "date-time" }) }, closed)),
  }, closed),
  sinks: t.Array(t.Object({ name: str(), batches: count(), flows: count(), dropped_batches: count(), dropped_flows: count(), errors: count() }, closed)),
  exporters: t.Array(t.Object({
    name: str(), target: str(), domain_id: count(), flows: count(), messages: count(), template_messages: count(), bytes: count(),
    send_errors: count(), last_error: nullable(str()), queued: count(),
  }, closed)),
  collector: nullable(t.Object({
    listen: str(), state: oneOf(["starting", "active", "stopped", "failed"] as const, undefined, "Collector state."), error: nullable(str()),
    packets: count(), records: count(), errors: count(), error_reasons: t.Record(t.String(), count()), origins_reused: count(),
    exporters_refused: count(), exporters: t.Array(ExporterStatsSchema),
  }, closed)),
  exports: t.Object({ open: count(), queued: count() }, closed),
  history: nullable(StoreStatusSchema),
  system: t.Object({
    cpu_percent: nullable(n()), load: t.Unsafe<[number, number, number]>({ type: "array", items: { type: "number" }, minItems: 3, maxItems: 3, description: "Load average over 1, 5, 15 min." }), memory_used: nullable(n()), memory_total: nullable(n()),
    process_rss: n(), process_cpu: n(),
  }, closed),
  uptime_s: count(),
  version: str(),
  generated_at: generatedAt,
}, closed);
sameType<Same<Static<typeof HealthSchema>, HealthReport>>();
export const HealthBody = named("Health", HealthSchema);

export const MetricsHistoryQuery = t.Object({
  duration: opt(duration("15m", "How far back: 60s-24h, or up to 30d with the history store.")),
  points: opt(integer(10, 2000, 720, "Maximum points.")),
});

export const HISTORY_SERIES_NAMES = ["cpu_percent", "load1", "memory_used", "memory_total", "process_rss", "process_cpu", "dropped", "bps", "pps", "active_flows"] as const;
const seriesOf = t.Array(nullable(n()));

export const MetricsHistoryBody = t.Object({
  step: n({ exclusiveMinimum: 0, description: "Seconds between points." }),
  duration_s: integerSchema({ minimum: 1 }),
  t: t.Array(n(), { description: "Start of each point, seconds since the epoch." }),
  series: t.Object(Object.fromEntries(HISTORY_SERIES_NAMES.map((k) => [k, seriesOf])) as Record<(typeof HISTORY_SERIES_NAMES)[number], typeof seriesOf>,
    { ...closed, description: "Parallel to t; dropped is the cumulative capture drop counter." }),
  generated_at: generatedAt,
}, closed);

export const AlertsQuery = t.Object({
  state: opt(oneOf(["current", "all"] as const, "current", "current: active and recently raised alerts; all: also `history` (every raise and clear, from the store when there is one).")),
  since: opt(time("History from this time.")),
  until: opt(time("History up to this time.")),
  limit: opt(integer(1, 10_000, 100, "History events.")),
});

const AlertSchema = t.Object({
  id: str({ description: "Unique within the process (a1, a2, …)." }),
  rule: str({ description: "Rule name (bandwidth, host_bandwidth, flow_bandwidth, cpu, memory, capture_drops, interface_down, scan, …)." }),
  key: str({ description: "What the alert is about within its rule; \"\" for global rules." }),
  severity: oneOf(SEVERITIES, undefined, "Severity."),
  since: str({ format: "date-time" }),
  cleared: nullable(str({ format: "date-time" })),
  message: str(),
  value: n({ description: "The measured value (bit/s, %, drops, attempts)." }),
  flows: t.Array(FlowRecordRef, { description: "Up to 5 flows involved." }),
  q: str({ description: "Flow query that shows the flows involved." }),
}, closed);
sameType<Same<Static<typeof AlertSchema>, Alert>>();
const AlertRef = named("Alert", AlertSchema);

export const AlertsBody = t.Object({
  active: t.Array(AlertRef, { description: "Active alerts, most severe first." }),
  recent: t.Array(AlertRef, { description: "Recently raised alerts, newest first (bounded)." }),
  history: opt(t.Array(t.Object({
    seq: opt(integerSchema({ description: "Store sequence number (absent without a store)." })),
    at: str({ format: "date-time" }),
    event: oneOf(["raised", "cleared"] as const, undefined, "Event."),
    alert: AlertRef,
  }, closed), { description: "With state=all or since/until: raises and clears, newest first." })),
  generated_at: generatedAt,
}, closed);
