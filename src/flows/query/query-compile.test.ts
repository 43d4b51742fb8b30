import { describe, expect, test } from "bun:test";
import ipaddr from "ipaddr.js";
import {
  F_BYTES, F_FIRST, F_LAST, FlowColumns, KEY_WORDS, META_INIT_B, META_LIVE, REC_F64, REC_U32, U_FLAGS, U_PKTS, U_RATE,
} from "../table/columns.ts";
import { compileQuery, compileScan, flowStateIndex } from "./query-compile.ts";
import { parseQuery, paramsToQuery, queryToString, type QueryNode } from "./query.ts";
import { ACK, FIN, flowState, RST, STATES, SYN } from "../table/state.ts";
import { toRecord } from "../format/record.ts";
import { FlowTable } from "../table/table.ts";
import { DecodedPacket } from "../../capture/packet.ts";
import { CollectedFlow } from "../../collect/flow-record.ts";
import { ExporterRegistry } from "../../collect/exporters.ts";

function words(addr: string): number[] {
  const b = ipaddr.parse(addr).toByteArray();
  const w = [0, 0, 0, 0];
  for (let k = 0; k * 4 < b.length; k++) w[k] = ((b[k * 4]! << 24) | (b[k * 4 + 1]! << 16) | (b[k * 4 + 2]! << 8) | b[k * 4 + 3]!) >>> 0;
  return w;
}

interface Slot {
  src: string; sport: number; dst: string; dport: number; proto: number; vlan?: number;
  fwd: [pkts: number, bytes: number, flags: number]; rev: [pkts: number, bytes: number, flags: number];
  first: number; last: number; bps?: number; ended?: number;
}

/** Store a flow given in initiator terms, in canonical (lower endpoint = A) order. */
function put(c: FlowColumns, i: number, s: Slot): void {
  const v6 = s.src.includes(":");
  const sw = words(s.src), dw = words(s.dst);
  let cmp = 0;
  for (let k = 0; k < 4 && cmp === 0; k++) cmp = Math.sign(sw[k]! - dw[k]!);
  if (cmp === 0) cmp = Math.sign(s.sport - s.dport);
  const initB = cmp > 0;
  const [a, b, pa, pb] = initB ? [dw, sw, s.dport, s.sport] : [sw, dw, s.sport, s.dport];
  const o = i * KEY_WORDS;
  c.key.set(a, o);
  c.key.set(b, o + 4);
  c.key[o + 8] = ((pa << 16) | pb) >>> 0;
  c.key[o + 9] = (s.proto | (v6 ? 0x100 : 0) | (s.vlan !== undefined ? 0x200 : 0) | ((s.vlan ?? 0) << 16)) >>> 0;
  const [dA, dB] = initB ? [s.rev, s.fwd] : [s.fwd, s.rev];
  const fo = i * REC_F64, uo = i * REC_U32;
  c.u32[uo + U_PKTS] = dA[0]; c.f64[fo + F_BYTES] = dA[1];
  c.u32[uo + U_PKTS + 1] = dB[0]; c.f64[fo + F_BYTES + 1] = dB[1];
  c.f64[fo + F_FIRST] = s.first;
  c.f64[fo + F_LAST] = s.last;
  c.u32[uo + U_RATE] = Math.round((s.bps ?? 0) / 8);
  c.u32[uo + U_FLAGS] = (dA[2] | (dB[2] << 8) | (((initB ? META_INIT_B : 0) | META_LIVE | ((s.ended ?? 0) << 4)) << 16)) >>> 0;
}

const T = 1_700_000_000;
const SLOTS: Slot[] = [
  // 0: v4 TCP established, initiator is endpoint B (10.0.0.1 < 192.168.1.10)
  { src: "192.168.1.10", sport: 51000, dst: "10.0.0.1", dport: 443, proto: 6,
    fwd: [1000, 500_000, SYN | ACK], rev: [1500, 1_500_000, SYN | ACK], first: T, last: T + 10, bps: 2e6 },
  // 1: v4 UDP DNS on VLAN 100, bidirectional, initiator is B
  { src: "10.0.0.9", sport: 40000, dst: "10.0.0.5", dport: 53, proto: 17, vlan: 100,
    fwd: [1, 80, 0], rev: [1, 120, 0], first: T, last: T + 0.0004 },
  // 2: v4 ICMP one-way, ended (bps stored but reported as 0)
  { src: "172.16.5.5", sport: 0, dst: "8.8.8.8", dport: 0, proto: 1,
    fwd: [5, 420, 0], rev: [0, 0, 0], first: T, last: T + 4, bps: 5e6, ended: 1 },
  // 3: v6 TCP rejected, initiator is A
  { src: "2001:db8::1", sport: 1234, dst: "2001:db8:1::2", dport: 80, proto: 6,
    fwd: [1, 74, SYN], rev: [1, 60, RST | ACK], first: T, last: T + 0.01 },
  // 4: v6 TCP attempted on VLAN 5, initiator fe80::1 is B
  { src: "fe80::1", sport: 50000, dst: "2001:db8::99", dport: 22, proto: 6, vlan: 5,
    fwd: [3, 222, SYN], rev: [0, 0, 0], first: T, last: T + 3 },
  // 5: v6 UDP mDNS one-way, big and long
  { src: "2001:db8:0:0:1::5", sport: 5353, dst: "ff02::fb", dport: 5353, proto: 17,
    fwd: [4_000_000, 5e9, 0], rev: [0, 0, 0], first: T, last: T + 7200, bps: 900_000 },
  // 6: v4 TCP midstream, initiator B
  { src: "192.168.1.10", sport: 60000, dst: "10.0.0.1", dport: 22, proto: 6,
    fwd: [2, 500, ACK], rev: [2, 300, ACK | FIN], first: T, last: T + 120 },
  // 7: v4 GRE (proto 47), tiny
  { src: "10.20.30.40", sport: 0, dst: "10.20.30.41", dport: 0, proto: 47,
    fwd: [1, 100, 0], rev: [1, 100, 0], first: T, last: T },
];

const cols = new FlowColumns(SLOTS.length);
SLOTS.forEach((s, i) => put(cols, i, s));

/** Slots matched by `q`; the predicate and the scan must agree. */
function matches(q: string): number[] {
  const node = parseQuery(q);
  const f = compileQuery(node);
  const out: number[] = [];
  for (let i = 0; i < SLOTS.length; i++) if (f(cols, i)) out.push(i);
  const buf = new Uint32Array(SLOTS.length);
  const n = compileScan(node)(cols, 0, SLOTS.length, buf, true);
  expect([...buf.subarray(0, n)]).toEqual(out);
  return out;
}

describe("fixture sanity (oriented as the record sees it)", () => {
  test("records", () => {
    expect(toRecord(cols, 0)).toMatchObject({ src_ip: "192.168.1.10", dst_port: 443, state: "established", bytes: 2_000_000 });
    expect(toRecord(cols, 3)).toMatchObject({ src_ip: "2001:db8::1", state: "rejected", ip_version: 6 });
    expect(toRecord(cols, 4)).toMatchObject({ src_ip: "fe80::1", state: "attempted", vlan: 5 });
    expect(toRecord(cols, 2)).toMatchObject({ state: "oneway", bps: 0, active: false });
  });
});

describe("compileQuery: fields", () => {
  test("everything", () => {
    expect(matches("")).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
  test("IPv4 addresses and CIDRs by side", () => {
    expect(matches("src_ip:192.168.1.10")).toEqual([0, 6]);
    expect(matches("dst_ip:192.168.1.10")).toEqual([]);
    expect(matches("ip:192.168.1.10")).toEqual([0, 6]);
    expect(matches("dst_ip:10.0.0.1/32")).toEqual([0, 6]);
    expect(matches("src_ip:10.0.0.0/8")).toEqual([1, 7]);
    expect(matches("ip:10.0.0.0/8")).toEqual([0, 1, 6, 7]);
    expect(matches("ip:192.168.1.0/24")).toEqual([0, 6]);
    expect(matches("dst_ip:8.0.0.0/8")).toEqual([2]);
    expect(matches("ip:0.0.0.0/0")).toEqual([0, 1, 2, 6, 7]);
    expect(matches("ip:10.20.30.40/31")).toEqual([7]);
  });
  test("IPv6 addresses and CIDRs; v4 and v6 never cross", () => {
    expect(matches("ip:::/0")).toEqual([3, 4, 5]);
    expect(matches("ip:2001:db8::/32")).toEqual([3, 4, 5]);
    expect(matches("src_ip:2001:db8::/32")).toEqual([3, 5]);
    expect(matches("dst_ip:2001:db8::/32")).toEqual([3, 4]);
    expect(matches("src_ip:2001:db8::/64")).toEqual([3, 5]);
    expect(matches("dst_ip:2001:db8:1::/64")).toEqual([3]);
    expect(matches("src_ip:2001:db8::1/128")).toEqual([3]);
    expect(matches("src_ip:2001:db8::1:0:0:5")).toEqual([5]);
    expect(matches("src_ip:2001:db8:0:0:1::/80")).toEqual([5]);
    expect(matches("src_ip:fe80::/10")).toEqual([4]);
    expect(matches("dst_ip:ff00::/8")).toEqual([5]);
    expect(matches("ip:::ffff:10.0.0.1")).toEqual([]);
  });
  test("ports: single, range, comparison, either side", () => {
    expect(matches("dst_port:443")).toEqual([0]);
    expect(matches("src_port:443")).toEqual([]);
    expect(matches("port:443")).toEqual([0]);
    expect(matches("src_port:50000-60000")).toEqual([0, 4, 6]);
    expect(matches("dst_port<1024")).toEqual([0, 1, 2, 3, 4, 6, 7]);
    expect(matches("port:5353")).toEqual([5]);
    expect(matches("src_port>=40000 dst_port:53")).toEqual([1]);
  });
  test("protocol, vlan, ip_version, state", () => {
    expect(matches("protocol:tcp")).toEqual([0, 3, 4, 6]);
    expect(matches("proto:udp")).toEqual([1, 5]);
    expect(matches("proto:icmp")).toEqual([2]);
    expect(matches("proto:47")).toEqual([7]);
    expect(matches("proto:icmpv6")).toEqual([]);
    expect(matches("vlan:100")).toEqual([1]);
    expect(matches("vlan:5")).toEqual([4]);
    expect(matches("vlan:none")).toEqual([0, 2, 3, 5, 6, 7]);
    expect(matches("ip_version:6")).toEqual([3, 4, 5]);
    expect(matches("ip_version:4")).toEqual([0, 1, 2, 6, 7]);
    expect(matches("state:established")).toEqual([0]);
    expect(matches("state:rejected")).toEqual([3]);
    expect(matches("state:attempted")).toEqual([4]);
    expect(matches("state:midstream")).toEqual([6]);
    expect(matches("state:oneway")).toEqual([2, 5]);
    expect(matches("state:bidirectional")).toEqual([1, 7]);
    expect(matches("state:closed")).toEqual([]);
  });
  test("bytes, packets, duration, bps with units", () => {
    expect(matches("bytes>1M")).toEqual([0, 5]);
    expect(matches("bytes:>=2M")).toEqual([0, 5]);
    expect(matches("bytes>2M")).toEqual([5]);
    expect(matches("bytes:2000000")).toEqual([0]);
    expect(matches("bytes<=200")).toEqual([1, 3, 7]);
    expect(matches("bytes>4GiB")).toEqual([5]);
    expect(matches("packets>1k")).toEqual([0, 5]);
    expect(matches("packets<3")).toEqual([1, 3, 7]);
    expect(matches("duration>10s")).toEqual([5, 6]);
    expect(matches("duration>=10")).toEqual([0, 5, 6]);
    expect(matches("duration>1h")).toEqual([5]);
    expect(matches("duration:2m")).toEqual([6]);
    expect(matches("duration<250ms")).toEqual([1, 3, 7]);
    expect(matches("bps>1M")).toEqual([0]);
    expect(matches("bps>=500k")).toEqual([0, 5]);
    expect(matches("bps:<1k")).toEqual([1, 2, 3, 4, 6, 7]);
  });
});

describe("compileQuery: logic", () => {
  test("negation forms", () => {
    expect(matches("-protocol:tcp")).toEqual([1, 2, 5, 7]);
    expect(matches("!protocol:tcp")).toEqual([1, 2, 5, 7]);
    expect(matches("not protocol:tcp")).toEqual([1, 2, 5, 7]);
    expect(matches("NOT (protocol:tcp OR ip_version:6)")).toEqual([1, 2, 7]);
    expect(matches("--vlan:none")).toEqual(matches("vlan:none"));
    expect(matches("-ip:10.0.0.0/8")).toEqual([2, 3, 4, 5]);
  });
  test("AND binds tighter than OR; parentheses override", () => {
    expect(matches("proto:udp vlan:100 OR proto:icmp")).toEqual([1, 2]);
    expect(matches("proto:udp (vlan:100 OR proto:icmp)")).toEqual([1]);
    expect(matches("proto:icmp OR proto:udp vlan:100")).toEqual([1, 2]);
    expect(matches("(proto:icmp OR proto:udp) vlan:none")).toEqual([2, 5]);
    expect(matches("proto:tcp ip_version:4 -state:midstream OR proto:47 OR vlan:5")).toEqual([0, 4, 7]);
    expect(matches("proto:tcp AND ip_version:6 AND dst_port:80")).toEqual([3]);
  });
  test("params compile to the same matches as text", () => {
    const f = compileQuery(paramsToQuery({ src_ip: "192.168.1.0/24", protocol: "tcp", min_bytes: "1M" }));
    expect([...SLOTS.keys()].filter((i) => f(cols, i))).toEqual([0]);
  });
  test("canonical text matches the same slots", () => {
    for (const q of ["proto:udp vlan:100 OR proto:icmp", "NOT (protocol:tcp OR ip_version:6) bytes<1k", "src_port:50000-60000 duration>1.5"]) {
      expect(matches(queryToString(parseQuery(q)))).toEqual(matches(q));
    }
  });
});

describe("compiled functions", () => {
  test("cache returns the same function for the same query, distinct ones otherwise", () => {
    expect(compileQuery(parseQuery("proto:tcp port:80"))).toBe(compileQuery(parseQuery("protocol:6 port:80-80")));
    expect(compileQuery(parseQuery("state:closed"))).not.toBe(compileQuery(parseQuery("state:reset")));
    expect(matches("state:reset OR state:rejected")).toEqual([3]);
  });
  test("scan honours range and liveOnly", () => {
    const buf = new Uint32Array(8);
    const scan = compileScan(parseQuery("proto:tcp"));
    expect([...buf.subarray(0, scan(cols, 1, 5, buf, true))]).toEqual([3, 4]);
    cols.setMeta(3, cols.meta(3) & ~META_LIVE);
    try {
      expect([...buf.subarray(0, scan(cols, 0, 8, buf, true))]).toEqual([0, 4, 6]);
      expect([...buf.subarray(0, scan(cols, 0, 8, buf, false))]).toEqual([0, 3, 4, 6]);
    } finally {
      cols.setMeta(3, cols.meta(3) | META_LIVE);
    }
  });
  test("hand-built ASTs with non-numeric values are refused, not compiled into code", () => {
    const evil = { kind: "proto", proto: "1)||globalThis.x=1||(" } as unknown as QueryNode;
    expect(() => compileQuery(evil)).toThrow(TypeError);
    expect(() => compileQuery({ kind: "state", state: "x" } as unknown as QueryNode)).toThrow(TypeError);
  });
});

describe("flowStateIndex", () => {
  test("agrees with flowState for every TCP flag pair and both orientations", () => {
    const c = new FlowColumns(1);
    const check = (i: number) => expect(STATES[flowStateIndex(c, i)]).toBe(flowState(c, i));
    put(c, 0, { ...SLOTS[0]!, fwd: [1, 1, 0], rev: [1, 1, 0] });
    let bad = 0;
    for (const initB of [0, 1]) {
      for (let f = 0; f < 65536; f += 7) {
        c.u32[U_FLAGS] = ((f >>> 8) | ((f & 0xff) << 8) | ((META_LIVE | initB) << 16)) >>> 0;
        if (STATES[flowStateIndex(c, 0)] !== flowState(c, 0)) bad++;
      }
    }
    expect(bad).toBe(0);
    put(c, 0, SLOTS[2]!);
    check(0);
    put(c, 0, SLOTS[1]!);
    check(0);
  });
});

describe("speed", () => {
  test("CIDR query over 1,000,000 slots (printed, not asserted)", () => {
    const n = 1_000_000;
    const c = new FlowColumns(n);
    let seed = 12345;
    const rnd = () => {
      seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
      return (seed >>>= 0);
    };
    for (let i = 0; i < n; i++) {
      const o = i * KEY_WORDS;
      c.key[o] = (0x0a000000 | (rnd() & 0xffffff)) >>> 0;
      c.key[o + 4] = (0xc0a80000 | (rnd() & 0xffff)) >>> 0;
      c.key[o + 8] = ((rnd() & 0xffff) << 16 | 443) >>> 0;
      c.key[o + 9] = i % 10 === 0 ? 0x100 | 17 : 6;
      c.u32[i * REC_U32 + U_PKTS] = rnd() & 0xff;
      c.f64[i * REC_F64 + F_BYTES] = rnd() & 0xfffff;
      c.setMeta(i, META_LIVE | (rnd() & 1));
    }
    const out = new Uint32Array(n);
    const run = (q: string) => {
      const t0 = performance.now();
      const f = compileQuery(parseQuery(q));
      let hits = 0;
      for (let i = 0; i < n; i++) if (f(c, i)) hits++;
      const t1 = performance.now();
      const scanned = compileScan(parseQuery(q))(c, 0, n, out, true);
      const t2 = performance.now();
      expect(scanned).toBe(hits);
      return { q, ms: (t1 - t0).toFixed(1), scanMs: (t2 - t1).toFixed(1), hits };
    };
    run("src_ip:10.0.0.0/8"); // warm-up
    const results = [
      run("src_ip:10.1.0.0/16"),
      run("ip:192.168.7.0/24 proto:tcp"),
      run("ip:10.0.0.0/8 -port:53 bytes>100k OR state:established"),
      run("ip:2001:db8::/32"),
    ];
    for (const r of results) console.log(`[speed] ${r.q}: predicate ${r.ms} ms, scan ${r.scanMs} ms over ${n} slots, ${r.hits} hits`);
    expect(results[0]!.hits).toBeGreaterThan(0);
  });
});

describe("compileQuery: source and exporter (flows from our capture and from NetFlow/IPFIX exporters)", () => {
  test("source:, exporter: (address, CIDR, IPv6), negation; scan agrees", () => {
    const t = new FlowTable({ noExpire: true });
    // slot 0: captured packet 10.0.0.1:1000 → 10.0.0.2:80
    const p = new DecodedPacket();
    p.src[0] = 0x0a000001; p.dst[0] = 0x0a000002; p.proto = 6; p.sport = 1000; p.dport = 80; p.tcpFlags = 2;
    t.add(p, T, 60);
    const reg = new ExporterRegistry();
    const now = T;
    const origins = [
      reg.exporter("192.0.2.1")!.domain(0, now)!.origin,
      reg.exporter("192.0.2.200")!.domain(7, now)!.origin,
      reg.exporter("2001:db8::9")!.domain(0, now)!.origin,
    ];
    // slots 1..3: the same 5-tuple from three exporters (never merged with the captured flow or each other)
    for (const o of origins) {
      const f = new CollectedFlow();
      f.src[0] = 0x0a000001; f.dst[0] = 0x0a000002; f.proto = 6; f.sport = 1000; f.dport = 80;
      f.first = T; f.last = T + 1; f.packets = 3; f.bytes = 180;
      t.addRecord(f, o);
    }
    expect(t.count).toBe(4);
    const out = new Uint32Array(8);
    const m = (q: string) => {
      const f = compileQuery(parseQuery(q));
      const hits: number[] = [];
      for (let i = 0; i < t.hwm; i++) if (f(t.cols, i)) hits.push(i);
      const n = compileScan(parseQuery(q))(t.cols, 0, t.hwm, out, true);
      expect(Array.from(out.subarray(0, n))).toEqual(hits);
      return hits;
    };
    expect(m("source:capture")).toEqual([0]);
    expect(m("source:netflow")).toEqual([1, 2, 3]);
    expect(m("-source:netflow")).toEqual([0]);
    expect(m("exporter:192.0.2.1")).toEqual([1]);
    expect(m("exporter:192.0.2.0/24")).toEqual([1, 2]);
    expect(m("exporter:2001:db8::/32")).toEqual([3]);
    expect(m("exporter:10.0.0.0/8")).toEqual([]);
    expect(m("not exporter:192.0.2.1")).toEqual([0, 2, 3]);
    expect(m("source:netflow -exporter:192.0.2.200 OR source:capture")).toEqual([0, 1, 3]);
    expect(m(queryToString(parseQuery("!exporter:192.0.2.0/25 src_ip:10.0.0.1")))).toEqual([0, 2, 3]);
    expect(m("ip:10.0.0.1 port:80")).toEqual([0, 1, 2, 3]);
    // A new exporter appears after the query was compiled: the same compiled function sees it.
    const f = compileQuery(parseQuery("exporter:192.0.2.0/24"));
    const o4 = reg.exporter("192.0.2.50")!.domain(0, now)!.origin;
    const g = new CollectedFlow();
    g.src[0] = 0x0a000009; g.dst[0] = 0x0a000002; g.proto = 17; g.first = T; g.last = T; g.packets = 1; g.bytes = 60;
    const slot = t.addRecord(g, o4);
    expect(f(t.cols, slot)).toBe(true);
    expect(toRecord(t.cols, slot)).toMatchObject({ src_ip: "10.0.0.9", packets: 1, bytes: 60 });
  });
});
