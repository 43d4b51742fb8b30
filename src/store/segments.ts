/**
 * Flow segments: append-only tables `flows_<n>` listed in `segments` with their row count, time
 * bounds (min/max of first_ms and last_ms) and highest id. New flows go to the newest segment; a
 * new one starts when the newest holds `maxRows` flows or a batch ends past the segment's hour.
 * Queries read only the segments whose time bounds meet the range; retention drops whole segments
 * (DROP TABLE: no per-row delete, no index churn).
 *
 * The open segment has no secondary index: inserts only append to the table (its rowid = flow id
 * ascending), and once it is full the indexes are built with CREATE INDEX (one sort each), one
 * index per step so that no step holds the Worker long (≈ 130 ms of CPU per index at 250 k
 * flows): a step runs after each insert batch and from the retention timer (indexStep); the
 * segment is marked sealed when it has them all. Measured on 250 k-flow segments: 5.6 µs of CPU
 * per flow with the three indexes kept up to date by the inserts (every commit rewrites the index
 * pages it touched into the WAL), 2.1 µs with the table alone plus the builds. The cost: a query
 * scans the open segment (≤ maxRows flows, ≤ 1 h) and reads a segment whose indexes are still
 * being built through the ones it has. A segment left unsealed by a crash (not the newest) gets
 * its indexes after the restart.
 */
import type { Database, Statement } from "bun:sqlite";
import type { FlowColumns } from "../flows/table/columns.ts";
import { rowValues } from "./flow-rows.ts";
import { createSegmentSql, segmentIndexSql, segmentTable, SEGMENT_FIELDS, SEGMENT_INDEXES } from "./schema.ts";
import { ExtrasTable } from "./flow-extras.ts";
import { communityIdBits } from "../flows/table/community-id.ts";
import type { FlowSide } from "../flows/table/extras.ts";

export interface Segment {
  n: number;
  rows: number;
  min_first: number | null;
  max_first: number | null;
  min_last: number | null;
  max_last: number | null;
  max_id: number;
  sealed: number;
}

const HOUR_MS = 3_600_000;

export class Segments {
  private current: Segment | null = null;
  /** Full segments whose indexes are not all built yet, oldest first. */
  private readonly unindexed: number[] = [];
  private insert: Statement | null = null;
  private readonly row: (number | Uint8Array)[] = new Array(SEGMENT_FIELDS.length).fill(0);
  private readonly update: Statement;
  private readonly setMaxId: Statement;

  constructor(private readonly db: Database, private readonly maxRows: number) {
    this.update = db.prepare(
      `UPDATE segments SET rows = rows + ?2,
        min_first = min(coalesce(min_first, ?3), ?3), max_first = max(coalesce(max_first, ?4), ?4),
        min_last = min(coalesce(min_last, ?5), ?5), max_last = max(coalesce(max_last, ?6), ?6),
        max_id = max(max_id, ?7) WHERE n = ?1`);
    this.setMaxId = db.prepare(
      "INSERT INTO meta(k, v) VALUES ('max_flow_id', ?1) ON CONFLICT(k) DO UPDATE SET v = max(v, excluded.v)");
    const open = db.query("SELECT * FROM segments WHERE sealed = 0 ORDER BY n").all() as Segment[];
    const newest = db.query("SELECT max(n) AS n FROM segments").get() as { n: number | null };
    for (const s of open) {
      if (s.n === newest.n) this.use(s);
      else this.unindexed.push(s.n);
    }
  }

  /** All segments, oldest first. */
  list(): Segment[] {
    return this.db.query("SELECT * FROM segments ORDER BY n").all() as Segment[];
  }

  private use(s: Segment): void {
    this.current = s;
    this.insert?.finalize();
    this.insert = this.db.prepare(
      `INSERT OR IGNORE INTO ${segmentTable(s.n)} VALUES (${SEGMENT_FIELDS.map(() => "?").join(",")})`);
  }

  /** Ends inserts into the newest segment (the next insert starts a new one); indexStep builds its indexes. */
  seal(): void {
    if (!this.current) return;
    this.unindexed.push(this.current.n);
    this.current = null;
    this.insert?.finalize();
    this.insert = null;
  }

  /**
   * Builds one missing index of the oldest full segment still without them all, or marks it sealed
   * when none is missing. Returns false when there was nothing to do.
   */
  indexStep(): boolean {
    const n = this.unindexed[0];
    if (n === undefined) return false;
    if (!this.db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(segmentTable(n))) {
      this.unindexed.shift(); // dropped meanwhile
      return true;
    }
    const have = new Set((this.db.query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?").all(segmentTable(n)) as { name: string }[]).map((r) => r.name));
    const next = segmentIndexSql(n).find((_, k) => !have.has(`${segmentTable(n)}_${SEGMENT_INDEXES[k]![0]}`));
    if (next) this.db.run(next);
    else {
      this.db.run("UPDATE segments SET sealed = 1 WHERE n = ?", [n]);
      this.unindexed.shift();
    }
    return true;
  }

  private open(): Segment {
    const top = this.db.query("SELECT max(n) AS n FROM segments").get() as { n: number | null };
    const n = (top.n ?? 0) + 1;
    for (const sql of createSegmentSql(n)) this.db.run(sql);
    this.db.run("INSERT INTO segments(n) VALUES (?)", [n]);
    const s = this.db.query("SELECT * FROM segments WHERE n = ?").get(n) as Segment;
    this.use(s);
    return s;
  }

  /** The segment `n` was dropped by retention. */
  forget(n: number): void {
    const k = this.unindexed.indexOf(n);
    if (k >= 0) this.unindexed.splice(k, 1);
    if (this.current?.n === n) {
      this.current = null;
      this.insert?.finalize();
      this.insert = null;
    }
  }

  /**
   * Inserts slots [0, count) of `c` in one transaction; returns how many rows were new (a flow
   * id already in the segment is skipped). Throws on any SQLite error (nothing is written then).
   */
  insertBatch(c: FlowColumns, count: number, side: FlowSide | null = null): number {
    if (count <= 0) return 0;
    const xt = ExtrasTable.of(this.db);
    let batchMaxLast = -Infinity;
    for (let i = 0; i < count; i++) batchMaxLast = Math.max(batchMaxLast, c.last(i));
    batchMaxLast = Math.round(batchMaxLast * 1000);
    let added = 0;
    this.db.transaction(() => {
      let s = this.current;
      if (s && (s.rows >= this.maxRows || (s.max_last !== null && Math.floor(batchMaxLast / HOUR_MS) > Math.floor(s.max_last / HOUR_MS)))) {
        this.seal();
        s = null;
      }
      if (!s) s = this.open();
      xt.useSegment(s.n);
      const row = this.row, ins = this.insert!;
      let minF = Infinity, maxF = -Infinity, minL = Infinity, maxL = -Infinity, maxId = 0;
      for (let i = 0; i < count; i++) {
        const lastMs = rowValues(c, i, row);
        // Extras (interned tuple), the Community ID's bits, the exporter (schema.ts x, cid, exp).
        row[17] = side === null ? 0 : xt.internSide(side, i);
        row[18] = communityIdBits(c, i);
        row[19] = side === null ? 0 : xt.exporterId(side.exporter(i), side.domain(i));
        const f = row[1] as number, id = row[0] as number;
        if (f < minF) minF = f;
        if (f > maxF) maxF = f;
        if (lastMs < minL) minL = lastMs;
        if (lastMs > maxL) maxL = lastMs;
        if (id > maxId) maxId = id;
        added += ins.run(row[0]!, row[1]!, row[2]!, row[3]!, row[4]!, row[5]!, row[6]!, row[7]!, row[8]!,
          row[9]!, row[10]!, row[11]!, row[12]!, row[13]!, row[14]!, row[15]!, row[16]!, row[17]!, row[18]!, row[19]!).changes;
      }
      this.update.run(s.n, added, minF, maxF, minL, maxL, maxId);
      this.setMaxId.run(maxId);
      s.rows += added;
      s.min_first = Math.min(s.min_first ?? minF, minF);
      s.max_first = Math.max(s.max_first ?? maxF, maxF);
      s.min_last = Math.min(s.min_last ?? minL, minL);
      s.max_last = Math.max(s.max_last ?? maxL, maxL);
      s.max_id = Math.max(s.max_id, maxId);
    })();
    return added;
  }

  /** Reload the newest segment's figures after a failed transaction (the cached copy may be ahead). */
  reload(): void {
    ExtrasTable.of(this.db).forget(); // ids interned in a rolled-back transaction were never written
    if (!this.current) return;
    const s = this.db.query("SELECT * FROM segments WHERE n = ?").get(this.current.n) as Segment | null;
    if (s && !s.sealed) this.use(s);
    else this.forget(this.current.n);
  }

  /**
   * Highest flow id ever stored or reserved (survives retention). 0 when none. A reservation
   * (reserveFlowIds) covers ids a running engine may have handed out without storing them yet,
   * so a restart after kill -9 never reuses an id an API answer already showed.
   */
  maxFlowId(): number {
    const m = this.db.query("SELECT max(v) AS v FROM meta WHERE k IN ('max_flow_id', 'reserved_flow_id')").get() as { v: number | null };
    const s = this.db.query("SELECT max(max_id) AS v FROM segments").get() as { v: number | null };
    return Math.max(m.v ?? 0, s.v ?? 0);
  }

  /** Sets the reserved high-water mark (ids up to it may be in use); a clean stop lowers it again. */
  reserveFlowIds(upTo: number): void {
    if (!Number.isSafeInteger(upTo) || upTo < 0) throw new TypeError(`bad flow id reservation ${upTo}`);
    this.db.run("INSERT INTO meta(k, v) VALUES ('reserved_flow_id', ?1) ON CONFLICT(k) DO UPDATE SET v = excluded.v", [upTo]);
  }

  close(): void {
    this.insert?.finalize();
    this.insert = null;
    this.update.finalize();
    this.setMaxId.finalize();
  }
}
