import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { FlowColumns, KEY_WORDS } from "../flows/table/columns.ts";
import { MATCH_ALL } from "../flows/query/query.ts";
import { toRecord } from "../flows/format/record.ts";
import { FlowStore } from "./flow-store.ts";
import { migrate, SCHEMA_VERSION, schemaVersion } from "./schema.ts";
import { columnsOf, SyntheticFlows } from "./synthetic-flows.ts";
import { tempDir } from "./test-dir.ts";
import { T0, variedFlows } from "./test-specs.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function newStore(extra: Partial<ConstructorParameters<typeof FlowStore>[0]> = {}): { store: FlowStore; dir: string } {
  const t = tempDir();
  const store = new FlowStore({ path: join(t.dir, "sub", "history.db"), pruneIntervalMs: 0, ...extra });
  cleanups.push(() => {
    store.stop();
    t.cleanup();
  });
  store.start();
  return { store, dir: t.dir };
}

/** A batch as the engine hands it over: the slots' own buffers. */
function batchOf(c: FlowColumns, from: number, to: number): { key: Int32Array; rec: ArrayBuffer } {
  return {
    key: c.key.slice(from * KEY_WORDS, to * KEY_WORDS),
    rec: (c.f64.buffer as ArrayBuffer).slice(from * 64, to * 64),
  };
}

const all = { query: MATCH_ALL, sortBy: "first_seen" as const, order: "asc" as const, offset: 0, limit: 100_000 };

describe("FlowStore flows", () => {
  test("flows read back deep-equal toRecord of the same columns (bps 0, active false)", () => {
    const { store } = newStore();
    const specs = variedFlows(3000);
    const c = columnsOf(specs);
    const b1 = batchOf(c, 0, 1000), b2 = batchOf(c, 1000, 3000);
    expect(store.insertBatch(b1.key, b1.rec)).toBe(1000);
    expect(store.insertBatch(b2.key, b2.rec)).toBe(2000);
    const want = specs.map((_, i) => ({ ...toRecord(c, i), bps: 0, active: false }));
    // toRecord of an ended flow already gives bps 0 and active false
    for (let i = 0; i < specs.length; i++) {
      expect(toRecord(c, i).bps).toBe(0);
      expect(toRecord(c, i).active).toBe(false);
    }
    const got = store.queryFlows({ ...all, sortBy: "bps", order: "desc" });
    expect(got.total).toBe(3000);
    const byId = new Map(got.records.map((r) => [r.id, r]));
    for (const w of want) expect(byId.get(w.id)).toEqual(w);
    expect(store.findFlow(1234)).toEqual(want[1233]!);
    expect(store.findFlow(999_999)).toBeNull();
    expect(store.maxFlowId()).toBe(3000);
    const st = store.status();
    expect(st).toMatchObject({ state: "ok", reason: null, flows: 3000, inserted: 3000, dropped: 0, errors: 0 });
    expect(st.bytes).toBeGreaterThan(0);
    expect(st.oldest).toBe(new Date(Math.min(...want.map((w) => Date.parse(w.first_seen)))).toISOString());
  });

  test("synthetic batches (the bench's generator) also round-trip; a repeated id is dropped and counted", () => {
    const { store } = newStore();
    const gen = new SyntheticFlows(1, 1, T0, 0.01);
    const c = new FlowColumns(5000);
    gen.fill(c, 5000);
    expect(store.insertColumns(c, 5000)).toBe(5000);
    const got = store.queryFlows({ ...all, sortBy: "bytes", order: "desc", limit: 50 });
    const want = Array.from({ length: 5000 }, (_, i) => toRecord(c, i))
      .sort((a, b) => b.bytes - a.bytes || a.id - b.id).slice(0, 50);
    expect(got.records).toEqual(want);
    expect(store.insertColumns(c, 10)).toBe(0);
    expect(store.status()).toMatchObject({ inserted: 5000, dropped: 10 });
  });

  test("sort keys and pages agree with sorting the records, across segments", () => {
    const { store } = newStore({ segmentRows: 700 });
    const specs = variedFlows(2500, 11);
    const c = columnsOf(specs);
    for (let i = 0; i < 2500; i += 500) store.insertColumns(FlowColumns.wrap(batchOf(c, i, i + 500).key, batchOf(c, i, i + 500).rec), 500);
    const recs = specs.map((_, i) => toRecord(c, i));
    const ipKey = (ip: string, v: number) => (v === 4 ? ip.split(".").reduce((x, o) => x * 256 + Number(o), 0) : 0);
    const cases: [string, (r: ReturnType<typeof toRecord>) => number][] = [
      ["bytes", (r) => r.bytes], ["packets", (r) => r.packets], ["duration", (r) => r.duration_ms],
      ["first_seen", (r) => Date.parse(r.first_seen)], ["last_seen", (r) => Date.parse(r.last_seen)],
      ["src_port", (r) => r.src_port], ["dst_port", (r) => r.dst_port], ["protocol", (r) => r.proto_num],
      ["bps", () => 0],
    ];
    for (const [key, val] of cases) {
      for (const order of ["asc", "desc"] as const) {
        const want = [...recs].sort((a, b) => (order === "asc" ? val(a) - val(b) : val(b) - val(a)) || a.id - b.id).slice(40, 90);
        const got = store.queryFlows({ query: MATCH_ALL, sortBy: key as never, order, offset: 40, limit: 50 });
        expect(got.total).toBe(2500);
        expect(got.records.map((r) => r.id)).toEqual(want.map((r) => r.id));
      }
    }
    // addresses: IPv4 by value before IPv6
    const v4 = recs.filter((r) => r.ip_version === 4).sort((a, b) => ipKey(a.src_ip, 4) - ipKey(b.src_ip, 4) || a.id - b.id);
    const got = store.queryFlows({ query: MATCH_ALL, sortBy: "src_ip", order: "asc", offset: 0, limit: 30 });
    expect(got.records.map((r) => r.id)).toEqual(v4.slice(0, 30).map((r) => r.id));
    const last = store.queryFlows({ query: MATCH_ALL, sortBy: "src_ip", order: "desc", offset: 0, limit: 1 });
    expect(last.records[0]!.src_ip).toBe("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  });

  test("a full segment gets its indexes one step at a time, then is sealed; the open one has none; a restart finishes a half-built one", () => {
    const { store, dir } = newStore({ segmentRows: 1000 });
    const path = join(dir, "sub", "history.db");
    const gen = new SyntheticFlows(3, 1, T0, 0.01);
    const c = new FlowColumns(1000);
    const indexes = () => {
      const db = new Database(path, { readonly: true });
      const r = db.query("SELECT tbl_name AS t, count(*) AS n FROM sqlite_master WHERE type = 'index' AND tbl_name LIKE 'flows_%' GROUP BY tbl_name").all() as { t: string; n: number }[];
      const sealed = db.query("SELECT n, sealed FROM segments ORDER BY n").all() as { n: number; sealed: number }[];
      db.close();
      return { idx: Object.fromEntries(r.map((x) => [x.t, x.n])), sealed: sealed.map((x) => x.sealed) };
    };
    gen.fill(c, 1000);
    store.insertColumns(c, 1000);
    expect(indexes()).toEqual({ idx: {}, sealed: [0] });
    // the next batch starts segment 2; each insert then builds one index of segment 1
    gen.fill(c, 400);
    store.insertColumns(c, 400);
    expect(indexes()).toEqual({ idx: { flows_1: 1 }, sealed: [0, 0] });
    gen.fill(c, 400);
    store.insertColumns(c, 400);
    expect(indexes()).toEqual({ idx: { flows_1: 2 }, sealed: [0, 0] });
    // a restart finishes segment 1 (no longer the newest) from the timer's step
    store.stop();
    const again = new FlowStore({ path, pruneIntervalMs: 0 });
    cleanups.push(() => again.stop());
    again.start();
    while (again.indexStep());
    expect(indexes()).toEqual({ idx: { flows_1: 3 }, sealed: [1, 0] });
    expect(again.queryFlows({ ...all, limit: 0 }).total).toBe(1800);
    expect(again.queryFlows({ query: MATCH_ALL, sortBy: "bytes", order: "desc", offset: 0, limit: 0 }).total).toBe(1800);
  });

  test("time bounds select the flows overlapping [since, until]", () => {
    const { store } = newStore({ segmentRows: 400 });
    const specs = variedFlows(2000, 3);
    const c = columnsOf(specs);
    store.insertColumns(c, 2000);
    const recs = specs.map((_, i) => toRecord(c, i));
    for (const [since, until] of [[T0 + 3600, T0 + 7200], [T0, T0 + 1], [T0 + 50_000, undefined], [undefined, T0 + 100]] as const) {
      const want = recs.filter((r) => (since === undefined || Date.parse(r.last_seen) >= since * 1000)
        && (until === undefined || Date.parse(r.first_seen) <= until * 1000)).map((r) => r.id).sort((a, b) => a - b);
      const got = store.queryFlows({ ...all, since, until, sortBy: "bps" });
      expect(got.total).toBe(want.length);
      expect(got.records.map((r) => r.id)).toEqual(want);
    }
  });

  test("ids continue after a restart: maxFlowId survives the pruning of every flow", () => {
    const { store, dir } = newStore({});
    const c = columnsOf(variedFlows(100));
    store.insertColumns(c, 100);
    store.stop();
    // a size limit no flow fits in: retention deletes them all (age counts from the newest flow, so it would keep them)
    const again = new FlowStore({ path: join(dir, "sub", "history.db"), pruneIntervalMs: 0, retentionBytes: 1 });
    cleanups.push(() => again.stop());
    again.start();
    expect(again.maxFlowId()).toBe(100);
    expect(again.status().flows).toBe(100);
    // retention removes every flow, the id high-water mark stays
    for (let k = 0; k < 1000 && again.status().flows > 0; k++) again.pruneStep();
    expect(again.status().flows).toBe(0);
    expect(again.maxFlowId()).toBe(100);
  });
});

describe("schema migrations", () => {
  test("a database of an older version is migrated at start and keeps its data", () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const path = join(t.dir, "old.db");
    const db = new Database(path, { create: true });
    db.run("PRAGMA journal_mode = WAL");
    expect(migrate(db, 1)).toEqual([1]);
    expect(schemaVersion(db)).toBe(1);
    db.run("INSERT INTO alert_events (t_ms, event, alert_id, rule, severity, alert) VALUES (?, 'raised', 'a1', 'cpu', 'warning', ?)",
      [T0 * 1000, JSON.stringify({ id: "a1", rule: "cpu" })]);
    expect(() => db.query("SELECT * FROM traffic_s").all()).toThrow();
    db.close();

    const store = new FlowStore({ path, pruneIntervalMs: 0, now: () => T0 * 1000 });
    cleanups.push(() => store.stop());
    store.start();
    expect(store.status().state).toBe("ok");
    store.addTraffic({ t: T0, packets: 1, bytes: 100, tcp_bytes: 100, udp_bytes: 0, icmp_bytes: 0, other_bytes: 0, non_ip_bytes: 0 });
    expect(store.trafficHistory(T0, T0 + 1).series.bytes).toEqual([100]);
    expect(store.alerts({}).map((e) => e.alert.id)).toEqual(["a1"]);
    store.stop();
    const check = new Database(path);
    expect(schemaVersion(check)).toBe(SCHEMA_VERSION);
    expect((check.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).toBe("wal");
    check.close();
  });

  test("a database newer than the code is refused: degraded, nothing thrown, inserts counted as dropped", () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const path = join(t.dir, "new.db");
    const db = new Database(path, { create: true });
    db.run(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const store = new FlowStore({ path, pruneIntervalMs: 0, retryMs: 0 });
    cleanups.push(() => store.stop());
    store.start();
    const c = columnsOf(variedFlows(5));
    expect(store.insertColumns(c, 5)).toBe(0);
    const st = store.status();
    expect(st.state).toBe("degraded");
    expect(st.reason).toContain("newer than this flowmatrix");
    expect(st.dropped).toBe(5);
    expect(store.queryFlows(all)).toEqual({ records: [], total: 0 });
  });
});
