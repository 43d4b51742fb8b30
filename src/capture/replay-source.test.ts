/**
 * ReplaySource's clock on the shared captures: stamps never ahead of the wall clock nor going
 * backwards (within a pass and across loop passes), paced waits capped at maxGap (ndpi__quic.pcap
 * has 21 s, one year, 14 days and 4 h of silence), the capture's own spacing kept at "max" (and
 * with a BPF filter), the clock between packets and after the end, and the position in the file.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { FileSource } from "./file-source.ts";
import type { PacketSink } from "./packet.ts";
import { ReplaySource, type ReplayConfig } from "./replay-source.ts";
import { PCAPS } from "../../test/shared-paths.ts";

setDefaultTimeout(30_000);

const QUIC = PCAPS + "ndpi__quic.pcap";
const GNUTELLA = PCAPS + "ndpi__gnutella.pcap";

/** The capture's own timestamps, in file order. */
function rawTimes(path: string): number[] {
  const ts: number[] = [];
  new FileSource({ path }).readSync({ packet: (_b, _o, _c, _w, t) => void ts.push(t) });
  return ts;
}

interface Out {
  t: number;
  wall: number;
  caplen: number;
  wirelen: number;
}

/** Runs a replay until it ends, `until` holds, or `ms` pass (then stops it). */
async function run(config: ReplayConfig, ms: number, until?: (out: Out[], src: ReplaySource) => boolean) {
  const src = new ReplaySource(config);
  const out: Out[] = [];
  const sink: PacketSink = {
    packet(_b, _o, caplen, wirelen, t) {
      out.push({ t, wall: Date.now() / 1000, caplen, wirelen });
      if (until?.(out, src)) src.stop();
    },
  };
  const started = Date.now() / 1000;
  const timer = setTimeout(() => src.stop(), ms);
  await src.start(sink);
  clearTimeout(timer);
  return { src, out, started, ended: Date.now() / 1000 };
}

function expectMonotonicAndNotAhead(out: Out[]): void {
  let prev = -Infinity;
  const bad: string[] = [];
  for (const [i, o] of out.entries()) {
    if (!(o.t <= o.wall)) bad.push(`#${i} stamped ${o.t} handed at ${o.wall}`);
    if (!(o.t >= prev)) bad.push(`#${i} stamped ${o.t} after ${prev}`);
    prev = o.t;
  }
  expect(bad.slice(0, 5)).toEqual([]);
}

describe("paced replay", () => {
  test("waits are capped at maxGap: ndpi__quic.pcap at speed 100 ends in about a second, not a year", async () => {
    const raw = rawTimes(QUIC);
    const maxGap = 0.2;
    const { out, src, started } = await run({ path: QUIC, speed: 100, maxGap }, 6000);
    expect(out.length).toBe(raw.length);
    expectMonotonicAndNotAhead(out);
    // each stamp follows the capture's spacing / 100, every silence capped at maxGap wall seconds
    let expected = 0;
    for (let i = 1; i < raw.length; i++) {
      const gap = Math.min(Math.max(0, raw[i]! - raw[i - 1]!) / 100, maxGap);
      expected += gap;
      expect(out[i]!.t - out[i - 1]!.t).toBeCloseTo(gap, 6);
    }
    expect(out.at(-1)!.t - out[0]!.t).toBeCloseTo(expected, 6);
    expect(out[0]!.t).toBeGreaterThanOrEqual(started);
    // handed over at the stamped time (the timers' slack aside)
    for (const o of out) expect(o.wall - o.t).toBeLessThan(0.25);
    expect(src.position()).toMatchObject({ pass: 1, packets: raw.length, total: raw.length, done: true });
    expect(src.position()!.offset).toBeCloseTo(raw.at(-1)! - raw[0]!, 3);
  });

  test("the default cap is 5 s (ndpi__quic.pcap at speed 10: the year-long gap after packet 414 is a 5 s wait)", async () => {
    const t0 = Date.now();
    const { out } = await run({ path: QUIC, speed: 10 }, 15_000, (o) => o.length > 414);
    expect(out.length).toBe(415);
    expectMonotonicAndNotAhead(out);
    // 413 packets over 37.8 s of capture (3.8 s; the 21 s gap before frame 409 is 2.1 s), then
    // frame 414, a year later: 5 s
    expect(out[413]!.t - out[412]!.t).toBeCloseTo(5, 6);
    expect(out[408]!.t - out[407]!.t).toBeCloseTo(2.1144845, 6);
    expect(Date.now() - t0).toBeLessThan(11_000);
  });

  test("loop: each pass continues the clock; position counts passes and packets of the pass", async () => {
    const raw = rawTimes(QUIC);
    let passTwoAt = -1;
    const { out, src } = await run({ path: QUIC, speed: 1000, maxGap: 0.02, loop: true }, 10_000, (o, s) => {
      if (passTwoAt < 0 && s.position()!.pass === 2) passTwoAt = o.length;
      return o.length >= raw.length * 2 + 10;
    });
    expect(passTwoAt).toBe(raw.length + 1);
    expect(out.length).toBe(raw.length * 2 + 10);
    expectMonotonicAndNotAhead(out);
    expect(src.position()).toMatchObject({ pass: 3, packets: 10, total: raw.length, loop: true, done: false });
  });

  test("clock(): the wall clock while waiting out a gap, never past a later stamp; after the end, the last stamp + 1 s at most", async () => {
    const events: { clock?: number; stamp?: number; wall: number }[] = [];
    const src = new ReplaySource({ path: QUIC, speed: 1000, maxGap: 0.5 });
    const timer = setInterval(() => {
      const c = src.clock();
      if (c !== null) events.push({ clock: c, wall: Date.now() / 1000 });
    }, 20);
    await src.start({ packet: (_b, _o, _c, _w, t) => void events.push({ stamp: t, wall: Date.now() / 1000 }) });
    clearInterval(timer);
    const clocks = events.filter((e) => e.clock !== undefined);
    expect(clocks.length).toBeGreaterThan(10); // three capped gaps of 0.5 s
    let highest = -Infinity;
    for (const e of events) {
      if (e.clock !== undefined) {
        expect(e.clock).toBeLessThanOrEqual(e.wall);
        expect(e.wall - e.clock).toBeLessThan(0.05);
        highest = Math.max(highest, e.clock);
      } else {
        // a packet is never stamped before a clock value already given out
        expect(e.stamp!).toBeGreaterThanOrEqual(highest);
      }
    }
    const last = events.findLast((e) => e.stamp !== undefined)!.stamp!;
    const c = src.clock()!;
    expect(c).toBeLessThanOrEqual(Date.now() / 1000);
    expect(c).toBeLessThanOrEqual(last + 1);
    expect(c).toBeGreaterThan(last);
  });
});

describe("unpaced replay (speed max, BPF filter)", () => {
  test("max: the capture's own spacing, its last packet one second before the start; nothing ahead of the wall clock", async () => {
    const raw = rawTimes(GNUTELLA);
    const { out, src, started } = await run({ path: GNUTELLA, speed: "max" }, 10_000);
    expect(out.length).toBe(raw.length);
    expectMonotonicAndNotAhead(out);
    const shift = out[0]!.t - raw[0]!;
    for (let i = 0; i < raw.length; i++) expect(out[i]!.t - raw[i]!).toBeCloseTo(shift, 3);
    expect(out.at(-1)!.t).toBeLessThanOrEqual(started);
    expect(started - out.at(-1)!.t).toBeLessThan(2);
    expect(src.position()).toMatchObject({ pass: 1, packets: raw.length, total: raw.length, done: true });
    expect(src.clock()).toBeCloseTo(out.at(-1)!.t + 1, 3);
  });

  test("max with loop: passes never go back in time nor ahead of the wall clock", async () => {
    const raw = rawTimes(GNUTELLA);
    const { out, src } = await run({ path: GNUTELLA, speed: "max", loop: true }, 10_000, (o) => o.length >= raw.length * 3);
    expect(out.length).toBe(raw.length * 3);
    expectMonotonicAndNotAhead(out);
    expect(src.position()!.pass).toBe(3);
  });

  test("a BPF filter (read by libpcap) is stamped the same way", async () => {
    const { out, src } = await run({ path: GNUTELLA, speed: 10, filter: "udp" }, 10_000);
    expect(out.length).toBeGreaterThan(0);
    expectMonotonicAndNotAhead(out);
    expect(src.position()).toMatchObject({ pass: 1, total: null, done: true });
  });
});
