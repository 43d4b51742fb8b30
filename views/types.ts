/**
 * View-model types for the server-rendered dashboard. They mirror the planned /api/v1 JSON
 * (snake_case) so a route can hand an API result straight to a component.
 *
 * Limits: timestamps in `t` arrays are Unix seconds; `since`, `first_seen`, `last_seen` are ISO
 * 8601 strings (as FlowRecord emits them). Nothing here validates input: the API layer does.
 */
import type { FlowRecord } from "../src/flows/format/record.ts";
import type { SortKey } from "../src/flows/query/select.ts";

export type Tab = "live" | "flows" | "health";
export type Transport = "ws" | "sse";

/**
 * Fields of issue 11 (app, names, country, AS) and issue 12 (Community ID, origin) on a record.
 * Optional in the views: a record from before they existed (or a trimmed alert flow) still renders.
 * `src_country`/`dst_country`: an ISO 3166-1 alpha-2 code, or a special-range label ("private", …).
 */
export interface FlowExtraFields {
  community_id: string | null;
  app: string | null;
  app_source: "payload" | "port" | null;
  server_name: string | null;
  src_name: string | null;
  dst_name: string | null;
  src_country: string | null;
  dst_country: string | null;
  src_asn: number | null;
  dst_asn: number | null;
  src_as_name: string | null;
  dst_as_name: string | null;
  source: "capture" | "netflow" | null;
  exporter: string | null;
  exporter_domain: number | null;
}

/** A flow as the views get it: FlowRecord plus the reasons it was flagged (empty if none). */
export interface FlowView extends Omit<FlowRecord, keyof FlowExtraFields>, Partial<FlowExtraFields> {
  /** e.g. high_rate, scan, rejected, cleartext_credentials */
  suspicious: string[];
}

/** GET /api/v1/health */
export interface HealthJson {
  status: "ok" | "degraded" | "critical";
  reasons: string[];
  capture: {
    interface: string;
    source: "live" | "file" | "none";
    state: "active" | "down" | "stopped" | "finished";
    linktype: string | number;
    packets: number;
    dropped: number;
    if_dropped: number;
    drop_rate: number;
  };
  flows: { active: number; ended: number; evicted: number; capacity: number };
  system: {
    cpu_percent: number;
    load: number[];
    memory_used: number;
    memory_total: number;
    process_rss: number;
    process_cpu: number;
  };
  uptime_s: number;
  version: string;
  /** A file replay's position in its file (header); absent or null for a live capture. */
  replay?: ReplayView | null;
  /** The NetFlow/IPFIX collector (--collect-netflow); absent or null without one. */
  collector?: CollectorView | null;
}

/** One exporter the collector heard from (src/collect/exporters.ts ExporterStats, the fields shown). */
export interface ExporterView {
  address: string;
  versions: number[];
  packets: number;
  records: number;
  errors: number;
  error_reasons: Record<string, number>;
  lost: number;
  sampling_rate: number;
  /** seconds since the epoch */
  last_seen: number;
}

/** The collector section of health (src/collect/collector.ts CollectorStats, the fields shown). */
export interface CollectorView {
  listen: string;
  state: string;
  error: string | null;
  packets: number;
  records: number;
  errors: number;
  error_reasons: Record<string, number>;
  exporters: ExporterView[];
}

/** Where a replay stands in its file, as the header shows it ("replay 37 % · loop 2"). */
export interface ReplayView {
  /** 1-based pass over the file. */
  pass: number;
  /** Packets replayed in this pass; packet records in the file (null when unknown: BPF filter). */
  packets: number;
  total: number | null;
  /** 0-100: packets / total, or capture offset / span when the total is unknown. */
  percent: number;
  /** Capture seconds from the file's first packet to the last one replayed, and to its last. */
  offset_s: number;
  span_s: number;
  loop: boolean;
  /** Replayed to the end (no loop). */
  done: boolean;
}

/** One row of GET /api/v1/talkers (the engine's Talker); the Live panel's rows carry name / country / AS too. */
import type { Talker } from "../src/flows/stats/talkers.ts";
import type { AppUsage, TalkerInfo } from "../src/worker/protocol.ts";
export type { AppUsage, Talker, TalkerInfo };
export interface TalkersJson {
  talkers: Talker[];
}

export type Series = (number | null)[];

/**
 * GET /api/v1/bandwidth: one sample per `step` seconds, oldest first. null marks a step with
 * nothing recorded (from the history store: the server was not running), drawn as a gap.
 */
export interface BandwidthJson {
  step: number;
  t: number[];
  bps: Series;
  pps: Series;
  flows: Series;
  /** bits/s per protocol name, aligned with `t` */
  by_protocol: Record<string, Series>;
  /** Where the points come from: the engine's memory (this run only) or the history store. */
  source?: "memory" | "history";
}

/** GET /api/v1/metrics/history: null marks a gap (no sample). */
export interface MetricsHistoryJson {
  step: number;
  t: number[];
  /** Where the points come from: this run's memory ring or the history store (survives restarts). */
  source?: "memory" | "history";
  series: {
    cpu_percent: Series;
    memory_used: Series;
    process_rss: Series;
    dropped: Series;
    bps: Series;
    pps: Series;
    active_flows: Series;
  };
}

/** The fields of a flow an alert shows; alerts may carry trimmed flow records. */
export type AlertFlow = Pick<FlowRecord, "proto" | "src_ip" | "src_port" | "dst_ip" | "dst_port" | "bytes" | "bps"> &
  Partial<FlowView>;

export interface Alert {
  id: string | number;
  rule: string;
  severity: "warning" | "error" | "critical";
  /** ISO 8601 */
  since: string;
  message: string;
  flows: AlertFlow[];
  /** flow query that shows the flows behind the alert (for a link to /flows?q=…) */
  q: string;
  /** what the alert is about within its rule (e.g. a host); not rendered */
  key?: string;
  /** ISO 8601 when it cleared; null while active */
  cleared?: string | null;
  /** measured value that raised it; not rendered */
  value?: number;
}
export interface AlertsJson {
  active: Alert[];
  recent: Alert[];
}

/** One raise or clear of an alert (GET /api/v1/alerts?state=all `history`), newest first. */
export interface AlertHistoryEvent {
  /** ISO 8601: when it was raised or cleared */
  at: string;
  event: "raised" | "cleared";
  /** The alert as it was at that moment. */
  alert: Alert;
}

export interface AlertHistoryJson {
  events: AlertHistoryEvent[];
  /** The store (every event, across restarts) or this run's recent list (bounded). */
  source: "memory" | "history";
  /** The most events asked for; `events.length === limit` means older ones exist. */
  limit: number;
}

/** Live counters; the server composes them from bandwidth + health. */
export interface CountersView {
  bps: number;
  pps: number;
  active_flows: number;
  packets: number;
  dropped: number;
}

/** Sort keys the flows API accepts (`sort_by`), from src/flows/query/select.ts. */
export type FlowSortKey = SortKey;

/** Query parameters of the flows page; everything but q is optional. */
export interface FlowsParams {
  q: string;
  sort_by?: FlowSortKey | undefined;
  order?: "asc" | "desc" | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
  /**
   * Time range as typed in the URL, in the forms the API takes (ISO 8601, relative `-1h`, `now`,
   * epoch seconds): flows that overlap [since, until]. Both absent = live (no bounds).
   */
  since?: string | undefined;
  until?: string | undefined;
}

/** The preset time ranges of the flows page: `since` relative to now, no `until`. */
export const TIME_PRESETS = [
  { since: "-15m", label: "Last 15 min" },
  { since: "-1h", label: "Last 1 h" },
  { since: "-24h", label: "Last 24 h" },
] as const;

/**
 * A query-parse failure (src/flows/query/query-error.ts QueryError fits): `position` is the 0-based
 * offset into q. `field` names the parameter when it is not q (since/until: a bad time).
 */
export interface QueryError {
  message: string;
  position: number;
  field?: string | undefined;
}

/** The flows page's time window as the server resolved it (seconds since the epoch; null = open). */
export interface TimeWindow {
  since: number | null;
  until: number | null;
}

/** What the flows page and the /flows/table fragment render. */
export interface FlowsView {
  params: FlowsParams;
  /** Rows per page in effect (params.limit or the server's default). */
  limit: number;
  flows: FlowView[];
  /** number of flows matching the query (all pages); null if unknown */
  total: number | null;
  error?: QueryError | null | undefined;
  /** since/until resolved when the page was rendered (absent on a parse error or without bounds). */
  window?: TimeWindow | null | undefined;
  /** True when ended flows come from the history store; false: memory only (recently ended, bounded). */
  stored?: boolean | undefined;
}

export type ChartRange = "60s" | "15m" | "1h";
export const CHART_RANGES: readonly ChartRange[] = ["60s", "15m", "1h"];
export type HistoryRange = "15m" | "1h" | "6h" | "24h" | "7d";
/** Every history range; 7d only with the history store (the memory rings hold 24 h). */
export const HISTORY_RANGES: readonly HistoryRange[] = ["15m", "1h", "6h", "24h", "7d"];
/** The ranges the in-memory rings can answer (--no-store). */
export const MEMORY_HISTORY_RANGES: readonly HistoryRange[] = ["15m", "1h", "6h", "24h"];
