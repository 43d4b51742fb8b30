/**
 * Scan suspicion: sources that initiate many TCP connections that are never answered with a
 * SYN-ACK (attempted) or are refused (rejected), towards many ports or many hosts.
 *
 * Runs over the live table (O(flows)); only unanswered/refused TCP flows are folded, keyed by
 * the numeric address (IPv4) or the four words (IPv6); text is made for the reported sources only.
 * Limits: distinct hosts/ports are counted for the 64 sources with most attempts only (a source
 * with fewer attempts than the 64th is not reported), up to 65,536 each; the 20 sources with
 * most attempts are reported.
 */
import { KEY_WORDS, type FlowColumns } from "./columns.ts";
import { addrText } from "./record.ts";
import type { FlowTable } from "./table.ts";
import type { ScanCandidate } from "../worker/protocol.ts";

const SYN = 2, RST = 4;
/** Sources examined for distinct targets: those with the most attempts. */
const CANDIDATES = 64;

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

function addrId(k: Int32Array, off: number, v6: boolean): number | string {
  return v6 ? `${k[off]},${k[off + 1]},${k[off + 2]},${k[off + 3]}` : k[off]!;
}

interface Acc {
  slot: number;
  attempts: number;
  unanswered: number;
  hosts: Set<number | string>;
  ports: Set<number>;
}

/**
 * Two passes: count attempts per source (a Map of numbers), then collect distinct hosts and ports
 * only for the sources over the threshold.
 */
export function findScans(table: FlowTable, rule: ScanRule = { minAttempts: 20, minTargets: 10 }): ScanCandidate[] {
  const c = table.cols;
  const k = c.key;
  const hwm = table.hwm;
  // Pass 1: attempts per source. IPv4 sources are sorted in a typed array and counted by runs
  // (a Map with hundreds of thousands of one-attempt sources costs ~10× more); IPv6 in a Map.
  let v4 = new Int32Array(1024);
  let n4 = 0;
  const counts6 = new Map<string, number>();
  for (let i = 0; i < hwm; i++) {
    if ((k[i * KEY_WORDS + 9]! & 0xff) !== 6 || !c.isLive(i) || !unansweredAttempt(c, i)) continue;
    const off = c.srcAddrOff(i);
    if (c.ipVersion(i) === 6) {
      const id = addrId(k, off, true) as string;
      counts6.set(id, (counts6.get(id) ?? 0) + 1);
    } else {
      if (n4 === v4.length) {
        const next = new Int32Array(v4.length * 2);
        next.set(v4);
        v4 = next;
      }
      v4[n4++] = k[off]!;
    }
  }
  const over: { id: number | string; n: number }[] = [];
  const sorted = v4.subarray(0, n4).sort();
  for (let a = 0; a < n4; ) {
    let b = a + 1;
    while (b < n4 && sorted[b] === sorted[a]) b++;
    if (b - a >= rule.minAttempts) over.push({ id: sorted[a]!, n: b - a });
    a = b;
  }
  for (const [id, n] of counts6) if (n >= rule.minAttempts) over.push({ id, n });
  // Pass 2 (distinct hosts and ports) only for the CANDIDATES sources with most attempts.
  over.sort((x, y) => y.n - x.n);
  const bySrc = new Map<number | string, Acc>();
  for (const o of over.slice(0, CANDIDATES)) {
    bySrc.set(o.id, { slot: -1, attempts: 0, unanswered: 0, hosts: new Set(), ports: new Set() });
  }
  if (bySrc.size === 0) return [];
  for (let i = 0; i < hwm; i++) {
    if ((k[i * KEY_WORDS + 9]! & 0xff) !== 6 || !c.isLive(i) || !unansweredAttempt(c, i)) continue;
    const v6 = c.ipVersion(i) === 6;
    const s = bySrc.get(addrId(k, c.srcAddrOff(i), v6));
    if (!s) continue;
    if (s.slot < 0) s.slot = i;
    s.attempts++;
    if (c.dirPackets(i, 1) === 0) s.unanswered++;
    if (s.hosts.size < 65_536) s.hosts.add(addrId(k, c.dstAddrOff(i), v6));
    if (s.ports.size < 65_536) s.ports.add(c.dstPort(i));
  }
  const out: ScanCandidate[] = [];
  for (const s of bySrc.values()) {
    if (s.hosts.size < rule.minTargets && s.ports.size < rule.minTargets) continue;
    const src_ip = addrText(k, c.srcAddrOff(s.slot), c.ipVersion(s.slot) === 6);
    out.push({ src_ip, attempts: s.attempts, unanswered: s.unanswered, dst_hosts: s.hosts.size, dst_ports: s.ports.size });
  }
  return out.sort((a, b) => b.attempts - a.attempts).slice(0, 20);
}
