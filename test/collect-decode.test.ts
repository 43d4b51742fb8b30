/**
 * The collector's decoders on datagrams built here byte by byte (RFC 3954 / RFC 7011 layouts):
 * v9 options templates announcing a sampling rate, IPFIX variable-length and enterprise fields,
 * biflow reverse elements, template withdrawal and expiry, unknown templates, domains and exporters
 * kept apart, the pairing rule; then a bounded fuzz loop (truncations, bit flips, random datagrams)
 * that must count errors and never throw; and a round trip through our own IPFIX exporter
 * (`flows --read --export-ipfix` into the collector).
 */
import { describe, expect, test } from "bun:test";
import { NetflowCollector } from "../src/collect/collector.ts";
import { FlowTable } from "../src/flows/table/table.ts";
import { toRecord, type FlowRecord } from "../src/flows/format/record.ts";
import { PCAPS } from "./shared-paths.ts";

// ---- datagram builders ----

class Bytes {
  readonly b: number[] = [];
  u8(v: number) { this.b.push(v & 255); return this; }
  u16(v: number) { return this.u8(v >>> 8).u8(v); }
  u32(v: number) { return this.u16(Math.floor(v / 65536) & 0xffff).u16(v & 0xffff); }
  u64(v: number) { return this.u32(Math.floor(v / 4294967296)).u32(v % 4294967296); }
  ip4(s: string) { for (const x of s.split(".")) this.u8(Number(x)); return this; }
  raw(a: number[] | Uint8Array) { for (const x of a) this.b.push(x); return this; }
  get length() { return this.b.length; }
  bytes() { return Uint8Array.from(this.b); }
}

/** A set: id, length, body (padded to 4 bytes when `pad`). */
function set(id: number, body: Bytes, pad = false): Bytes {
  const padLen = pad ? (4 - ((4 + body.length) % 4)) % 4 : 0;
  return new Bytes().u16(id).u16(4 + body.length + padLen).raw(body.b).raw(new Array<number>(padLen).fill(0));
}

function v9(sets: Bytes[], o: { uptime?: number; secs?: number; seq?: number; sourceId?: number } = {}): Uint8Array {
  const m = new Bytes().u16(9).u16(sets.length).u32(o.uptime ?? 100_000).u32(o.secs ?? 1_700_000_000).u32(o.seq ?? 0).u32(o.sourceId ?? 0);
  for (const s of sets) m.raw(s.b);
  return m.bytes();
}

function ipfix(sets: Bytes[], o: { secs?: number; seq?: number; domain?: number } = {}): Uint8Array {
  const body = new Bytes();
  for (const s of sets) body.raw(s.b);
  return new Bytes().u16(10).u16(16 + body.length).u32(o.secs ?? 1_700_000_000).u32(o.seq ?? 0).u32(o.domain ?? 1).raw(body.b).bytes();
}

/** v9 data template 256: src, dst (IPv4), sport, dport, proto, flags, packets, bytes, first, last (uptime). */
const V9_TEMPLATE = set(0, new Bytes().u16(256).u16(10)
  .u16(8).u16(4).u16(12).u16(4).u16(7).u16(2).u16(11).u16(2).u16(4).u16(1).u16(6).u16(1)
  .u16(2).u16(4).u16(1).u16(4).u16(22).u16(4).u16(21).u16(4));

function v9Record(b: Bytes, r: { src: string; dst: string; sport: number; dport: number; proto?: number; flags?: number; packets: number; bytes: number; first: number; last: number }): Bytes {
  return b.ip4(r.src).ip4(r.dst).u16(r.sport).u16(r.dport).u8(r.proto ?? 6).u8(r.flags ?? 0).u32(r.packets).u32(r.bytes).u32(r.first).u32(r.last);
}

function setup(config: { idleTimeout?: number } = {}) {
  const table = new FlowTable({ idleTimeout: config.idleTimeout });
  const collector = new NetflowCollector({ host: "127.0.0.1", port: 0, onFlow: (f, origin) => table.addRecord(f, origin) });
  const records = (): FlowRecord[] => {
    const out: FlowRecord[] = [];
    table.forEach((c, i) => out.push(toRecord(c, i)));
    return out.sort((a, b) => a.id - b.id);
  };
  return { table, collector, records };
}

const NOW = 1_700_000_000;

describe("NetFlow v9", () => {
  test("templates, records, uptime times against the header, one-way records paired into one flow", () => {
    const { collector, records } = setup();
    const a = v9Record(new Bytes(), { src: "10.0.0.1", dst: "10.0.0.2", sport: 40000, dport: 443, flags: 0x1b, packets: 10, bytes: 1000, first: 90_000, last: 95_000 });
    const b = v9Record(new Bytes(), { src: "10.0.0.2", dst: "10.0.0.1", sport: 443, dport: 40000, flags: 0x1a, packets: 8, bytes: 6000, first: 90_010, last: 95_010 });
    collector.feed(v9([V9_TEMPLATE, set(256, a)]), "192.0.2.1", 2055, NOW);
    collector.feed(v9([set(256, b)], { seq: 1 }), "192.0.2.1", 2055, NOW);
    const r = records();
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({
      src_ip: "10.0.0.1", src_port: 40000, dst_ip: "10.0.0.2", dst_port: 443, proto: "tcp",
      src_packets: 10, src_bytes: 1000, dst_packets: 8, dst_bytes: 6000, src_tcp_flags: "SAFP", state: "closing",
    });
    // header: uptime 100 s at 1_700_000_000 s → first = export - (100 000 - 90 000) ms
    expect(r[0]!.first_seen).toBe(new Date((NOW - 10) * 1000).toISOString());
    expect(r[0]!.last_seen).toBe(new Date((NOW - 4.99) * 1000).toISOString());
    const s = collector.stats();
    expect(s.exporters[0]).toMatchObject({ address: "192.0.2.1", versions: [9], packets: 2, records: 2, errors: 0, lost: 0, flow_packets: 18, flow_bytes: 7000 });
  });

  test("options template announcing a sampling rate scales the counts of later records", () => {
    const { collector, records } = setup();
    // options template 300: scope system (1, 4 bytes), options SAMPLING_INTERVAL 34 (4) and SAMPLING_ALGORITHM 35 (1)
    const opt = set(1, new Bytes().u16(300).u16(4).u16(8).u16(1).u16(4).u16(34).u16(4).u16(35).u16(1), true);
    const optData = set(300, new Bytes().u32(0).u32(100).u8(1), true);
    const a = v9Record(new Bytes(), { src: "10.1.0.1", dst: "10.1.0.2", sport: 1, dport: 2, proto: 17, packets: 3, bytes: 300, first: 99_000, last: 99_500 });
    collector.feed(v9([opt, optData, V9_TEMPLATE, set(256, a)]), "192.0.2.9", 2055, NOW);
    expect(records()[0]).toMatchObject({ packets: 300, bytes: 30_000 });
    expect(collector.stats().exporters[0]).toMatchObject({ sampling_rate: 100, records: 1 });
  });

  test("unknown templates, bad set ids and bad lengths are counted by reason, the rest decoded", () => {
    const { collector, records } = setup();
    const a = v9Record(new Bytes(), { src: "10.2.0.1", dst: "10.2.0.2", sport: 5, dport: 6, packets: 1, bytes: 60, first: 99_000, last: 99_000 });
    collector.feed(v9([set(256, a)]), "192.0.2.2", 2055, NOW); // no template yet
    collector.feed(v9([set(7, new Bytes().u32(0)), V9_TEMPLATE, set(256, a)]), "192.0.2.2", 2055, NOW);
    const bad = v9([V9_TEMPLATE]);
    bad[22] = 0xff; // set length beyond the datagram
    collector.feed(bad, "192.0.2.2", 2055, NOW);
    collector.feed(new Uint8Array([0, 9, 0]), "192.0.2.2", 2055, NOW);
    collector.feed(new Uint8Array([0, 7, 0, 0]), "192.0.2.2", 2055, NOW);
    expect(records()).toHaveLength(1);
    const s = collector.stats();
    expect(s.error_reasons).toEqual({ unknown_template: 1, bad_set_id: 1, bad_set_length: 1, short_header: 1, bad_version: 1 });
    expect(s.exporters[0]!.errors).toBe(5);
    expect(s.exporters[0]!.packets).toBe(5);
  });

  test("templates are per exporter, source port and domain; each exporter/domain pair is its own origin", () => {
    const { collector, table } = setup();
    const a = v9Record(new Bytes(), { src: "10.3.0.1", dst: "10.3.0.2", sport: 5, dport: 6, packets: 1, bytes: 60, first: 99_000, last: 99_000 });
    collector.feed(v9([V9_TEMPLATE, set(256, a)], { sourceId: 1 }), "192.0.2.3", 2055, NOW);
    collector.feed(v9([set(256, a)], { sourceId: 2 }), "192.0.2.3", 2055, NOW); // other domain: no template
    collector.feed(v9([set(256, a)], { sourceId: 1 }), "192.0.2.3", 2056, NOW); // other port: no template
    collector.feed(v9([V9_TEMPLATE, set(256, a)], { sourceId: 2 }), "192.0.2.3", 2055, NOW);
    collector.feed(v9([V9_TEMPLATE, set(256, a)], { sourceId: 1 }), "192.0.2.4", 2055, NOW);
    expect(collector.stats().error_reasons).toEqual({ unknown_template: 2 });
    // The same 5-tuple from three exporter/domain pairs: three flows, never merged.
    expect(table.count).toBe(3);
    const origins = new Set<number>();
    table.forEach((c, i) => origins.add(c.origin(i)));
    expect(origins.size).toBe(3);
    expect(origins.has(0)).toBe(false);
  });

  test("pairing rule: a record farther than the idle timeout after the flow's last time starts a new flow", () => {
    const { collector, records } = setup({ idleTimeout: 60 });
    const fwd = v9Record(new Bytes(), { src: "10.4.0.1", dst: "10.4.0.2", sport: 7, dport: 8, proto: 17, packets: 1, bytes: 100, first: 1_000, last: 2_000 });
    const late = v9Record(new Bytes(), { src: "10.4.0.2", dst: "10.4.0.1", sport: 8, dport: 7, proto: 17, packets: 1, bytes: 100, first: 70_000, last: 70_000 });
    const near = v9Record(new Bytes(), { src: "10.4.0.2", dst: "10.4.0.1", sport: 8, dport: 7, proto: 17, packets: 2, bytes: 200, first: 80_000, last: 90_000 });
    collector.feed(v9([V9_TEMPLATE, set(256, fwd)]), "192.0.2.5", 2055, NOW);
    collector.feed(v9([set(256, late), set(256, near)]), "192.0.2.5", 2055, NOW);
    const r = records();
    // fwd ended (idle: 68 s silence); late + near pair into one flow (within 60 s)
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ src_ip: "10.4.0.2", packets: 3, src_packets: 3, dst_packets: 0 });
  });

  test("initiator: the direction whose record started first, whichever arrives first", () => {
    const { collector, records } = setup();
    const reply = v9Record(new Bytes(), { src: "10.5.0.2", dst: "10.5.0.1", sport: 53, dport: 3333, proto: 17, packets: 1, bytes: 200, first: 50_010, last: 50_010 });
    const query = v9Record(new Bytes(), { src: "10.5.0.1", dst: "10.5.0.2", sport: 3333, dport: 53, proto: 17, packets: 1, bytes: 80, first: 50_000, last: 50_000 });
    collector.feed(v9([V9_TEMPLATE, set(256, reply), set(256, query)]), "192.0.2.6", 2055, NOW);
    expect(records()[0]).toMatchObject({ src_ip: "10.5.0.1", src_port: 3333, dst_port: 53, src_bytes: 80, dst_bytes: 200 });
  });
});

describe("IPFIX", () => {
  /** Template 400: varlen interfaceName (82) first, enterprise varlen, IPv6 addresses, ports, proto, biflow counters, ms times, biflowDirection. */
  const TEMPLATE = set(2, new Bytes().u16(400).u16(12)
    .u16(82).u16(0xffff)
    .u16(0x8000 | 5).u16(0xffff).u32(32473)
    .u16(27).u16(16).u16(28).u16(16).u16(7).u16(2).u16(11).u16(2).u16(4).u16(1)
    .u16(1).u16(8).u16(2).u16(8)
    .u16(0x8000 | 1).u16(8).u32(29305)
    .u16(0x8000 | 2).u16(8).u32(29305)
    .u16(152).u16(8));
  const v6 = (b: Bytes, s: string) => b.raw(Array.from(Buffer.from(s.replace(/:/g, ""), "hex")));

  function rec(name: string, longName = false): Bytes {
    const b = new Bytes();
    const n = Buffer.from(name);
    b.u8(n.length).raw(n);
    if (longName) {
      const big = new Uint8Array(300).fill(0x41);
      b.u8(255).u16(big.length).raw(big);
    } else b.u8(0);
    v6(b, "20010db8000000000000000000000001");
    v6(b, "20010db8000000000000000000000002");
    b.u16(5000).u16(80).u8(6).u64(1234).u64(10).u64(5678).u64(12).u64(NOW * 1000 - 5000);
    return b;
  }

  test("variable-length and enterprise fields are skipped by their length; RFC 5103 reverse counters", () => {
    const { collector, records } = setup();
    collector.feed(ipfix([TEMPLATE, set(400, new Bytes().raw(rec("eth0").b).raw(rec("eth1", true).b))]), "2001:db8::ff", 4739, NOW);
    const r = records();
    expect(collector.stats().errors).toBe(0);
    expect(r).toHaveLength(1); // two records of one biflow: merged
    expect(r[0]).toMatchObject({
      ip_version: 6, src_ip: "2001:db8::1", src_port: 5000, dst_ip: "2001:db8::2", dst_port: 80,
      src_bytes: 2468, src_packets: 20, dst_bytes: 11356, dst_packets: 24,
    });
    expect(r[0]!.first_seen).toBe(new Date(NOW * 1000 - 5000).toISOString());
    expect(collector.stats().exporters[0]!.address).toBe("2001:db8::ff");
  });

  test("a record overrunning its set, template withdrawal and template expiry are counted", () => {
    const { collector } = setup();
    const one = rec("x");
    // interfaceName claims 250 bytes; the set holds one record's length
    collector.feed(ipfix([TEMPLATE, set(400, new Bytes().u8(250).raw(new Array<number>(one.length - 1).fill(7)))]), "192.0.2.7", 4739, NOW);
    expect(collector.stats().error_reasons).toEqual({ bad_record: 1 });
    collector.feed(ipfix([set(2, new Bytes().u16(400).u16(0))], { seq: 0 }), "192.0.2.7", 4739, NOW); // withdraw 400
    collector.feed(ipfix([set(400, rec("y"))]), "192.0.2.7", 4739, NOW);
    expect(collector.stats().error_reasons).toEqual({ bad_record: 1, unknown_template: 1 });
    collector.feed(ipfix([TEMPLATE]), "192.0.2.7", 4739, NOW);
    collector.feed(ipfix([set(400, rec("z"))]), "192.0.2.7", 4739, NOW + 1801); // 30 min + 1 s later
    expect(collector.stats().error_reasons).toEqual({ bad_record: 1, unknown_template: 1, template_expired: 1 });
  });

  test("sequence numbers: records missing between messages are counted as lost", () => {
    const { collector } = setup();
    collector.feed(ipfix([TEMPLATE, set(400, rec("a"))], { seq: 0 }), "192.0.2.8", 4739, NOW);
    collector.feed(ipfix([set(400, rec("b"))], { seq: 5 }), "192.0.2.8", 4739, NOW);
    expect(collector.stats().exporters[0]!.lost).toBe(4);
  });
});

describe("memory bounds against spoofed floods", () => {
  test("exporters, domains per exporter and templates per domain are capped and counted", () => {
    const table = new FlowTable({});
    const collector = new NetflowCollector({ host: "127.0.0.1", port: 0, onFlow: (f, o) => table.addRecord(f, o), limits: { maxExporters: 2, maxDomains: 1, maxTemplates: 1 } });
    const a = v9Record(new Bytes(), { src: "10.8.0.1", dst: "10.8.0.2", sport: 1, dport: 2, packets: 1, bytes: 40, first: 99_000, last: 99_000 });
    collector.feed(v9([V9_TEMPLATE, set(256, a)]), "192.0.2.10", 2055, NOW);
    collector.feed(v9([V9_TEMPLATE, set(256, a)]), "192.0.2.11", 2055, NOW);
    collector.feed(v9([V9_TEMPLATE, set(256, a)]), "192.0.2.12", 2055, NOW); // third exporter: refused
    collector.feed(v9([V9_TEMPLATE, set(256, a)], { sourceId: 5 }), "192.0.2.10", 2055, NOW); // second domain
    const second = set(0, new Bytes().u16(257).u16(2).u16(8).u16(4).u16(12).u16(4));
    collector.feed(v9([second]), "192.0.2.10", 2055, NOW); // second template in the domain
    const s = collector.stats();
    expect(s.exporters.map((e) => e.address)).toEqual(["192.0.2.10", "192.0.2.11"]);
    expect(s.exporters_refused).toBe(1);
    expect(s.error_reasons).toEqual({ domain_limit: 1, template_limit: 1 });
    expect(s.records).toBe(2);
  });
});

describe("fuzz: truncated, flipped and random datagrams never throw and are counted", () => {
  test("bounded loop", () => {
    const { collector } = setup();
    const seeds: Uint8Array[] = [
      v9([V9_TEMPLATE, set(256, v9Record(new Bytes(), { src: "10.9.0.1", dst: "10.9.0.2", sport: 1, dport: 2, packets: 1, bytes: 1, first: 1, last: 2 }))]),
      ipfix([set(2, new Bytes().u16(401).u16(3).u16(8).u16(4).u16(12).u16(4).u16(82).u16(0xffff)), set(401, new Bytes().ip4("10.9.1.1").ip4("10.9.1.2").u8(3).raw([65, 66, 67]))]),
      new Bytes().u16(5).u16(1).u32(1000).u32(NOW).u32(0).u32(0).u32(0).raw(new Array<number>(48).fill(1)).bytes(),
    ];
    let rng = 0x12345678;
    const rand = () => {
      rng ^= rng << 13;
      rng ^= rng >>> 17;
      rng ^= rng << 5;
      return (rng >>> 0) / 4294967296;
    };
    let sent = 0;
    for (const s of seeds) {
      for (let n = 0; n <= s.length; n++) {
        collector.feed(s.subarray(0, n), "198.51.100.1", 1000 + (n % 3), NOW);
        sent++;
      }
    }
    for (let it = 0; it < 20_000; it++) {
      const base = seeds[it % seeds.length]!;
      const b = Uint8Array.from(base);
      const flips = 1 + Math.floor(rand() * 6);
      for (let f = 0; f < flips; f++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      collector.feed(b, "198.51.100.2", 2000 + (it % 7), NOW + it / 1000);
      const r = new Uint8Array(Math.floor(rand() * 200));
      for (let k = 0; k < r.length; k++) r[k] = Math.floor(rand() * 256);
      if (r.length > 1 && rand() < 0.5) r[1] = [5, 9, 10][it % 3]!, r[0] = 0;
      collector.feed(r, "198.51.100.3", 3000, NOW + it / 1000);
      sent += 2;
    }
    const s = collector.stats();
    expect(s.packets).toBe(sent);
    expect(s.errors).toBeGreaterThan(1000);
    for (const reason of ["short_header", "bad_version", "bad_length", "bad_set_length", "unknown_template"]) {
      expect(s.error_reasons[reason] ?? 0, reason).toBeGreaterThan(0);
    }
    for (const e of s.exporters) {
      expect(Number.isFinite(e.flow_bytes)).toBe(true);
      expect(Number.isFinite(e.flow_packets)).toBe(true);
    }
  });
});

describe("round trip: our IPFIX exporter (flows --read --export-ipfix) into the collector", () => {
  for (const file of ["zeek__wikipedia.pcap", "zeek__http-qinq-0.pcap", "ndpi__KakaoTalk_talk.pcap"]) {
    test(file, async () => {
      const { collector, records } = setup();
      await collector.start();
      try {
        const proc = Bun.spawn(["bun", "src/main.ts", "flows", "--read", PCAPS + file, "--format", "ndjson", "--export-ipfix", `127.0.0.1:${collector.port}`], {
          cwd: `${import.meta.dir}/..`, stdout: "pipe", stderr: "pipe", env: { ...process.env, PATH: `${import.meta.dir}/../node_modules/.bin:${process.env.PATH}` },
        });
        const out = await new Response(proc.stdout).text();
        expect(await proc.exited).toBe(0);
        const ours = out.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as FlowRecord);
        for (let n = 0; n < 50 && collector.stats().records < ours.length; n++) await Bun.sleep(50);
        const s = collector.stats();
        expect(s.errors).toBe(0);
        expect(s.records).toBe(ours.length);
        const key = (r: FlowRecord) => {
          const icmp = r.proto_num === 1 || r.proto_num === 58; // collected ICMP flows keep no ports
          // Our exporter sends vlanId 0 for untagged flows, so a flow on VLAN 0 comes back untagged.
          return `${r.proto_num} ${r.vlan || null} ${r.src_ip} ${icmp ? 0 : r.src_port} ${r.dst_ip} ${icmp ? 0 : r.dst_port} ${r.first_seen}`;
        };
        const pick = (r: FlowRecord) => ({
          key: key(r), src_packets: r.src_packets, src_bytes: r.src_bytes, dst_packets: r.dst_packets, dst_bytes: r.dst_bytes,
          src_tcp_flags: r.src_tcp_flags, dst_tcp_flags: r.dst_tcp_flags, first_seen: r.first_seen, last_seen: r.last_seen,
        });
        const got = records();
        // A flow per record unless two share a key (ICMP echo flows of one host pair pair up, as documented).
        const icmpPairs = ours.filter((r) => r.proto_num !== 1 && r.proto_num !== 58);
        const gotNonIcmp = got.filter((r) => r.proto_num !== 1 && r.proto_num !== 58);
        expect(gotNonIcmp.map(pick).sort((a, b) => a.key.localeCompare(b.key))).toEqual(icmpPairs.map(pick).sort((a, b) => a.key.localeCompare(b.key)));
        let ourIcmpPackets = 0, gotIcmpPackets = 0;
        for (const r of ours) if (r.proto_num === 1 || r.proto_num === 58) ourIcmpPackets += r.packets;
        for (const r of got) if (r.proto_num === 1 || r.proto_num === 58) gotIcmpPackets += r.packets;
        expect(gotIcmpPackets).toBe(ourIcmpPackets);
      } finally {
        collector.stop();
      }
    }, 60_000);
  }
});

test("--collect-netflow with a bare port listens on loopback only; an address is taken as given", async () => {
  const { parseListen } = await import("../src/collect/collector.ts");
  expect(parseListen("2055")).toEqual({ host: "127.0.0.1", port: 2055 });
  expect(parseListen("0.0.0.0:2055")).toEqual({ host: "0.0.0.0", port: 2055 });
  expect(parseListen("[::]:4739")).toEqual({ host: "::", port: 4739 });
});
