/**
 * Ended-flow sinks: every cause of ending reaches every sink, in batches, exactly once; a slow
 * sink drops whole batches and counts them without touching the packet loop or the other sinks.
 */
import { describe, expect, test } from "bun:test";
import { FlowColumns, EndReason, END_REASON_NAMES, F_ID, KEY_WORDS, REC_F64 } from "./table/columns.ts";
import { FlowEngine } from "./engine.ts";
import { toRecord } from "./format/record.ts";
import { EndedFlowBatcher, QueuedSink, type EndedBatch, type EndedFlowSink, type SinkExtras } from "./sinks.ts";
import { NO_EXTRAS, SIDE_STRS, type FlowExtras } from "./table/extras.ts";
import { pkt } from "./test-packets.ts";
import { APP_NAMES, appIdOf, appName } from "../l7/apps.ts";

/** A sink that keeps what it gets (as FlowRecords, via the batch's own columns). */
class Collect implements EndedFlowSink {
  readonly ids: number[] = [];
  readonly reasons: string[] = [];
  batches = 0;
  constructor(readonly name: string) {}
  offer(b: EndedBatch): boolean {
    this.batches++;
    const c = FlowColumns.wrap(b.key, b.rec);
    for (let i = 0; i < b.count; i++) {
      const r = toRecord(c, i);
      this.ids.push(r.id);
      this.reasons.push(r.end_reason!);
    }
    return true;
  }
}

const SYN = 2, ACK = 16, FIN = 1;

/** One flow ended by each cause, through the engine's own table and clock. */
function runAllCauses(engine: FlowEngine): void {
  const t = engine.table;
  let ts = 1_800_000_000;
  const at = (p: ReturnType<typeof pkt>, dt = 0.001) => {
    ts += dt;
    engine.advance(ts);
    t.add(p, ts, 100);
  };
  // tcp_close: handshake, FIN both ways; ends 15 s later.
  at(pkt("10.0.0.1", 1000, "10.0.0.2", 80, 6, SYN));
  at(pkt("10.0.0.2", 80, "10.0.0.1", 1000, 6, SYN | ACK));
  at(pkt("10.0.0.1", 1000, "10.0.0.2", 80, 6, FIN | ACK));
  at(pkt("10.0.0.2", 80, "10.0.0.1", 1000, 6, FIN | ACK));
  // idle: one UDP packet, then 61 s of other traffic.
  at(pkt("10.0.0.3", 53000, "10.0.0.4", 53, 17));
  // active_timeout: a UDP flow with a packet every 10 s for 31 min.
  for (let k = 0; k < 190; k++) at(pkt("10.0.0.5", 5000, "10.0.0.6", 6000, 17), 10);
  // evicted: more flows than the table holds (maxFlows 16).
  for (let k = 0; k < 40; k++) at(pkt("10.1.0.1", 20000 + k, "10.1.0.2", 9, 17));
  engine.finish(); // end_of_capture for whatever is still live
}

describe("ended-flow sinks", () => {
  test("every cause reaches every sink once, in batches, with the same flows as the recently-ended list", async () => {
    const a = new Collect("a"), b = new Collect("b");
    const engine = new FlowEngine({ maxFlows: 16, sinks: [a, b] });
    runAllCauses(engine);
    await engine.closeSinks();
    const recent: number[] = [];
    engine.recent.forEach((c, i) => recent.push(c.id(i)));
    expect(a.ids.length).toBe(engine.table.ended);
    expect(new Set(a.ids).size).toBe(a.ids.length);
    expect(a.ids).toEqual(b.ids);
    expect([...a.ids].sort((x, y) => x - y)).toEqual([...recent].sort((x, y) => x - y));
    expect(new Set(a.reasons)).toEqual(new Set(["tcp_close", "idle", "active_timeout", "evicted", "end_of_capture"]));
    expect(a.batches).toBeLessThan(a.ids.length); // batched, not one call per flow
    expect(engine.sinkStats().map((s) => [s.name, s.flows, s.dropped_flows])).toEqual([["a", a.ids.length, 0], ["b", a.ids.length, 0]]);
  });

  test("shutdown ends live flows with reason shutdown and waits for the sinks", async () => {
    let written = 0;
    const slowButAccepting = new QueuedSink("disk", async (batch) => {
      await Bun.sleep(20);
      written += batch.count;
    }, 100);
    const engine = new FlowEngine({ sinks: [slowButAccepting] });
    for (let k = 0; k < 10; k++) engine.table.add(pkt("10.2.0.1", 1000 + k, "10.2.0.2", 80), 1_800_000_000 + k * 0.01, 60);
    await engine.shutdown();
    expect(written).toBe(10);
    expect(engine.recent.size).toBe(10);
    engine.recent.forEach((c, i) => expect(END_REASON_NAMES[c.endReason(i)]).toBe("shutdown"));
    expect(EndReason.shutdown).toBe(6);
  });

  test("a slow sink drops whole batches and counts them; the other sink and the table lose nothing", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let slowGot = 0;
    const slow = new QueuedSink("slow", async (b) => {
      await gate;
      slowGot += b.count;
    }, 1);
    const fast = new Collect("fast");
    const engine = new FlowEngine({ maxFlows: 16, sinks: [slow, fast] });
    const t0 = performance.now();
    runAllCauses(engine);
    const loopMs = performance.now() - t0;
    const [s, f] = engine.sinkStats();
    expect(f!.dropped_batches).toBe(0);
    expect(fast.ids.length).toBe(engine.table.ended);
    expect(s!.batches).toBe(1); // the one it is stuck on
    expect(s!.dropped_batches).toBeGreaterThan(0);
    expect(s!.flows + s!.dropped_flows).toBe(engine.table.ended);
    expect(loopMs).toBeLessThan(2000); // never waited on the stuck sink (it would hang forever)
    release();
    await engine.closeSinks();
    expect(slowGot).toBe(s!.flows);
  });
});

test("flows ended by a tick's sweep reach the sinks at the end of that tick, not at the next one (a finished replay's clock stops)", () => {
  const got = new Collect("store");
  const engine = new FlowEngine({ sinks: [got], schedule: (fn) => fn() });
  const t0 = 1_800_000_000;
  engine.advance(t0);
  engine.table.add(pkt("10.3.0.1", 1000, "10.3.0.2", 53, 17), t0 + 0.5, 80);
  engine.advance(t0 + 1);
  expect(got.ids).toEqual([]);
  engine.advance(t0 + 62); // one tick whose sweep ends the idle flow; the clock then stops
  expect(got.reasons).toEqual(["idle"]);
});

/** An application name for flow id `id` (names-only batches carry APP_NAMES ids). */
const appOf = (id: number): string => APP_NAMES[1 + (id % (APP_NAMES.length - 1))]!;

/** `n` flows with ids 1..n (key word 0 = id too), and extras naming each after its id. */
function source(n: number): { cols: FlowColumns; extras: (c: FlowColumns, i: number) => FlowExtras } {
  const cols = new FlowColumns(n);
  for (let i = 0; i < n; i++) {
    cols.f64[i * REC_F64 + F_ID] = i + 1;
    cols.key[i * KEY_WORDS] = i + 1;
  }
  const extras = (c: FlowColumns, i: number): FlowExtras => ({ ...NO_EXTRAS, app: appOf(c.id(i)), server_name: `n${c.id(i)}`, src_country: "NL" });
  return { cols, extras };
}

/** A sink that reads ids, extras and (optionally) gives the buffers back at once. */
class Reader implements EndedFlowSink {
  readonly ids: number[] = [];
  readonly apps: (string | null)[] = [];
  readonly servers: (string | null)[] = [];
  readonly countries: (string | null)[] = [];
  readonly buffers: ArrayBuffer[] = [];
  private recycle: ((key: Int32Array, rec: ArrayBuffer) => void) | null = null;
  constructor(readonly name: string, readonly extras: SinkExtras, private readonly giveBack: boolean) {}
  setRecycler(fn: (key: Int32Array, rec: ArrayBuffer) => void): void {
    if (this.giveBack) this.recycle = fn;
  }
  offer(b: EndedBatch): boolean {
    const c = FlowColumns.wrap(b.key, b.rec);
    this.buffers.push(b.rec);
    for (let j = 0; j < b.count; j++) {
      this.ids.push(c.id(j));
      expect(b.key[j * KEY_WORDS]).toBe(c.id(j));
      if (b.names) {
        expect(b.side).toBeUndefined();
        this.apps.push(appName(b.names.app[j]!));
        this.servers.push(b.names.server[j]!);
        this.countries.push(null);
      } else {
        this.apps.push(b.side!.strs[j * SIDE_STRS]!);
        this.servers.push(b.side!.strs[j * SIDE_STRS + 2]!);
        this.countries.push(b.side!.strs[j * SIDE_STRS + 5]!);
      }
    }
    this.recycle?.(b.key, b.rec);
    return true;
  }
}

test("sinks that read only the names get only app and server name (EndedBatch.names); one that reads all gets the side columns", () => {
  const { cols, extras } = source(10);
  const want = Array.from({ length: 10 }, (_, i) => i + 1);
  for (const kinds of [["names", "names"], ["names", "all"]] as SinkExtras[][]) {
    const sinks = kinds.map((k, s) => new Reader(`s${s}`, k, false));
    const b = new EndedFlowBatcher(sinks, 4);
    b.keepExtras(extras);
    for (let i = 0; i < 10; i++) b.push(cols, i);
    b.flush();
    for (const r of sinks) {
      expect(r.ids).toEqual(want);
      expect(r.apps).toEqual(want.map(appOf));
      expect(r.servers).toEqual(want.map((i) => `n${i}`));
      // Country only when some sink reads all extras (then every sink gets the side columns).
      expect(r.countries).toEqual(want.map(() => (kinds.includes("all") ? "NL" : null)));
    }
  }
});

test("with a names-only function, batches for names-only sinks take it and never call the full extras; an 'all' sink gets the full ones", () => {
  const { cols, extras } = source(10);
  for (const kinds of [["names"], ["names", "all"]] as SinkExtras[][]) {
    let full = 0, namesOnly = 0;
    const sinks = kinds.map((k, s) => new Reader(`s${s}`, k, false));
    const b = new EndedFlowBatcher(sinks, 4);
    b.keepExtras(
      (c, i) => (full++, extras(c, i)),
      (c, i, out, j) => {
        namesOnly++;
        out.app[j] = appIdOf(extras(c, i).app);
        out.server[j] = extras(c, i).server_name;
      },
    );
    for (let i = 0; i < 10; i++) b.push(cols, i);
    b.flush();
    expect({ kinds, full, namesOnly }).toEqual({ kinds, full: kinds.includes("all") ? 10 : 0, namesOnly: kinds.includes("all") ? 0 : 10 });
    for (const r of sinks) expect(r.servers).toEqual(Array.from({ length: 10 }, (_, i) => `n${i + 1}`));
  }
});

test("names-only batches carry the application as its APP_NAMES id: without a names function a name outside the list is carried as none, the server name as it is", () => {
  const cols = new FlowColumns(3);
  for (let i = 0; i < 3; i++) cols.f64[i * REC_F64 + F_ID] = cols.key[i * KEY_WORDS] = i + 1;
  const apps = ["tls", "not-an-app", null];
  const r = new Reader("r", "names", false);
  const b = new EndedFlowBatcher([r], 8);
  b.keepExtras((c, i) => ({ ...NO_EXTRAS, app: apps[i]!, server_name: i === 2 ? null : `s${i}.example` }));
  for (let i = 0; i < 3; i++) b.push(cols, i);
  b.flush();
  expect(r.apps).toEqual(["tls", null, null]);
  expect(r.servers).toEqual(["s0.example", "s1.example", null]);
});

test("buffers a sink gives back are refilled instead of new ones; a partial batch in reused columns reads its own flows only", () => {
  const { cols, extras } = source(11);
  const back = new Reader("back", "names", true);
  const b = new EndedFlowBatcher([back], 4);
  b.keepExtras(extras);
  for (let i = 0; i < 11; i++) b.push(cols, i); // 4 + 4 full, 3 waiting
  b.flush();
  expect(back.ids).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
  expect(back.apps.at(-1)).toBe(appOf(11));
  // Three batches through one buffer: given back during offer(), it is the next batch's columns
  // (the next columns are taken after the offers), and it carried the third (partial) batch.
  expect(back.buffers.length).toBe(3);
  expect(back.buffers[1]).toBe(back.buffers[0]!);
  expect(back.buffers[2]).toBe(back.buffers[0]!);
  // A sink that keeps the buffers (the default) gets new ones every time.
  const keep = new Reader("keep", "names", false);
  const k = new EndedFlowBatcher([keep], 4);
  k.keepExtras(extras);
  for (let i = 0; i < 11; i++) k.push(cols, i);
  k.flush();
  expect(keep.ids).toEqual(back.ids);
  expect(new Set(keep.buffers).size).toBe(3);
});
