/**
 * System health: one computation shared by GET /api/v1/health (HTTP 503 when critical) and the
 * Health page.
 *
 * Rules, most severe first:
 * - critical: the engine Worker died and is being restarted (engine state "restarting"; the
 *   status is then the last tick's), the capture is down (engine capture state "down": the live handle failed and is
 *   being re-opened), the engine reported a fatal error (permission, missing libpcap, unreadable
 *   file), or the live interface's link is down (operstate from the metrics collector, sampled
 *   every metricsIntervalMs).
 * - degraded / error: an exception in the engine (a fault, logged on stderr) in the last
 *   FAULT_RECENT_S seconds; the counts since start stay in `engine`.
 * - degraded / error: packets were dropped in the last one-second interval (pcap_stats
 *   `dropped` delta): "Packet capture degraded - check interface".
 * - degraded / warning: host CPU above the threshold (default 80 %, the alert engine's cpuPercent).
 * - ok otherwise.
 *
 * Limits: capture state "starting" is reported as is (the first instants after start). The
 * interface's own rx_dropped counter is not a health input (kernels count unrelated discards
 * there); only libpcap's drops are. A file replay never drops.
 */
import type { EngineHealth, EngineStatus } from "../worker/engine-client.ts";
import type { CaptureStatus } from "../worker/protocol.ts";
import type { SystemSample } from "../metrics/system-collector.ts";
import type { SinkStats } from "../flows/sinks.ts";
import type { IpfixExportStats } from "../export/ipfix-sink.ts";
import type { CollectorStats } from "../collect/collector.ts";
import type { StoreStatus } from "../store/flow-store.ts";

function storeUnavailable(e: Error): StoreStatus {
  return { state: "degraded", reason: `store not answering: ${e.message}`, flows: 0, bytes: 0, oldest: null, inserted: 0, dropped: 0, errors: 0 };
}
import type { ServerContext } from "./context.ts";

export type HealthStatus = "ok" | "degraded" | "critical";

export interface HealthReason {
  severity: "warning" | "error" | "critical";
  code: "engine_down" | "engine_fault" | "capture_down" | "capture_fatal" | "link_down" | "capture_drops" | "cpu_high" | "history_degraded" | "collector_down";
  message: string;
}

export interface HealthReport {
  status: HealthStatus;
  reasons: HealthReason[];
  /** The engine's capture status, plus the link state of the live interface (up, down, unknown,
   * missing; null for file replay). */
  capture: Omit<CaptureStatus, "state"> & { state: string; link: string | null };
  flows: { active: number; ended: number; evicted: number; total: number; capacity: number };
  /** The engine Worker: running / restarting, faults and restarts since start, the last fault. */
  engine: EngineHealth;
  /** Ended-flow sinks (history store, exporters): flows delivered and dropped per sink. */
  sinks: SinkStats[];
  /** Flow exporters (IPFIX, --export-ipfix): flows, messages, bytes, send errors, last error; [] without one. */
  exporters: IpfixExportStats[];
  /**
   * The NetFlow/IPFIX collector (--collect-netflow; null without one): listen address, datagrams,
   * records, errors by reason, and per exporter (address) its versions, packets (datagrams), records,
   * errors, sampling rate, lost records and last seen (seconds since the epoch).
   */
  collector: CollectorStats | null;
  /** Flow exports open in the engine, and export work queued there. */
  exports: { open: number; queued: number };
  /** The history store (null with --no-store): state, size, flows, drops, errors. */
  history: StoreStatus | null;
  system: {
    cpu_percent: number | null;
    load: [number, number, number];
    memory_used: number | null;
    memory_total: number | null;
    process_rss: number;
    process_cpu: number;
  };
  uptime_s: number;
  version: string;
  generated_at: string;
}

export interface HealthInput {
  status: EngineStatus;
  sample: SystemSample | null;
  fatal: { name: string; message: string } | null;
  /** Faults and restarts of the engine Worker (default: none). */
  engine?: EngineHealth;
  /** The history store's status (null or absent: no store). */
  history?: StoreStatus | null;
  /** Why the engine could not answer (then `status` is the last tick's), null when it did. */
  unavailable?: string | null;
  startedAt: number;
  version: string;
  cpuThreshold: number;
  now?: number;
}

/** An engine fault keeps health degraded for this long after it happened. */
export const FAULT_RECENT_S = 60;

const NO_FAULTS: EngineHealth = { state: "running", faults: 0, restarts: 0, last_fault: null };

/** The rules above, as a pure function of the inputs. */
export function evaluateHealth(h: HealthInput): HealthReport {
  const c = h.status.capture;
  const x = h.sample;
  const link = c.source === "live" ? (x?.iface?.link ?? null) : null;
  const reasons: HealthReason[] = [];
  const engine = h.engine ?? NO_FAULTS;
  const now = h.now ?? Date.now();
  if (engine.state === "restarting" || h.unavailable) {
    reasons.push({ severity: "critical", code: "engine_down", message: `Capture engine unavailable: ${h.unavailable ?? engine.last_fault?.message ?? "not answering"}` });
  }
  const f = engine.last_fault;
  if (f && now - Date.parse(f.at) < FAULT_RECENT_S * 1000) {
    reasons.push({ severity: "error", code: "engine_fault", message: `Engine fault in ${f.where}: ${f.message} (${engine.faults} since start${engine.restarts ? `, ${engine.restarts} restarts` : ""})` });
  }
  if (h.fatal) reasons.push({ severity: "critical", code: "capture_fatal", message: `Capture stopped: ${h.fatal.message}` });
  if (c.state === "down") {
    reasons.push({ severity: "critical", code: "capture_down", message: `Interface ${c.interface} offline: capture down${c.error ? ` (${c.error})` : ""}` });
  }
  if (link === "down") {
    reasons.push({ severity: "critical", code: "link_down", message: `Interface ${c.interface} offline: link is down` });
  }
  if (c.dropped_last > 0) {
    reasons.push({ severity: "error", code: "capture_drops", message: "Packet capture degraded - check interface" });
  }
  const col = h.status.collector;
  if (col && col.state === "failed") {
    reasons.push({ severity: "error", code: "collector_down", message: `NetFlow/IPFIX collector down: ${col.error ?? "not listening"}` });
  }
  if (h.history && h.history.state !== "ok") {
    reasons.push({ severity: "warning", code: "history_degraded", message: `History store degraded: ${h.history.reason ?? "unknown reason"} (capture and live data go on)` });
  }
  if (x?.cpuPercent != null && x.cpuPercent > h.cpuThreshold) {
    reasons.push({ severity: "warning", code: "cpu_high", message: `High CPU: ${Math.round(x.cpuPercent)} % (threshold ${h.cpuThreshold} %)` });
  }
  const status: HealthStatus = reasons.some((r) => r.severity === "critical") ? "critical" : reasons.length > 0 ? "degraded" : "ok";
  const st = h.status.stats;
  return {
    status,
    reasons,
    capture: {
      interface: c.interface, source: c.source, state: c.state, linktype: c.linktype, link,
      packets: c.packets, received: c.received, dropped: c.dropped, if_dropped: c.if_dropped,
      drop_rate: c.drop_rate, dropped_last: c.dropped_last, reopens: c.reopens, error: c.error,
    },
    flows: { active: st.active_flows, ended: st.ended_flows, evicted: st.evicted, total: st.flows, capacity: h.status.capacity },
    engine,
    sinks: h.status.sinks,
    exporters: h.status.exporters ?? [],
    collector: h.status.collector ?? null,
    exports: h.status.exports,
    history: h.history ?? null,
    system: {
      cpu_percent: x?.cpuPercent ?? null,
      load: x ? [x.load1, x.load5, x.load15] : [0, 0, 0],
      memory_used: x?.memUsed ?? null,
      memory_total: x?.memTotal ?? null,
      process_rss: x?.procRss ?? process.memoryUsage().rss,
      process_cpu: x?.procCpuPercent ?? 0,
    },
    uptime_s: Math.round((now - h.startedAt) / 1000),
    version: h.version,
    generated_at: new Date(now).toISOString(),
  };
}

/** The engine's status, or the last tick's when it cannot answer (see EngineClient.statusOrLast). */
export type EngineSnapshot = Awaited<ReturnType<ServerContext["engine"]["statusOrLast"]>>;

/** Health of a running server (asks the engine for its current status unless given one). */
export async function healthReport(ctx: ServerContext, snapshot?: EngineSnapshot): Promise<HealthReport> {
  const [snap, history] = await Promise.all([
    snapshot ?? ctx.engine.statusOrLast(),
    ctx.history ? ctx.history.status().catch((e: Error) => storeUnavailable(e)) : null,
  ]);
  return evaluateHealth({
    history,
    status: snap.status,
    unavailable: snap.unavailable,
    engine: ctx.engine.health(),
    sample: ctx.metrics.latest(),
    fatal: ctx.engine.fatal,
    startedAt: ctx.startedAt,
    version: ctx.version,
    cpuThreshold: ctx.alerts.config.cpuPercent,
  });
}
