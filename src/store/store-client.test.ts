import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { FlowColumns, KEY_WORDS } from "../flows/table/columns.ts";
import { MATCH_ALL, parseQuery } from "../flows/query/query.ts";
import { toRecord } from "../flows/format/record.ts";
import type { Alert } from "../alerts/alert.ts";
import { FlowStore } from "./flow-store.ts";
import { StoreClient } from "./store-client.ts";
import { PortSink } from "../worker/port-sink.ts";
import type { StoreHandlers, StoreResult } from "./store-protocol.ts";
import { columnsOf } from "./synthetic-flows.ts";
import { tempDir } from "./test-dir.ts";
import { variedFlows } from "./test-specs.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function batch(c: FlowColumns, from: number, to: number): { key: Int32Array; rec: ArrayBuffer; count: number } {
  return { key: c.key.slice(from * KEY_WORDS, to * KEY_WORDS), rec: (c.f64.buffer as ArrayBuffer).slice(from * 64, to * 64), count: to - from };
}

async function client(extra: Partial<ConstructorParameters<typeof StoreClient>[0]> = {}): Promise<{ c: StoreClient; path: string }> {
  const t = tempDir();
  const path = join(t.dir, "data", "history.db");
  const c = new StoreClient({ path, pruneIntervalMs: 0, ...extra });
  cleanups.push(t.cleanup, () => c.stop());
  await c.start();
  return { c, path };
}

/** Waits until every posted batch is acknowledged. */
async function drained(c: StoreClient): Promise<void> {
  for (let k = 0; k < 500 && c.inFlight > 0; k++) await Bun.sleep(10);
  expect(c.inFlight).toBe(0);
}

const alert: Alert = {
  id: "a7", rule: "bandwidth", key: "", severity: "warning", since: "2026-01-01T00:00:00.000Z", cleared: null,
  message: "Total bandwidth 1.2 Gbit/s", value: 1.2e9, flows: [], q: "bytes>1M",
};

describe("StoreClient with a real Worker", () => {
  test("inserts (buffers transferred), queries, history and alerts through the Worker", async () => {
    const { c } = await client();
    const specs = variedFlows(600, 5);
    const cols = columnsOf(specs);
    const want = specs.map((_, i) => toRecord(cols, i));
    const b = batch(cols, 0, 600);
    expect(c.insert(b.key, b.rec, b.count)).toBe(true);
    // transferred, not copied: the caller's buffers are detached
    expect(b.rec.byteLength).toBe(0);
    expect(b.key.length).toBe(0);
    await drained(c);
    expect(c.written).toBe(600);
    const page = await c.queryFlows({ query: parseQuery("protocol:tcp bytes>10k"), sortBy: "bytes", order: "desc", offset: 0, limit: 10 });
    const tcpBig = want.filter((r) => r.proto === "tcp" && r.bytes > 10_000).sort((x, y) => y.bytes - x.bytes || x.id - y.id);
    expect(page.total).toBe(tcpBig.length);
    expect(page.records).toEqual(tcpBig.slice(0, 10));
    expect(await c.findFlow(42)).toEqual(want[41]!);
    expect(await c.maxFlowId()).toBe(600);

    const now = Math.floor(Date.now() / 1000);
    for (let s = 0; s < 3; s++) {
      c.addTraffic({ t: now - 3 + s, packets: 10 * s, bytes: 1000 * s, tcp_bytes: 1000 * s, udp_bytes: 0, icmp_bytes: 0, other_bytes: 0, non_ip_bytes: 0 });
    }
    c.addMetrics(now - 2, { cpu: 10, rss: 1e8 });
    c.addMetrics(now - 1, { cpu: 30, rss: 2e8 });
    c.addAlertEvent("raised", alert, now * 1000 - 500);
    c.addAlertEvent("cleared", { ...alert, cleared: "2026-01-01T00:01:00.000Z" }, now * 1000);
    const traffic = await c.trafficHistory(now - 3, now);
    expect(traffic.step).toBe(1);
    expect(traffic.series.bytes).toEqual([0, 1000, 2000]);
    const metrics = await c.metricsHistory(now - 2, now);
    expect(metrics.series.cpu).toEqual([10, 30]);
    const events = await c.alerts({ since: now - 60 });
    expect(events.map((e) => e.event)).toEqual(["cleared", "raised"]);
    expect(events[1]!.alert).toEqual(alert);
    const st = await c.status();
    expect(st).toMatchObject({ state: "ok", flows: 600, inserted: 600, dropped: 0 });
  });

  test("a queue limit of 1 and a burst: the extra batches are dropped and counted, never blocking", async () => {
    const { c } = await client({ maxInFlight: 1 });
    const cols = columnsOf(variedFlows(2000, 9));
    const t0 = performance.now();
    const accepted: boolean[] = [];
    for (let k = 0; k < 20; k++) {
      const b = batch(cols, k * 100, k * 100 + 100);
      accepted.push(c.insert(b.key, b.rec, b.count));
    }
    expect(performance.now() - t0).toBeLessThan(200);
    expect(accepted[0]).toBe(true);
    expect(accepted.slice(1).every((a) => !a)).toBe(true);
    expect(c.dropped).toBe(1900);
    await drained(c);
    const st = await c.status();
    expect(st).toMatchObject({ flows: 100, inserted: 100, dropped: 1900 });
    // once the Worker caught up, batches are accepted again
    const b = batch(cols, 1900, 2000);
    expect(c.insert(b.key, b.rec, b.count)).toBe(true);
    await drained(c);
    expect((await c.status()).flows).toBe(200);
  });

  test("stop() writes every batch posted before it; the file holds them afterwards", async () => {
    const { c, path } = await client();
    const cols = columnsOf(variedFlows(900, 13));
    for (let k = 0; k < 3; k++) {
      const b = batch(cols, k * 300, k * 300 + 300);
      expect(c.insert(b.key, b.rec, b.count)).toBe(true);
    }
    await c.stop();
    const store = new FlowStore({ path, pruneIntervalMs: 0 });
    store.start();
    expect(store.queryFlows({ query: MATCH_ALL, sortBy: "bytes", order: "desc", offset: 0, limit: 0 }).total).toBe(900);
    store.stop();
    await expect(c.queryFlows({ query: MATCH_ALL, sortBy: "bytes", order: "desc", offset: 0, limit: 1 })).rejects.toThrow("store stopped");
    expect(c.insert(new Int32Array(KEY_WORDS), new ArrayBuffer(64), 1)).toBe(false);
  });

  test("a sink port: batches from a PortSink go straight to the Worker, acknowledged once written; stop waits for its end and lowers the reservation", async () => {
    const { c, path } = await client();
    const ch = new MessageChannel();
    expect(c.attachSink(ch.port2)).toBe(true);
    const sink = new PortSink({ name: "history", port: ch.port1, maxBatches: 2, maxAgeMs: 60_000 });
    const cols = columnsOf(variedFlows(900, 21));
    expect(sink.offer(batch(cols, 0, 300))).toBe(true);
    expect(sink.offer(batch(cols, 300, 600))).toBe(true);
    // two unacknowledged: the bound refuses a third until the store has written one
    expect(sink.offer(batch(cols, 600, 900))).toBe(false);
    for (let k = 0; k < 500 && (await c.status()).flows < 600; k++) await Bun.sleep(10);
    for (let k = 0; k < 100 && !sink.offer(batch(cols, 600, 900)); k++) await Bun.sleep(10);
    expect(c.written).toBe(0); // nothing went through the main thread
    await c.reserveFlowIds(5000);
    // the end marker comes from close(); stop() (posted on the other port) waits for it
    const closed = sink.close();
    await c.stop({ reserveFlowIds: 10 });
    await closed;
    const store = new FlowStore({ path, pruneIntervalMs: 0 });
    store.start();
    expect(store.queryFlows({ query: MATCH_ALL, sortBy: "bytes", order: "desc", offset: 0, limit: 0 }).total).toBe(900);
    // lowered to the highest id the sink carried (900 > 10), not left at 5000
    expect(store.maxFlowId()).toBe(900);
    store.stop();
  });

  test("reopened right after stop(), the file holds the final flush: 40 rounds (the connection closes at once, not as a zombie keeping its locks)", async () => {
    // A capture stopped before any flow ended: everything comes in the final flush, posted just
    // before "stop". With close(false) the store Worker's connection stayed open until its cached
    // statements were collected: a store opened right after stop() found the file locked (SQLITE_BUSY),
    // came up degraded and answered empty, in about 1 round of 10-30.
    for (let run = 0; run < 40; run++) {
      const { c, path } = await client();
      const ch = new MessageChannel();
      expect(c.attachSink(ch.port2)).toBe(true);
      const sink = new PortSink({ name: "history", port: ch.port1, maxBatches: 8 });
      const cols = columnsOf(variedFlows(3000, 31 + run));
      expect(sink.offer(batch(cols, 0, 3000))).toBe(true);
      const closed = sink.close();
      await c.stop();
      await closed;
      const store = new FlowStore({ path, pruneIntervalMs: 0 });
      store.start();
      expect({ run, total: store.queryFlows({ query: MATCH_ALL, sortBy: "bytes", order: "desc", offset: 0, limit: 0 }).total }).toEqual({ run, total: 3000 });
      store.stop();
    }
  });

  test("an invalid query is an error reply, not a dead Worker", async () => {
    const { c } = await client();
    const err = await c.queryFlows({ query: { kind: "proto", proto: "6 OR 1=1" as never }, sortBy: "bytes", order: "desc", offset: 0, limit: 1 })
      .then(() => null, (e: Error) => e);
    expect(err?.message).toContain("invalid query AST");
    expect((await c.status()).state).toBe("ok");
  });
});

// Compile-time: the call map types both sides; a handler with the wrong result type fails tsc.
const wrongResult: Pick<StoreHandlers, "maxFlowId"> = {
  // @ts-expect-error maxFlowId returns a number, not a string
  maxFlowId: () => "42",
};
const rightResult: StoreResult<"maxFlowId"> = 42;
void wrongResult;
void rightResult;
