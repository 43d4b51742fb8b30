/**
 * EngineHost without a Worker: a host driven on a real file replay at full speed (a capture made
 * with gen-pcap.mjs, short idle timeout so flows end all through the replay), its handlers called
 * directly while the replay runs (flows, status, exportOpen/Next/Close), and a slow ended-flow
 * sink (a QueuedSink whose write waits 40 ms per batch, queue of 2) that must not slow the packet
 * loop: the same packets are processed in comparable time, the recently-ended list gets every
 * ended flow, and the batches the sink could not take are counted as dropped in status().sinks —
 * delivered + dropped = every ended flow. Export calls answer within their time budget (a Timeout
 * for a snapshot that cannot be taken in time, its cursor dropped; a partial page otherwise).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseQuery } from "../flows/query/query.ts";
import type { FlowQuery } from "../flows/query/flow-query.ts";
import { QueuedSink } from "../flows/sinks.ts";
import { EngineHost, EXPORT_PAGE_MAX, EXPORT_SLICE_ROWS, EXPORT_SLICE_SLOTS } from "./engine-host.ts";
import { exportBatchRecords } from "../flows/query/export-cursor.ts";

const GEN = new URL("../../../shared/tools/gen-pcap.mjs", import.meta.url).pathname;
let dir: string;
let pcap: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fm-host-"));
  pcap = join(dir, "host.pcap");
  // 600 k packets, 120 k flows over 120 s of capture time: with a 2 s idle timeout flows end all along.
  const p = Bun.spawnSync(["node", GEN, "--packets", "600000", "--flows", "120000", "--seed", "11", "--duration", "120", "--out", pcap, "--quiet"]);
  if (p.exitCode !== 0) throw new Error(`gen-pcap: ${p.stderr.toString()}`);
}, 60_000); // generating 600 k packets takes ~2 s alone, past the default 5 s hook timeout under load
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const q = (text: string, o: Partial<FlowQuery> = {}): FlowQuery => ({
  query: parseQuery(text), state: "all", sortBy: "bytes", order: "desc", offset: 0, limit: 100, ...o,
});

function host(sinks: QueuedSink[] = [], loop = false): EngineHost {
  return new EngineHost({
    engine: { source: { kind: "file", path: pcap, speed: "max", loop }, idleTimeout: 2, maxFlows: 400_000 },
    sinks,
    onFault: (where, err) => { throw new Error(`fault in ${where}: ${String(err)}`); },
  });
}

/** Replays the file through `h`; returns the packets processed and the replay's wall time. */
async function replay(h: EngineHost): Promise<{ packets: number; seconds: number }> {
  const t0 = performance.now();
  await h.start();
  return { packets: h.engine.stats().packets, seconds: (performance.now() - t0) / 1000 };
}

describe("EngineHost on a full-speed file replay", () => {
  test("handlers answer while the replay runs; an export reads its snapshot without repeats", async () => {
    // A looping replay: packets keep arriving until stop(), so every call below runs during it.
    const h = host([], true);
    const done = h.start();
    while (h.engine.stats().flows < 5_000) await Bun.sleep(5);
    const page = await h.handlers.flows(q("protocol:tcp", { limit: 10 }));
    expect(page.records.length).toBe(10);
    expect(page.total).toBeGreaterThanOrEqual(10);
    for (let k = 1; k < page.records.length; k++) {
      expect(page.records[k - 1]!.bytes).toBeGreaterThanOrEqual(page.records[k]!.bytes);
    }
    expect(page.records.every((r) => r.proto === "tcp")).toBe(true);

    const st = await h.handlers.status({});
    expect(st.stats.packets).toBeGreaterThan(0);
    expect(st.capacity).toBe(400_000);
    expect(st.sinks).toEqual([]);

    // An export of every flow, read in small pages while packets keep arriving.
    const before = h.engine.stats().packets;
    const { cursor, total } = await h.handlers.exportOpen({ query: q("", { limit: 1_000_000 }) });
    expect(total).toBeGreaterThan(0);
    expect((await h.handlers.status({})).exports.open).toBe(1);
    const seen = new Set<number>();
    let pages = 0;
    let repeats = 0;
    for (;;) {
      const p = await h.handlers.exportNext({ cursor, max: 3_000 });
      for (const r of exportBatchRecords(p.rows)) {
        if (seen.has(r.id)) repeats++;
        seen.add(r.id);
      }
      pages++;
      if (p.done) break;
    }
    expect(repeats).toBe(0);
    expect(pages).toBeGreaterThan(1);
    expect(h.engine.stats().packets).toBeGreaterThan(before); // the table moved under the export
    expect(seen.size).toBeGreaterThan(0);
    expect(seen.size).toBeLessThanOrEqual(total);
    expect((await h.handlers.status({})).exports.open).toBe(0);
    // A closed cursor is unknown afterwards.
    expect(() => h.handlers.exportNext({ cursor, max: 10 })).toThrow(RangeError);

    // exportClose ends a cursor before its last page.
    const second = await h.handlers.exportOpen({ query: q("", { limit: 1_000_000 }) });
    const first = await h.handlers.exportNext({ cursor: second.cursor, max: 100 });
    expect(first.rows.count).toBeGreaterThan(0);
    expect(await h.handlers.exportClose({ cursor: second.cursor })).toBe(true);
    expect(await h.handlers.exportClose({ cursor: second.cursor })).toBe(false);
    expect((await h.handlers.status({})).exports).toEqual({ open: 0, queued: 0 });

    expect(h.engine.stats().ended_flows).toBeGreaterThan(1_000);
    await h.stop();
    await done;
    expect(h.engine.stats().active_flows).toBe(0);
  }, 60_000);

  test("a live capture loads the country and AS databases before it starts; a file replay on first use; a stop during start-up ends it", async () => {
    const none = { country: false, asn_v4: false, asn_v6: false };
    const live = new EngineHost({ engine: { source: { kind: "live", interface: "lo" } } });
    expect(live.annotator.geo!.loaded()).toEqual(none);
    const running = live.start();
    expect(live.annotator.geo!.loaded()).toEqual({ country: true, asn_v4: true, asn_v6: true });
    // Stopped before the capture opened (the shim still loading): start() resolves, nothing opens
    // (a stop there used to be lost and the capture ran on).
    await live.stop();
    await running;
    expect(live.capture.status.state).toBe("stopped");
    const file = host();
    const replaying = file.start();
    expect(file.annotator.geo!.loaded()).toEqual(none);
    await file.stop();
    await replaying;
  }, 60_000);

  test("export calls answer within their budget: a Timeout for a snapshot, a partial page", async () => {
    const h = new EngineHost({
      engine: { source: { kind: "file", path: pcap, speed: "max", loop: false }, maxFlows: 400_000, idleTimeout: 3600 },
      exportCallBudgetMs: 0,
    });
    await h.start();
    expect(h.engine.table.hwm).toBeGreaterThan(EXPORT_SLICE_SLOTS); // a snapshot needs several slices
    const all = q("", { state: "active", limit: 1_000_000 });
    const open = Promise.resolve(h.handlers.exportOpen({ query: all }));
    await Bun.sleep(2); // the budget is spent before the second slice
    const err = await open.then(() => null, (e: Error) => e);
    expect(err?.name).toBe("Timeout");
    expect((await h.handlers.status({})).exports.open).toBe(0); // its cursor was dropped

    // With time to take it, the snapshot completes; then a page answers after its first slice.
    h.exportCallBudgetMs = 60_000;
    const { cursor, total } = await h.handlers.exportOpen({ query: all });
    expect(total).toBe(h.engine.table.count);
    h.exportCallBudgetMs = 0;
    const page = Promise.resolve(h.handlers.exportNext({ cursor, max: 100 * EXPORT_SLICE_ROWS }));
    await Bun.sleep(2);
    const p = await page;
    expect(p.rows.count).toBeGreaterThan(0);
    expect(p.rows.count % EXPORT_SLICE_ROWS).toBe(0); // whole steps
    expect(p.rows.count).toBeLessThan(100 * EXPORT_SLICE_ROWS); // answered before the page was full
    expect(p.done).toBe(false);
    h.exportCallBudgetMs = 60_000;
    const got = exportBatchRecords(p.rows);
    for (;;) {
      const rest = await h.handlers.exportNext({ cursor, max: 1_000_000 });
      expect(rest.rows.count).toBeLessThanOrEqual(EXPORT_PAGE_MAX); // a page is bounded whatever the caller asks
      got.push(...exportBatchRecords(rest.rows));
      if (rest.done) break;
    }
    const ids = new Set(got.map((r) => r.id));
    expect(ids.size).toBe(total); // the partial page lost nothing and repeated nothing
    await h.stop();
  }, 60_000);

  test("a slow ended-flow sink leaves the capture rate unchanged and counts its drops", async () => {
    // Runs without a sink and with the slow sink, interleaved (a shared machine's noise hits both);
    // the best of each is compared. The last slow-sink host is kept for the checks below.
    let written = 0;
    let writtenFlows = 0;
    const best = { ref: Infinity, slow: Infinity };
    let h!: EngineHost;
    let run!: { packets: number; seconds: number };
    for (let k = 0; k < 3; k++) {
      const r = host();
      const a = await replay(r);
      expect(a.packets).toBe(600_000);
      best.ref = Math.min(best.ref, a.seconds);
      await r.stop();
      if (h) await h.stop();
      written = 0;
      writtenFlows = 0;
      const slow = new QueuedSink("slow", async (b) => {
        await Bun.sleep(40);
        written++;
        writtenFlows += b.count;
      }, 2);
      h = host([slow]);
      run = await replay(h);
      best.slow = Math.min(best.slow, run.seconds);
    }
    const e = h.engine;
    const ended = e.stats().ended_flows;

    // Same packets, comparable time (a generous factor: shared 2-core machine).
    expect(run.packets).toBe(600_000);
    expect(best.slow).toBeLessThan(best.ref * 2 + 0.5);
    // Nothing else lost: the recently-ended list saw every ended flow.
    expect(ended).toBeGreaterThan(10_000);
    expect(e.recent.total).toBe(ended);

    const st = (await h.handlers.status({})).sinks;
    expect(st.length).toBe(1);
    const s = st[0]!;
    expect(s.name).toBe("slow");
    expect(s.dropped_batches).toBeGreaterThan(0);
    expect(s.dropped_flows).toBeGreaterThan(0);
    expect(s.errors).toBe(0);
    // Every ended flow up to now was either handed to the sink or counted as dropped
    // (the partial batch of the current second is still being filled).
    expect(s.flows + s.dropped_flows).toBeLessThanOrEqual(ended);
    expect(s.flows + s.dropped_flows).toBeGreaterThan(ended * 0.9);

    // Stop: the remaining flows end (shutdown), the last batch is offered, accepted batches are written.
    await h.stop();
    const fin = e.sinkStats()[0]!;
    const all = e.stats().ended_flows;
    expect(e.stats().active_flows).toBe(0);
    expect(fin.flows + fin.dropped_flows).toBe(all);
    expect(written).toBe(fin.batches);
    expect(writtenFlows).toBe(fin.flows);
    expect(e.recent.total).toBe(all);
    console.log(`slow sink: ${run.packets} packets in ${best.slow.toFixed(2)} s at best (no sink: ${best.ref.toFixed(2)} s); ` +
      `${fin.batches} batches delivered, ${fin.dropped_batches} dropped (${fin.dropped_flows} of ${all} flows)`);
  }, 120_000);
});
