/**
 * FlowStore: the history store on bun:sqlite (one database file, WAL). Keeps every ended flow
 * (inserted from the flow table's own column layout, in batches, one transaction each), per-second
 * traffic for the last hour and per-minute traffic and system metrics for 30 days, and alert
 * events; answers flow queries in the grammar of query.ts (compiled to parameterised SQL),
 * history ranges and alert lists. Retention by age and size runs in small steps every second
 * while there is work (once a minute when idle, see FULL_STEP_MS).
 *
 * Layout and measured figures: see index.ts. Component shape: config, start(), stop().
 *
 * Faults never throw out of the API (only an invalid query AST does, as a TypeError). A directory that cannot be created or written, a file that
 * cannot be opened, a full disk or any SQLite error puts status() in "degraded" with the reason:
 * inserts are dropped and counted (`dropped`), reads answer empty, and the database is opened
 * again every `retryMs` while it is unavailable. A successful write makes it "ok" again. A corrupt
 * file (SQLITE_NOTADB / SQLITE_CORRUPT, at start or later) is renamed aside to
 * `<name>.corrupt-<epoch ms>` (with its -wal and -shm) and a new database is started; status
 * stays "degraded" naming the moved file for the rest of the run, since history was lost.
 *
 * Limits: one connection in one thread (the store Worker's): a long query delays inserts queued
 * behind it (the client drops batches beyond its queue bound). Age retention counts back from
 * the newest stored flow's last_seen when that is older than the wall clock (`now`), else from
 * `now`: a store filled offline from an old capture (`flows --read FILE --data-dir D`) keeps its
 * last `retentionDays` of flows instead of losing them all at once, while a live sensor (newest
 * flow ≈ now) ages by the wall clock.
 */
import { Database } from "bun:sqlite";
import { mkdirSync, renameSync, existsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { FlowSide, type FlowSideData } from "../flows/table/extras.ts";
import { FlowColumns } from "../flows/table/columns.ts";
import type { FlowRecord } from "../flows/format/record.ts";
import type { SeriesRange } from "../metrics/ring.ts";
import type { Alert } from "../alerts/alert.ts";
import { AlertLog, type AlertEvent, type AlertEventKind, type AlertQuery } from "./alert-log.ts";
import { findFlow, queryFlows, type FlowPage, type StoredFlowQuery } from "./flow-query.ts";
import { queryToSql } from "./flow-sql.ts";
import { pageFigures, pruneStep, SIZE_PRUNE_AT, type PruneResult } from "./retention.ts";
import { migrate } from "./schema.ts";
import { Segments } from "./segments.ts";
import { SeriesStore, type TrafficSample } from "./series.ts";

export interface FlowStoreConfig {
  /** Database file; its directory is created. */
  path: string;
  /** Flows older than this are pruned (default 7). */
  retentionDays?: number;
  /** The file is kept under this size (default 1 GiB). */
  retentionBytes?: number;
  /** Flows per segment before a new one starts (default 250,000, fewer when retentionBytes / 8 holds fewer). */
  segmentRows?: number;
  /** Retention step period (default 1000 ms; 0 = only when pruneStep() is called). */
  pruneIntervalMs?: number;
  /** Longest gap between full retention steps while they find nothing to do (default FULL_STEP_MS). */
  fullStepMs?: number;
  /** Re-open period while the database is unavailable (default 10,000 ms). */
  retryMs?: number;
  /** Clock in ms since the epoch (default Date.now); tests move it. */
  now?: () => number;
}

export interface StoreStatus {
  state: "ok" | "degraded";
  /** Why degraded (or null). */
  reason: string | null;
  /** Flows stored. */
  flows: number;
  /** Database size: page_count × page_size. */
  bytes: number;
  /** first_seen of the oldest stored flow (ISO 8601), null when none. */
  oldest: string | null;
  /** Flows written since start. */
  inserted: number;
  /** Flows not written (store unavailable, write failed, duplicate id), since start. */
  dropped: number;
  /** SQLite errors since start. */
  errors: number;
}

export const DEFAULT_RETENTION_DAYS = 7;
/**
 * A full retention step (age check, rollup and alert pruning, size check: ~10 SQL statements,
 * ≈ 0.5 ms of CPU when run cold once a second) runs at most this often while the previous one
 * found nothing to do; in between, the periodic step only builds pending indexes. Inserts over
 * the size limit, and steps that found work, still step every pruneIntervalMs. Cost: an aged
 * segment or old rollup rows go up to this long later. Measured idle `serve` on lo (60 s, load
 * 9-13): the store Worker thread 0.10 % of a core with a full step every second, 0.05 % without.
 */
export const FULL_STEP_MS = 60_000;
export const DEFAULT_RETENTION_BYTES = 1024 ** 3;

interface Open {
  db: Database;
  segs: Segments;
  series: SeriesStore;
  alerts: AlertLog;
}

function errCode(e: unknown): string {
  const c = (e as { code?: unknown })?.code;
  return typeof c === "string" ? c : "";
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class FlowStore {
  readonly path: string;
  readonly retentionDays: number;
  readonly retentionBytes: number;
  private readonly segmentRows: number;
  private readonly pruneIntervalMs: number;
  private readonly fullStepMs: number;
  private readonly retryMs: number;
  private readonly now: () => number;
  private o: Open | null = null;
  private running = false;
  private pruneTimer: ReturnType<typeof setInterval> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private failure: string | null = null;
  private corruptNote: string | null = null;
  private inserted = 0;
  private dropped = 0;
  private errors = 0;
  private lastPrune = 0;
  /** performance.now() of the last full retention step (−∞: the first periodic step is a full one). */
  private lastFull = -Infinity;
  /** The last full step found work (dropped, deleted or vacuumed): the next periodic step is a full one too. */
  private pruneDue = false;

  constructor(config: FlowStoreConfig) {
    this.path = config.path;
    this.retentionDays = config.retentionDays ?? DEFAULT_RETENTION_DAYS;
    this.retentionBytes = config.retentionBytes ?? DEFAULT_RETENTION_BYTES;
    // A segment holds at most ~1/8 of the size limit (≈ 110 B per flow), so size retention, which
    // drops whole segments, keeps the file close to the limit even when the limit is small.
    this.segmentRows = Math.max(1, config.segmentRows ?? Math.min(250_000, Math.max(1000, Math.floor((config.retentionBytes ?? DEFAULT_RETENTION_BYTES) / 8 / 110))));
    this.pruneIntervalMs = config.pruneIntervalMs ?? 1000;
    this.fullStepMs = config.fullStepMs ?? FULL_STEP_MS;
    this.retryMs = config.retryMs ?? 10_000;
    this.now = config.now ?? Date.now;
    if (!(this.retentionDays > 0) || !(this.retentionBytes > 0)) throw new RangeError("FlowStore: retention must be > 0");
  }

  /** Opens (or creates and migrates) the database and starts the retention timer. Never throws. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.tryOpen();
    if (this.pruneIntervalMs > 0) {
      this.pruneTimer = setInterval(() => this.periodicStep(false), this.pruneIntervalMs);
      (this.pruneTimer as { unref?: () => void }).unref?.();
    }
  }

  /** Stops the timers, checkpoints the WAL into the database file and closes it. */
  stop(): void {
    this.running = false;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.pruneTimer = this.retryTimer = null;
    this.closeDb();
  }

  private closeDb(): void {
    const o = this.o;
    this.o = null;
    if (!o) return;
    try {
      o.segs.close();
      o.db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch {
      // a full disk or a broken file: the WAL stays, SQLite replays it at the next open
    }
    closeNow(o.db);
  }

  private openDb(): Open {
    mkdirSync(dirname(this.path), { recursive: true });
    const db = new Database(this.path, { create: true, readwrite: true });
    try {
      // auto_vacuum must be chosen before the first table exists; on an existing file it is a no-op.
      db.run("PRAGMA auto_vacuum = INCREMENTAL");
      const mode = (db.query("PRAGMA journal_mode = WAL").get() as { journal_mode: string }).journal_mode;
      if (mode !== "wal") throw new Error(`cannot use WAL mode (journal_mode is ${mode})`);
      db.run("PRAGMA synchronous = NORMAL");
      db.run("PRAGMA cache_size = -32000");
      db.run("PRAGMA journal_size_limit = 16777216");
      migrate(db);
      const segs = new Segments(db, this.segmentRows);
      return { db, segs, series: new SeriesStore(db), alerts: new AlertLog(db) };
    } catch (e) {
      closeNow(db);
      throw e;
    }
  }

  private tryOpen(): void {
    if (!this.running || this.o) return;
    try {
      this.o = this.openDb();
      this.failure = null;
    } catch (e) {
      if (this.isCorrupt(e) && this.moveAside(e)) {
        try {
          this.o = this.openDb();
          this.failure = null;
          return;
        } catch (e2) {
          e = e2;
        }
      }
      this.fail(`cannot open ${this.path}: ${errText(e)}`);
      this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    if (!this.running || this.retryTimer || this.retryMs <= 0) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.tryOpen();
    }, this.retryMs);
    (this.retryTimer as { unref?: () => void }).unref?.();
  }

  private isCorrupt(e: unknown): boolean {
    const c = errCode(e);
    return c.startsWith("SQLITE_NOTADB") || c.startsWith("SQLITE_CORRUPT");
  }

  /** Renames the database (and its -wal/-shm) aside; true when done. */
  private moveAside(cause: unknown): boolean {
    this.closeDb();
    const aside = `${this.path}.corrupt-${Date.now()}`;
    try {
      renameSync(this.path, aside);
      for (const ext of ["-wal", "-shm"]) if (existsSync(this.path + ext)) renameSync(this.path + ext, aside + ext);
    } catch (e) {
      this.fail(`database is corrupt (${errText(cause)}) and could not be moved aside: ${errText(e)}`);
      return false;
    }
    this.corruptNote = `database was corrupt (${errText(cause)}): moved to ${aside}; started a new one`;
    return true;
  }

  private fail(reason: string): void {
    this.errors++;
    this.failure = reason;
  }

  /** A SQLite error in an operation: counted; a corrupt file is moved aside, others retried later. */
  private onError(what: string, e: unknown): void {
    this.fail(`${what}: ${errText(e)}`);
    if (this.isCorrupt(e)) {
      if (this.moveAside(e)) this.tryOpen();
      else this.scheduleRetry();
    } else if (errCode(e) === "SQLITE_FULL") {
      this.failure = `disk full: ${errText(e)}`;
    }
    if (this.o) {
      try {
        this.o.segs.reload();
      } catch {
        // the next operation reports it
      }
    }
  }

  // ---- writes ----

  /**
   * Stores `count` ended flows (default: all) given in the flow table's layout (key: count ×
   * KEY_WORDS words, rec: count × 64 bytes). Returns the number stored; the rest are counted
   * as dropped.
   */
  insertBatch(key: Int32Array, rec: ArrayBuffer, count?: number, side?: FlowSideData): number {
    let cols: FlowColumns;
    try {
      cols = FlowColumns.wrap(key, rec);
    } catch (e) {
      this.fail(`bad batch: ${errText(e)}`);
      return 0;
    }
    return this.insertColumns(cols, Math.min(count ?? cols.capacity, cols.capacity), side ? FlowSide.fromData(side) : null);
  }

  /** `side`: the flows' extras (EndedBatch.side); without it they are stored as none (captured, extras null). */
  insertColumns(cols: FlowColumns, count: number, side: FlowSide | null = null): number {
    if (count <= 0) return 0;
    if (!this.o) {
      this.dropped += count;
      return 0;
    }
    try {
      const n = this.o.segs.insertBatch(cols, count, side);
      this.inserted += n;
      this.dropped += count - n;
      this.failure = null;
      // Under a steady stream of inserts the Worker's timer may not get a turn: step retention here too.
      // Over the size limit, step at once (a burst must not outgrow it between two timer steps).
      if (this.pruneIntervalMs > 0) {
        const over = this.overSize();
        if (over || performance.now() - this.lastPrune >= this.pruneIntervalMs) this.periodicStep(over);
        else this.indexStep();
      } else this.indexStep();
      return n;
    } catch (e) {
      this.dropped += count;
      this.onError("insert failed", e);
      return 0;
    }
  }

  addTraffic(s: TrafficSample): void {
    if (!this.o) return;
    try {
      this.o.series.addTraffic(s);
    } catch (e) {
      this.onError("traffic write failed", e);
    }
  }

  addMetrics(tSec: number, values: Record<string, number>): void {
    if (!this.o) return;
    try {
      this.o.series.addMetrics(tSec, values);
    } catch (e) {
      this.onError("metrics write failed", e);
    }
  }

  addAlertEvent(event: AlertEventKind, alert: Alert, atMs = this.now()): void {
    if (!this.o) return;
    try {
      this.o.alerts.add(event, alert, atMs);
    } catch (e) {
      this.onError("alert write failed", e);
    }
  }

  // ---- reads (empty answers while unavailable) ----

  private read<T>(what: string, empty: T, fn: (o: Open) => T): T {
    if (!this.o) return empty;
    try {
      return fn(this.o);
    } catch (e) {
      this.onError(what, e);
      return empty;
    }
  }

  /**
   * Flows matching `q.query` in [since, until], sorted and paged. An invalid AST (not from
   * parseQuery) throws a TypeError before touching the database: a caller's bug, not a store fault.
   */
  queryFlows(q: StoredFlowQuery): FlowPage {
    queryToSql(q.query);
    return this.read("flow query failed", { records: [], total: 0 }, (o) => queryFlows(o.db, o.segs.list(), q));
  }

  findFlow(id: number): FlowRecord | null {
    return this.read("flow lookup failed", null, (o) => findFlow(o.db, o.segs.list(), id));
  }

  /** Highest flow id ever stored or reserved (0 when none): the engine continues after it. */
  maxFlowId(): number {
    return this.read("max id failed", 0, (o) => o.segs.maxFlowId());
  }

  /** Records that ids up to `upTo` may be in use (see Segments.reserveFlowIds); false when not written. */
  reserveFlowIds(upTo: number): boolean {
    if (!this.o) return false;
    try {
      this.o.segs.reserveFlowIds(upTo);
      return true;
    } catch (e) {
      if (e instanceof TypeError) throw e;
      this.onError("id reservation failed", e);
      return false;
    }
  }

  trafficHistory(fromSec: number, toSec: number, maxPoints = 1000): SeriesRange {
    return this.read("traffic history failed", { step: 1, t: [], series: {} },
      (o) => o.series.trafficHistory(fromSec, toSec, maxPoints, this.now() / 1000));
  }

  metricsHistory(fromSec: number, toSec: number, maxPoints = 1000): SeriesRange {
    return this.read("metrics history failed", { step: 1, t: [], series: {} },
      (o) => o.series.metricsHistory(fromSec, toSec, maxPoints, this.now() / 1000));
  }

  alerts(q: AlertQuery = {}): AlertEvent[] {
    return this.read("alert query failed", [], (o) => o.alerts.list(q));
  }

  private overSize(): boolean {
    if (!this.o) return false;
    const p = pageFigures(this.o.db);
    return (p.pageCount - p.freelist) * p.pageSize > this.retentionBytes * SIZE_PRUNE_AT;
  }

  /**
   * The timer's step (and an insert's when the timer is late, or at once over the size limit):
   * a full retention step when one is due (see FULL_STEP_MS), else only an index build step.
   */
  periodicStep(overSize = false): void {
    this.lastPrune = performance.now();
    if (overSize || this.pruneDue || this.lastPrune - this.lastFull >= this.fullStepMs) this.pruneStep();
    else this.indexStep();
  }

  /** One full retention step; then one index build step. */
  pruneStep(): PruneResult | null {
    this.lastPrune = this.lastFull = performance.now();
    const r = this.read("retention failed", null, (o) =>
      pruneStep(o.db, o.segs, o.series, o.alerts, { retentionDays: this.retentionDays, retentionBytes: this.retentionBytes }, this.now()));
    this.pruneDue = r !== null && r.droppedSegments + r.deletedFlows + r.vacuumedPages + r.deletedRollups + r.deletedInterned > 0;
    this.indexStep();
    return r;
  }

  /** Builds one index of a full segment (see Segments.indexStep); false when none was due. */
  indexStep(): boolean {
    return this.read("index build failed", false, (o) => o.segs.indexStep());
  }

  status(): StoreStatus {
    let flows = 0, bytes = 0, oldest: string | null = null;
    if (this.o) {
      try {
        const r = this.o.db.query("SELECT sum(rows) AS n, min(min_first) AS f FROM segments").get() as { n: number | null; f: number | null };
        flows = r.n ?? 0;
        oldest = r.f === null ? null : new Date(r.f).toISOString();
        const p = pageFigures(this.o.db);
        bytes = p.pageCount * p.pageSize;
      } catch (e) {
        this.onError("status failed", e);
      }
    } else {
      try {
        bytes = statSync(this.path).size;
      } catch {
        bytes = 0;
      }
    }
    const reason = this.failure ?? this.corruptNote;
    return {
      state: reason === null && this.o ? "ok" : "degraded",
      reason: reason ?? (this.o ? null : "store not started"),
      flows, bytes, oldest,
      inserted: this.inserted, dropped: this.dropped, errors: this.errors,
    };
  }
}

/**
 * Closes a database now. `close(true)` finalizes Bun's cached statements and closes the connection
 * at once; `close()` (false) leaves it open as a zombie, still holding its locks, until those
 * statements are collected. Measured: a store reopened in the same process right after stop() found
 * the file locked (SQLITE_BUSY, so the new store came up degraded and answered empty) in about 1 run
 * of 20 (src/store/store-client.test.ts, test/history-reasons.test.ts). If statements of ours are
 * still open, close(true) throws and the zombie close is the fallback.
 */
function closeNow(db: Database): void {
  try {
    db.close(true);
  } catch {
    try {
      db.close();
    } catch {
      // closing a broken database: nothing more to do
    }
  }
}
