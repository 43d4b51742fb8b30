import { describe, expect, test } from "bun:test";
import { FragmentTracker } from "./fragments.ts";
import { DecodedPacket } from "./packet.ts";

/** A decoded fragment built by the test (fields as decode() would set them). */
function frag(p: DecodedPacket, o: { src?: number; dst?: number; id: number; offset: number; sport?: number; dport?: number; proto?: number; v?: 4 | 6 }): DecodedPacket {
  p.ipVersion = o.v ?? 4;
  p.src.fill(0);
  p.dst.fill(0);
  p.src[0] = o.src ?? 0x0a000001;
  p.dst[0] = o.dst ?? 0x0a000002;
  if (p.ipVersion === 6) p.src[3] = 1;
  p.proto = o.proto ?? 17;
  p.isFragment = true;
  p.fragId = o.id;
  p.fragOffset = o.offset;
  p.sport = o.sport ?? 0;
  p.dport = o.dport ?? 0;
  return p;
}

describe("FragmentTracker", () => {
  test("later fragments take the first fragment's ports", () => {
    const t = new FragmentTracker();
    const p = new DecodedPacket();
    t.resolve(frag(p, { id: 5, offset: 0, sport: 53, dport: 4000 }), 100);
    t.resolve(frag(p, { id: 5, offset: 185 }), 100.01);
    expect([p.sport, p.dport]).toEqual([53, 4000]);
    t.resolve(frag(p, { id: 5, offset: 370 }), 100.02);
    expect([p.sport, p.dport, t.resolved]).toEqual([53, 4000, 2]);
  });

  test("the key is (src, dst, proto, id, version): any difference misses", () => {
    const t = new FragmentTracker();
    const p = new DecodedPacket();
    t.resolve(frag(p, { id: 5, offset: 0, sport: 1, dport: 2 }), 1);
    for (const o of [{ id: 6 }, { id: 5, src: 9 }, { id: 5, dst: 9 }, { id: 5, proto: 6 }, { id: 5, v: 6 as const }]) {
      t.resolve(frag(p, { offset: 10, ...o }), 1);
      expect([p.sport, p.dport]).toEqual([0, 0]);
    }
    expect([t.resolved, t.unresolved]).toEqual([0, 5]);
  });

  test("32-bit IPv6 ids; entries expire after the ttl of packet time", () => {
    const t = new FragmentTracker(64, 30);
    const p = new DecodedPacket();
    t.resolve(frag(p, { id: 0xfffffff0, offset: 0, sport: 7, dport: 8, v: 6 }), 1000);
    t.resolve(frag(p, { id: 0xfffffff0, offset: 1, v: 6 }), 1029);
    expect(p.sport).toBe(7);
    t.resolve(frag(p, { id: 0xfffffff0, offset: 2, v: 6 }), 1031);
    expect(p.sport).toBe(0);
  });

  test("non-fragments are untouched; a flood stays bounded and recent entries still resolve", () => {
    const t = new FragmentTracker(4096);
    const p = new DecodedPacket();
    p.isFragment = false;
    p.sport = 9;
    t.resolve(p, 1);
    expect(p.sport).toBe(9);
    for (let i = 0; i < 200000; i++) t.resolve(frag(p, { id: i & 0xffff, src: i, offset: 0, sport: i & 0xffff, dport: 1 }), 1 + i * 1e-4);
    expect(t.capacity).toBe(4096);
    let hits = 0;
    for (let i = 200000 - 1000; i < 200000; i++) {
      t.resolve(frag(p, { id: i & 0xffff, src: i, offset: 8 }), 21);
      if (p.sport === (i & 0xffff) && p.dport === 1) hits++;
    }
    expect(hits).toBeGreaterThan(900);
  });
});
