/**
 * The whole capture core (FileSource → decoder → FlowEngine/FlowTable → records) against the
 * tshark oracle of every capture in ../shared/pcaps.
 *
 * Where our rules differ from the oracle on purpose, the comparison merges accordingly:
 * - VLAN id is part of our key: flows are merged across VLANs before comparing.
 * - ICMP/ICMPv6 echo flows carry the echo id as ports (the oracle: ports 0): compared per pair.
 * - SCTP ports are kept (the oracle: 0): compared per pair.
 * - Non-first fragments join the flow of their first fragment when it was seen (the oracle keeps
 *   them in a ports-0 flow): pairs with fragments are compared per (proto, pair), not per 5-tuple.
 * - first/last: we keep min/max packet time like the oracle; compared to the millisecond.
 *
 * The same comparison runs on crafted captures (test/fixtures: PPP links, long IPv6 extension
 * chains, out-of-range timestamps) against tshark run now through ../shared/tools/oracle.mjs, with
 * two more merges: LINKTYPE_PPP_WITH_DIR bytes count the direction byte (tshark's frame.len does
 * not), and times the readers replaced (out of a Date's range) are not compared.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import ipaddr from "ipaddr.js";
import { FileSource } from "../src/capture/file-source.ts";
import { FlowEngine } from "../src/flows/engine.ts";
import { toRecord, type FlowRecord } from "../src/flows/format/record.ts";
import { ipv6ChainCaptures } from "./fixtures/ipv6-chains.ts";
import { pppCaptures, tsharkOracle, writeCaptures, type Oracle } from "./fixtures/ppp-captures.ts";
import { timestampCaptures } from "./fixtures/timestamp-captures.ts";
import { PCAPS } from "./shared-paths.ts";

const DIR = PCAPS;
const files = readdirSync(DIR).filter((f) => /\.(pcap|pcapng)$/.test(f)).sort();


function ipKey(s: string): string {
  return ipaddr.parse(s).toByteArray().map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Canonical (proto, lower endpoint, higher endpoint) with or without ports. */
function canon(proto: number, aIp: string, aPort: number, bIp: string, bPort: number, ports: boolean) {
  let a = ipKey(aIp), b = ipKey(bIp);
  let pa = ports ? aPort : 0, pb = ports ? bPort : 0;
  const swap = a > b || (a === b && pa > pb);
  if (swap) [a, b, pa, pb] = [b, a, pb, pa];
  return { key: `${proto}|${a}|${pa}|${b}|${pb}`, swap };
}

function readFlows(path: string) {
  const engine = new FlowEngine({ noExpire: true, recentEnded: 1 });
  const flows: FlowRecord[] = [];
  engine.onEnded((c, i) => flows.push(toRecord(c, i)));
  const src = new FileSource({ path });
  src.readSync(engine);
  engine.finish();
  return { flows, stats: engine.stats(), src };
}

type Sum = { packets: number; bytes: number; ab_p: number; ab_b: number; ba_p: number; ba_b: number; first: number; last: number };
const add = (m: Map<string, Sum>, key: string, s: Sum) => {
  const o = m.get(key);
  if (!o) return void m.set(key, { ...s });
  o.packets += s.packets; o.bytes += s.bytes; o.ab_p += s.ab_p; o.ab_b += s.ab_b; o.ba_p += s.ba_p; o.ba_b += s.ba_b;
  o.first = Math.min(o.first, s.first); o.last = Math.max(o.last, s.last);
};

interface CompareOptions {
  /** Bytes of a per-record pseudo-header tshark leaves out of frame.len (LINKTYPE_PPP_WITH_DIR: 1). */
  pseudoHeader?: number;
  /** false: do not compare first/last (times the readers replaced). */
  times?: boolean;
}

/** Our flows for `path` against a tshark oracle: totals, per pair, per 5-tuple (see the top). */
function compareWithOracle(path: string, oracle: Oracle, opts: CompareOptions = {}): void {
  const { flows, stats } = readFlows(path);
  if (opts.pseudoHeader) {
    // Our bytes are the record's length; tshark's frame.len leaves the pseudo-header out.
    for (const f of flows) {
      f.bytes -= f.packets * opts.pseudoHeader;
      f.src_bytes -= f.src_packets * opts.pseudoHeader;
      f.dst_bytes -= f.dst_packets * opts.pseudoHeader;
    }
  }
  expect(stats.packets).toBe(oracle.packets_total);
  expect(stats.ip_packets).toBe(oracle.ip_packets);
  const oBytes = oracle.flows.reduce((s, f) => s + f.bytes, 0);
  expect(flows.reduce((s, f) => s + f.packets, 0)).toBe(oracle.ip_packets);
  expect(flows.reduce((s, f) => s + f.bytes, 0)).toBe(oBytes);

  // Per (protocol, address pair): packets and bytes per direction.
  const ours = new Map<string, Sum>();
  const theirs = new Map<string, Sum>();
  const fragPairs = new Set<string>();
  for (const f of flows) {
    const { key, swap } = canon(f.proto_num, f.src_ip, 0, f.dst_ip, 0, false);
    add(ours, key, {
      packets: f.packets, bytes: f.bytes,
      ab_p: swap ? f.dst_packets : f.src_packets, ab_b: swap ? f.dst_bytes : f.src_bytes,
      ba_p: swap ? f.src_packets : f.dst_packets, ba_b: swap ? f.src_bytes : f.dst_bytes,
      first: Date.parse(f.first_seen), last: Date.parse(f.last_seen),
    });
  }
  for (const f of oracle.flows) {
    const { key, swap } = canon(f.proto, f.a_ip, 0, f.b_ip, 0, false);
    if ((f.proto === 6 || f.proto === 17) && f.a_port === 0 && f.b_port === 0) fragPairs.add(key);
    add(theirs, key, {
      packets: f.packets, bytes: f.bytes,
      ab_p: swap ? f.b_to_a_packets : f.a_to_b_packets, ab_b: swap ? f.b_to_a_bytes : f.a_to_b_bytes,
      ba_p: swap ? f.a_to_b_packets : f.b_to_a_packets, ba_b: swap ? f.a_to_b_bytes : f.b_to_a_bytes,
      first: Math.round(f.first * 1000), last: Math.round(f.last * 1000),
    });
  }
  expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
  // A pair of equal addresses (::1 ↔ ::1) has no direction at the pair level: fold it.
  for (const m of [ours, theirs]) {
    for (const [k, v] of m) {
      const [, a, , b] = k.split("|");
      if (a === b) Object.assign(v, { ab_p: v.ab_p + v.ba_p, ab_b: v.ab_b + v.ba_b, ba_p: 0, ba_b: 0 });
    }
  }
  for (const [k, o] of theirs) {
    const u = ours.get(k)!;
    expect({ k, ...u, first: 0, last: 0 }).toEqual({ k, ...o, first: 0, last: 0 });
    // min/max timestamps (a pcapng SPB has none; the oracle leaves it out of first/last).
    if (opts.times === false) continue;
    expect(Math.abs(u.first - o.first)).toBeLessThanOrEqual(1);
    expect(Math.abs(u.last - o.last)).toBeLessThanOrEqual(1);
  }

  // Per 5-tuple, exact, for TCP and UDP pairs not touched by fragments (VLANs merged).
  const our5 = new Map<string, Sum>();
  for (const f of flows) {
    if (f.proto_num !== 6 && f.proto_num !== 17) continue;
    const pair = canon(f.proto_num, f.src_ip, 0, f.dst_ip, 0, false).key;
    if (fragPairs.has(pair)) continue;
    const { key, swap } = canon(f.proto_num, f.src_ip, f.src_port, f.dst_ip, f.dst_port, true);
    add(our5, key, {
      packets: f.packets, bytes: f.bytes,
      ab_p: swap ? f.dst_packets : f.src_packets, ab_b: swap ? f.dst_bytes : f.src_bytes,
      ba_p: swap ? f.src_packets : f.dst_packets, ba_b: swap ? f.src_bytes : f.dst_bytes, first: 0, last: 0,
    });
  }
  let compared = 0; // oracle TCP/UDP flows checked per 5-tuple
  for (const f of oracle.flows) {
    if (f.proto !== 6 && f.proto !== 17) continue;
    const pair = canon(f.proto, f.a_ip, 0, f.b_ip, 0, false).key;
    if (fragPairs.has(pair)) continue;
    const { key, swap } = canon(f.proto, f.a_ip, f.a_port, f.b_ip, f.b_port, true);
    const u = our5.get(key);
    expect(u ? key : `missing ${key}`).toBe(key);
    expect({ key, p: u!.packets, b: u!.bytes, abp: u!.ab_p, abb: u!.ab_b }).toEqual({
      key, p: f.packets, b: f.bytes,
      abp: swap ? f.b_to_a_packets : f.a_to_b_packets, abb: swap ? f.b_to_a_bytes : f.a_to_b_bytes,
    });
    compared++;
    our5.delete(key);
  }
  // Nothing left over on our side either.
  expect([...our5.keys()]).toEqual([]);
}

describe("flows match the tshark oracle", () => {
  for (const file of files) {
    test(file, () => {
      compareWithOracle(DIR + file, JSON.parse(readFileSync(`${DIR}oracle/${file}.json`, "utf8")) as Oracle);
    });
  }
});

/** Crafted captures, compared with tshark run on them now. */
const crafted = writeCaptures([...pppCaptures(), ...ipv6ChainCaptures(), ...timestampCaptures()]);
const CRAFTED_OPTIONS: Record<string, CompareOptions> = {
  "ppp-linktype204.pcap": { pseudoHeader: 1 },
  "timestamp-out-of-range.pcapng": { times: false },
  "timestamp-pcap-extremes.pcap": { times: false },
};
const DIFFERS = new Set(["ipv6-chain-deeper-than-tshark.pcap"]);

describe("crafted captures match tshark", () => {
  for (const [name, path] of crafted) {
    if (DIFFERS.has(name)) continue;
    test(name, () => {
      const oracle = tsharkOracle(path);
      expect(oracle.ip_packets).toBeGreaterThan(0);
      compareWithOracle(path, oracle, CRAFTED_OPTIONS[name]);
    });
  }
});

describe("where we differ from the oracle on purpose", () => {
  test("VLAN id is in the key: the QinQ/VLAN capture keeps its VLAN on the flow", () => {
    const { flows } = readFlows(`${DIR}zeek__mixed-vlan-mpls.pcap`);
    const tagged = flows.filter((f) => f.vlan !== null);
    expect(tagged.length).toBeGreaterThan(0);
    // Flows with the same 5-tuple on different VLANs stay separate.
    const by5 = new Map<string, Set<number | null>>();
    for (const f of flows) {
      const k = `${f.proto_num}|${f.src_ip}|${f.src_port}|${f.dst_ip}|${f.dst_port}`;
      by5.set(k, (by5.get(k) ?? new Set()).add(f.vlan));
    }
    expect([...by5.values()].every((s) => s.size >= 1)).toBe(true);
  });

  test("ICMP echo flows carry the echo id as ports", () => {
    const { flows } = readFlows(`${DIR}zeek__communityid_icmp.pcap`);
    const echo = flows.filter((f) => f.proto === "icmp");
    expect(echo.length).toBeGreaterThan(0);
    expect(echo.every((f) => f.src_port === f.dst_port)).toBe(true);
    expect(echo.some((f) => f.src_port !== 0)).toBe(true);
  });

  test("non-first IPv4 fragments join the flow of their first fragment", () => {
    const oracle = JSON.parse(readFileSync(`${DIR}oracle/zeek__ipv4_fragmented-4.pcap.json`, "utf8")) as Oracle;
    const portless = oracle.flows.filter((f) => (f.proto === 17 || f.proto === 6) && f.a_port === 0 && f.b_port === 0);
    expect(portless.length).toBeGreaterThan(0);
    const { flows } = readFlows(`${DIR}zeek__ipv4_fragmented-4.pcap`);
    const ourPortless = flows.filter((f) => (f.proto_num === 17 || f.proto_num === 6) && f.src_port === 0 && f.dst_port === 0);
    expect(ourPortless.reduce((s, f) => s + f.packets, 0)).toBeLessThan(portless.reduce((s, f) => s + f.packets, 0));
  });

  test("LINKTYPE_PPP_WITH_DIR: bytes include the direction byte (tshark's frame.len leaves it out)", () => {
    const path = crafted.get("ppp-linktype204.pcap")!;
    const oracle = tsharkOracle(path);
    const { flows, stats } = readFlows(path);
    expect(stats.linktypes).toEqual({ "204": oracle.packets_total });
    expect(stats.ip_packets).toBe(oracle.ip_packets);
    const ours = flows.reduce((s, f) => s + f.bytes, 0);
    expect(ours - oracle.flows.reduce((s, f) => s + f.bytes, 0)).toBe(oracle.ip_packets);
  });

  test("an IPv6 chain deeper than tshark's dissector goes is walked to its end", () => {
    const path = crafted.get("ipv6-chain-deeper-than-tshark.pcap")!;
    const oracle = tsharkOracle(path);
    // tshark stops inside the chain (a failed assertion on its protocol-layer depth, ~500): the
    // oracle keys the packets on the last extension header it reached, without ports.
    expect(oracle.flows.map((f) => [f.proto, f.a_port, f.b_port, f.packets])).toEqual([[60, 0, 0, 2]]);
    const { flows, stats } = readFlows(path);
    expect(stats.malformed).toEqual({});
    expect(flows.map((f) => [f.proto_num, f.src_ip, f.src_port, f.dst_ip, f.dst_port, f.packets])).toEqual([
      [17, oracle.flows[0]!.a_ip, 54000, oracle.flows[0]!.b_ip, 9999, 2],
    ]);
  });

  test("malformed captures: no throw, and malformed reasons are counted", () => {
    for (const f of ["zeek__trunc_ipv4-truncated-broken-header.pcap", "tcpdump__ipv6-bad-version.pcap", "ndpi__fuzz-2006-06-26-2594.pcap"]) {
      const { stats } = readFlows(DIR + f);
      expect({ f, bad: Object.values(stats.malformed).reduce((a, b) => a + b, 0) > 0 }).toEqual({ f, bad: true });
    }
  });
});
