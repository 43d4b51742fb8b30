/**
 * Interned extras and exporters go with the segments that used them (schema migration 5): after
 * age and size retention the store holds exactly the tuples and exporters its remaining flows
 * use, the remaining flows still read back with their extras, and the prune is an index range
 * (no scan). A version-4 database is migrated and its rows pruned once their segments are gone.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { FlowColumns } from "../flows/table/columns.ts";
import { FlowSide, NO_EXTRAS } from "../flows/table/extras.ts";
import { parseQuery } from "../flows/query/query.ts";
import { FlowStore } from "./flow-store.ts";
import { migrate, SCHEMA_VERSION, schemaVersion, segmentTable } from "./schema.ts";
import { SyntheticFlows } from "./synthetic-flows.ts";
import { tempDir } from "./test-dir.ts";
import { T0 } from "./test-specs.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** Extras of flow i of batch b: a tuple of its own per batch (server name), one shared by all (app), an exporter per batch for every 4th. */
function sideFor(b: number, count: number): FlowSide {
  const side = new FlowSide(count);
  for (let i = 0; i < count; i++) {
    const own = i % 2 === 0;
    side.put(i, { ...NO_EXTRAS, app: "tls", app_source: "payload", server_name: own ? `b${b}.example.com` : null, dst_country: own ? null : "DE" },
      i % 4 === 1 ? `192.0.2.${b % 250}` : null, i % 4 === 1 ? b : null);
  }
  return side;
}

/** What the database holds against what its remaining segments use (read from a second connection). */
function audit(path: string): { tuples: number; used: number; exporters: number; usedExp: number; orphans: number } {
  const db = new Database(path, { readonly: true });
  try {
    const segs = (db.query("SELECT n FROM segments").all() as { n: number }[]).map((s) => segmentTable(s.n));
    const union = (col: string) => segs.length === 0 ? "SELECT NULL AS v WHERE 0" : segs.map((t) => `SELECT ${col} AS v FROM ${t} WHERE ${col} != 0`).join(" UNION ");
    const one = (sql: string) => (db.query(sql).get() as { n: number }).n;
    return {
      tuples: one("SELECT count(*) AS n FROM flow_extras"),
      used: one(`SELECT count(*) AS n FROM (${union("x")})`),
      exporters: one("SELECT count(*) AS n FROM flow_exporters"),
      usedExp: one(`SELECT count(*) AS n FROM (${union("exp")})`),
      // rows used by a remaining flow but missing: must never happen
      orphans: one(`SELECT count(*) AS n FROM (${union("x")}) WHERE v NOT IN (SELECT id FROM flow_extras)`) +
        one(`SELECT count(*) AS n FROM (${union("exp")}) WHERE v NOT IN (SELECT id FROM flow_exporters)`),
    };
  } finally {
    db.close();
  }
}

function serverNames(store: FlowStore, q: string): string[] {
  const recs = store.queryFlows({ query: parseQuery(q), sortBy: "first_seen", order: "asc", offset: 0, limit: 100_000 }).records;
  return [...new Set(recs.map((r) => r.server_name).filter((s) => s !== null))].sort() as string[];
}

describe("interned extras are pruned with their segments", () => {
  test("by age: no tuple or exporter of a dropped segment is left; the kept flows read back with theirs", () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const path = join(t.dir, "h.db");
    const now = (T0 + 10 * 86400) * 1000;
    const store = new FlowStore({ path, pruneIntervalMs: 0, retentionDays: 7, now: () => now });
    cleanups.push(() => store.stop());
    store.start();
    // 10 days, one hourly batch of 8 flows each (one segment per hour)
    const gen = new SyntheticFlows(8, 1, T0, 450);
    const c = new FlowColumns(8);
    for (let h = 0; h < 240; h++) {
      gen.fill(c, 8);
      expect(store.insertColumns(c, 8, sideFor(h, 8))).toBe(8);
    }
    const before = audit(path);
    expect(before).toEqual({ tuples: 241, used: 241, exporters: 240, usedExp: 240, orphans: 0 });
    let dropped = 0, interned = 0;
    for (;;) {
      const r = store.pruneStep()!;
      if (r.droppedSegments === 0) break;
      dropped += r.droppedSegments;
      interned += r.deletedInterned;
    }
    expect(dropped).toBeGreaterThan(60);
    const after = audit(path);
    // exactly the rows the remaining flows use: one own tuple per kept hour, the shared one, one exporter per kept hour
    expect(after).toEqual({ tuples: 240 - dropped + 1, used: 240 - dropped + 1, exporters: 240 - dropped, usedExp: 240 - dropped, orphans: 0 });
    expect(interned).toBe(2 * dropped);
    // the kept flows keep their extras; the dropped hours' names are gone from queries too
    expect(serverNames(store, `name:b${dropped}.example.com`)).toEqual([`b${dropped}.example.com`]);
    expect(serverNames(store, `name:b${dropped - 1}.example.com`)).toEqual([]);
    // flow id = batch × 8 + slot + 1: slot 1 carries the exporter, even slots the batch's own name
    const viaExporter = store.findFlow(239 * 8 + 2)!;
    expect([viaExporter.app, viaExporter.server_name, viaExporter.dst_country, viaExporter.exporter, viaExporter.exporter_domain])
      .toEqual(["tls", null, "DE", "192.0.2.239", 239]);
    expect(store.findFlow(239 * 8 + 8)!.exporter).toBeNull();
    expect(store.findFlow(239 * 8 + 1)!.server_name).toBe("b239.example.com");
    // new inserts after the prune intern again (the id caches were emptied): a dropped hour's tuple comes back as a new row
    gen.fill(c, 8);
    expect(store.insertColumns(c, 8, sideFor(0, 8))).toBe(8);
    expect(serverNames(store, "name:b0.example.com")).toEqual(["b0.example.com"]);
    expect(audit(path).orphans).toBe(0);
  });

  test("by size: while flows keep coming, the tuples stay those of the remaining segments", () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const path = join(t.dir, "h.db");
    const store = new FlowStore({ path, pruneIntervalMs: 0, retentionBytes: 3 * 1024 * 1024, segmentRows: 4000, now: () => (T0 + 3600) * 1000 });
    cleanups.push(() => store.stop());
    store.start();
    const gen = new SyntheticFlows(9, 1, T0, 0.01);
    const c = new FlowColumns(2000);
    let dropped = 0;
    for (let k = 0; k < 60; k++) {
      gen.fill(c, 2000);
      // a new tuple and exporter per 2000-flow batch (two batches per segment)
      expect(store.insertColumns(c, 2000, sideFor(k, 2000))).toBe(2000);
      dropped += store.pruneStep()!.droppedSegments;
    }
    expect(dropped).toBeGreaterThan(5);
    const a = audit(path);
    expect(a.orphans).toBe(0);
    expect(a.tuples).toBe(a.used);
    expect(a.exporters).toBe(a.usedExp);
    expect(a.tuples).toBeLessThan(60);
    expect(serverNames(store, "name:b59.example.com")).toEqual(["b59.example.com"]);
    expect(serverNames(store, "name:b0.example.com")).toEqual([]);
  });

  test("the prune reads the last_seg index, not the table", () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const db = new Database(join(t.dir, "p.db"), { create: true });
    cleanups.push(() => db.close());
    migrate(db);
    for (const tb of ["flow_extras", "flow_exporters"]) {
      const plan = (db.query(`EXPLAIN QUERY PLAN DELETE FROM ${tb} WHERE last_seg < ?`).all(5) as { detail: string }[]).map((p) => p.detail).join("; ");
      expect(plan).toContain(`SEARCH ${tb} USING INDEX ${tb}_last_seg (last_seg<?)`);
    }
  });
});

test("a version-4 database: migrated, its rows kept while a segment may use them, pruned once those segments are gone", () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const path = join(t.dir, "v4.db");
  const db = new Database(path, { create: true });
  db.run("PRAGMA journal_mode = WAL");
  expect(migrate(db, 4)).toEqual([1, 2, 3, 4]);
  // two segments (flows 1 and 2, an hour apart) using tuples 1 and 2, and tuple 3 left by a segment dropped before
  for (const n of [1, 2]) {
    const f = (T0 + (n - 1) * 3600) * 1000;
    db.run(`CREATE TABLE ${segmentTable(n)} (id INTEGER PRIMARY KEY, first_ms INTEGER NOT NULL, dur_ms INTEGER NOT NULL, last_adj INTEGER NOT NULL,
      src NOT NULL, dst NOT NULL, sport INTEGER NOT NULL, dport INTEGER NOT NULL, proto INTEGER NOT NULL, vlan INTEGER NOT NULL, state INTEGER NOT NULL,
      reason INTEGER NOT NULL, flags INTEGER NOT NULL, packets INTEGER NOT NULL, dst_packets INTEGER NOT NULL, bytes INTEGER NOT NULL, dst_bytes INTEGER NOT NULL,
      x INTEGER NOT NULL DEFAULT 0, cid INTEGER NOT NULL DEFAULT 0, exp INTEGER NOT NULL DEFAULT 0)`);
    db.run("INSERT INTO segments(n, rows, min_first, max_first, min_last, max_last, max_id, sealed) VALUES (?1, 1, ?2, ?2, ?3, ?3, ?1, 1)", [n, f, f + 500]);
    db.run(`INSERT INTO ${segmentTable(n)} VALUES (?, ?, 500, 0, ?, ?, 40000, 443, 6, -1, 2, 1, 0, 2, 1, 200, 100, ?, 0, 0)`, [n, f, 0x0a000001, 0x08080808, n]);
  }
  for (const id of [1, 2, 3]) {
    db.run("INSERT INTO flow_extras(id, app, server_name, k) VALUES (?, 'tls', ?, ?)", [id, `v${id}.example.com`, `k${id}`]);
  }
  db.close();

  let now = (T0 + 3600) * 1000;
  const store = new FlowStore({ path, pruneIntervalMs: 0, retentionDays: 1, now: () => now });
  cleanups.push(() => store.stop());
  store.start();
  expect(store.status().state).toBe("ok");
  expect(store.findFlow(1)!.server_name).toBe("v1.example.com");
  expect(store.findFlow(2)!.server_name).toBe("v2.example.com");
  // a flow a day later: segment 1 ages out; tuples 1 and 3 carry last_seg 2 from the migration, so they stay (conservative)
  now += 86_400_000 + 1_800_000;
  const late = new SyntheticFlows(3, 10, now / 1000 - 1, 1);
  const c = new FlowColumns(1);
  late.fill(c, 1);
  expect(store.insertColumns(c, 1, sideFor(7, 1))).toBe(1);
  expect(store.pruneStep()!.droppedSegments).toBe(1);
  expect(store.findFlow(2)!.server_name).toBe("v2.example.com");
  expect(audit(path).tuples).toBe(4);
  // segment 2 ages out too: every pre-migration row goes, the new flow's tuple stays
  now += 3_600_000;
  const r = store.pruneStep()!;
  expect(r.droppedSegments).toBe(1);
  expect(r.deletedInterned).toBe(3);
  expect(audit(path)).toEqual({ tuples: 1, used: 1, exporters: 0, usedExp: 0, orphans: 0 });
  expect(store.findFlow(10)!.server_name).toBe("b7.example.com");
  store.stop();
  const check = new Database(path, { readonly: true });
  expect(schemaVersion(check)).toBe(SCHEMA_VERSION);
  check.close();
});
