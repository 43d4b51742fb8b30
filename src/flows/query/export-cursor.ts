/**
 * ExportCursor: a consistent export of a query's matches, read in pages.
 *
 * Opening runs the selection (in slices: `step()`), then keeps only the chosen flows' slots and
 * ids, in sort order, as they were at that moment. Pages read those flows as they stand when the
 * page is built: a live flow still in its slot is read there; one that ended meanwhile is found
 * in the recently-ended ring by id (the cursor indexes ring entries appended since it opened); one
 * that is gone (its ring entry overwritten) is skipped. So an export never repeats a flow, and
 * misses none of the flows that lived through it, whatever the table does between pages — unlike
 * offset paging, which re-ran the query for each page on a moving table.
 *
 * Limits: the order is the order at open time (values read later may have grown); at most
 * offset + limit flows (the Selector's heap). Memory: 12 bytes per selected flow, plus the map of
 * ring entries appended while the export is open (bounded by the ring's capacity).
 */
import type { EndedRing } from "../table/ended.ts";
import type { FlowQuery } from "./flow-query.ts";
import type { FlowScan } from "./query-compile.ts";
import { toRecord, type FlowRecord } from "../format/record.ts";
import { Selector } from "./select.ts";
import type { FlowTable } from "../table/table.ts";

export class ExportCursor {
  private readonly selector: Selector;
  private refs: Int32Array | null = null;
  private ids: Float64Array | null = null;
  private pos = 0;
  /** Ring entries appended since open, by flow id (filled as pages are read). */
  private readonly endedSince = new Map<number, number>();
  private ringSeen: number;
  lastUsed = Date.now();

  constructor(private readonly table: FlowTable, private readonly recent: EndedRing, scan: FlowScan, q: FlowQuery) {
    this.selector = new Selector(table, recent, scan, q);
    this.ringSeen = recent.total;
  }

  /** Selection work: scan up to `budget` more slots; true once the snapshot is taken. */
  step(budget: number): boolean {
    if (this.refs) return true;
    if (!this.selector.step(budget)) return false;
    const { refs, ids } = this.selector.pageRefs();
    this.refs = refs;
    this.ids = ids;
    return true;
  }

  get ready(): boolean {
    return this.refs !== null;
  }

  /** Rows the export yields at most (known once ready). */
  get size(): number {
    return this.refs?.length ?? 0;
  }

  get done(): boolean {
    return this.refs !== null && this.pos >= this.refs.length;
  }

  /** Up to `max` more records (fewer when flows are gone); call once ready. */
  next(max: number): FlowRecord[] {
    const refs = this.refs, ids = this.ids;
    if (!refs || !ids) throw new Error("ExportCursor.next before the snapshot is ready");
    this.lastUsed = Date.now();
    this.indexEnded();
    const out: FlowRecord[] = [];
    const t = this.table.cols, r = this.recent.cols;
    while (this.pos < refs.length && out.length < max) {
      const ref = refs[this.pos]!, id = ids[this.pos]!;
      this.pos++;
      if (ref >= 0 && t.isLive(ref) && t.id(ref) === id) {
        out.push(toRecord(t, ref));
        continue;
      }
      const j = ref < 0 && r.id(-ref - 1) === id ? -ref - 1 : this.endedSince.get(id);
      if (j !== undefined && r.id(j) === id) out.push(toRecord(r, j));
    }
    return out;
  }

  /** Index the ring entries appended since the last page (older ones may be overwritten by now). */
  private indexEnded(): void {
    const ring = this.recent;
    if (this.endedSince.size > 2 * ring.capacity) {
      // Mostly overwritten entries by now: start again from what the ring holds.
      this.endedSince.clear();
      this.ringSeen = 0;
    }
    const from = Math.max(this.ringSeen, ring.total - ring.capacity);
    for (let n = from; n < ring.total; n++) {
      const j = n % ring.capacity;
      this.endedSince.set(ring.cols.id(j), j);
    }
    this.ringSeen = ring.total;
  }
}
