/**
 * The "recently ended" list: a bounded ring of ended flows, stored in the same FlowColumns layout
 * as the live table so the query module, CSV and the API read both alike.
 *
 * Limit: `capacity` flows (default 100,000). Older entries are overwritten and counted in
 * `overwritten`; they were still delivered on the ended-flow stream (stores and exporters hang
 * there), so nothing is lost silently.
 */
import { FlowColumns } from "./columns.ts";
import { FlowSide, NO_EXTRAS, type FlowExtras } from "./extras.ts";

export class EndedRing {
  readonly cols: FlowColumns;
  readonly capacity: number;
  /** Flows ever appended. */
  total = 0;
  /** Flows overwritten because the ring was full. */
  overwritten = 0;

  /** The extras of each kept flow (app, names, country, AS), when the engine has them (keepExtras). */
  side: FlowSide | null = null;
  private extrasOf: ((src: FlowColumns, i: number) => FlowExtras) | null = null;

  constructor(capacity = 100_000) {
    this.capacity = Math.max(1, capacity);
    this.cols = new FlowColumns(this.capacity);
  }

  /** Copy ended flow `i` of `src` (its meta carries the end reason). */
  push(src: FlowColumns, i: number): void {
    const j = this.total % this.capacity;
    if (this.total >= this.capacity) this.overwritten++;
    this.cols.copyFrom(src, i, j);
    if (this.extrasOf !== null) this.side!.put(j, this.extrasOf(src, i));
    this.total++;
  }

  /** Keep each pushed flow's extras beside it (read with extrasAt). */
  keepExtras(fn: (src: FlowColumns, i: number) => FlowExtras): void {
    this.side ??= new FlowSide(this.capacity);
    this.extrasOf = fn;
  }

  extrasAt(j: number): FlowExtras {
    return this.side === null ? NO_EXTRAS : this.side.get(j);
  }

  get size(): number {
    return Math.min(this.total, this.capacity);
  }

  /** Visit stored flows, newest first. */
  forEach(fn: (cols: FlowColumns, i: number) => void): void {
    const n = this.size;
    for (let k = 1; k <= n; k++) fn(this.cols, (this.total - k) % this.capacity);
  }

  findById(id: number): number {
    const n = this.size;
    for (let k = 1; k <= n; k++) {
      const j = (this.total - k) % this.capacity;
      if (this.cols.id(j) === id) return j;
    }
    return -1;
  }
}
