/**
 * Per-second traffic totals (packets, bytes, bytes by protocol, active flows) kept for one hour at
 * one-second steps and for 24 hours at one-minute steps. The engine adds packets to plain counters
 * (no per-packet ring work) and flushes them once per second of its clock.
 */
import { SeriesRing } from "../../metrics/ring.ts";

export const TOTAL_SERIES = [
  "packets",
  "bytes",
  "tcp_bytes",
  "udp_bytes",
  "icmp_bytes",
  "other_bytes",
  "non_ip_bytes",
  "active_flows",
] as const;
const KINDS = TOTAL_SERIES.map((n) => (n === "active_flows" ? "sample" : "sum")) as ("sum" | "sample")[];

export class Totals {
  readonly perSecond = new SeriesRing({ names: [...TOTAL_SERIES], stepSec: 1, capacity: 3600, kinds: KINDS });
  readonly perMinute = new SeriesRing({ names: [...TOTAL_SERIES], stepSec: 60, capacity: 24 * 60, kinds: KINDS });
  private readonly cur = new Float64Array(TOTAL_SERIES.length);
  /** Totals since start (for counters and /metrics). */
  readonly all = new Float64Array(TOTAL_SERIES.length);
  /** Seconds closed so far (flush calls): a reader over several turns sees whether a second closed meanwhile. */
  closed = 0;

  /** Total of sum series k since start, including the second not yet flushed. */
  count(k: number): number {
    return this.all[k]! + this.cur[k]!;
  }

  /** Account one packet; `proto` = IP protocol, or -1 for a packet that is not IP. */
  packet(wirelen: number, proto: number): void {
    const c = this.cur;
    c[0]!++;
    c[1]! += wirelen;
    if (proto === 6) c[2]! += wirelen;
    else if (proto === 17) c[3]! += wirelen;
    else if (proto === 1 || proto === 58) c[4]! += wirelen;
    else if (proto >= 0) c[5]! += wirelen;
    else c[6]! += wirelen;
  }

  /** Account a collected flow record (src/collect): `packets` packets of `bytes` bytes in all, protocol `proto`. */
  flowRecord(bytes: number, packets: number, proto: number): void {
    const c = this.cur;
    c[0]! += packets;
    c[1]! += bytes;
    if (proto === 6) c[2]! += bytes;
    else if (proto === 17) c[3]! += bytes;
    else if (proto === 1 || proto === 58) c[4]! += bytes;
    else c[5]! += bytes;
  }

  /** Close second `sec` (integer seconds) with `activeFlows` live flows. */
  flush(sec: number, activeFlows: number): void {
    const c = this.cur;
    this.closed++;
    c[7] = activeFlows;
    for (let k = 0; k < TOTAL_SERIES.length; k++) {
      const kind = KINDS[k]!;
      if (kind === "sum") {
        this.perSecond.accumulate(sec, k, c[k]!);
        this.perMinute.accumulate(sec, k, c[k]!);
        this.all[k]! += c[k]!;
      } else {
        this.perSecond.set(sec, k, c[k]!);
        this.perMinute.set(sec, k, c[k]!);
        this.all[k] = c[k]!;
      }
      c[k] = 0;
    }
  }
}
