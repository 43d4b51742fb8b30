/**
 * Packet times a JavaScript Date cannot hold (|t| > 8.64e12 s): the readers keep the packet and
 * give it the previous record's time (counted as untimed and in badTimestamps); nothing downstream
 * (flow records, the flows CLI) sees an Invalid Date. Classic pcap (u32 seconds + u32 fraction)
 * and libpcap's reader (32-bit seconds from the shim) cannot produce such times: checked too.
 * The captures are built by test/fixtures/timestamp-captures.ts; their flows are also compared
 * with tshark in flows-oracle.test.ts and decode-oracle.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { FileSource } from "../src/capture/file-source.ts";
import type { PacketSink } from "../src/capture/packet.ts";
import { PcapOfflineSource } from "../src/capture/pcap-offline-source.ts";
import { MAX_TS } from "../src/capture/pcap-reader.ts";
import { FlowEngine } from "../src/flows/engine.ts";
import { isoTime, toRecord, type FlowRecord } from "../src/flows/format/record.ts";
import { eth, ipv4, udp, writeCaptures } from "./fixtures/ppp-captures.ts";
import { expectedTimes, timestampCaptures, timestampPackets, writePcapng } from "./fixtures/timestamp-captures.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const files = writeCaptures([
  ...timestampCaptures(),
  {
    // The first record is the bad one: no previous time, it takes 0.
    name: "timestamp-first-bad.pcapng",
    bytes: writePcapng([{ linktype: 1 }], [
      { iface: 0, units: 0xffffffffffffffffn, data: eth(0x0800, ipv4("203.0.113.1", "203.0.113.2", 17, udp(1, 2))) },
      { iface: 0, units: 1_700_000_000_000_000n, data: eth(0x0800, ipv4("203.0.113.2", "203.0.113.1", 17, udp(2, 1))) },
    ]),
  },
]);
const BAD = files.get("timestamp-out-of-range.pcapng")!;
const EXTREMES = files.get("timestamp-pcap-extremes.pcap")!;

function times(source: { readSync(sink: PacketSink): void }): number[] {
  const ts: number[] = [];
  source.readSync({ packet: (_b, _o, _c, _w, t) => void ts.push(t) });
  return ts;
}
function validIso(s: string): boolean {
  return /^[+-]?\d{4,6}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(s) && Number.isFinite(Date.parse(s));
}
function flowsOf(path: string): FlowRecord[] {
  const engine = new FlowEngine({ noExpire: true, recentEnded: 1 });
  const out: FlowRecord[] = [];
  engine.onEnded((c, i) => out.push(toRecord(c, i)));
  new FileSource({ path }).readSync(engine);
  engine.finish();
  return out;
}

describe("pcapng reader", () => {
  test("a time beyond a Date's range takes the previous record's; counted untimed and bad", () => {
    const src = new FileSource({ path: BAD });
    const ts = times(src);
    const want = expectedTimes();
    expect(ts.length).toBe(want.length);
    ts.forEach((t, i) => expect(Math.abs(t - want[i]!)).toBeLessThan(1e-6));
    const bad = timestampPackets().good.filter((g) => !g).length;
    expect(bad).toBe(6);
    expect([src.records, src.untimed, src.counters.badTimestamps, src.malformedRecords, src.truncated]).toEqual([10, bad, bad, 0, false]);
    expect(ts.every((t) => Math.abs(t) <= MAX_TS)).toBe(true);
  });

  test("a bad first record takes time 0", () => {
    const src = new FileSource({ path: files.get("timestamp-first-bad.pcapng")! });
    expect(times(src)).toEqual([0, 1_700_000_000]);
    expect(src.counters.badTimestamps).toBe(1);
  });
});

describe("classic pcap and libpcap's reader", () => {
  test("classic pcap: u32 seconds and fraction at their largest (ns magic) stay within a Date", () => {
    const ts = times(new FileSource({ path: EXTREMES }));
    expect(ts).toEqual([0, 0xffffffff + 0xffffffff * 1e-9]);
    expect(flowsOf(EXTREMES).every((f) => validIso(f.first_seen) && validIso(f.last_seen))).toBe(true);
  });

  test("libpcap (--filter path): every time it hands over is a finite u32-seconds time", () => {
    for (const path of [BAD, EXTREMES]) {
      const ts = times(new PcapOfflineSource({ path, filter: "ip" }));
      expect(ts.length).toBe(path === BAD ? 10 : 2);
      expect(ts.every((t) => Number.isFinite(t) && t >= 0 && t < 2 ** 32 + 5)).toBe(true);
    }
  });
});

describe("flow records", () => {
  test("every flow of the capture has valid first/last times", () => {
    const flows = flowsOf(BAD);
    expect(flows.reduce((s, f) => s + f.packets, 0)).toBe(10);
    for (const f of flows) expect([f.first_seen, f.last_seen].map(validIso)).toEqual([true, true]);
    expect(JSON.stringify(flows)).not.toContain("Invalid");
  });

  test("isoTime never throws: beyond the range is clamped, not finite is the epoch", () => {
    expect(isoTime(1_700_000_000.25)).toBe("2023-11-14T22:13:20.250Z");
    expect(isoTime(1e20)).toBe("+275760-09-13T00:00:00.000Z");
    expect(isoTime(-1e20)).toBe("-271821-04-20T00:00:00.000Z");
    expect(isoTime(Infinity)).toBe("+275760-09-13T00:00:00.000Z");
    expect(isoTime(-Infinity)).toBe("-271821-04-20T00:00:00.000Z");
    expect(isoTime(NaN)).toBe("1970-01-01T00:00:00.000Z");
  });
});

describe("the flows CLI", () => {
  const cli = (...args: string[]) => {
    const r = Bun.spawnSync([process.execPath, MAIN, "flows", "--read", BAD, ...args], { stdout: "pipe", stderr: "pipe" });
    return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
  };
  test("reads the capture to its end: exit 0, whole JSON, untimed packets counted", () => {
    const r = cli();
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
    const doc = JSON.parse(r.out) as { flows: FlowRecord[]; stats: { packets: number; ip_packets: number; untimed_packets: number; bad_timestamps: number } };
    expect([doc.stats.packets, doc.stats.ip_packets, doc.stats.untimed_packets, doc.stats.bad_timestamps]).toEqual([10, 10, 6, 6]);
    expect(doc.flows.every((f) => validIso(f.first_seen) && validIso(f.last_seen))).toBe(true);
  });
  test("with --filter (libpcap reads the file): exit 0, whole JSON", () => {
    const r = cli("--filter", "ip");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { flows: FlowRecord[]; stats: { packets: number } };
    expect(doc.stats.packets).toBe(10);
    expect(doc.flows.every((f) => validIso(f.first_seen) && validIso(f.last_seen))).toBe(true);
  });
});
