import { afterEach, describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { FlowColumns } from "../flows/table/columns.ts";
import { MATCH_ALL } from "../flows/query/query.ts";
import { FlowStore } from "./flow-store.ts";
import { SyntheticFlows } from "./synthetic-flows.ts";
import { tempDir } from "./test-dir.ts";
import { T0 } from "./test-specs.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

const count = { query: MATCH_ALL, sortBy: "first_seen" as const, order: "asc" as const, offset: 0, limit: 1 };

/**
 * A store holding 10 days of flows (one every 10 minutes from T0, inserted in hourly batches of 6:
 * 1,440 flows) and a clock at T0 + 10 days that the test moves (`clock.now`, ms).
 */
function tenDayStore(o: { fullStepMs?: number } = {}): { store: FlowStore; clock: { now: number } } {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const clock = { now: (T0 + 10 * 86400) * 1000 };
  const store = new FlowStore({ path: join(t.dir, "h.db"), pruneIntervalMs: 0, retentionDays: 7, now: () => clock.now, ...o });
  cleanups.push(() => store.stop());
  store.start();
  new SyntheticFlows(8, 1, T0, 600).insertInto(store, 240, 6);
  return { store, clock };
}

describe("retention", () => {
  test("by age: whole segments older than retentionDays are dropped, one per step; newer flows stay", () => {
    const { store, clock } = tenDayStore();
    expect(store.status().flows).toBe(1440);
    let steps = 0;
    while ((store.pruneStep()?.droppedSegments ?? 0) > 0) steps++;
    const cutoff = clock.now - 7 * 86_400_000;
    const st = store.status();
    // every flow that ended after the cutoff is kept; nothing more than one segment (an hour) older is
    expect(steps).toBeGreaterThan(60);
    const oldest = store.queryFlows({ ...count, sortBy: "last_seen" }).records[0]!;
    expect(Date.parse(oldest.last_seen)).toBeGreaterThanOrEqual(cutoff - 3_600_000);
    const kept = store.queryFlows({ ...count, since: cutoff / 1000 }).total;
    expect(kept).toBeGreaterThan(1000);
    expect(st.flows).toBeGreaterThanOrEqual(kept);
    expect(st.flows).toBeLessThanOrEqual(kept + 6);
    // a day later, with the sensor still capturing (new flows at the new now), another day's worth goes
    clock.now += 86_400_000;
    const late = new SyntheticFlows(9, 1441, clock.now / 1000 - 60, 1);
    const one = new FlowColumns(1);
    late.fill(one, 1);
    expect(store.insertColumns(one, 1)).toBe(1);
    while ((store.pruneStep()?.droppedSegments ?? 0) > 0);
    expect(store.status().flows).toBeLessThanOrEqual(kept - 130 + 1);
    expect(store.maxFlowId()).toBe(1441);
  });

  test("the periodic step: a full step at first and while steps find work, then index steps only until fullStepMs", () => {
    const { store, clock } = tenDayStore({ fullStepMs: 3_600_000 });
    // the first periodic step is a full one; each that drops a segment is followed by another
    let flows = store.status().flows, steps = 0;
    for (;;) {
      store.periodicStep();
      const left = store.status().flows;
      if (left === flows) break;
      flows = left;
      steps++;
    }
    expect(steps).toBeGreaterThan(60);
    // a day later (a new flow: age counts from it) more segments are aged, but the last full step found nothing: index steps only
    clock.now += 86_400_000;
    const one = new FlowColumns(1);
    new SyntheticFlows(9, 1441, clock.now / 1000 - 60, 1).fill(one, 1);
    expect(store.insertColumns(one, 1)).toBe(1);
    flows++;
    for (let k = 0; k < 5; k++) store.periodicStep();
    expect(store.status().flows).toBe(flows);
    // over the size limit, or an explicit full step, prunes at once
    expect(store.pruneStep()!.droppedSegments).toBe(1);
    store.periodicStep();
    expect(store.status().flows).toBe(flows - 12);
  });

  test("by age, a store filled from an old capture: age counts back from its newest flow, not from the wall clock", () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    // flows from a capture 30 days old, spread over 10 days; the wall clock is today
    const start = Date.now() / 1000 - 40 * 86400;
    const store = new FlowStore({ path: join(t.dir, "h.db"), pruneIntervalMs: 0, retentionDays: 7 });
    cleanups.push(() => store.stop());
    store.start();
    new SyntheticFlows(8, 1, start, 600).insertInto(store, 240, 6);
    while ((store.pruneStep()?.droppedSegments ?? 0) > 0);
    const newest = store.queryFlows({ ...count, sortBy: "last_seen", order: "desc" }).records[0]!;
    const oldest = store.queryFlows({ ...count, sortBy: "last_seen" }).records[0]!;
    const span = Date.parse(newest.last_seen) - Date.parse(oldest.last_seen);
    // the last 7 days of the capture stay (not all pruned as "older than 7 days"), the first 3 go
    expect(span).toBeGreaterThan(7 * 86_400_000 - 3_600_000);
    expect(span).toBeLessThanOrEqual(7 * 86_400_000 + 3_600_000);
    expect(store.status().flows).toBeGreaterThan(1000);
    expect(store.status().flows).toBeLessThan(1440);
  });

  test("by size: the file stays under retentionBytes while flows keep coming; the newest flows are kept", () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const path = join(t.dir, "h.db");
    const limit = 3 * 1024 * 1024;
    const now = (T0 + 3600) * 1000;
    const store = new FlowStore({ path, pruneIntervalMs: 0, retentionBytes: limit, segmentRows: 4000, now: () => now });
    cleanups.push(() => store.stop());
    store.start();
    const gen = new SyntheticFlows(9, 1, T0, 0.01);
    const c = new FlowColumns(2000);
    let maxFile = 0;
    for (let k = 0; k < 60; k++) {
      gen.fill(c, 2000);
      expect(store.insertColumns(c, 2000)).toBe(2000);
      store.pruneStep();
      maxFile = Math.max(maxFile, store.status().bytes, statSync(path).size);
    }
    const st = store.status();
    expect(maxFile).toBeLessThanOrEqual(limit);
    expect(st.flows).toBeLessThan(120_000);
    expect(st.flows).toBeGreaterThan(10_000);
    // the newest flow is there, the oldest are gone
    expect(store.findFlow(120_000)).not.toBeNull();
    expect(store.findFlow(1)).toBeNull();
    expect(st.state).toBe("ok");
  });

  test("by size with a single segment: its oldest flows are deleted in small steps", () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const store = new FlowStore({ path: join(t.dir, "h.db"), pruneIntervalMs: 0, retentionBytes: 1024 * 1024, now: () => (T0 + 60) * 1000 });
    cleanups.push(() => store.stop());
    store.start();
    const gen = new SyntheticFlows(10, 1, T0, 0.0001);
    const c = new FlowColumns(20_000);
    gen.fill(c, 20_000);
    store.insertColumns(c, 20_000);
    expect(store.status().bytes).toBeGreaterThan(1024 * 1024);
    const r = store.pruneStep()!;
    expect(r.droppedSegments).toBe(0);
    expect(r.deletedFlows).toBe(5000);
    expect(store.status().flows).toBe(15_000);
    expect(store.findFlow(5000)).toBeNull();
    expect(store.findFlow(5001)).not.toBeNull();
    for (let k = 0; k < 10; k++) store.pruneStep();
    const st = store.status();
    expect(st.bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(st.flows).toBeGreaterThan(0);
  });

  test("lowering retentionBytes shrinks an existing file (incremental vacuum)", () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const path = join(t.dir, "h.db");
    const big = new FlowStore({ path, pruneIntervalMs: 0, segmentRows: 5000 });
    big.start();
    new SyntheticFlows(11, 1, Date.now() / 1000 - 3600, 0.01).insertInto(big, 8, 5000);
    const before = big.status().bytes;
    big.stop();
    const small = new FlowStore({ path, pruneIntervalMs: 0, retentionBytes: before / 3 });
    cleanups.push(() => small.stop());
    small.start();
    for (let k = 0; k < 40 && small.status().bytes > before / 3; k++) small.pruneStep();
    expect(small.status().bytes).toBeLessThanOrEqual(before / 3);
    expect(small.status().flows).toBeGreaterThan(0);
  });
});
