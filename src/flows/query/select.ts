/**
 * Selecting flows for a page: filter with a compiled query over the live table and/or the
 * recently-ended ring, keep the best `offset + limit` by a sort key in a bounded heap
 * (O(n log k), no full sort of a million matches), then build records for the page only.
 *
 * The work can run in slices (Selector.step): exports take their snapshot of matching flows in
 * steps of a bounded number of slots, so a query on the same thread never waits behind a whole pass.
 * The page is then ordered by popping the heap worst first (also in steps): only its limit rows
 * are ordered, never the `offset` better ones (an export page at offset 90,000 pops 10,000 pairs
 * instead of sorting 100,000 in one go).
 *
 * Limit: offset + limit ≤ 1,000,000 (the heap is sized to it).
 */
import type { FlowColumns } from "../table/columns.ts";
import type { EndedRing } from "../table/ended.ts";
import type { FlowQuery, SortKey } from "./flow-query.ts";
import { compileTopScan, type FlowScan, type FlowTopScan } from "./query-compile.ts";
import { toRecord, type FlowRecord } from "../format/record.ts";
import type { FlowTable } from "../table/table.ts";

export { SORT_KEYS, type Membership, type SortKey } from "./flow-query.ts";

export interface Selection {
  records: FlowRecord[];
  total: number;
}

/** Numeric sort value of flow i (addresses: first 64 bits, IPv4 before IPv6). */
function sortValue(c: FlowColumns, i: number, key: SortKey): number {
  switch (key) {
    case "bytes": return c.totalBytes(i);
    case "packets": return c.packets(i);
    case "bps": return c.bps(i);
    case "duration": return c.last(i) - c.first(i);
    case "first_seen": return c.first(i);
    case "last_seen": return c.last(i);
    case "src_port": return c.srcPort(i);
    case "dst_port": return c.dstPort(i);
    case "protocol": return c.proto(i);
    case "src_ip":
    case "dst_ip": {
      const off = key === "src_ip" ? c.srcAddrOff(i) : c.dstAddrOff(i);
      const hi = c.key[off]! >>> 0;
      return c.ipVersion(i) === 6 ? 2 ** 33 + hi * 2 + (c.key[off + 1]! >>> 0) / 2 ** 31 : hi;
    }
  }
}

/** Bounded heap keeping the k best (value, ref) pairs; the root is the worst kept. */
class TopK {
  private readonly vals: Float64Array;
  private readonly refs: Int32Array;
  private readonly tie: Float64Array;
  n = 0;
  constructor(private readonly k: number, private readonly desc: boolean) {
    this.vals = new Float64Array(k);
    this.refs = new Int32Array(k);
    this.tie = new Float64Array(k);
  }
  /** a is worse than b (should be nearer the root). Ties: higher id is worse (stable by id). */
  private worse(av: number, at: number, bv: number, bt: number): boolean {
    if (av !== bv) return this.desc ? av < bv : av > bv;
    return at > bt;
  }
  /** v cannot enter: the heap is full and v is strictly worse than its root (no tie to break). */
  rejects(v: number): boolean {
    if (this.n < this.k) return this.k === 0;
    const root = this.vals[0]!;
    return this.desc ? v < root : v > root;
  }
  /** The weakest value that can still enter (the root once full; ±Infinity before): rejects(v) iff v is strictly worse. */
  limit(): number {
    if (this.n < this.k) return this.desc ? -Infinity : Infinity;
    return this.vals[0]!;
  }
  push(v: number, ref: number, tie: number): void {
    if (this.k === 0) return;
    if (this.n < this.k) {
      let j = this.n++;
      while (j > 0) {
        const p = (j - 1) >> 1;
        if (!this.worse(v, tie, this.vals[p]!, this.tie[p]!)) break;
        this.vals[j] = this.vals[p]!; this.refs[j] = this.refs[p]!; this.tie[j] = this.tie[p]!;
        j = p;
      }
      this.vals[j] = v; this.refs[j] = ref; this.tie[j] = tie;
      return;
    }
    if (!this.worse(this.vals[0]!, this.tie[0]!, v, tie)) return;
    let j = 0;
    for (;;) {
      const l = 2 * j + 1;
      if (l >= this.n) break;
      const r = l + 1;
      const w = r < this.n && this.worse(this.vals[r]!, this.tie[r]!, this.vals[l]!, this.tie[l]!) ? r : l;
      if (!this.worse(this.vals[w]!, this.tie[w]!, v, tie)) break;
      this.vals[j] = this.vals[w]!; this.refs[j] = this.refs[w]!; this.tie[j] = this.tie[w]!;
      j = w;
    }
    this.vals[j] = v; this.refs[j] = ref; this.tie[j] = tie;
  }
  /**
   * Removes the worst kept pair (the root) and writes its ref and id to out[at]: popping the k
   * kept pairs one by one yields them worst first, so a page of ranks offset.. is its first
   * k - offset pops, in O(log k) each — the better `offset` pairs are never ordered.
   */
  popInto(refs: Int32Array, ids: Float64Array, at: number): void {
    refs[at] = this.refs[0]!;
    ids[at] = this.tie[0]!;
    const n = --this.n;
    if (n === 0) return;
    const v = this.vals[n]!, ref = this.refs[n]!, tie = this.tie[n]!;
    let j = 0;
    for (;;) {
      const l = 2 * j + 1;
      if (l >= n) break;
      const r = l + 1;
      const w = r < n && this.worse(this.vals[r]!, this.tie[r]!, this.vals[l]!, this.tie[l]!) ? r : l;
      if (!this.worse(this.vals[w]!, this.tie[w]!, v, tie)) break;
      this.vals[j] = this.vals[w]!; this.refs[j] = this.refs[w]!; this.tie[j] = this.tie[w]!;
      j = w;
    }
    this.vals[j] = v; this.refs[j] = ref; this.tie[j] = tie;
  }
}

/** Step budget (in scanned slots) one heap pop counts for: ~log2(k) sift levels against a scan's few ns per slot. */
const POP_COST = 8;

/** Reused match buffer (grown on demand): slots written by the compiled scan. */
let matches = new Uint32Array(1 << 16);

/** Slots per fused top scan call: the heap's entry limit is refreshed between chunks. */
const TOP_CHUNK = 16_384;
const topCount = new Float64Array(1);

/**
 * sort_by=bytes without time bounds: the fused scan (compileTopScan) hands over only matches at
 * or past the heap's limit, refreshed every TOP_CHUNK slots. Same result as `offer`, one pass.
 */
function offerTop(top: TopK, scan: FlowTopScan, c: FlowColumns, from: number, to: number, live: boolean): number {
  if (matches.length < TOP_CHUNK) matches = new Uint32Array(Math.max(TOP_CHUNK, matches.length * 2));
  topCount[0] = 0;
  for (let a = from; a < to; a += TOP_CHUNK) {
    const n = scan(c, a, Math.min(to, a + TOP_CHUNK), matches, live, top.limit(), topCount);
    for (let m = 0; m < n; m++) {
      const i = matches[m]!;
      const v = c.totalBytes(i);
      if (!top.rejects(v)) top.push(v, live ? i : -(i + 1), c.id(i));
    }
  }
  return topCount[0]!;
}

/**
 * Scan slots [from, to) of `c` and offer every match to `top`; ring slots are stored as refs < 0.
 * Returns the number of matches.
 */
function offer(top: TopK, scan: FlowScan, c: FlowColumns, from: number, to: number, live: boolean, q: FlowQuery): number {
  if (matches.length < to - from) matches = new Uint32Array(Math.max(to - from, matches.length * 2));
  const n = scan(c, from, to, matches, live);
  const key = q.sortBy;
  if (q.since === undefined && q.until === undefined) {
    if (key === "bytes") {
      // The default sort, specialised: no switch per match.
      for (let m = 0; m < n; m++) {
        const i = matches[m]!;
        const v = c.totalBytes(i);
        if (!top.rejects(v)) top.push(v, live ? i : -(i + 1), c.id(i));
      }
      return n;
    }
    for (let m = 0; m < n; m++) {
      const i = matches[m]!;
      const v = sortValue(c, i, key);
      if (!top.rejects(v)) top.push(v, live ? i : -(i + 1), c.id(i));
    }
    return n;
  }
  // Time bounds: the flow overlaps [since, until].
  const since = q.since ?? -Infinity, until = q.until ?? Infinity;
  let kept = 0;
  for (let m = 0; m < n; m++) {
    const i = matches[m]!;
    if (c.last(i) < since || c.first(i) > until) continue;
    kept++;
    const v = sortValue(c, i, key);
    if (!top.rejects(v)) top.push(v, live ? i : -(i + 1), c.id(i));
  }
  return kept;
}

/**
 * A selection run in steps: the live table's slots, then the ring's, at most `budget` slots per
 * step(). Between steps the table may change (packets, expiry): each slot is read once, as it
 * stands when its step runs.
 */
export class Selector {
  private readonly top: TopK;
  total = 0;
  /** 0 live table, 1 ring, 2 ordering the page (popping the heap), 3 done. */
  private phase: 0 | 1 | 2 | 3;
  private cursor = 0;
  private refs: Int32Array | null = null;
  private ids: Float64Array | null = null;
  /** The fused scan for sort_by=bytes without time bounds, else null (offer with `scan`). */
  private readonly topScan: FlowTopScan | null;

  constructor(private readonly table: FlowTable, private readonly recent: EndedRing, private readonly scan: FlowScan, private readonly q: FlowQuery) {
    this.top = new TopK(Math.min(q.offset + q.limit, 1_000_000), q.order === "desc");
    this.phase = q.state !== "ended" ? 0 : 1;
    this.topScan = q.sortBy === "bytes" && q.since === undefined && q.until === undefined ? compileTopScan(q.query, q.order === "desc") : null;
  }

  get done(): boolean {
    return this.phase === 3;
  }

  /**
   * Scan up to `budget` more slots (then order the page: a heap pop counts as POP_COST slots);
   * returns true when the selection is complete.
   */
  step(budget = Infinity): boolean {
    while (budget > 0 && this.phase < 2) {
      const live = this.phase === 0;
      const cols = live ? this.table.cols : this.recent.cols;
      const end = live ? this.table.hwm : this.recent.size;
      const to = Math.min(end, this.cursor + budget);
      if (to > this.cursor) {
        this.total += this.topScan
          ? offerTop(this.top, this.topScan, cols, this.cursor, to, live)
          : offer(this.top, this.scan, cols, this.cursor, to, live, this.q);
      }
      budget -= to - this.cursor;
      this.cursor = to;
      if (to >= end) {
        this.phase = live && this.q.state !== "active" ? 1 : 2;
        this.cursor = 0;
      }
    }
    if (this.phase === 2 && budget > 0) {
      // The page is the worst n - offset kept pairs: pop them, filling the page from its end.
      if (!this.refs) {
        const m = Math.max(0, this.top.n - this.q.offset);
        this.refs = new Int32Array(m);
        this.ids = new Float64Array(m);
        this.cursor = m;
      }
      const stop = Math.max(0, this.cursor - Math.ceil(budget / POP_COST));
      while (this.cursor > stop) this.top.popInto(this.refs, this.ids!, --this.cursor);
      if (this.cursor === 0) this.phase = 3;
    }
    return this.phase === 3;
  }

  /** The page's refs (≥ 0 live slot, < 0 ring slot -(j + 1)) with their flow ids, best first; once done. */
  pageRefs(): { refs: Int32Array; ids: Float64Array } {
    if (this.phase !== 3) throw new Error("Selector.pageRefs before the selection is done");
    return { refs: this.refs!, ids: this.ids! };
  }

  /** Records of the page, as the flows stand now. */
  records(): FlowRecord[] {
    const out: FlowRecord[] = [];
    for (const r of this.pageRefs().refs) out.push(r >= 0 ? toRecord(this.table.cols, r) : toRecord(this.recent.cols, -r - 1));
    return out;
  }
}

/**
 * Run the compiled query `scan` over the chosen flows; returns the page of records and the total
 * number of matches.
 */
export function selectFlows(table: FlowTable, recent: EndedRing, scan: FlowScan, o: FlowQuery): Selection {
  const sel = new Selector(table, recent, scan, o);
  sel.step();
  return { records: sel.records(), total: sel.total };
}
