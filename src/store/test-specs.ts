/** A varied set of ended flows for the store's equivalence tests: CIDR edges, every state, VLANs, IPv6. */
import { ACK, FIN, RST, SYN } from "../flows/table/state.ts";
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

/** Queries run on live and stored copies of the same flows (flow-sql.test.ts, test/history-queries.test.ts). */
export const QUERIES = [
  "",
  "src_ip:10.0.0.0/8", "dst_ip:10.0.0.0/8", "ip:10.0.0.0/8", "src_ip:10.255.255.255", "ip:10.0.0.0/32",
  "src_ip:11.0.0.0/8", "ip:9.255.255.255/31", "ip:128.0.0.0/1", "ip:0.0.0.0/1", "ip:0.0.0.0/0", "dst_ip:0.0.0.0/0",
  "src_ip:192.168.1.0/24", "-src_ip:192.168.0.0/16", "ip:255.255.255.255", "src_ip:127.0.0.0/8",
  "ip:2001:db8::/32", "src_ip:2001:db8::1", "dst_ip:ff02::/16", "ip:::/0", "ip:8000::/1", "ip:::/1",
  "ip:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "src_ip:2001:db8::/127", "ip:fe80::/10", "ip:::ffff:10.0.0.1",
  "src_ip:2001:db8:8000::/33",
  "port:53", "src_port:1024-65535", "dst_port:0", "port:0-1023", "dst_port>=49152", "src_port<1024",
  "src_port>65534", "dst_port<=22", "port:65535",
  "protocol:tcp", "proto:udp", "protocol:icmp OR protocol:icmpv6", "protocol:47", "protocol:0", "proto:255",
  "vlan:none", "vlan:100", "-vlan:none", "vlan:0", "vlan:4095",
  "state:attempted", "state:rejected", "state:established", "state:closing", "state:closed", "state:reset",
  "state:midstream", "state:oneway", "state:bidirectional", "-state:oneway",
  "ip_version:4", "ip_version:6", "ip_version:v6 protocol:tcp",
  "bytes>1M", "bytes<=500k", "bytes>=1MiB", "bytes:40", "packets>10", "packets<=1", "packets:1",
  "duration>10s", "duration<1ms", "duration:0", "duration>=1s", "duration:1ms", "duration>1h",
  "bps>0", "bps:0", "bps<1M", "bps>=0",
  "not protocol:tcp", "(src_ip:10.0.0.0/8 OR dst_ip:10.0.0.0/8) bytes>10k", "src_ip:10.0.0.0/8 bytes>1M",
  "!(protocol:udp port:53)", "protocol:tcp -state:established (state:reset OR state:rejected)",
  "ip:fe80::/10 OR ip:192.168.0.0/16 ip_version:4", "not (vlan:5 or vlan:100) packets>=2",
  "port:80 or port:443 or port:22", "-(-protocol:tcp)", "(ip:10.0.0.0/8 or ip:2001:db8::/32) and not bytes<1k",
  "src_ip:8.8.8.8 OR dst_ip:8.8.8.8 OR (vlan:4095 duration>1s)",
  // Extras and origins (issues 11, 12): app, names, country, AS, source, exporter.
  // (Terms no generated capture exercises — names, AS numbers, netflow origins — are in flow-extras.test.ts.)
  "app:tls", "-app:tls", "app:dns OR app:http", "app:ssh protocol:tcp", "country:private", "-country:private",
  "country:reserved", "country:documentation OR country:ula", "app:tls country:private", "source:netflow",
  "-exporter:10.0.0.0/8",
];
