import { describe, expect, test } from "bun:test";
import { SeriesRing } from "./ring.ts";

const T0 = 1_700_000_000; // a step boundary for stepSec 1, 5 and 60

describe("SeriesRing", () => {
  test("sums accumulate within a step, samples keep the last set", () => {
    const r = new SeriesRing({ names: ["bytes", "cpu"], stepSec: 1, capacity: 10, kinds: ["sum", "sample"] });
    r.accumulate(T0 + 0.1, 0, 100);
    r.accumulate(T0 + 0.9, 0, 50);
    r.set(T0 + 0.2, 1, 10);
    r.set(T0 + 0.8, 1, 30);
    r.accumulate(T0 + 1.0, 0, 7);
    expect(r.get(T0, 0)).toBe(150);
    expect(r.get(T0, 1)).toBe(30);
    expect(r.get(T0 + 1, 0)).toBe(7);
    expect(r.get(T0 + 1, 1)).toBeNull();
    const out = r.range(T0, T0 + 2);
    expect(out.step).toBe(1);
    expect(out.t).toEqual([T0, T0 + 1]);
    expect(out.series).toEqual({ bytes: [150, 7], cpu: [30, null] });
  });

  test("sample() keeps the mean within a step; kinds by record", () => {
    const r = new SeriesRing({ names: ["a", "b"], stepSec: 5, capacity: 4, kinds: { b: "sum" } });
    expect(r.kinds).toEqual(["sample", "sum"]);
    r.sample(T0, 0, 10);
    r.sample(T0 + 1, 0, 20);
    r.sample(T0 + 4.9, 0, 60);
    expect(r.get(T0, 0)).toBe(30);
  });

  test("gaps read 0 for sums and null for samples", () => {
    const r = new SeriesRing({ names: ["s", "x"], stepSec: 1, capacity: 10, kinds: ["sum", "sample"] });
    r.accumulate(T0, 0, 1);
    r.set(T0, 1, 5);
    r.accumulate(T0 + 3, 0, 2);
    r.set(T0 + 3, 1, 6);
    const out = r.range(T0, T0 + 4);
    expect(out.series.s).toEqual([1, 0, 0, 2]);
    expect(out.series.x).toEqual([5, null, null, 6]);
  });

  test("range clips to the retained window and the newest step", () => {
    const r = new SeriesRing({ names: ["s"], stepSec: 1, capacity: 5, kinds: ["sum"] });
    expect(r.range(0, 1e10).t).toEqual([]);
    r.accumulate(T0 + 2, 0, 1);
    expect(r.range(T0 - 100, T0 + 100).t).toEqual([T0 - 2, T0 - 1, T0, T0 + 1, T0 + 2]);
    // partial current step is included; until is exclusive at a boundary
    expect(r.range(T0 + 1.5, T0 + 2.5).t).toEqual([T0 + 1, T0 + 2]);
    expect(r.range(T0 + 1, T0 + 2).t).toEqual([T0 + 1]);
    r.advance(T0 + 4);
    expect(r.range(T0, T0 + 100).series.s).toEqual([0, 0, 1, 0, 0]);
  });

  test("wrap-around after capacity reuses and clears slots; too-old writes are dropped", () => {
    const cap = 4;
    const r = new SeriesRing({ names: ["s", "x"], stepSec: 1, capacity: cap, kinds: ["sum", "sample"] });
    for (let k = 0; k < 10; k++) {
      r.accumulate(T0 + k, 0, k + 1);
      r.set(T0 + k, 1, k * 10);
    }
    const out = r.range(T0, T0 + 10);
    expect(out.t).toEqual([T0 + 6, T0 + 7, T0 + 8, T0 + 9]);
    expect(out.series.s).toEqual([7, 8, 9, 10]);
    expect(out.series.x).toEqual([60, 70, 80, 90]);
    // older than the window: dropped
    expect(r.accumulate(T0 + 5, 0, 1)).toBe(false);
    expect(r.get(T0 + 5, 0)).toBeNull();
    // late write inside the window lands in its own step
    expect(r.accumulate(T0 + 7.5, 0, 100)).toBe(true);
    expect(r.get(T0 + 7, 0)).toBe(108);
    // jump far ahead: the reused slot is cleared, skipped steps read as gaps
    r.accumulate(T0 + 12, 0, 3);
    const j = r.range(T0, T0 + 13);
    expect(j.t).toEqual([T0 + 9, T0 + 10, T0 + 11, T0 + 12]);
    expect(j.series.s).toEqual([10, 0, 0, 3]);
    expect(j.series.x).toEqual([90, null, null, null]);
    // a late write into a gap step inside the window claims its (stale) slot cleanly
    r.set(T0 + 10, 1, 1);
    expect(r.range(T0, T0 + 13).series.x).toEqual([90, 1, null, null]);
    expect(r.get(T0 + 10, 0)).toBe(0);
  });

  test("downsampling: samples average, sums stay per original step", () => {
    const r = new SeriesRing({ names: ["bytes", "cpu"], stepSec: 1, capacity: 3600, kinds: ["sum", "sample"] });
    for (let k = 0; k < 100; k++) {
      r.accumulate(T0 + k, 0, 1000); // 1000 B/s steady
      if (k % 2 === 0) r.set(T0 + k, 1, k); // samples only on even steps
    }
    const out = r.range(T0, T0 + 100, 10);
    expect(out.step).toBe(10);
    expect(out.t.length).toBe(10);
    expect(out.t[0]).toBe(T0);
    expect(out.series.bytes!.every((v) => v === 1000)).toBe(true);
    // bucket 0 holds samples 0,2,4,6,8 → mean 4
    expect(out.series.cpu![0]).toBe(4);
    expect(out.series.cpu![9]).toBe(94);
  });

  test("downsampling: gaps count as 0 in sum means; empty sample buckets are null", () => {
    const r = new SeriesRing({ names: ["s", "x"], stepSec: 1, capacity: 100, kinds: ["sum", "sample"] });
    r.accumulate(T0, 0, 40); // only one step of four has data
    r.set(T0 + 7, 1, 3);
    const out = r.range(T0, T0 + 8, 2);
    expect(out.step).toBe(4);
    expect(out.series.s).toEqual([10, 0]);
    expect(out.series.x).toEqual([null, 3]);
  });

  test("downsampling never exceeds maxPoints and buckets are aligned", () => {
    const r = new SeriesRing({ names: ["s"], stepSec: 5, capacity: 17_280, kinds: ["sum"] });
    const start = T0 + 3 * 5; // not aligned on a 60 s bucket
    for (let k = 0; k < 17_280; k++) r.accumulate(start + k * 5, 0, 5);
    const last = start + 17_279 * 5;
    const out = r.range(last - 86_400, last + 1, 1440);
    expect(out.step).toBe(60);
    expect(out.t.length).toBeLessThanOrEqual(1440);
    expect(out.t.every((t) => t % 60 === 0)).toBe(true);
    expect(out.t.at(-1)).toBe(Math.floor(last / 60) * 60);
    expect(out.series.s!.every((v) => v === 5)).toBe(true);
  });

  test("validates config", () => {
    expect(() => new SeriesRing({ names: [], stepSec: 1, capacity: 1 })).toThrow(RangeError);
    expect(() => new SeriesRing({ names: ["a", "a"], stepSec: 1, capacity: 1 })).toThrow(RangeError);
    expect(() => new SeriesRing({ names: ["a"], stepSec: 0, capacity: 1 })).toThrow(RangeError);
    expect(() => new SeriesRing({ names: ["a"], stepSec: 1, capacity: 1.5 })).toThrow(RangeError);
    expect(() => new SeriesRing({ names: ["a"], stepSec: 1, capacity: 2, kinds: ["sum", "sum"] })).toThrow(RangeError);
    expect(() => new SeriesRing({ names: ["a"], stepSec: 1, capacity: 2, kinds: { b: "sum" } })).toThrow(RangeError);
    const r = new SeriesRing({ names: ["a"], stepSec: 1, capacity: 2 });
    expect(r.accumulate(NaN, 0, 1)).toBe(false);
    expect(r.newestStart).toBeNull();
  });

  test("accumulate is cheap: 10M calls over 3600 one-second steps", () => {
    const r = new SeriesRing({ names: ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"], stepSec: 1, capacity: 3600, kinds: Array(10).fill("sum") });
    const n = 10_000_000;
    const t0 = performance.now();
    for (let k = 0; k < n; k++) r.accumulate(T0 + k * 0.00036, k % 10, 64);
    const ns = ((performance.now() - t0) * 1e6) / n;
    console.log(`SeriesRing.accumulate: ${ns.toFixed(1)} ns/call`);
    expect(ns).toBeLessThan(200);
    const out = r.range(T0, T0 + 3600, 3600);
    expect(out.t.length).toBe(3600);
    const total = out.series.a!.reduce<number>((s, v) => s + (v ?? 0), 0);
    expect(total).toBe((n / 10) * 64);
  });
});
