/**
 * The bidirectional flow table: struct-of-arrays storage (FlowColumns) plus an open-addressing
 * index (linear probing, backward-shift deletion, so no tombstones). No object per flow and no
 * allocation per packet.
 *
 * - Both directions of a conversation meet in one entry (canonical key: lower endpoint = A).
 * - The initiator is the sender of the first packet, or its receiver when that packet is a
 *   TCP SYN-ACK (the capture started after the SYN).
 * - Expiry (sweep(), driven by the owner's clock: packet time offline, wall time live): idle
 *   timeout, active timeout (the flow is reported and the next packet starts a new segment), TCP
 *   flows with RST or FIN from both sides end `tcpCloseTimeout` after their last packet.
 * - Hard cap `maxFlows`: when full, the least recently active flows (about 0.4 % of the table,
 *   chosen by a sampled threshold on last-seen time) are evicted and counted.
 * - Every flow that leaves the table is passed to the `onEnded` listeners while its slot is still
 *   intact: that stream is the one seam for the recently-ended list, stores and exporters.
 *
 * Memory: BYTES_PER_SLOT (columns) + 2 × 4 bytes of index per slot (index size = 2 × slots).
 */
import type { DecodedPacket } from "../capture/packet.ts";
import { EndReason, FlowColumns, KEY_WORDS, META_INIT_B, META_LIVE, BYTES_PER_SLOT } from "./columns.ts";

export interface FlowTableConfig {
  /** Hard cap on live flows (default 1,000,000). */
  maxFlows?: number;
  /** Seconds without packets before a flow ends (default 60). */
  idleTimeout?: number;
  /** Seconds after which a long flow is reported and continues as a new segment (default 1800). */
  activeTimeout?: number;
  /** Seconds after the last packet of a TCP flow that saw RST or FIN both ways (default 15). */
  tcpCloseTimeout?: number;
  /** Never expire flows by time (the cap still applies). */
  noExpire?: boolean;
  /** Initial slots (default 65,536; grows by doubling up to maxFlows). */
  initialCapacity?: number;
}

export type EndedListener = (cols: FlowColumns, i: number, reason: number) => void;

const TCP_FIN = 1, TCP_SYN = 2, TCP_RST = 4, TCP_ACK = 16;

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export class FlowTable {
  readonly maxFlows: number;
  idleTimeout: number;
  activeTimeout: number;
  tcpCloseTimeout: number;
  noExpire: boolean;

  cols: FlowColumns;
  /** index slot → flow slot + 1 (0 = empty). */
  private index: Int32Array;
  private mask: number;
  private free: Int32Array;
  private freeTop = 0;
  /** Slots [0, hwm) have been used at least once. */
  hwm = 0;
  /** Live flows. */
  count = 0;
  private nextId = 1;
  /** Counters. */
  created = 0;
  ended = 0;
  evicted = 0;
  private readonly listeners: EndedListener[] = [];
  private readonly k = new Uint32Array(KEY_WORDS);
  private rng = 0x9e3779b9;

  constructor(config: FlowTableConfig = {}) {
    this.maxFlows = Math.max(16, Math.floor(config.maxFlows ?? 1_000_000));
    this.idleTimeout = config.idleTimeout ?? 60;
    this.activeTimeout = config.activeTimeout ?? 1800;
    this.tcpCloseTimeout = config.tcpCloseTimeout ?? 15;
    this.noExpire = config.noExpire ?? false;
    const cap = Math.min(nextPow2(config.initialCapacity ?? 65536), nextPow2(this.maxFlows));
    this.cols = new FlowColumns(cap);
    this.index = new Int32Array(cap * 2);
    this.mask = cap * 2 - 1;
    this.free = new Int32Array(cap);
  }

  onEnded(listener: EndedListener): void {
    this.listeners.push(listener);
  }

  /** Bytes held by the table (columns + index + free list). */
  byteSize(): number {
    return this.cols.byteSize() + this.index.byteLength + this.free.byteLength;
  }

  /** Bytes per flow slot, by construction (columns + index share). */
  static bytesPerSlot(): number {
    return BYTES_PER_SLOT + 2 * 4 + 4;
  }

  /**
   * Account one decoded IP packet. Returns the flow slot. `ipLen` and flags come from `p`.
   * Hot path: called once per packet.
   */
  add(p: DecodedPacket, ts: number, wirelen: number): number {
    const k = this.k;
    const s = p.src, d = p.dst;
    // Canonical order: compare (address, port) of src vs dst.
    let swap = false;
    if (s[0] !== d[0]) swap = s[0]! > d[0]!;
    else if (s[1] !== d[1]) swap = s[1]! > d[1]!;
    else if (s[2] !== d[2]) swap = s[2]! > d[2]!;
    else if (s[3] !== d[3]) swap = s[3]! > d[3]!;
    else swap = p.sport > p.dport;
    if (swap) {
      k[0] = d[0]!; k[1] = d[1]!; k[2] = d[2]!; k[3] = d[3]!;
      k[4] = s[0]!; k[5] = s[1]!; k[6] = s[2]!; k[7] = s[3]!;
      k[8] = ((p.dport << 16) | p.sport) >>> 0;
    } else {
      k[0] = s[0]!; k[1] = s[1]!; k[2] = s[2]!; k[3] = s[3]!;
      k[4] = d[0]!; k[5] = d[1]!; k[6] = d[2]!; k[7] = d[3]!;
      k[8] = ((p.sport << 16) | p.dport) >>> 0;
    }
    const vlan = p.vlan;
    k[9] = (p.proto | (p.ipVersion === 6 ? 0x100 : 0) | (vlan >= 0 ? 0x200 | (vlan << 16) : 0)) >>> 0;
    const h = hashKey(k);
    const cols = this.cols;
    const key = cols.key;
    const index = this.index;
    const mask = this.mask;
    let slot = h & mask;
    let i = -1;
    for (;;) {
      const e = index[slot]!;
      if (e === 0) break;
      const f = e - 1;
      if (cols.hash[f] === h) {
        const o = f * KEY_WORDS;
        if (
          key[o + 8] === k[8] && key[o + 9] === k[9] && key[o] === k[0] && key[o + 4] === k[4] &&
          key[o + 1] === k[1] && key[o + 2] === k[2] && key[o + 3] === k[3] &&
          key[o + 5] === k[5] && key[o + 6] === k[6] && key[o + 7] === k[7]
        ) {
          i = f;
          break;
        }
      }
      slot = (slot + 1) & mask;
    }
    const dir = swap ? 1 : 0;
    if (i < 0) {
      i = this.insert(h, ts, p, dir);
    } else {
      if (ts > cols.last[i]!) cols.last[i] = ts;
      else if (ts < cols.first[i]!) cols.first[i] = ts;
    }
    const j = i * 2 + dir;
    cols.pkts[j]!++;
    cols.bytes[j]! += wirelen;
    cols.flags[j]! |= p.tcpFlags;
    cols.ipBytes[i]! += p.ipLen;
    cols.tickBytes[i]! += wirelen;
    cols.tickPkts[i]!++;
    return i;
  }

  /** Create a flow for key `this.k`; the slot has no packets yet. */
  private insert(h: number, ts: number, p: DecodedPacket, dir: number): number {
    if (this.count >= this.maxFlows) this.evictOldest();
    let i: number;
    if (this.freeTop > 0) i = this.free[--this.freeTop]!;
    else {
      if (this.hwm === this.cols.capacity) this.grow();
      i = this.hwm++;
    }
    const cols = this.cols;
    cols.key.set(this.k, i * KEY_WORDS);
    cols.hash[i] = h;
    cols.id[i] = this.nextId++;
    cols.first[i] = ts;
    cols.last[i] = ts;
    cols.pkts[i * 2] = 0;
    cols.pkts[i * 2 + 1] = 0;
    cols.bytes[i * 2] = 0;
    cols.bytes[i * 2 + 1] = 0;
    cols.flags[i * 2] = 0;
    cols.flags[i * 2 + 1] = 0;
    cols.ipBytes[i] = 0;
    cols.tickBytes[i] = 0;
    cols.tickPkts[i] = 0;
    cols.bps[i] = 0;
    // Initiator: the sender, unless the first packet is a SYN-ACK (then its receiver).
    let initB = dir === 1;
    if (p.proto === 6 && (p.tcpFlags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) initB = !initB;
    cols.meta[i] = META_LIVE | (initB ? META_INIT_B : 0);
    let slot = h & this.mask;
    while (this.index[slot] !== 0) slot = (slot + 1) & this.mask;
    this.index[slot] = i + 1;
    this.count++;
    this.created++;
    return i;
  }

  private grow(): void {
    const cap = Math.min(this.cols.capacity * 2, nextPow2(this.maxFlows));
    if (cap <= this.cols.capacity) throw new Error("flow table cannot grow past maxFlows");
    this.cols.grow(cap);
    const free = new Int32Array(cap);
    free.set(this.free.subarray(0, this.freeTop));
    this.free = free;
    this.index = new Int32Array(cap * 2);
    this.mask = cap * 2 - 1;
    const cols = this.cols;
    for (let i = 0; i < this.hwm; i++) {
      if (!(cols.meta[i]! & META_LIVE)) continue;
      let slot = cols.hash[i]! & this.mask;
      while (this.index[slot] !== 0) slot = (slot + 1) & this.mask;
      this.index[slot] = i + 1;
    }
  }

  /** End flow `i`: notify listeners, then free its slot. */
  end(i: number, reason: number): void {
    const cols = this.cols;
    cols.meta[i] = (cols.meta[i]! & 0x0f) | (reason << 4);
    const ls = this.listeners;
    for (let n = 0; n < ls.length; n++) ls[n]!(cols, i, reason);
    cols.meta[i] = 0;
    // Remove from the index (backward-shift deletion).
    const mask = this.mask;
    const index = this.index;
    let s = cols.hash[i]! & mask;
    while (index[s] !== i + 1) s = (s + 1) & mask;
    let hole = s;
    let j = s;
    for (;;) {
      j = (j + 1) & mask;
      const e = index[j]!;
      if (e === 0) break;
      const home = cols.hash[e - 1]! & mask;
      // Move e into the hole if its home is not in (hole, j] cyclically.
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!inRange) {
        index[hole] = e;
        hole = j;
      }
    }
    index[hole] = 0;
    this.free[this.freeTop++] = i;
    this.count--;
    this.ended++;
    if (reason === EndReason.evicted) this.evicted++;
  }

  /** Evict about 0.4 % of the table: flows whose last-seen is at or below a sampled threshold. */
  private evictOldest(): void {
    const cols = this.cols;
    const hwm = this.hwm;
    let threshold = Infinity;
    for (let n = 0, tries = 0; n < 256 && tries < 4096; tries++) {
      this.rng ^= this.rng << 13;
      this.rng ^= this.rng >>> 17;
      this.rng ^= this.rng << 5;
      const i = (this.rng >>> 0) % hwm;
      if (!(cols.meta[i]! & META_LIVE)) continue;
      n++;
      if (cols.last[i]! < threshold) threshold = cols.last[i]!;
    }
    const before = this.count;
    for (let i = 0; i < hwm; i++) {
      if (cols.meta[i]! & META_LIVE && cols.last[i]! <= threshold) this.end(i, EndReason.evicted);
    }
    if (this.count === before) {
      // No sample hit (tiny table): evict the single oldest.
      let oldest = -1;
      for (let i = 0; i < hwm; i++) {
        if (cols.meta[i]! & META_LIVE && (oldest < 0 || cols.last[i]! < cols.last[oldest]!)) oldest = i;
      }
      if (oldest >= 0) this.end(oldest, EndReason.evicted);
    }
  }

  /** End flows that timed out at clock `now` (seconds). Returns how many ended. */
  sweep(now: number): number {
    if (this.noExpire) return 0;
    const cols = this.cols;
    const idleBefore = now - this.idleTimeout;
    const closeBefore = now - this.tcpCloseTimeout;
    const activeBefore = now - this.activeTimeout;
    let n = 0;
    for (let i = 0; i < this.hwm; i++) {
      if (!(cols.meta[i]! & META_LIVE)) continue;
      const last = cols.last[i]!;
      if (last < idleBefore) {
        this.end(i, EndReason.idle);
        n++;
      } else if (last < closeBefore && (cols.key[i * KEY_WORDS + 9]! & 0xff) === 6 && isClosed(cols.flags[i * 2]!, cols.flags[i * 2 + 1]!)) {
        this.end(i, EndReason.tcp_close);
        n++;
      } else if (cols.first[i]! < activeBefore) {
        this.end(i, EndReason.active_timeout);
        n++;
      }
    }
    return n;
  }

  /** Rate tick: bps over `dt` seconds from per-flow tick counters, then reset them. */
  rateTick(dt: number, visit?: (cols: FlowColumns, i: number) => void): void {
    const cols = this.cols;
    const f = dt > 0 ? 8 / dt : 0;
    for (let i = 0; i < this.hwm; i++) {
      if (!(cols.meta[i]! & META_LIVE)) continue;
      if (visit !== undefined && cols.tickPkts[i]! > 0) visit(cols, i);
      cols.bps[i] = cols.tickBytes[i]! * f;
      cols.tickBytes[i] = 0;
      cols.tickPkts[i] = 0;
    }
  }

  /** End every live flow (end of capture, shutdown). */
  flushAll(reason: number = EndReason.end_of_capture): void {
    const cols = this.cols;
    for (let i = 0; i < this.hwm; i++) if (cols.meta[i]! & META_LIVE) this.end(i, reason);
  }

  /** Calls fn for each live flow slot. */
  forEach(fn: (cols: FlowColumns, i: number) => void): void {
    const cols = this.cols;
    for (let i = 0; i < this.hwm; i++) if (cols.meta[i]! & META_LIVE) fn(cols, i);
  }

  /** Slot of the live flow with this id, or -1. O(n): for detail lookups only. */
  findById(id: number): number {
    const cols = this.cols;
    for (let i = 0; i < this.hwm; i++) if (cols.meta[i]! & META_LIVE && cols.id[i] === id) return i;
    return -1;
  }
}

function isClosed(fa: number, fb: number): boolean {
  return ((fa | fb) & TCP_RST) !== 0 || ((fa & TCP_FIN) !== 0 && (fb & TCP_FIN) !== 0);
}

/** murmur3-style mix of the 10 key words (same construction as the C reference's table). */
export function hashKey(k: Uint32Array): number {
  let h = 0x9747b28c;
  for (let n = 0; n < KEY_WORDS; n++) {
    let x = Math.imul(k[n]!, 0xcc9e2d51);
    x = (x << 15) | (x >>> 17);
    x = Math.imul(x, 0x1b873593);
    h ^= x;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= KEY_WORDS * 4;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
