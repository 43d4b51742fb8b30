import { describe, expect, test } from "bun:test";
import { MAX_LABELS, MAX_TAGS, decode } from "./decode.ts";
import { DecodeResult, DecodedPacket } from "./packet.ts";

// ---- hand-built packets (byte arrays assembled by the test) ----

const u16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const u32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

function tcp(sport: number, dport: number, flags: number, optWords = 0): number[] {
  const h = [...u16(sport), ...u16(dport), ...u32(1), ...u32(0), (5 + optWords) << 4, flags, ...u16(65535), 0, 0, 0, 0];
  for (let i = 0; i < optWords * 4; i++) h.push(1);
  return h;
}
function udp(sport: number, dport: number, payload = 4): number[] {
  return [...u16(sport), ...u16(dport), ...u16(8 + payload), 0, 0, ...new Array(payload).fill(0x61)];
}
function ipv4(proto: number, payload: number[], opts: { src?: number; dst?: number; frag?: number; id?: number; ihlWords?: number; total?: number } = {}): number[] {
  const ihl = opts.ihlWords ?? 5;
  const total = opts.total ?? ihl * 4 + payload.length;
  const h = [0x40 | ihl, 0, ...u16(total), ...u16(opts.id ?? 0x1234), ...u16(opts.frag ?? 0), 64, proto, 0, 0,
    ...u32(opts.src ?? 0x0a000001), ...u32(opts.dst ?? 0xc0a80102)];
  for (let i = 20; i < ihl * 4; i++) h.push(1); // NOP options
  return [...h, ...payload];
}
const SRC6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const DST6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
function ipv6(nh: number, payload: number[]): number[] {
  return [0x60, 0, 0, 0, ...u16(payload.length), nh, 64, ...SRC6, ...DST6, ...payload];
}
/** Generic extension header (8 bytes) with next header `nh`. */
const ext = (nh: number) => [nh, 0, 1, 4, 0, 0, 0, 0];
const fragHdr = (nh: number, offset: number, more: boolean, id: number) => [nh, 0, ...u16((offset << 3) | (more ? 1 : 0)), ...u32(id)];
const MAC = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const eth = (type: number, payload: number[]) => [...MAC, ...u16(type), ...payload];
const tag = (tpid: number, id: number) => [...u16(tpid), ...u16(id)];
const mpls = (label: number, bos: boolean) => u32(((label << 12) | (bos ? 0x100 : 0) | 64) >>> 0);

const pkt = new DecodedPacket();
function run(bytes: number[], linktype = 1): number {
  const buf = new Uint8Array(bytes.length + 8);
  buf.set(bytes, 8); // non-zero offset, as in a chunk
  return decode(buf, 8, bytes.length, linktype, pkt);
}

describe("link layers", () => {
  const ip = ipv4(6, tcp(1234, 80, 0x12));
  test("Ethernet IPv4 TCP: addresses, ports, flags, ipLen", () => {
    expect(run(eth(0x0800, ip))).toBe(DecodeResult.OK);
    expect([pkt.ipVersion, pkt.src[0], pkt.dst[0]! >>> 0, pkt.src[1], pkt.proto, pkt.sport, pkt.dport, pkt.tcpFlags, pkt.ipLen, pkt.vlan, pkt.note])
      .toEqual([4, 0x0a000001, 0xc0a80102, 0, 6, 1234, 80, 0x12, 40, -1, 0]);
  });
  test("VLAN stack: outermost id, any TPID, bounded depth", () => {
    const stack = [...tag(0x88a8, 0x0123), ...tag(0x8100, 0x0456), ...tag(0x9100, 0x0789)];
    expect(run([...MAC, ...stack, ...u16(0x0800), ...ip])).toBe(DecodeResult.OK);
    expect([pkt.vlan, pkt.sport, pkt.dport]).toEqual([0x123, 1234, 80]);
    const deep: number[] = [];
    for (let i = 0; i < MAX_TAGS + 1; i++) deep.push(...tag(0x8100, i + 1));
    expect(run([...MAC, ...deep, ...u16(0x0800), ...ip])).toBe(DecodeResult.HEADER_CHAIN_TOO_LONG);
  });
  test("MPLS: stack, payload by nibble, bound", () => {
    expect(run(eth(0x8847, [...mpls(16, false), ...mpls(17, true), ...ip]))).toBe(DecodeResult.OK);
    expect(pkt.sport).toBe(1234);
    expect(run(eth(0x8847, [...mpls(16, true), ...ipv6(17, udp(53, 5353))]))).toBe(DecodeResult.OK);
    expect([pkt.ipVersion, pkt.proto, pkt.sport]).toEqual([6, 17, 53]);
    expect(run(eth(0x8847, [...mpls(16, true), 0x00, 0, 0, 0, ...MAC]))).toBe(DecodeResult.NON_IP);
    const labels: number[] = [];
    for (let i = 0; i < MAX_LABELS + 1; i++) labels.push(...mpls(i, false));
    expect(run(eth(0x8847, [...labels, ...ip]))).toBe(DecodeResult.HEADER_CHAIN_TOO_LONG);
    // MPLS inside a VLAN tag
    expect(run([...MAC, ...tag(0x8100, 7), ...u16(0x8847), ...mpls(3, true), ...ip])).toBe(DecodeResult.OK);
    expect(pkt.vlan).toBe(7);
  });
  test("PPPoE session and LLC/SNAP carry IP; ARP, 802.3 are NON_IP", () => {
    expect(run(eth(0x8864, [0x11, 0, 0, 1, ...u16(ip.length + 2), 0x00, 0x21, ...ip]))).toBe(DecodeResult.OK);
    expect(pkt.dport).toBe(80);
    expect(run([...MAC, ...u16(ip.length + 8), 0xaa, 0xaa, 3, 0, 0, 0, 8, 0, ...ip])).toBe(DecodeResult.OK);
    expect(run(eth(0x0806, new Array(28).fill(0)))).toBe(DecodeResult.NON_IP);
    expect(run([...MAC, ...u16(38), 0x42, 0x42, 3, ...new Array(35).fill(0)])).toBe(DecodeResult.NON_IP);
  });
  test("ethertype 0x0800 with a version-6 packet is IPv6; 0x86dd with version 4 is not IP", () => {
    expect(run(eth(0x0800, ipv6(17, udp(1, 2))))).toBe(DecodeResult.OK);
    expect(pkt.ipVersion).toBe(6);
    expect(run(eth(0x86dd, ip))).toBe(DecodeResult.BAD_IP_VERSION);
    expect(run(eth(0x0800, [0x50, ...ip.slice(1)]))).toBe(DecodeResult.BAD_IP_VERSION);
  });
  test("Linux SLL / SLL2", () => {
    const sll = [0, 0, 0, 1, 0, 6, ...MAC.slice(0, 6), 0, 0, ...u16(0x0800)];
    expect(run([...sll, ...ip], 113)).toBe(DecodeResult.OK);
    const sll2 = [...u16(0x86dd), 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, ...MAC.slice(0, 6), 0, 0];
    expect(run([...sll2, ...ipv6(6, tcp(5, 6, 2))], 276)).toBe(DecodeResult.OK);
    expect([pkt.ipVersion, pkt.sport, pkt.dport]).toEqual([6, 5, 6]);
    expect(run([...sll.slice(0, 14), ...u16(0x0806), 0, 1], 113)).toBe(DecodeResult.NON_IP);
  });
  test("raw IP linktypes", () => {
    expect(run(ip, 101)).toBe(DecodeResult.OK);
    expect(run(ipv6(17, udp(7, 8)), 12)).toBe(DecodeResult.OK);
    expect(run(ipv6(17, udp(7, 8)), 228)).toBe(DecodeResult.OK); // tshark decodes v6 under LINKTYPE_IPV4
    expect(run(ip, 229)).toBe(DecodeResult.BAD_IP_VERSION); // …but not v4 under LINKTYPE_IPV6
    expect(run([0x10, ...ip.slice(1)], 101)).toBe(DecodeResult.BAD_IP_VERSION);
  });
  test("NULL (both byte orders), LOOP, PPP", () => {
    expect(run([2, 0, 0, 0, ...ip], 0)).toBe(DecodeResult.OK);
    expect(run([0, 0, 0, 2, ...ip], 0)).toBe(DecodeResult.OK);
    for (const af of [24, 28, 30]) expect(run([af, 0, 0, 0, ...ipv6(17, udp(1, 2))], 0)).toBe(DecodeResult.OK);
    expect(run([0, 0, 0, 30, ...ipv6(17, udp(1, 2))], 0)).toBe(DecodeResult.OK);
    expect(run([7, 0, 0, 0, ...ip], 0)).toBe(DecodeResult.NON_IP);
    expect(run([0, 0, 0, 2, ...ip], 108)).toBe(DecodeResult.OK);
    expect(run([0xff, 0x03, 0x00, 0x21, ...ip], 9)).toBe(DecodeResult.OK);
    expect(run([0x00, 0x57, ...ipv6(6, tcp(1, 2, 2))], 9)).toBe(DecodeResult.OK);
    expect(run(ip, 147)).toBe(DecodeResult.UNKNOWN_LINKTYPE);
  });
  test("PPP (9, 50, 204): address/control or not, protocol-field compression, IPv6, MPLS, Cisco HDLC", () => {
    const v6 = ipv6(17, udp(7, 8));
    const both = (bytes: number[]) => [run(bytes, 9), run(bytes, 50), run([0x01, ...bytes], 204)];
    const OKx3 = [DecodeResult.OK, DecodeResult.OK, DecodeResult.OK];
    expect(both([0xff, 0x03, 0x00, 0x21, ...ip])).toEqual(OKx3);
    expect(both([0xff, 0x03, 0x21, ...ip])).toEqual(OKx3); // address/control + 1-byte protocol
    expect(both([0x21, ...ip])).toEqual(OKx3);
    expect(pkt.dport).toBe(80);
    expect(both([0xff, 0x00, 0x00, 0x21, ...ip])).toEqual(OKx3); // tshark skips 2 bytes after 0xff, whatever the control byte
    expect(both([0x57, ...v6])).toEqual(OKx3);
    expect([pkt.ipVersion, pkt.sport]).toEqual([6, 7]);
    expect(both([0xff, 0x03, 0x02, 0x81, ...mpls(16, false), ...mpls(17, true), ...ip])).toEqual(OKx3);
    expect(both([0x02, 0x83, ...mpls(16, true), ...v6])).toEqual(OKx3);
    expect([pkt.ipVersion, pkt.dport]).toEqual([6, 8]);
    expect(both([0x0f, 0x00, 0x08, 0x00, ...ip])).toEqual(OKx3); // Cisco HDLC
    expect(both([0x8f, 0x00, 0x86, 0xdd, ...v6])).toEqual(OKx3);
    expect(both([0x0f, 0x00, 0x88, 0x47, ...mpls(16, true), ...ip])).toEqual(OKx3);
    const NONx3 = [DecodeResult.NON_IP, DecodeResult.NON_IP, DecodeResult.NON_IP];
    expect(both([0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4])).toEqual(NONx3); // LCP
    expect(both([0x80, 0x21, 1, 1, 0, 4])).toEqual(NONx3); // IPCP
    expect(both([0x00, 0x3d, 0xc0, 0, 0, 1, 0x21, ...ip])).toEqual(NONx3); // multilink
    expect(both([0x0f, 0x00, 0x81, 0x00, 0, 5, 0x08, 0x00, ...ip])).toEqual(NONx3); // no VLAN in Cisco HDLC
    expect(both([0x02, 0x81, ...mpls(16, true), 0x00, 0, 0, 0, ...ip])).toEqual(NONx3); // pseudowire control word
    expect(both([0x57, ...ip])).toEqual([DecodeResult.BAD_IP_VERSION, DecodeResult.BAD_IP_VERSION, DecodeResult.BAD_IP_VERSION]);
    const T = DecodeResult.TRUNCATED_LINK;
    expect([run([0xff], 9), run([0xff, 0x03, 0x00], 9), run([0x0f, 0x00, 0x08], 50), run([0x00], 204)]).toEqual([T, T, T, T]);
  });
  test("PPPoE (Ethernet behind tags, and linktype 51): compressed protocol, MPLS, cut at the PPPoE length", () => {
    const s = (ppp: number[], len = ppp.length) => [0x11, 0, 0, 1, ...u16(len), ...ppp];
    expect(run(eth(0x8864, s([0x21, ...ip])))).toBe(DecodeResult.OK);
    expect(run([...MAC, ...tag(0x88a8, 5), ...tag(0x8100, 6), ...u16(0x8864), ...s([0x00, 0x57, ...ipv6(6, tcp(1, 2, 2))])])).toBe(DecodeResult.OK);
    expect([pkt.vlan, pkt.ipVersion, pkt.sport]).toEqual([5, 6, 1]);
    expect(run(s([0x02, 0x81, ...mpls(3, true), ...ip]), 51)).toBe(DecodeResult.OK);
    expect(pkt.dport).toBe(80);
    // No address/control inside PPPoE: 0xff is a (1-byte) protocol, not IP (as tshark).
    expect(run(s([0xff, 0x03, 0x00, 0x21, ...ip]), 51)).toBe(DecodeResult.NON_IP);
    // The PPPoE length bounds the PPP frame (padding after it is not read).
    expect(run(s([0x00, 0x21, ...ip], 1), 51)).toBe(DecodeResult.TRUNCATED_LINK);
    expect(run(s([0x00, 0x21, ...ip], 12), 51)).toBe(DecodeResult.TRUNCATED_IP);
    expect(run(eth(0x8864, [...s([0x00, 0x21, ...ip]), 0, 0, 0, 0]))).toBe(DecodeResult.OK);
    expect(run(eth(0x8863, [0x11, 0x09, 0, 0, 0, 0]))).toBe(DecodeResult.NON_IP); // discovery
    expect(run([0x11, 0, 0, 1, 0], 51)).toBe(DecodeResult.TRUNCATED_LINK);
  });
});

describe("IPv4", () => {
  test("options, trailer beyond total length, TSO total 0", () => {
    expect(run(eth(0x0800, ipv4(17, udp(53, 1000), { ihlWords: 8 })))).toBe(DecodeResult.OK);
    expect([pkt.sport, pkt.dport, pkt.ipLen]).toEqual([53, 1000, 32 + 12]);
    // total length ends before the UDP ports: the padding after it is not read as ports.
    expect(run(eth(0x0800, ipv4(17, udp(53, 1000), { total: 22 })))).toBe(DecodeResult.OK);
    expect([pkt.sport, pkt.dport, pkt.note]).toEqual([0, 0, DecodeResult.TRUNCATED_TRANSPORT]);
    expect(run(eth(0x0800, ipv4(6, tcp(1, 2, 2), { total: 0 })))).toBe(DecodeResult.OK);
    expect([pkt.sport, pkt.ipLen]).toEqual([1, 0]);
  });
  test("impossible header lengths are not IP", () => {
    expect(run(eth(0x0800, ipv4(6, tcp(1, 2, 2), { ihlWords: 4 })))).toBe(DecodeResult.BAD_IP_HEADER_LENGTH);
    expect(run(eth(0x0800, ipv4(6, tcp(1, 2, 2), { ihlWords: 15, total: 20 })))).toBe(DecodeResult.BAD_IP_HEADER_LENGTH);
  });
  test("fragments: first has ports, later ones ports 0", () => {
    expect(run(eth(0x0800, ipv4(17, udp(53, 999, 40), { frag: 0x2000, id: 77 })))).toBe(DecodeResult.OK);
    expect([pkt.isFragment, pkt.fragId, pkt.fragOffset, pkt.sport, pkt.dport]).toEqual([true, 77, 0, 53, 999]);
    expect(run(eth(0x0800, ipv4(17, udp(53, 999, 40), { frag: 6, id: 77 })))).toBe(DecodeResult.OK);
    expect([pkt.isFragment, pkt.fragId, pkt.fragOffset, pkt.sport, pkt.dport]).toEqual([true, 77, 6, 0, 0]);
    expect(run(eth(0x0800, ipv4(17, udp(53, 999), { frag: 0x4000 })))).toBe(DecodeResult.OK); // DF only
    expect(pkt.isFragment).toBe(false);
  });
  test("ICMP echo id in both ports; errors keep ports 0 and never key the quoted header", () => {
    expect(run(eth(0x0800, ipv4(1, [8, 0, 0, 0, ...u16(0x4242), ...u16(1)])))).toBe(DecodeResult.OK);
    expect([pkt.proto, pkt.sport, pkt.dport]).toEqual([1, 0x4242, 0x4242]);
    const quoted = ipv4(17, udp(5353, 53), { src: 0x01020304, dst: 0x05060708 });
    expect(run(eth(0x0800, ipv4(1, [3, 3, 0, 0, 0, 0, 0, 0, ...quoted])))).toBe(DecodeResult.OK);
    expect([pkt.proto, pkt.sport, pkt.dport, pkt.src[0], pkt.dst[0]! >>> 0]).toEqual([1, 0, 0, 0x0a000001, 0xc0a80102]);
  });
  test("tunnels are keyed on the outer header", () => {
    expect(run(eth(0x0800, ipv4(47, [0, 0, 8, 0, ...ipv4(6, tcp(1, 2, 2), { src: 9 })])))).toBe(DecodeResult.OK);
    expect([pkt.proto, pkt.sport, pkt.src[0]]).toEqual([47, 0, 0x0a000001]);
    expect(run(eth(0x0800, ipv4(41, ipv6(6, tcp(1, 2, 2)))))).toBe(DecodeResult.OK);
    expect([pkt.ipVersion, pkt.proto]).toEqual([4, 41]);
  });
  test("SCTP ports; truncated TCP options flagged", () => {
    expect(run(eth(0x0800, ipv4(132, [...u16(36412), ...u16(2905), 0, 0, 0, 0, 0, 0, 0, 0])))).toBe(DecodeResult.OK);
    expect([pkt.sport, pkt.dport, pkt.note]).toEqual([36412, 2905, 0]);
    const full = eth(0x0800, ipv4(6, tcp(1, 2, 2, 3)));
    expect(run(full.slice(0, full.length - 4))).toBe(DecodeResult.OK);
    expect([pkt.sport, pkt.tcpFlags, pkt.note]).toEqual([1, 2, DecodeResult.TRUNCATED_TRANSPORT]);
  });
});

describe("IPv6", () => {
  test("extension chain 0, 43, 60, atomic fragment: final protocol and ports", () => {
    const p = ipv6(0, [...ext(43), ...ext(60), ...fragHdr(6, 0, false, 9), ...tcp(8080, 443, 0x18)]);
    expect(run(eth(0x86dd, p))).toBe(DecodeResult.OK);
    expect([pkt.proto, pkt.sport, pkt.dport, pkt.tcpFlags, pkt.isFragment, pkt.ipLen]).toEqual([6, 8080, 443, 0x18, false, p.length]);
    expect([...pkt.src]).toEqual([0x20010db8, 0, 0, 1]);
  });
  test("fragment header: first fragment ports, later none, 32-bit id", () => {
    expect(run(eth(0x86dd, ipv6(44, [...fragHdr(17, 0, true, 0xdeadbeef), ...udp(53, 4444, 100)])))).toBe(DecodeResult.OK);
    expect([pkt.isFragment, pkt.fragId, pkt.fragOffset, pkt.sport]).toEqual([true, 0xdeadbeef, 0, 53]);
    expect(run(eth(0x86dd, ipv6(44, [...fragHdr(17, 13, false, 0xdeadbeef), 1, 2, 3, 4, 5, 6, 7, 8])))).toBe(DecodeResult.OK);
    expect([pkt.isFragment, pkt.fragOffset, pkt.proto, pkt.sport, pkt.dport]).toEqual([true, 13, 17, 0, 0]);
  });
  test("AH and ESP are final; a chain of any length is walked to its end; a cut chain still keys", () => {
    expect(run(eth(0x86dd, ipv6(60, [...ext(51), ...ext(6), ...tcp(1, 2, 2)])))).toBe(DecodeResult.OK);
    expect([pkt.proto, pkt.sport]).toEqual([51, 0]);
    /** IPv6 packet: hop-by-hop, then `n` × (routing, atomic fragment, destination options), then TCP. */
    const chain = (n: number) => {
      const c: number[] = [...ext(n > 0 ? 43 : 6)];
      for (let i = 0; i < n; i++) c.push(...ext(44), ...fragHdr(60, 0, false, i), ...ext(i === n - 1 ? 6 : 43));
      return ipv6(0, [...c, ...tcp(1, 2, 2)]);
    };
    for (const n of [3, 10, 100, 1000]) {
      expect(run(eth(0x86dd, chain(n)))).toBe(DecodeResult.OK);
      expect([n, pkt.proto, pkt.sport, pkt.dport, pkt.isFragment, pkt.note]).toEqual([n, 6, 1, 2, false, 0]);
    }
    // Cut inside the chain (by the capture or by the payload length): keyed, protocol = the last
    // next-header value read, no ports, noted.
    const long = eth(0x86dd, chain(100));
    expect(run(long.slice(0, 14 + 40 + 8 + 24 * 50 + 12))).toBe(DecodeResult.OK); // inside the 51st fragment header
    expect([pkt.proto, pkt.sport, pkt.note]).toEqual([44, 0, DecodeResult.TRUNCATED_IP]);
    const short = chain(100);
    short.splice(4, 2, ...u16(8 + 24 * 20 + 17)); // payload length ends inside the 21st destination options header
    expect(run(eth(0x86dd, short))).toBe(DecodeResult.OK);
    expect([pkt.proto, pkt.sport, pkt.note]).toEqual([60, 0, DecodeResult.TRUNCATED_IP]);
  });
  test("ICMPv6 echo id", () => {
    expect(run(eth(0x86dd, ipv6(58, [129, 0, 0, 0, ...u16(99), ...u16(1)])))).toBe(DecodeResult.OK);
    expect([pkt.proto, pkt.sport, pkt.dport]).toEqual([58, 99, 99]);
  });
});

describe("robustness", () => {
  const samples: [string, number[], number][] = [
    ["eth vlan ipv4 tcp+opts", [...MAC, ...tag(0x8100, 5), ...u16(0x0800), ...ipv4(6, tcp(1, 2, 2, 3), { ihlWords: 6 })], 1],
    ["eth mpls ipv6 ext udp", eth(0x8847, [...mpls(1, true), ...ipv6(0, [...ext(44), ...fragHdr(17, 0, true, 5), ...udp(1, 2)])]), 1],
    ["sll2 ipv4 icmp", [...u16(0x0800), ...new Array(18).fill(0), ...ipv4(1, [8, 0, 0, 0, 0, 1, 0, 1])], 276],
    ["null ipv6 tcp", [30, 0, 0, 0, ...ipv6(6, tcp(1, 2, 2))], 0],
    ["pppoe ipv4 udp", eth(0x8864, [0x11, 0, 0, 1, 0, 40, 0, 0x21, ...ipv4(17, udp(1, 2))]), 1],
    ["ppp mpls ipv6 udp", [0xff, 0x03, 0x02, 0x81, ...mpls(1, true), ...ipv6(0, [...ext(17), ...udp(1, 2)])], 9],
    ["ppp_ether pfc ipv4 tcp", [0x11, 0, 0, 1, 0, 41, 0x21, ...ipv4(6, tcp(1, 2, 2))], 51],
    ["ppp_with_dir cisco hdlc ipv6 tcp", [0x01, 0x8f, 0x00, 0x86, 0xdd, ...ipv6(6, tcp(1, 2, 2))], 204],
  ];
  test.each(samples)("%s: every truncation 0..N decodes without throwing, ports only when captured", (_n, bytes, lt) => {
    expect(run(bytes, lt)).toBe(DecodeResult.OK);
    const full = [pkt.sport, pkt.dport];
    for (let len = 0; len <= bytes.length; len++) {
      const buf = new Uint8Array(bytes.slice(0, len)); // buffer ends exactly at caplen
      const r = decode(buf, 0, len, lt, pkt);
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThanOrEqual(8);
      if (r === DecodeResult.OK && (pkt.sport !== 0 || pkt.dport !== 0)) expect([pkt.sport, pkt.dport]).toEqual(full);
      // caplen claiming more than the buffer holds must not read past it either
      expect(() => decode(buf, 0, len + 100, lt, pkt)).not.toThrow();
    }
  });
  test("random mutations never throw and never return an unknown code", () => {
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16);
    for (const [, bytes, lt] of samples) {
      for (let i = 0; i < 3000; i++) {
        const b = new Uint8Array(bytes);
        for (let k = 0; k < 4; k++) b[rnd() % b.length] = rnd() & 0xff;
        const r = decode(b, 0, rnd() % (b.length + 1), lt, pkt);
        expect(r >= 0 && r <= 8).toBe(true);
      }
    }
  });
  test("nothing of a previous packet leaks into the next decoded one", () => {
    run(eth(0x86dd, ipv6(44, [...fragHdr(6, 0, true, 1), ...tcp(1, 2, 2)])));
    run([...MAC, ...tag(0x8100, 9), ...u16(0x0806), 0, 0]);
    expect([pkt.vlan, pkt.isFragment, pkt.sport, pkt.note]).toEqual([9, false, 0, 0]);
    expect(run(eth(0x0800, ipv4(47, [0, 0, 0x08, 0])))).toBe(DecodeResult.OK);
    expect([pkt.ipVersion, pkt.proto, pkt.vlan, pkt.isFragment, pkt.sport, pkt.dport, pkt.tcpFlags, pkt.note]).toEqual([4, 47, -1, false, 0, 0, 0, 0]);
    run(eth(0x0800, ipv4(17, udp(1, 2))));
    expect([pkt.vlan, pkt.ipVersion, pkt.src[1], pkt.src[3]]).toEqual([-1, 4, 0, 0]);
  });
});
