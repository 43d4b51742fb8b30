/**
 * Scan suspicion: sources that initiate many TCP connections that are never answered with a
 * SYN-ACK (attempted) or are refused (rejected), towards many ports or many hosts.
 *
 * Runs over the live table (O(flows)); only unanswered/refused TCP flows are folded, so the
 * allocation is per suspicious flow, not per flow. Limit: the 20 sources with most attempts.
 */
import type { FlowColumns } from "./columns.ts";
import { addrText } from "./record.ts";
import type { FlowTable } from "./table.ts";
import type { ScanCandidate } from "../worker/protocol.ts";

const SYN = 2, RST = 4;

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

export function findScans(table: FlowTable, rule: ScanRule = { minAttempts: 20, minTargets: 10 }): ScanCandidate[] {
  const c = table.cols;
  const bySrc = new Map<string, { attempts: number; unanswered: number; hosts: Set<string>; ports: Set<number> }>();
  for (let i = 0; i < table.hwm; i++) {
    if (!c.isLive(i) || !unansweredAttempt(c, i)) continue;
    const v6 = c.ipVersion(i) === 6;
    const src = addrText(c.key, c.srcAddrOff(i), v6);
    let s = bySrc.get(src);
    if (!s) {
      s = { attempts: 0, unanswered: 0, hosts: new Set(), ports: new Set() };
      bySrc.set(src, s);
    }
    s.attempts++;
    if (c.dirPackets(i, 1) === 0) s.unanswered++;
    if (s.hosts.size < 10_000) s.hosts.add(addrText(c.key, c.dstAddrOff(i), v6));
    if (s.ports.size < 70_000) s.ports.add(c.dstPort(i));
  }
  const out: ScanCandidate[] = [];
  for (const [src_ip, s] of bySrc) {
    if (s.attempts < rule.minAttempts) continue;
    if (s.hosts.size < rule.minTargets && s.ports.size < rule.minTargets) continue;
    out.push({ src_ip, attempts: s.attempts, unanswered: s.unanswered, dst_hosts: s.hosts.size, dst_ports: s.ports.size });
  }
  return out.sort((a, b) => b.attempts - a.attempts).slice(0, 20);
}
