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
 * Pages come as records (`next`) or as a batch of raw rows (`nextBatch`: the flows' 104-byte slots
 * copied in the table's layout plus their extras, as ended-flow batches carry them), which the
 * engine Worker hands to the server thread to make records or text there: a copy costs the engine
 * ~0.2 µs per row against ~3 µs for a record (and its structured clone), bench/query-select.ts.
 *
 * Limits: the order is the order at open time (values read later may have grown); at most
 * offset + limit flows (the Selector's heap). Memory: 12 bytes per selected flow, plus the map of
 * ring entries appended while the export is open (bounded by the ring's capacity).
 */
import type { EndedRing } from "../table/ended.ts";
import type { EndedBatch } from "../sinks.ts";
import { FlowColumns, KEY_WORDS, REC_F64 } from "../table/columns.ts";
import { extrasOf, FlowSide, type FlowSideData } from "../table/extras.ts";
import { originDomain, originExporter } from "../../collect/origins.ts";
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
    const n = this.dedupe(refs, ids);
    this.refs = n === refs.length ? refs : refs.subarray(0, n);
    this.ids = n === ids.length ? ids : ids.subarray(0, n);
    return true;
  }

  /**
   * The selection ran in slices while the table moved: a flow seen live by one slice may have ended
   * and been seen again in the ring by a later one (the ring is scanned after the table). Only flows
   * that ended since the cursor opened can appear twice, so only their ids are checked: each is kept
   * at its first place in the order. Cost: one Set of the ring entries appended since open (bounded
   * by the ring's capacity) and one lookup per selected flow; nothing when no flow ended meanwhile.
   * Compacts `refs`/`ids` in place; returns the count kept.
   */
  private dedupe(refs: Int32Array, ids: Float64Array): number {
    const ring = this.recent;
    const from = Math.max(this.ringSeen, ring.total - ring.capacity);
    if (from >= ring.total) return refs.length;
    const ended = new Set<number>();
    for (let k = from; k < ring.total; k++) ended.add(ring.cols.id(k % ring.capacity));
    const seen = new Set<number>();
    let w = 0;
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      if (ended.has(id)) {
        if (seen.has(id)) continue;
        seen.add(id);
      }
      refs[w] = refs[k]!;
      ids[w] = id;
      w++;
    }
    return w;
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
    const out: FlowRecord[] = [];
    this.read(max, (c, i) => void out.push(toRecord(c, i)));
    return out;
  }

  /**
   * Up to `max` more rows appended to `into` (a page built over several slices), as raw slots and
   * extras; returns the rows added (fewer when flows are gone). Call once ready.
   */
  nextBatch(max: number, into: ExportRows): number {
    return this.read(max, (c, i) => into.push(c, i));
  }

  /** Hands up to `max` more flows, as they stand, to `emit`; returns how many. */
  private read(max: number, emit: (c: FlowColumns, i: number) => void): number {
    const refs = this.refs, ids = this.ids;
    if (!refs || !ids) throw new Error("ExportCursor.next before the snapshot is ready");
    this.lastUsed = Date.now();
    this.indexEnded();
    const t = this.table.cols, r = this.recent.cols;
    let n = 0;
    while (this.pos < refs.length && n < max) {
      const ref = refs[this.pos]!, id = ids[this.pos]!;
      this.pos++;
      if (ref >= 0 && t.isLive(ref) && t.id(ref) === id) {
        emit(t, ref);
        n++;
        continue;
      }
      const j = ref < 0 && r.id(-ref - 1) === id ? -ref - 1 : this.endedSince.get(id);
      if (j !== undefined && r.id(j) === id) {
        emit(r, j);
        n++;
      }
    }
    return n;
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

/**
 * A page of export rows being built: slots copied in the table's layout (FlowColumns, 104 B per
 * row) with each flow's extras and exporter (FlowSide), as an ended-flow batch carries them. Grows
 * by doubling from min(limit, 2,048) rows up to `limit`; `batch()` hands over exact-size copies
 * (structured-clonable, ≈ 104 B + the extras per row).
 */
export class ExportRows {
  private cols: FlowColumns;
  private side: FlowSide;
  count = 0;

  constructor(readonly limit: number) {
    const n = Math.max(1, Math.min(limit, 2048));
    this.cols = new FlowColumns(n);
    this.side = new FlowSide(n);
  }

  get full(): boolean {
    return this.count >= this.limit;
  }

  push(src: FlowColumns, i: number): void {
    const j = this.count++;
    if (j >= this.cols.capacity) this.grow(Math.min(this.limit, this.cols.capacity * 2));
    this.cols.copyFrom(src, i, j);
    const o = src.origin(i);
    this.side.put(j, extrasOf(src, i), o === 0 ? null : originExporter(o), o === 0 ? null : originDomain(o));
  }

  private grow(n: number): void {
    this.cols.grow(n);
    const side = new FlowSide(n);
    side.asn.set(this.side.asn);
    for (let k = 0; k < this.side.strs.length; k++) side.strs[k] = this.side.strs[k]!;
    this.side = side;
  }

  /** The rows so far as a batch (copies of the used part). */
  batch(): ExportBatch {
    const n = this.count;
    return {
      count: n,
      key: this.cols.key.slice(0, n * KEY_WORDS),
      rec: this.cols.f64.buffer.slice(0, n * REC_F64 * 8) as ArrayBuffer,
      side: this.side.data(n),
    };
  }
}

/** Export rows in the ended-flow batch layout, extras always present. */
export type ExportBatch = EndedBatch & { side: FlowSideData };

/**
 * The records of an export batch, on whichever thread receives it (the server's): the extras and
 * the exporter come from the batch, not from this thread's resolver or origin table.
 */
export function exportBatchRecords(b: ExportBatch): FlowRecord[] {
  return new ExportBatchReader(b).records(0, b.count);
}

/** Records of an export batch made a range at a time (so a thread can do other work in between). */
export class ExportBatchReader {
  private readonly cols: FlowColumns;
  private readonly side: FlowSide;

  constructor(readonly batch: ExportBatch) {
    this.cols = FlowColumns.wrap(batch.key, batch.rec);
    this.side = FlowSide.fromData(batch.side);
  }

  /** Records of rows [from, from + n) (clamped to the batch). */
  records(from: number, n: number): FlowRecord[] {
    const c = this.cols, side = this.side;
    const to = Math.min(this.batch.count, from + n);
    const out: FlowRecord[] = [];
    for (let j = from; j < to; j++) {
      const r = toRecord(c, j, side.get(j));
      if (c.origin(j) !== 0) {
        r.exporter = side.exporter(j);
        r.exporter_domain = side.domain(j);
      }
      out.push(r);
    }
    return out;
  }
}
