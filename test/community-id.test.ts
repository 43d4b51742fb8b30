/**
 * Community ID v1: the specification's own test vectors (corelight/community-id-spec,
 * baseline/baseline_deflt.json and baseline_seed1.json), and Zeek's published values for the two
 * shared captures (../shared/oracles/community-id/, compared with our `flows --read` output).
 *
 * Deliberate differences from Zeek, each asserted below: our ICMP flows do not keep the message
 * type (decoder: ports = echo id for echo request/reply, 0 otherwise; every non-echo message
 * between two hosts is one flow). Echo flows match Zeek exactly; a ports-0 ICMP flow gets the
 * spec's port-less hash (addresses + protocol), which differs from every Zeek ICMP value.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { FileSource } from "../src/capture/file-source.ts";
import { communityId, communityIdOfRecord, communityIdOfTuple, icmpPortEquivalents } from "../src/flows/table/community-id.ts";
import { FlowEngine } from "../src/flows/engine.ts";
import { toRecord, type FlowRecord } from "../src/flows/format/record.ts";
import { PCAPS, SHARED } from "./shared-paths.ts";

// [proto, saddr, daddr, sport (ICMP: type), dport (ICMP: code or counterpart), seed 0, seed 1]
const VECTORS: [number, string, string, number | null, number | null, string, string][] = [
  [58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 136, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="],
  [58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 135, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="],
  [58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 136, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="],
  [58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 136, 135, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="],
  [58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=", "1:lVEtCZpYu84Xqaa++3lXFyuu2n4="],
  [58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, "1:hLZd0XGWojozrvxqE0dWB1iM6R0=", "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8="],
  [58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 129, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="],
  [58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 128, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="],
  [58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 134, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=", "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8="],
  [58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 133, "1:pkvHqCL88/tg1k4cPigmZXUtL00=", "1:K/ee5UCqAMAQXDorP5nSa2CGLjc="],
  [1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="],
  [1, "192.168.0.1", "192.168.0.89", 0, 8, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="],
  [1, "10.0.0.1", "10.0.0.2", 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM=", "1:XjUibYHaafLQ3pxQeiMI8g25q20="],
  [6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="],
  [6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="],
  [132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="],
  [132, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="],
  [6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="],
  [6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="],
  [17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="],
  [17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="],
  [46, "10.1.12.1", "10.1.12.2", null, null, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="],
  [46, "10.1.12.2", "10.1.12.1", null, null, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="],
];

describe("Community ID: the specification's test vectors", () => {
  for (const [proto, s, d, sp, dp, id0, id1] of VECTORS) {
    test(`${proto} ${s}:${sp} → ${d}:${dp}`, () => {
      const t = { proto, src_ip: s, dst_ip: d, src_port: sp ?? undefined, dst_port: dp ?? undefined };
      expect(communityIdOfTuple(t)).toBe(id0);
      expect(communityIdOfTuple(t, 1)).toBe(id1);
    });
  }
  test("ICMP port equivalents: paired types are two-way, others one-way (type, code)", () => {
    expect(icmpPortEquivalents(false, 8, 0)).toEqual([8, 0, false]);
    expect(icmpPortEquivalents(false, 0, 0)).toEqual([0, 8, false]);
    expect(icmpPortEquivalents(false, 3, 1)).toEqual([3, 1, true]);
    expect(icmpPortEquivalents(true, 135, 0)).toEqual([135, 136, false]);
    expect(icmpPortEquivalents(true, 1, 4)).toEqual([1, 4, true]);
  });
});

/** Zeek's baseline: [orig_h, orig_p (type), resp_h, resp_p, proto, id]. */
function zeekBaseline(file: string) {
  const out: { orig: string; type: number; resp: string; code: number; proto: number; id: string }[] = [];
  for (const line of readFileSync(`${SHARED}oracles/community-id/${file}`, "utf8").split("\n")) {
    const m = /orig_h=([^,]+), orig_p=(\d+)\/\w+, resp_h=([^,]+), resp_p=(\d+)\/\w+, proto=(\d+), ctx=\[\]\], (1:\S+)/.exec(line);
    if (m) out.push({ orig: m[1]!, type: Number(m[2]), resp: m[3]!, code: Number(m[4]), proto: Number(m[5]), id: m[6]! });
  }
  return out;
}

/** `flows --read` records (the CLI, as the user runs it) and the slot-computed ids of the same read. */
async function cliFlows(pcap: string): Promise<FlowRecord[]> {
  const p = Bun.spawn(["bun", "src/main.ts", "flows", "--read", pcap, "--format", "json"], { stdout: "pipe", stderr: "pipe" });
  const text = await new Response(p.stdout).text();
  expect(await p.exited).toBe(0);
  return (JSON.parse(text) as { flows: FlowRecord[] }).flows;
}

function slotIds(pcap: string): Map<number, string> {
  const engine = new FlowEngine({ recentEnded: 1, rates: false });
  const ids = new Map<number, string>();
  engine.onEnded((c, i) => ids.set(toRecord(c, i).id, communityId(c, i)));
  new FileSource({ path: pcap }).readSync(engine);
  engine.finish();
  return ids;
}

const pair = (proto: number, a: string, b: string) => `${proto}|${[a, b].sort().join("|")}`;

describe("Community ID: Zeek's values for the shared captures", () => {
  for (const [pcap, baseline, matches] of [
    ["zeek__communityid_icmp.pcap", "zeek__communityid_icmp.pcap.out", 1],
    ["zeek__communityid_icmp6.pcap", "zeek__communityid_icmp6.pcap.out", 2],
  ] as const) {
    test(pcap, async () => {
      const path = `${PCAPS}${pcap}`;
      const flows = await cliFlows(path);
      const bySlot = slotIds(path);
      // The slot and the record give the same value for every flow.
      for (const f of flows) expect(communityIdOfRecord(f)).toBe(bySlot.get(f.id)!);
      // … and the CLI prints it: the `community_id` field of `flows --format json`.
      for (const f of flows) expect(f.community_id).toBe(bySlot.get(f.id)!);
      const ours = new Map<string, FlowRecord[]>();
      for (const f of flows) {
        const k = pair(f.proto_num, f.src_ip, f.dst_ip);
        ours.set(k, [...(ours.get(k) ?? []), f]);
      }
      let same = 0;
      const zeek = zeekBaseline(baseline);
      expect(zeek.length).toBeGreaterThan(0);
      for (const z of zeek) {
        // Zeek's own value is the spec's for its (type, code): check our tuple function agrees.
        expect(communityIdOfTuple({ proto: z.proto, src_ip: z.orig, dst_ip: z.resp, src_port: z.type, dst_port: z.code })).toBe(z.id);
        const candidates = ours.get(pair(z.proto, z.orig, z.resp)) ?? [];
        expect(candidates.length).toBeGreaterThan(0); // every Zeek connection's hosts have a flow of ours
        const echo = (z.proto === 1 && z.type === 8) || (z.proto === 58 && z.type === 128);
        if (echo) {
          // Echo exchange: our flow carries the echo id as ports; same value as Zeek's.
          const f = candidates.find((c) => c.src_port !== 0);
          expect(f).toBeDefined();
          expect(communityIdOfRecord(f!)).toBe(z.id);
          expect(f!.community_id).toBe(z.id);
          same++;
        } else {
          // Deliberate difference: a non-echo ICMP message goes to the hosts' ports-0 flow, which
          // does not know the type; it gets the port-less hash, never Zeek's (or anyone's) ICMP value.
          const f = candidates.find((c) => c.src_port === 0 && c.dst_port === 0);
          expect(f).toBeDefined();
          const id = communityIdOfRecord(f!);
          expect(id).not.toBe(z.id);
          expect(id).toBe(portless(f!));
        }
      }
      expect(same).toBe(matches);
    });
  }
});

/** The spec's hash without ports (what a protocol without ports gets), for a ports-0 ICMP flow. */
function portless(f: FlowRecord): string {
  const h = new Bun.CryptoHasher("sha1");
  const v6 = f.ip_version === 6;
  const bytes = (ip: string) => {
    if (!v6) return ip.split(".").map(Number);
    const full = new URL(`http://[${ip}]/`).hostname.slice(1, -1); // normalised text
    const [a, b] = full.includes("::") ? full.split("::") : [full, undefined];
    const head = a ? a.split(":") : [], tail = b ? b.split(":") : [];
    const g = b === undefined ? head : [...head, ...Array(8 - head.length - tail.length).fill("0"), ...tail];
    return g.flatMap((x) => [parseInt(x, 16) >> 8, parseInt(x, 16) & 255]);
  };
  let a = bytes(f.src_ip), b = bytes(f.dst_ip);
  const lt = (x: number[], y: number[]) => { for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]!; return false; };
  if (lt(b, a)) [a, b] = [b, a];
  h.update(new Uint8Array([0, 0, ...a, ...b, f.proto_num, 0]));
  return "1:" + h.digest("base64");
}

describe("Community ID from flow slots", () => {
  test("TCP/UDP flows of a capture: the slot value equals the spec's over the record's 5-tuple, both directions alike", () => {
    const path = `${PCAPS}ndpi__gnutella.pcap`;
    const engine = new FlowEngine({ recentEnded: 1, rates: false });
    let n = 0;
    engine.onEnded((c, i) => {
      const r = toRecord(c, i);
      if (r.proto_num !== 6 && r.proto_num !== 17) return;
      const id = communityId(c, i);
      expect(id).toBe(communityIdOfTuple({ proto: r.proto_num, src_ip: r.src_ip, dst_ip: r.dst_ip, src_port: r.src_port, dst_port: r.dst_port }));
      expect(id).toBe(communityIdOfTuple({ proto: r.proto_num, src_ip: r.dst_ip, dst_ip: r.src_ip, src_port: r.dst_port, dst_port: r.src_port }));
      n++;
    });
    new FileSource({ path }).readSync(engine);
    engine.finish();
    expect(n).toBeGreaterThan(100);
  });
});
