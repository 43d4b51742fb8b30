import { expect, test } from "bun:test";
import { basename, join } from "node:path";
import { FileSource } from "../../capture/file-source.ts";
import type { Talker, Talkers } from "./talkers.ts";
import { DecodedPacket } from "../../capture/packet.ts";
import { FlowEngine } from "../engine.ts";
import { v4 } from "../test-packets.ts";

/** Feed `seconds` seconds of UDP traffic where host 10.0.0.h sends h × 100 bytes per second to 10.9.9.9. */
function feed(engine: FlowEngine, seconds: number, t0: number) {
  const p = new DecodedPacket();
  p.proto = 17;
  p.dst[0] = v4("10.9.9.9");
  for (let s = 0; s < seconds; s++) {
    for (let h = 1; h <= 30; h++) {
      p.src[0] = v4(`10.0.0.${h}`);
      p.sport = 1000 + h;
      p.dport = 53;
      engine.table.add(p, t0 + s + 0.5, h * 100);
    }
    engine.advance(t0 + s + 1);
  }
}

test("top talkers: running 60 s window equals a full merge, and old seconds leave it", () => {
  const engine = new FlowEngine({ talkers: true, idleTimeout: 1e9 });
  engine.advance(1000);
  feed(engine, 90, 1000);
  const t = engine.talkers!;
  const live = t.top("src", 60, 5, engine.now);
  // Brute force: in the last 60 s, host h sent 60 × h × 100 bytes.
  expect(live.map((x) => x.host)).toEqual(["10.0.0.30", "10.0.0.29", "10.0.0.28", "10.0.0.27", "10.0.0.26"]);
  expect(live[0]!.bytes).toBe(60 * 3000);
  expect(live[0]!.bps).toBe(3000 * 8);
  // The merge path (another window) agrees on its own window.
  const merged = t.top("src", 30, 5, engine.now);
  expect(merged[0]!.bytes).toBe(30 * 3000);
  // by=host counts both directions: 10.9.9.9 received everything.
  const hosts = t.top("host", 60, 1, engine.now);
  expect(hosts[0]!.host).toBe("10.9.9.9");
  expect(hosts[0]!.bytes).toBe(60 * 100 * (30 * 31) / 2);
  // After 60 quiet seconds the running window is empty.
  for (let s = 0; s < 61; s++) engine.advance(engine.now + 1);
  expect(t.top("src", 60, 5, engine.now)).toEqual([]);
});

test("a second with more hosts than the per-second cap keeps the biggest ones", () => {
  const engine = new FlowEngine({ talkers: true, idleTimeout: 1e9 });
  engine.advance(2000);
  const p = new DecodedPacket();
  p.proto = 17;
  p.dst[0] = v4("10.200.0.1");
  // 5,000 sources; source n sends (n % 997) + 1 packets of 100 bytes in the same second.
  for (let n = 0; n < 5000; n++) {
    p.src[0] = v4(`10.1.${n >> 8}.${n & 255}`);
    p.sport = 2000;
    p.dport = 53;
    for (let k = 0; k <= n % 997; k++) engine.table.add(p, 2000.5, 100);
  }
  engine.advance(2001);
  const top = engine.talkers!.top("src", 60, 3, engine.now);
  expect(top.map((t) => t.bytes)).toEqual([99_700, 99_700, 99_700]);
  const expected = [996, 1993, 2990, 3987, 4984].map((n) => `10.1.${n >> 8}.${n & 255}`);
  expect(expected).toEqual(expect.arrayContaining(top.map((t) => t.host)));
});

test("host rows cached per flow slot: a reused slot and a renumbered host index still count the right hosts", () => {
  const engine = new FlowEngine({ talkers: true, idleTimeout: 2 });
  const t = engine.talkers!;
  const p = new DecodedPacket();
  p.proto = 17;
  p.sport = 1000;
  p.dport = 53;
  const send = (src: string, dst: string, ts: number, bytes: number) => {
    p.src[0] = v4(src);
    p.dst[0] = v4(dst);
    return engine.table.add(p, ts, bytes);
  };
  engine.advance(3000);
  const slotA = send("10.0.0.1", "10.9.9.9", 3000.5, 100);
  engine.advance(3001);
  expect(t.top("src", 1, 1, engine.now)).toEqual([expect.objectContaining({ host: "10.0.0.1", bytes: 100 })]);
  for (let s = 3002; s <= 3005; s++) engine.advance(s); // A idles out; its slot is free
  expect(engine.table.count).toBe(0);
  const slotB = send("10.0.0.2", "10.8.8.8", 3005.5, 500);
  expect(slotB).toBe(slotA);
  engine.advance(3006);
  expect(t.top("src", 1, 5, engine.now)).toEqual([expect.objectContaining({ host: "10.0.0.2", bytes: 500 })]);
  expect(t.top("dst", 1, 5, engine.now)).toEqual([expect.objectContaining({ host: "10.8.8.8", bytes: 500 })]);
  // A second with 70,000 sources, then seconds with one flow: the host index is renumbered
  // (it holds more than 4 × 16,384 hosts no second touches), the cached rows must not be used.
  for (let n = 0; n < 70_000; n++) send(`10.${64 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`, "10.7.7.7", 3006.5, 10);
  send("10.0.0.2", "10.8.8.8", 3006.6, 1);
  engine.advance(3007);
  expect(t.top("dst", 1, 1, engine.now)).toEqual([expect.objectContaining({ host: "10.7.7.7", bytes: 700_000 })]);
  for (let s = 3007; s < 3010; s++) {
    send("10.0.0.2", "10.8.8.8", s + 0.5, 300);
    send("10.0.0.3", "10.6.6.6", s + 0.5, 200);
    engine.advance(s + 1);
    expect(t.top("src", 1, 5, engine.now)).toEqual([
      expect.objectContaining({ host: "10.0.0.2", bytes: 300, flows: 1 }),
      expect.objectContaining({ host: "10.0.0.3", bytes: 200, flows: 1 }),
    ]);
    expect(t.top("dst", 1, 5, engine.now).map((x) => [x.host, x.bytes])).toEqual([["10.8.8.8", 300], ["10.6.6.6", 200]]);
  }
});

/**
 * Two engines read the same capture: one closes each talker second at once (no scheduler: the
 * tick job runs whole, Talkers.commit as before), the other as in the Worker (tick job in queued
 * slices) with the commit cut into steps of one row, so a second is closed over many slices. At
 * every second of packet time: between the stepped engine's slices its talkers still answer as
 * before the second closed (nothing half-committed shows), and once its slices have run both
 * engines give the same talkers for every `by`, for the running 60 s window and merged windows.
 */
const CAPTURES = [
  join(import.meta.dir, "../../../../shared/pcaps-l7/ndpi__android.pcap"),
  join(import.meta.dir, "../../../../shared/pcaps/ndpi__gnutella.pcap"),
];

function answers(t: Talkers, now: number): Talker[][] {
  const out: Talker[][] = [];
  for (const by of ["src", "dst", "host"] as const) {
    for (const w of [1, 10, 60, 300]) out.push(t.top(by, w, 2500, now));
  }
  return out;
}

for (const path of CAPTURES) {
  test(`stepped commit equals commit at once at every second: ${basename(path)}`, () => {
    const once = new FlowEngine({ talkers: true });
    const queue: (() => void)[] = [];
    const stepped = new FlowEngine({ talkers: true, schedule: (fn) => queue.push(fn) });
    const a = once.talkers!, b = stepped.talkers!;
    b.commitChunk = 1;
    b.stepChunks = 1;
    let seconds = 0, slices = 0, withHosts = 0;
    let sec = -1;
    new FileSource({ path }).readSync({
      packet: (buf, o, c, w, ts, l) => {
        const crossing = sec >= 0 && Math.floor(ts) > sec;
        // What the talkers answer before this packet closes the second (asked at its time).
        const before = crossing ? answers(a, ts) : null;
        once.packet(buf, o, c, w, ts, l);
        stepped.packet(buf, o, c, w, ts, l);
        sec = Math.floor(ts);
        if (!crossing) return;
        seconds++;
        // The stepped engine's slices one at a time, its talkers asked between them.
        while (queue.length > 0) {
          expect(answers(b, ts)).toEqual(before!);
          queue.shift()!();
          slices++;
        }
        const after = answers(a, once.now);
        expect(answers(b, stepped.now)).toEqual(after);
        if (after.some((x) => x.length > 0)) withHosts++;
      },
    });
    once.finish();
    stepped.finish();
    expect(answers(b, stepped.now)).toEqual(answers(a, once.now));
    expect(seconds).toBeGreaterThan(10);
    expect(withHosts).toBeGreaterThan(10);
    // One row per step: seconds with several hosts were closed over several slices.
    expect(slices).toBeGreaterThan(seconds + 20);
  });
}

test("stepped commit of a second over the per-second cap keeps the same biggest hosts as at once", () => {
  const once = new FlowEngine({ talkers: true, idleTimeout: 1e9 });
  const queue: (() => void)[] = [];
  const stepped = new FlowEngine({ talkers: true, idleTimeout: 1e9, schedule: (fn) => queue.push(fn) });
  stepped.talkers!.commitChunk = 7;
  stepped.talkers!.stepChunks = 1;
  const p = new DecodedPacket();
  p.proto = 17;
  p.dst[0] = v4("10.200.0.1");
  p.sport = 2000;
  p.dport = 53;
  for (const e of [once, stepped]) e.advance(4000);
  for (let s = 0; s < 3; s++) {
    // 5,000 sources, source n sends 100 + ((n + 1,000 s) % 5,000) bytes: 10.200.0.1 and 1,999 sources make the cut.
    for (let n = 0; n < 5000; n++) {
      p.src[0] = v4(`10.1.${n >> 8}.${n & 255}`);
      for (const e of [once, stepped]) e.table.add(p, 4000 + s + 0.5, 100 + ((n + 1000 * s) % 5000));
    }
    for (const e of [once, stepped]) e.advance(4000 + s + 1);
    let slices = 0;
    while (queue.length > 0) {
      queue.shift()!();
      slices++;
    }
    expect(slices).toBeGreaterThan(5000 / 7);
    const now = once.now;
    const top = stepped.talkers!.top("src", 1, 5000, now);
    expect(top.length).toBe(1999);
    expect(top[0]!.bytes).toBe(5099);
    expect(top.at(-1)!.bytes).toBe(100 + 3001);
    expect(top.map((t) => t.host)).toEqual(
      Array.from({ length: 1999 }, (_, k) => (5000 * 2 + 4999 - k - 1000 * s) % 5000).map((n) => `10.1.${n >> 8}.${n & 255}`),
    );
    for (const by of ["src", "dst", "host"] as const) {
      for (const w of [1, 2, 60]) expect(stepped.talkers!.top(by, w, 5000, now)).toEqual(once.talkers!.top(by, w, 5000, now));
    }
  }
});
