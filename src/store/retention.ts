/**
 * Retention, one small step at a time (FlowStore calls `pruneStep` every second while there is
 * work, else once a minute: FULL_STEP_MS in flow-store.ts): each step does
 * at most one of the flow actions below plus bounded deletes of old rollup rows and alert
 * events, each in its own short transaction, so a query never waits behind a long prune.
 *
 * - Age: the oldest segment whose newest flow ended before ref − retentionDays is dropped
 *   (DROP TABLE), ref being now, or the newest stored flow's last_seen when that is older (a
 *   store filled offline from an old capture is not emptied at once). Flows live up to one
 *   segment span (≤ 1 h) past the retention age.
 * - Size: when the pages in use (page_count − freelist_count) × page_size exceed 75 % of
 *   retentionBytes, the oldest segment is dropped; when only one segment is left, its oldest
 *   `deleteRows` flows are deleted instead. Freed pages go to the freelist and new inserts reuse
 *   them, so the file stops growing.
 * - Interned extras and exporters (flow-extras.ts) that no remaining segment uses go in the
 *   transaction that drops a segment (an index range on last_seg, no scan of the flows).
 * - File: when the file (page_count × page_size) is over retentionBytes (e.g. the limit was
 *   lowered), `PRAGMA incremental_vacuum` returns up to `vacuumPages` free pages to the OS
 *   (the database is created with auto_vacuum = INCREMENTAL).
 */
import type { Database } from "bun:sqlite";
import type { AlertLog } from "./alert-log.ts";
import { pruneInterned } from "./flow-extras.ts";
import { segmentTable } from "./schema.ts";
import type { Segments } from "./segments.ts";
import type { SeriesStore } from "./series.ts";

/**
 * Pages in use above this share of retentionBytes start pruning (the oldest segment goes). The
 * headroom absorbs what a full-speed stream adds before the next step: free pages not yet
 * vacuumed and a sealed segment's index build (measured up to ~1.4× the limit at 0.9).
 */
export const SIZE_PRUNE_AT = 0.75;

export interface RetentionConfig {
  retentionDays: number;
  retentionBytes: number;
  /** Rows deleted per step from a lone oversized segment (default 5000). */
  deleteRows?: number;
  /** Pages returned to the OS per step (default 2048 = 8 MiB). */
  vacuumPages?: number;
}

export interface PruneResult {
  droppedSegments: number;
  deletedFlows: number;
  vacuumedPages: number;
  deletedRollups: number;
  /** Interned extras tuples and exporters deleted with the dropped segments. */
  deletedInterned: number;
}

export interface PageFigures {
  pageSize: number;
  pageCount: number;
  freelist: number;
}

export function pageFigures(db: Database): PageFigures {
  const g = (p: string) => Object.values(db.query(`PRAGMA ${p}`).get() as Record<string, number>)[0]!;
  return { pageSize: g("page_size"), pageCount: g("page_count"), freelist: g("freelist_count") };
}

function dropSegment(db: Database, segs: Segments, n: number, r: PruneResult): void {
  const rows = (db.query("SELECT rows FROM segments WHERE n = ?").get(n) as { rows: number } | null)?.rows ?? 0;
  segs.forget(n);
  db.transaction(() => {
    db.run(`DROP TABLE IF EXISTS ${segmentTable(n)}`);
    db.run("DELETE FROM segments WHERE n = ?", [n]);
    r.deletedInterned += pruneInterned(db);
  })();
  r.deletedFlows += rows;
  r.droppedSegments++;
}

export function pruneStep(db: Database, segs: Segments, series: SeriesStore, alerts: AlertLog, cfg: RetentionConfig, nowMs: number): PruneResult {
  const r: PruneResult = { droppedSegments: 0, deletedFlows: 0, vacuumedPages: 0, deletedRollups: 0, deletedInterned: 0 };
  const list = segs.list();
  // Age counts back from the newest stored flow when it is older than the wall clock (a store
  // filled offline from an old capture keeps its last retentionDays), else from now.
  let newest = -Infinity;
  for (const s of list) if (s.max_last !== null && s.max_last > newest) newest = s.max_last;
  const cutoff = Math.min(nowMs, newest) - cfg.retentionDays * 86_400_000;
  const aged = list.find((s) => s.max_last !== null && s.max_last < cutoff);
  const pages = pageFigures(db);
  const used = (pages.pageCount - pages.freelist) * pages.pageSize;
  if (aged) {
    dropSegment(db, segs, aged.n, r);
  } else if (used > cfg.retentionBytes * SIZE_PRUNE_AT && list.length > 0) {
    const oldest = list[0]!;
    if (list.length > 1) {
      dropSegment(db, segs, oldest.n, r);
    } else if (oldest.rows > 0) {
      const t = segmentTable(oldest.n);
      db.transaction(() => {
        const n = db.run(`DELETE FROM ${t} WHERE id IN (SELECT id FROM ${t} ORDER BY id LIMIT ${Math.max(1, cfg.deleteRows ?? 5000)})`).changes;
        db.run("UPDATE segments SET rows = max(0, rows - ?) WHERE n = ?", [n, oldest.n]);
        r.deletedFlows += n;
      })();
      segs.reload();
    }
  }
  const nowSec = nowMs / 1000;
  r.deletedRollups += series.prune(nowSec);
  r.deletedRollups += alerts.prune(nowSec);
  const after = pageFigures(db);
  if (after.pageCount * after.pageSize > cfg.retentionBytes && after.freelist > 0) {
    const n = Math.min(after.freelist, cfg.vacuumPages ?? 2048);
    db.run(`PRAGMA incremental_vacuum(${n})`);
    r.vacuumedPages = n;
  }
  return r;
}
