/** A varied set of ended flows for the store's equivalence tests: CIDR edges, every state, VLANs, IPv6. */
import { ACK, FIN, RST, SYN } from "../flows/state.ts";
import { rng, type FlowSpec } from "./synthetic-flows.ts";

export const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z

const EDGE_ADDRS = [
  "0.0.0.0", "0.0.0.1", "9.255.255.255", "10.0.0.0", "10.0.0.1", "10.255.255.255", "11.0.0.0",
  "127.0.0.1", "127.255.255.255", "128.0.0.0", "172.16.5.5", "192.168.0.1", "192.168.1.10",
  "192.168.1.255", "192.168.2.0", "255.255.255.255", "8.8.8.8",
];
const EDGE_V6 = [
  "::", "::1", "2001:db8::", "2001:db8::1", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::",
  "2001:db7:ffff::1", "fe80::1", "ff02::fb", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "8000::",
  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::ffff:10.0.0.1",
];
const FLAG_SETS: [number, number][] = [
  [SYN, 0], [SYN, RST | ACK], [SYN | ACK, SYN | ACK], [SYN | ACK | FIN, SYN | ACK], [SYN | ACK | FIN, SYN | ACK | FIN],
  [SYN | ACK | RST, SYN | ACK], [ACK, ACK], [ACK | FIN, ACK | FIN], [0, SYN | ACK], [ACK | 128, ACK | 64 | 32 | 8],
];
const PROTOS = [6, 6, 6, 17, 17, 1, 58, 47, 132, 0, 255];

/** `n` random flows over the edge addresses, plus every edge pair once. Ids from 1. */
export function variedFlows(n: number, seed = 7): FlowSpec[] {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const out: FlowSpec[] = [];
  for (let k = 0; k < n; k++) {
    const v6 = r() < 0.3;
    const pool = v6 ? EDGE_V6 : EDGE_ADDRS;
    let src = k < pool.length ? pool[k]! : pick(pool);
    let dst = pick(pool);
    if (r() < 0.3) {
      // random addresses near the edges too
      src = v6 ? `2001:db8:${Math.floor(r() * 65536).toString(16)}::${Math.floor(r() * 65536).toString(16)}`
        : `10.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`;
    }
    if (src === dst) dst = v6 ? "::1" : "8.8.8.8";
    if (src === dst) dst = v6 ? "::" : "0.0.0.1";
    const proto = pick(PROTOS);
    const ports = proto === 6 || proto === 17 || proto === 132;
    const [f0, f1] = proto === 6 ? pick(FLAG_SETS) : [0, 0];
    const bytes = Math.round(40 * Math.pow(10, r() * 7));
    const pkts = Math.max(1, Math.round(bytes / 800));
    const back = r() < 0.6;
    const first = T0 + r() * 86400 + (r() < 0.2 ? 0.0005 : 0) + (r() < 0.1 ? 0.0004999 : 0);
    const dur = pick([0, 0.0004, 0.0005, 0.0015, 0.9995, 1, 10, 10.0004, 119.9996, 600, 3600]) * (r() < 0.5 ? 1 : r());
    out.push({
      id: k + 1,
      src, dst,
      sport: ports ? pick([0, 1, 53, 80, 443, 1023, 1024, 5353, 40000, 49152, 65535]) : 0,
      dport: ports ? pick([0, 22, 53, 80, 443, 1024, 8080, 49151, 65535]) : 0,
      proto,
      vlan: r() < 0.2 ? pick([0, 5, 100, 4095]) : undefined,
      fwd: [pkts, bytes, f0],
      rev: back ? [Math.max(1, Math.round(pkts / 2)), Math.round(bytes / 2), f1] : [0, 0, proto === 6 ? f1 : 0],
      first,
      last: first + dur,
      reason: 1 + Math.floor(r() * 5),
    });
  }
  return out;
}
