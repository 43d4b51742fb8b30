/**
 * System health: one computation shared by GET /api/v1/health (HTTP 503 when critical) and the
 * Health page.
 *
 * Rules, most severe first:
 * - critical: the capture is down (engine capture state "down": the live handle failed and is
 *   being re-opened), the engine reported a fatal error (permission, missing libpcap, unreadable
 *   file), or the live interface's link is down (operstate from the metrics collector, sampled
 *   every metricsIntervalMs).
 * - degraded / error: packets were dropped in the last one-second interval (pcap_stats
 *   `dropped` delta): "Packet capture degraded - check interface".
 * - degraded / warning: host CPU above the threshold (default 80 %, the alert engine's cpuPercent).
 * - ok otherwise.
 *
 * Limits: capture state "starting" is reported as is (the first instants after start). The
 * interface's own rx_dropped counter is not a health input (kernels count unrelated discards
 * there); only libpcap's drops are. A file replay never drops.
 */
import type { EngineStatus } from "../worker/engine-client.ts";
import type { CaptureStatus } from "../worker/protocol.ts";
import type { SystemSample } from "../metrics/system-collector.ts";
import type { ServerContext } from "./context.ts";

export type HealthStatus = "ok" | "degraded" | "critical";

export interface HealthReason {
  severity: "warning" | "error" | "critical";
  code: "capture_down" | "capture_fatal" | "link_down" | "capture_drops" | "cpu_high";
  message: string;
}

export interface HealthReport {
  status: HealthStatus;
  reasons: HealthReason[];
  /** The engine's capture status, plus the link state of the live interface (up, down, unknown,
   * missing; null for file replay). */
  capture: Omit<CaptureStatus, "state"> & { state: string; link: string | null };
  flows: { active: number; ended: number; evicted: number; total: number; capacity: number };
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
  startedAt: number;
  version: string;
  cpuThreshold: number;
  now?: number;
}

/** The rules above, as a pure function of the inputs. */
export function evaluateHealth(h: HealthInput): HealthReport {
  const c = h.status.capture;
  const x = h.sample;
  const link = c.source === "live" ? (x?.iface?.link ?? null) : null;
  const reasons: HealthReason[] = [];
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
  if (x?.cpuPercent != null && x.cpuPercent > h.cpuThreshold) {
    reasons.push({ severity: "warning", code: "cpu_high", message: `High CPU: ${Math.round(x.cpuPercent)} % (threshold ${h.cpuThreshold} %)` });
  }
  const status: HealthStatus = reasons.some((r) => r.severity === "critical") ? "critical" : reasons.length > 0 ? "degraded" : "ok";
  const st = h.status.stats;
  const now = h.now ?? Date.now();
  return {
    status,
    reasons,
    capture: {
      interface: c.interface, source: c.source, state: c.state, linktype: c.linktype, link,
      packets: c.packets, received: c.received, dropped: c.dropped, if_dropped: c.if_dropped,
      drop_rate: c.drop_rate, dropped_last: c.dropped_last, reopens: c.reopens, error: c.error,
    },
    flows: { active: st.active_flows, ended: st.ended_flows, evicted: st.evicted, total: st.flows, capacity: h.status.capacity },
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

/** Health of a running server (asks the engine for its current status). */
export async function healthReport(ctx: ServerContext): Promise<HealthReport> {
  return evaluateHealth({
    status: await ctx.engine.status(),
    sample: ctx.metrics.latest(),
    fatal: ctx.engine.fatal,
    startedAt: ctx.startedAt,
    version: ctx.version,
    cpuThreshold: ctx.alerts.config.cpuPercent,
  });
}
