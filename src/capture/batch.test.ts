import { expect, test } from "bun:test";
import { deliverBatch } from "./batch.ts";
import { createBatch } from "./shim.ts";

/** Writes records the way shim.c does (host = little-endian). */
function fill(batch: ReturnType<typeof createBatch>, recs: [number, number, number, number, number[]][]): void {
  let off = 0;
  for (const [sec, frac, stored, wire, data] of recs) {
    batch.words.set([sec, frac, stored, wire], off >>> 2);
    batch.buf.set(data, off + 16);
    off += 16 + ((stored + 3) & ~3);
  }
  batch.status[1] = off;
}

test("deliverBatch walks padded records and scales µs / ns fractions", () => {
  const batch = createBatch(1024, 64);
  fill(batch, [
    [1_700_000_000, 250_000, 5, 60, [1, 2, 3, 4, 5]],
    [4_000_000_000, 999_999, 0, 1514, []],
    [1, 7, 8, 9, [9, 8, 7, 6, 5, 4, 3, 2]],
  ]);
  const seen: [number, number, number, number, number, number[]][] = [];
  const sink = {
    packet(buf: Uint8Array, off: number, caplen: number, wire: number, ts: number, lt: number) {
      seen.push([off, caplen, wire, ts, lt, [...buf.subarray(off, off + caplen)]]);
    },
  };
  expect(deliverBatch(batch, 3, false, 1, sink)).toBe(3);
  expect(seen).toEqual([
    [16, 5, 60, 1_700_000_000.25, 1, [1, 2, 3, 4, 5]],
    [40, 0, 1514, 4_000_000_000 + 999_999 * 1e-6, 1, []],
    [56, 8, 9, 1 + 7 * 1e-6, 1, [9, 8, 7, 6, 5, 4, 3, 2]],
  ]);
  seen.length = 0;
  expect(deliverBatch(batch, 1, true, 113, sink)).toBe(1);
  expect(seen[0]![3]).toBeCloseTo(1_700_000_000.00025, 6);
  expect(seen[0]![4]).toBe(113);
});

test("deliverBatch never reads past the bytes used", () => {
  const batch = createBatch(1024, 64);
  fill(batch, [[1, 0, 4, 4, [1, 1, 1, 1]]]);
  let n = 0;
  expect(deliverBatch(batch, 5, false, 1, { packet: () => void n++ })).toBe(1);
  expect(n).toBe(1);
});
