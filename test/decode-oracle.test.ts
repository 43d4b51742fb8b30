/**
 * FileSource + decode() against the tshark oracle of EVERY capture in ../shared/pcaps.
 *
 * Flows are aggregated here in a plain Map keyed like the oracle: (proto, lower endpoint, higher
 * endpoint), endpoints ordered by address bytes then port. Our deliberate differences from the
 * oracle's rules, and how this test folds them back:
 * - ICMP/ICMPv6 echo: we put the echo id in both ports; SCTP: we fill ports. The oracle uses ports
 *   only for TCP/UDP, so ports are zeroed here for every other protocol.
 * - FragmentTracker joins later fragments to their first fragment's ports; the oracle keeps them
 *   as a ports-0 flow. The main comparison runs WITHOUT the tracker (exact); a separate test checks
 *   the tracker against a reference join computed here (unbounded Map, same 30 s expiry).
 *
 * The crafted captures of test/fixtures (PPP links, long IPv6 extension chains, out-of-range
 * timestamps) go through the same checks against tshark run now (../shared/tools/oracle.mjs), with
 * LINKTYPE_PPP_WITH_DIR's direction byte taken out of our bytes (tshark's frame.len leaves it out)
 * and first/last not compared where the reader replaced a time a Date cannot hold.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import ipaddr from "ipaddr.js";
import { decode } from "../src/capture/decode.ts";
import { FileSource } from "../src/capture/file-source.ts";
import { FragmentTracker } from "../src/capture/fragments.ts";
import { DecodeResult, DecodedPacket } from "../src/capture/packet.ts";
import { ipv6ChainCaptures } from "./fixtures/ipv6-chains.ts";
import { pppCaptures, tsharkOracle, writeCaptures } from "./fixtures/ppp-captures.ts";
import { timestampCaptures } from "./fixtures/timestamp-captures.ts";
import { PCAPS } from "./shared-paths.ts";

const DIR = PCAPS.replace(/\/$/, "");
const FILES = readdirSync(DIR).filter((f) => /\.pcap(ng)?$/.test(f)).sort();

interface OracleFlow {
  proto: number;
  a_ip: string;
  a_port: number;
  b_ip: string;
  b_port: number;
  packets: number;
  bytes: number;
  first: number;
  last: number;
  a_to_b_packets: number;
  a_to_b_bytes: number;
  ip_bytes: number;
  vlans?: string[];
  untimed_packets?: number;
}
interface Oracle {
  packets_total: number;
  ip_packets: number;
  non_ip_packets: number;
  flows: OracleFlow[];
}

interface Agg {
  packets: number;
  bytes: number;
  abPackets: number;
  abBytes: number;
  ipBytes: number;
  first: number;
  last: number;
  outerVlans: Set<number>;
}

function hex(bytes: number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join("");
}
function oracleAddr(s: string): string {
  return hex(ipaddr.parse(s).toByteArray());
}
function ourAddr(words: Int32Array, v: number): string {
  const out: number[] = [];
  for (let i = 0; i < (v === 4 ? 1 : 4); i++) {
    const w = words[i]!;
    out.push(w >>> 24, (w >>> 16) & 0xff, (w >>> 8) & 0xff, w & 0xff);
  }
  return hex(out);
}
/** Canonical key; returns [key, isAtoB]. Hex strings of equal length compare like the bytes. */
function canon(proto: number, sa: string, sp: number, da: string, dp: number): [string, boolean] {
  const srcFirst = sa < da || (sa === da && sp <= dp);
  return srcFirst ? [`${proto}|${sa}|${sp}|${da}|${dp}`, true] : [`${proto}|${da}|${dp}|${sa}|${sp}`, false];
}
function pairKey(key: string): string {
  const [p, a, , b] = key.split("|");
  return `${p}|${a}|${b}`;
}

interface Run {
  total: number;
  ip: number;
  malformed: number;
  flows: Map<string, Agg>;
  packets: { key: string; frag: boolean; first: boolean; fkey: string; ts: number; src: string; dst: string; proto: number; sp: number; dp: number }[];
  source: FileSource;
}

/** `pseudoHeader`: bytes per record tshark leaves out of frame.len (taken out of ours here). */
function run(path: string, tracker?: FragmentTracker, chunkSize?: number, pseudoHeader = 0): Run {
  const source = new FileSource({ path, chunkSize });
  const pkt = new DecodedPacket();
  const flows = new Map<string, Agg>();
  const packets: Run["packets"] = [];
  let total = 0;
  let ip = 0;
  let malformed = 0;
  let untimedSeen = 0;
  source.readSync({
    packet(buf, off, caplen, wirelen, ts, linktype) {
      total++;
      const untimed = source.untimed !== untimedSeen;
      untimedSeen = source.untimed;
      const r = decode(buf, off, caplen, linktype, pkt);
      if (r >= 2 || pkt.note !== 0) malformed++;
      if (r !== DecodeResult.OK) return;
      ip++;
      tracker?.resolve(pkt, ts);
      const ported = pkt.proto === 6 || pkt.proto === 17;
      const sa = ourAddr(pkt.src, pkt.ipVersion);
      const da = ourAddr(pkt.dst, pkt.ipVersion);
      const [key, ab] = canon(pkt.proto, sa, ported ? pkt.sport : 0, da, ported ? pkt.dport : 0);
      let f = flows.get(key);
      if (!f) {
        f = { packets: 0, bytes: 0, abPackets: 0, abBytes: 0, ipBytes: 0, first: Infinity, last: -Infinity, outerVlans: new Set() };
        flows.set(key, f);
      }
      f.packets++;
      f.bytes += wirelen - pseudoHeader;
      if (ab) {
        f.abPackets++;
        f.abBytes += wirelen - pseudoHeader;
      }
      f.ipBytes += pkt.ipLen;
      if (!untimed) {
        f.first = Math.min(f.first, ts);
        f.last = Math.max(f.last, ts);
      }
      if (pkt.vlan >= 0) f.outerVlans.add(pkt.vlan);
      packets.push({
        key,
        frag: pkt.isFragment,
        first: pkt.fragOffset === 0,
        fkey: `${sa}|${da}|${pkt.proto}|${pkt.ipVersion}|${pkt.fragId}`,
        ts,
        src: sa,
        dst: da,
        proto: pkt.proto,
        sp: ported ? pkt.sport : 0,
        dp: ported ? pkt.dport : 0,
      });
    },
  });
  return { total, ip, malformed, flows, packets, source };
}

function oracle(file: string): Oracle {
  return JSON.parse(readFileSync(`${DIR}/oracle/${file}.json`, "utf8")) as Oracle;
}
function oracleKey(f: OracleFlow): string {
  return `${f.proto}|${oracleAddr(f.a_ip)}|${f.a_port}|${oracleAddr(f.b_ip)}|${f.b_port}`;
}

test("the corpus is there", () => {
  expect(FILES.length).toBeGreaterThanOrEqual(33);
});

interface Case {
  name: string;
  path: string;
  oracle: () => Oracle;
  pseudoHeader?: number;
  /** false: first/last not compared (the reader replaced times a Date cannot hold). */
  times?: boolean;
}
const crafted = writeCaptures([...pppCaptures(), ...ipv6ChainCaptures(), ...timestampCaptures()]);
const CASES: Case[] = [
  ...FILES.map((f) => ({ name: f, path: `${DIR}/${f}`, oracle: () => oracle(f) })),
  ...[...crafted]
    .filter(([name]) => name !== "ipv6-chain-deeper-than-tshark.pcap") // a difference, see flows-oracle.test.ts
    .map(([name, path]) => ({
      name,
      path,
      oracle: () => tsharkOracle(path) as Oracle,
      pseudoHeader: name === "ppp-linktype204.pcap" ? 1 : 0,
      times: !name.startsWith("timestamp-"),
    })),
];

describe.each(CASES.map((c) => [c.name, c] as const))("%s", (_name, c) => {
  const o = c.oracle();
  const r = run(c.path, undefined, undefined, c.pseudoHeader);

  test("packet totals, IP packets and IP bytes match the oracle", () => {
    expect(r.source.truncated).toBe(false);
    expect(r.total).toBe(o.packets_total);
    expect(r.ip).toBe(o.ip_packets);
    expect(r.total - r.ip).toBe(o.non_ip_packets);
    let ourBytes = 0;
    for (const f of r.flows.values()) ourBytes += f.bytes;
    expect(ourBytes).toBe(o.flows.reduce((s, f) => s + f.bytes, 0));
  });

  test("a 4 KiB chunk (records crossing every chunk end) gives the same flows", () => {
    const small = run(c.path, undefined, 4096, c.pseudoHeader);
    expect([small.total, small.ip]).toEqual([r.total, r.ip]);
    expect(Object.fromEntries([...small.flows].map(([k, f]) => [k, [f.packets, f.bytes, f.ipBytes]]))).toEqual(
      Object.fromEntries([...r.flows].map(([k, f]) => [k, [f.packets, f.bytes, f.ipBytes]])),
    );
  });

  test("per (proto, address pair): packets and bytes match", () => {
    const ours = new Map<string, [number, number]>();
    for (const [k, f] of r.flows) {
      const pk = pairKey(k);
      const v = ours.get(pk) ?? [0, 0];
      ours.set(pk, [v[0] + f.packets, v[1] + f.bytes]);
    }
    const theirs = new Map<string, [number, number]>();
    for (const f of o.flows) {
      const pk = pairKey(oracleKey(f));
      const v = theirs.get(pk) ?? [0, 0];
      theirs.set(pk, [v[0] + f.packets, v[1] + f.bytes]);
    }
    expect(Object.fromEntries(ours)).toEqual(Object.fromEntries(theirs));
  });

  test("per 5-tuple: packets, bytes, directions, IP bytes, first/last, outer VLAN match", () => {
    expect(r.flows.size).toBe(o.flows.length);
    for (const f of o.flows) {
      const k = oracleKey(f);
      const ours = r.flows.get(k);
      expect(ours, k).toBeDefined();
      if (!ours) continue;
      expect([k, ours.packets, ours.bytes, ours.abPackets, ours.abBytes, ours.ipBytes]).toEqual([
        k, f.packets, f.bytes, f.a_to_b_packets, f.a_to_b_bytes, f.ip_bytes,
      ]);
      if (c.times !== false) {
        expect(Math.abs(ours.first - f.first)).toBeLessThan(2e-6);
        expect(Math.abs(ours.last - f.last)).toBeLessThan(2e-6);
      }
      const outer = new Set((f.vlans ?? []).map((v) => Number(v.split(".")[0])));
      expect([...ours.outerVlans].sort()).toEqual([...outer].sort());
    }
  });

  test("FragmentTracker joins later fragments exactly like a reference join", () => {
    const tracker = new FragmentTracker();
    const joined = run(c.path, tracker, undefined, c.pseudoHeader);
    // Reference: unbounded Map of first fragments, same expiry (30 s of packet time).
    const firsts = new Map<string, { ts: number; sp: number; dp: number }>();
    const expected = new Map<string, number>();
    let joins = 0;
    for (const p of r.packets) {
      let key = p.key;
      if (p.frag && p.first) firsts.set(p.fkey, { ts: p.ts, sp: p.sp, dp: p.dp });
      else if (p.frag) {
        // fkey holds (src, dst): the first fragment travelled in the same direction.
        const f = firsts.get(p.fkey);
        if (f && Math.abs(p.ts - f.ts) <= 30) {
          joins++;
          key = canon(p.proto, p.src, f.sp, p.dst, f.dp)[0];
        }
      }
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    const got = new Map<string, number>();
    for (const [k, f] of joined.flows) got.set(k, f.packets);
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected));
    expect(tracker.resolved).toBe(joins);
  });
});

describe("malformed captures", () => {
  const malformed = [
    "ndpi__fuzz-2006-06-26-2594.pcap",
    "tcpdump__ipv6-bad-version.pcap",
    "tcpdump__udp-length-heapoverflow.pcap",
    "zeek__trunc_ipv4-truncated-broken-header.pcap",
    "zeek__tcp_truncated-header.pcap",
  ];
  test.each(malformed)("%s: no throw, malformed count > 0", (file) => {
    const r = run(`${DIR}/${file}`);
    expect(r.malformed).toBeGreaterThan(0);
  });
  test("fragmented captures do get joins", () => {
    const tracker = new FragmentTracker();
    run(`${DIR}/ndpi__dns_fragmented.pcap`, tracker);
    expect(tracker.resolved).toBeGreaterThan(0);
  });
});
