/**
 * Selecting flows for a page: filter with a compiled query over the live table and/or the
 * recently-ended ring, keep the best `offset + limit` by a sort key in a bounded heap
 * (O(n log k), no full sort of a million matches), then build records for the page only.
 *
 * Limit: offset + limit ≤ 1,000,000 (the heap is sized to it).
 */
import type { FlowColumns } from "./columns.ts";
import type { EndedRing } from "./ended.ts";
import type { FlowScan } from "./query-compile.ts";
import { toRecord, type FlowRecord } from "./record.ts";
import type { FlowTable } from "./table.ts";

export const SORT_KEYS = [
  "bytes", "packets", "bps", "duration", "first_seen", "last_seen",
  "src_ip", "dst_ip", "src_port", "dst_port", "protocol",
] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type Membership = "active" | "ended" | "all";

export interface SelectOptions {
  state: Membership;
  sortBy: SortKey;
  order: "asc" | "desc";
  offset: number;
  limit: number;
}

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
  /** Refs best first. */
  sorted(): number[] {
    const idx = Array.from({ length: this.n }, (_, k) => k);
    idx.sort((a, b) => (this.worse(this.vals[a]!, this.tie[a]!, this.vals[b]!, this.tie[b]!) ? 1 : -1));
    return idx.map((k) => this.refs[k]!);
  }
}

/** Reused match buffer (grown on demand): slots written by the compiled scan. */
let matches = new Uint32Array(1 << 16);

/**
 * Scan slots [0, to) of `c` and offer every match to `top`; ring slots are stored as refs < 0.
 * Returns the number of matches.
 */
function offer(top: TopK, scan: FlowScan, c: FlowColumns, to: number, live: boolean, key: SortKey): number {
  if (matches.length < to) matches = new Uint32Array(Math.max(to, matches.length * 2));
  const n = scan(c, 0, to, matches, live);
  for (let m = 0; m < n; m++) {
    const i = matches[m]!;
    top.push(sortValue(c, i, key), live ? i : -(i + 1), c.id(i));
  }
  return n;
}

/**
 * Run the compiled query `scan` over the chosen flows; returns the page of records and the total
 * number of matches.
 */
export function selectFlows(table: FlowTable, recent: EndedRing, scan: FlowScan, o: SelectOptions): Selection {
  const top = new TopK(Math.min(o.offset + o.limit, 1_000_000), o.order === "desc");
  let total = 0;
  if (o.state !== "ended") total += offer(top, scan, table.cols, table.hwm, true, o.sortBy);
  if (o.state !== "active") total += offer(top, scan, recent.cols, recent.size, false, o.sortBy);
  const refs = top.sorted().slice(o.offset);
  const records = refs.map((r) => (r >= 0 ? toRecord(table.cols, r) : toRecord(recent.cols, -r - 1)));
  return { records, total };
}
