/**
 * Why a flow looks suspicious: a list of reason codes (empty when none), shown next to the flow in
 * the API (`suspicious`), CSV exports and the flow table.
 *
 * - `high_rate`: the flow's current rate (`bps`, last one-second tick) is at or above the per-flow
 *   threshold (default 50 Mbit/s, the alert engine's `flowBps`). Ended flows have bps 0.
 * - `scan`: the flow's initiator is a current scan candidate (TickSummary.scans, computed by the
 *   engine from unanswered/refused TCP attempts) AND this flow is one of those attempts
 *   (state attempted or rejected).
 * - `rejected`: TCP state `rejected` — the responder answered the SYN with a RST. Limit: an ICMP
 *   destination-unreachable answer is not tied to the flow it refers to (the engine keeps ICMP as
 *   its own flow), so UDP "port closed" answers are not flagged.
 * - `cleartext_credentials`: a TCP connection that got an answer to a well-known cleartext login
 *   protocol, judged by destination port only: FTP 21, telnet 23, POP3 110, IMAP 143. Limits: no
 *   payload inspection, so STARTTLS upgrades on 110/143 are still flagged, and those protocols on
 *   other ports are not; unanswered attempts (attempted/rejected) are not flagged.
 */
import type { FlowRecord } from "../flows/format/record.ts";

export const SUSPICIOUS_REASONS = ["high_rate", "scan", "rejected", "cleartext_credentials"] as const;
export type SuspiciousReason = (typeof SUSPICIOUS_REASONS)[number];

/** Cleartext login protocols by TCP destination port. */
export const CLEARTEXT_PORTS: ReadonlyMap<number, string> = new Map([
  [21, "ftp"], [23, "telnet"], [110, "pop3"], [143, "imap"],
]);

export interface SuspiciousContext {
  /** Per-flow rate threshold in bit/s (default 50e6). */
  flowBps?: number;
  /** Sources currently suspected of scanning (TickSummary.scans[].src_ip). */
  scanSources?: ReadonlySet<string>;
}

export const DEFAULT_FLOW_BPS = 50e6;

export type WithSuspicious<R extends FlowRecord = FlowRecord> = R & { suspicious: SuspiciousReason[] };

/** The records with their `suspicious` reasons: the one annotation the API, exports and pages use. */
export function withSuspicious<R extends FlowRecord>(records: readonly R[], ctx: SuspiciousContext): WithSuspicious<R>[] {
  return records.map((r) => ({ ...r, suspicious: suspiciousReasons(r, ctx) }));
}

export function suspiciousReasons(r: FlowRecord, ctx: SuspiciousContext = {}): SuspiciousReason[] {
  const out: SuspiciousReason[] = [];
  if (r.bps >= (ctx.flowBps ?? DEFAULT_FLOW_BPS)) out.push("high_rate");
  const attempt = r.state === "attempted" || r.state === "rejected";
  if (attempt && ctx.scanSources?.has(r.src_ip)) out.push("scan");
  if (r.state === "rejected") out.push("rejected");
  if (r.proto_num === 6 && !attempt && CLEARTEXT_PORTS.has(r.dst_port) && r.dst_packets > 0) {
    out.push("cleartext_credentials");
  }
  return out;
}
