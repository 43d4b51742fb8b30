/**
 * Alert rules: each turns one input (the engine's per-second TickSummary, or a system metrics
 * sample every ~5 s) into observations — a rule+key with a level relative to its threshold.
 * The engine (alert-engine.ts) applies hysteresis and cool-down on top.
 *
 * Levels: "high" = at or above the threshold, "low" = below threshold × clearFraction, "mid" in
 * between (neither raises nor clears). A keyed rule (host, flow, scan) that stops being observed
 * for a key counts as "low" for that key.
 *
 * Limits: the host rule uses the engine's 60 s talker average (TickSummary.talkers: the top 10
 * hosts), not an instantaneous rate; the flow rule sees only the 5 fastest flows of the second
 * (TickSummary.top_flows).
 */
import type { FlowRecord } from "../flows/record.ts";
import type { SystemSample } from "../metrics/system-collector.ts";
import type { TickSummary } from "../worker/protocol.ts";
import { formatBps, type Severity } from "./alert.ts";
import type { AlertConfig } from "./alert.ts";

export type Level = "high" | "mid" | "low";

export interface Observation {
  rule: string;
  key: string;
  severity: Severity;
  level: Level;
  value: number;
  /** Seconds the level must hold to raise / to clear. */
  raiseAfter: number;
  clearAfter: number;
  message: string;
  flows: FlowRecord[];
  q: string;
}

type Cfg = Required<AlertConfig>;

function level(value: number, threshold: number, cfg: Cfg): Level {
  if (value >= threshold) return "high";
  return value < threshold * cfg.clearFraction ? "low" : "mid";
}

/** Query text for exactly one flow's 5-tuple. */
export function flowQueryText(f: FlowRecord): string {
  const ports = f.proto === "tcp" || f.proto === "udp" || f.proto === "sctp" ? ` src_port:${f.src_port} dst_port:${f.dst_port}` : "";
  return `src_ip:${f.src_ip} dst_ip:${f.dst_ip}${ports} protocol:${f.proto_num}`;
}

function involves(f: FlowRecord, host: string): boolean {
  return f.src_ip === host || f.dst_ip === host;
}

/** Rules fed by the per-second summary. */
export function tickObservations(s: TickSummary, cfg: Cfg, linkDown: boolean): Observation[] {
  const out: Observation[] = [];
  const secs = cfg.bandwidthSeconds;
  out.push({
    rule: "bandwidth", key: "", severity: "error", level: level(s.bps, cfg.bandwidthBps, cfg), value: s.bps,
    raiseAfter: secs, clearAfter: secs,
    message: `High bandwidth: ${formatBps(s.bps)} for ${secs} s`,
    flows: s.top_flows.slice(0, 5), q: "bps>0",
  });
  for (const t of s.talkers) {
    const lv = level(t.bps, cfg.hostBps, cfg);
    if (lv === "low") continue;
    out.push({
      rule: "host_bandwidth", key: t.host, severity: "warning", level: lv, value: t.bps,
      raiseAfter: secs, clearAfter: secs,
      message: `Host ${t.host} at ${formatBps(t.bps)} (60 s average)`,
      flows: s.top_flows.filter((f) => involves(f, t.host)).slice(0, 5), q: `ip:${t.host}`,
    });
  }
  for (const f of s.top_flows) {
    const lv = level(f.bps, cfg.flowBps, cfg);
    if (lv === "low") continue;
    out.push({
      rule: "flow_bandwidth", key: String(f.id), severity: "warning", level: lv, value: f.bps,
      raiseAfter: secs, clearAfter: secs,
      message: `Flow ${f.src_ip}:${f.src_port} → ${f.dst_ip}:${f.dst_port} (${f.proto}) at ${formatBps(f.bps)}`,
      flows: [f], q: flowQueryText(f),
    });
  }
  const drops = s.capture.dropped_last;
  out.push({
    rule: "capture_drops", key: "", severity: "error", level: drops > 0 ? "high" : "low", value: drops,
    raiseAfter: 0, clearAfter: cfg.recoverSeconds,
    message: "Packet capture degraded - check interface",
    flows: [], q: "",
  });
  out.push(interfaceObservation(s.capture.state === "down", linkDown, s.capture.interface, s.capture.error, cfg));
  for (const c of s.scans) {
    if (c.attempts < cfg.scanMinAttempts) continue;
    out.push({
      rule: "scan", key: c.src_ip, severity: "warning", level: "high", value: c.attempts,
      raiseAfter: 0, clearAfter: cfg.recoverSeconds,
      message: `Scan suspected from ${c.src_ip}: ${c.attempts} unanswered or refused attempts to ${c.dst_ports} ports on ${c.dst_hosts} hosts`,
      flows: [], q: `src_ip:${c.src_ip} (state:attempted OR state:rejected)`,
    });
  }
  return out;
}

export function interfaceObservation(
  captureDown: boolean, linkDown: boolean, iface: string, error: string | null, cfg: Cfg,
): Observation {
  const why = captureDown ? `capture down${error ? `: ${error}` : ""}` : "link is down";
  return {
    rule: "interface_down", key: "", severity: "critical", level: captureDown || linkDown ? "high" : "low",
    value: captureDown || linkDown ? 1 : 0, raiseAfter: 0, clearAfter: cfg.recoverSeconds,
    message: `Interface ${iface || "(none)"} offline (${why}) - restart capture or check the link`,
    flows: [], q: "",
  };
}

/** Rules fed by system samples. */
export function systemObservations(x: SystemSample, cfg: Cfg): Observation[] {
  const out: Observation[] = [];
  const secs = cfg.systemSeconds;
  if (x.cpuPercent !== null) {
    out.push({
      rule: "cpu", key: "", severity: "warning", level: level(x.cpuPercent, cfg.cpuPercent, cfg), value: x.cpuPercent,
      raiseAfter: secs, clearAfter: secs,
      message: `High CPU: ${Math.round(x.cpuPercent)} % (threshold ${cfg.cpuPercent} %)`, flows: [], q: "",
    });
  }
  if (x.memUsed !== null && x.memTotal) {
    const pct = (x.memUsed / x.memTotal) * 100;
    out.push({
      rule: "memory", key: "", severity: "warning", level: level(pct, cfg.memoryPercent, cfg), value: pct,
      raiseAfter: secs, clearAfter: secs,
      message: `High memory use: ${Math.round(pct)} % (threshold ${cfg.memoryPercent} %)`, flows: [], q: "",
    });
  }
  return out;
}
