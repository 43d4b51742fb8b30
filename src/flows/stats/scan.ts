/**
 * Scan suspicion: sources that initiate many TCP connections that are never answered with a
 * SYN-ACK (attempted) or are refused (rejected), towards many ports or many hosts.
 *
 * ScanDetector walks the live table in slices (step(), a budget of slots each), so a Worker can
 * answer queries in between: pass 1 counts attempts per source (HostIndex + typed counts), pass 2
 * collects distinct destination hosts and ports for the CANDIDATES sources with most attempts.
 * Limits: a source with fewer attempts than the 64th is not examined; distinct hosts/ports are
 * counted up to 65,536 each; the 20 sources with most attempts are reported. Flows that appear
 * or end during a pass may be missed or counted once in pass 1 only.
 */
import { IPPROTO_TCP, KEY_WORDS, KW_PROTO, PW_PROTO, type FlowColumns } from "../table/columns.ts";
import { HostIndex, type HostId } from "../table/host-index.ts";
import { addrText } from "../format/record.ts";
import type { FlowTable } from "../table/table.ts";

/** A source that looks like a scan: unanswered or refused attempts to many ports or hosts. */
export interface ScanCandidate {
  src_ip: string;
  attempts: number;
  unanswered: number;
  dst_hosts: number;
  dst_ports: number;
}

const SYN = 2, RST = 4;
/** Sources examined for distinct targets: those with the most attempts. */
const CANDIDATES = 64;

/** Distinct destination ports or hosts that make a scan (not a setting). */
export const SCAN_MIN_TARGETS = 10;

/**
 * What the engine's detector reports (TickSummary.scans): every source that reaches
 * SCAN_MIN_TARGETS targets, so from that many attempts (each attempt has one destination host and
 * port, so fewer cannot reach them). The alert rule and the `scan` flow annotation then apply the
 * user's --alert-scan-attempts (default 20), which can change at run time without the engine.
 */
export const REPORT_RULE: ScanRule = { minAttempts: SCAN_MIN_TARGETS, minTargets: SCAN_MIN_TARGETS };

export interface ScanRule {
  /** Unanswered or refused connection attempts from one source (default 20). */
  minAttempts: number;
  /** Distinct destination ports or hosts among them (default 10). */
  minTargets: number;
}

export function unansweredAttempt(c: FlowColumns, i: number): boolean {
  if (c.proto(i) !== 6) return false;
  const f0 = c.dirFlags(i, 0);
  const f1 = c.dirFlags(i, 1);
  return (f0 & SYN) !== 0 && (f1 & SYN) === 0 && (c.dirPackets(i, 1) === 0 || (f1 & RST) !== 0);
}

function addrId(k: Int32Array, off: number, v6: boolean): HostId {
  return v6 ? `${k[off]},${k[off + 1]},${k[off + 2]},${k[off + 3]}` : k[off]!;
}

interface Acc {
  slot: number;
  attempts: number;
  unanswered: number;
  hosts: Set<HostId>;
  ports: Set<number>;
}

export class ScanDetector {
  /** The last complete result. */
  result: ScanCandidate[] = [];
  /** 0 idle, 1 counting attempts, 2 collecting targets of the candidates. */
  private phase = 0;
  private cursor = 0;
  private readonly sources = new HostIndex();
  private counts = new Int32Array(4096);
  private candidates = new Map<number, Acc>();

  constructor(readonly rule: ScanRule = { minAttempts: 20, minTargets: 10 }) {}

  get busy(): boolean {
    return this.phase !== 0;
  }

  /** Start a pass (no-op while one is running). */
  begin(): void {
    if (this.phase !== 0) return;
    this.phase = 1;
    this.cursor = 0;
    this.sources.clear();
  }

  /** Work through up to `budget` slots; returns true while the pass is not finished. */
  step(table: FlowTable, budget: number): boolean {
    const c = table.cols;
    const k = c.key;
    while (budget > 0 && this.phase !== 0) {
      const to = Math.min(table.hwm, this.cursor + budget);
      for (let i = this.cursor; i < to; i++) {
        if ((k[i * KEY_WORDS + KW_PROTO]! & PW_PROTO) !== IPPROTO_TCP || !c.isLive(i) || !unansweredAttempt(c, i)) continue;
        const v6 = c.ipVersion(i) === 6;
        const row = this.sources.row(addrId(k, c.srcAddrOff(i), v6));
        if (this.phase === 1) {
          if (row >= this.counts.length) {
            const next = new Int32Array(this.counts.length * 2);
            next.set(this.counts);
            this.counts = next;
          }
          this.counts[row]!++;
        } else {
          const s = this.candidates.get(row);
          if (!s) continue;
          if (s.slot < 0) s.slot = i;
          s.attempts++;
          if (c.dirPackets(i, 1) === 0) s.unanswered++;
          if (s.hosts.size < 65_536) s.hosts.add(addrId(k, c.dstAddrOff(i), v6));
          if (s.ports.size < 65_536) s.ports.add(c.dstPort(i));
        }
      }
      budget -= to - this.cursor;
      this.cursor = to;
      if (to >= table.hwm) this.endPhase(table);
    }
    return this.phase !== 0;
  }

  /** Run a whole pass at once. */
  run(table: FlowTable): ScanCandidate[] {
    this.begin();
    while (this.step(table, Infinity));
    return this.result;
  }

  private endPhase(table: FlowTable): void {
    this.cursor = 0;
    if (this.phase === 1) {
      const n = this.sources.size;
      const over: number[] = [];
      for (let r = 0; r < n; r++) if (this.counts[r]! >= this.rule.minAttempts) over.push(r);
      over.sort((a, b) => this.counts[b]! - this.counts[a]!);
      this.candidates = new Map();
      for (const r of over.slice(0, CANDIDATES)) {
        this.candidates.set(r, { slot: -1, attempts: 0, unanswered: 0, hosts: new Set(), ports: new Set() });
      }
      this.counts.fill(0, 0, n);
      this.phase = this.candidates.size > 0 ? 2 : 0;
      if (this.phase === 0) this.result = [];
      return;
    }
    const c = table.cols;
    const out: ScanCandidate[] = [];
    for (const s of this.candidates.values()) {
      if (s.slot < 0 || (s.hosts.size < this.rule.minTargets && s.ports.size < this.rule.minTargets)) continue;
      if (s.attempts < this.rule.minAttempts) continue;
      const src_ip = addrText(c.key, c.srcAddrOff(s.slot), c.ipVersion(s.slot) === 6);
      out.push({ src_ip, attempts: s.attempts, unanswered: s.unanswered, dst_hosts: s.hosts.size, dst_ports: s.ports.size });
    }
    this.result = out.sort((a, b) => b.attempts - a.attempts).slice(0, 20);
    this.candidates = new Map();
    this.phase = 0;
  }
}

/** One whole pass over the table (tests, small tables). */
export function findScans(table: FlowTable, rule?: ScanRule): ScanCandidate[] {
  return new ScanDetector(rule).run(table);
}
