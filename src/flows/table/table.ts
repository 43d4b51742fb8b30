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
 * Memory per flow slot: BYTES_PER_SLOT (104: key + one 64-byte record) + 8 bytes of index (two
 * 32-bit index entries per flow slot, so the load factor stays ≤ 0.5; an entry holds the slot in
 * its low 24 bits and the top 8 bits of the key's hash as a filter). Free slots are chained
 * through word 0 of their key, so there is no free-list array. Limit: 16,777,215 flows.
 */
import type { DecodedPacket } from "../../capture/packet.ts";
import { fmix, hashKey, mix, SEED } from "./hash.ts";
import {
  BYTES_PER_SLOT, EndReason, F_BYTES, F_FIRST, F_ID, F_LAST, FlowColumns, IPPROTO_TCP, KEY_WORDS, KW_PROTO, META_INIT_B, META_LIVE, PW_ORIGIN_MASK, PW_ORIGIN_SHIFT, PW_PROTO, PW_V6, PW_VLAN, PW_VLAN_SHIFT,
  REC_F64, REC_U32, U_FLAGS, U_PKTS, U_RATE, U_TICK_BYTES, U_TICK_PKTS,
} from "./columns.ts";

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
  /** Id of the first flow (default 1): a store continues ids across restarts, so they never repeat. */
  firstFlowId?: number;
  /** Initial slots (default 65,536; grows by doubling up to maxFlows). */
  initialCapacity?: number;
  /**
   * Column slots to allocate at once (default: initialCapacity), up to maxFlows: memory that is
   * only made resident as slots are used (typed arrays are zero pages until written), so the
   * columns never have to be copied into larger ones (`flows --read` sizes it from the file). The
   * index still starts at initialCapacity and doubles with the live flows, so lookups stay in a
   * cache-sized array when the flows are few.
   */
  reserveSlots?: number;
  /** Count bytes/packets per one-second tick for rates and talkers (default true). */
  ticks?: boolean;
}

/** A flow record to account (src/collect CollectedFlow): addresses in the key's word layout, times in seconds. */
export interface FlowRecordIn {
  ipVersion: 4 | 6;
  src: ArrayLike<number>;
  dst: ArrayLike<number>;
  sport: number;
  dport: number;
  proto: number;
  /** -1 when untagged. */
  vlan: number;
  first: number;
  last: number;
  /** Forward direction (src → dst), and the reverse direction of a biflow record (0 otherwise). */
  bytes: number;
  packets: number;
  flags: number;
  rbytes: number;
  rpackets: number;
  rflags: number;
  /** 0 unknown, 1 src is the initiator, 2 dst is. */
  initiator: number;
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
  readonly ticks: boolean;

  cols: FlowColumns;
  /** Index entries: (hash >>> 24) << 24 | (flow slot + 1); 0 = empty. */
  private index: Int32Array;
  private mask: number;
  /** Head of the free-slot chain (slot + 1; 0 = empty); the next link is in key word 0. */
  private freeHead = 0;
  /** Slots [0, hwm) have been used at least once. */
  hwm = 0;
  /** The most slots ever in use (hwm before any flushAll): their pages are resident, the rest never written. */
  slotsUsed = 0;
  /** Live flows. */
  count = 0;
  private nextId = 1;
  /** Counters. */
  created = 0;
  ended = 0;
  evicted = 0;
  private readonly listeners: EndedListener[] = [];
  private readonly k = new Int32Array(KEY_WORDS);
  /**
   * Each slot's key hash, kept when the flow is inserted: growing the index and deleting from it
   * (backward shift) read it instead of hashing the key again (~30-50 ns a slot; growing the
   * index of a 950 k-flow scan rehashed ~1 M keys). 4 bytes a slot, sized with the columns.
   */
  private hashes: Int32Array;
  private rng = 0x9e3779b9;

  constructor(config: FlowTableConfig = {}) {
    this.maxFlows = Math.min(0xfffffe, Math.max(16, Math.floor(config.maxFlows ?? 1_000_000)));
    this.idleTimeout = config.idleTimeout ?? 60;
    this.activeTimeout = config.activeTimeout ?? 1800;
    this.tcpCloseTimeout = config.tcpCloseTimeout ?? 15;
    this.nextId = Math.max(1, Math.floor(config.firstFlowId ?? 1));
    this.noExpire = config.noExpire ?? false;
    this.ticks = config.ticks ?? true;
    const cap = Math.min(nextPow2(config.initialCapacity ?? 65536), nextPow2(this.maxFlows));
    this.cols = new FlowColumns(Math.min(nextPow2(Math.max(cap, config.reserveSlots ?? 0)), nextPow2(this.maxFlows)));
    this.hashes = new Int32Array(this.cols.capacity);
    // The index holds at most half as many live flows as entries (linear probing stays short).
    this.index = new Int32Array(cap * 2);
    this.mask = cap * 2 - 1;
  }

  onEnded(listener: EndedListener): void {
    this.listeners.push(listener);
  }

  /**
   * Bytes held by the table: the columns and kept hashes of the most slots ever used (slots
   * beyond are zero pages that were never written) and the index.
   */
  byteSize(): number {
    return this.slotsUsed * (BYTES_PER_SLOT + 4) + this.index.byteLength;
  }

  /** Bytes per flow slot, by construction (columns, the kept hash, the index's share). */
  static bytesPerSlot(): number {
    return BYTES_PER_SLOT + 4 + 2 * 4;
  }

  /**
   * Account one decoded IP packet. Returns the flow slot. `ipLen` and flags come from `p`.
   * Hot path: called once per packet.
   */
  add(p: DecodedPacket, ts: number, wirelen: number): number {
    const s = p.src, d = p.dst;
    const s0 = s[0]!, s1 = s[1]!, s2 = s[2]!, s3 = s[3]!;
    const d0 = d[0]!, d1 = d[1]!, d2 = d[2]!, d3 = d[3]!;
    const v6 = p.ipVersion === 6;
    // Canonical order (any consistent total order will do): compare (address, port) of src vs dst.
    let swap: boolean;
    if (s0 !== d0) swap = s0 > d0;
    else if (s1 !== d1) swap = s1 > d1;
    else if (s2 !== d2) swap = s2 > d2;
    else if (s3 !== d3) swap = s3 > d3;
    else swap = p.sport > p.dport;
    let a0, a1, a2, a3, b0, b1, b2, b3, pw;
    if (swap) {
      a0 = d0; a1 = d1; a2 = d2; a3 = d3; b0 = s0; b1 = s1; b2 = s2; b3 = s3;
      pw = (p.dport << 16) | p.sport;
    } else {
      a0 = s0; a1 = s1; a2 = s2; a3 = s3; b0 = d0; b1 = d1; b2 = d2; b3 = d3;
      pw = (p.sport << 16) | p.dport;
    }
    const vlan = p.vlan;
    const w9 = p.proto | (v6 ? PW_V6 : 0) | (vlan >= 0 ? PW_VLAN | (vlan << PW_VLAN_SHIFT) : 0);
    // hashKey() inlined over locals (no scratch writes on the lookup path); same two paths.
    let h = SEED;
    if (w9 & PW_V6) {
      h = mix(h, a0); h = mix(h, a1); h = mix(h, a2); h = mix(h, a3); h = mix(h, b0);
      h = mix(h, b1); h = mix(h, b2); h = mix(h, b3); h = mix(h, pw); h = mix(h, w9);
    } else {
      h = mix(h, a0); h = mix(h, b0); h = mix(h, pw); h = mix(h, w9);
    }
    h = fmix(h);
    const key = this.cols.key;
    const index = this.index;
    const mask = this.mask;
    const tag = h >>> 24;
    let slot = h & mask;
    let i = -1;
    for (;;) {
      const e = index[slot]!;
      if (e === 0) break;
      if (e >>> 24 === tag) {
        const f = (e & 0xffffff) - 1;
        const o = f * KEY_WORDS;
        // Equal word 9 means the same family: IPv4 keys have zeros in words 1-3 and 5-7.
        if (
          key[o + 8] === pw && key[o + 9] === w9 && key[o] === a0 && key[o + 4] === b0 &&
          ((w9 & PW_V6) === 0 || (key[o + 1] === a1 && key[o + 2] === a2 && key[o + 3] === a3 &&
            key[o + 5] === b1 && key[o + 6] === b2 && key[o + 7] === b3))
        ) {
          i = f;
          break;
        }
      }
      slot = (slot + 1) & mask;
    }
    // A packet that arrives after its flow timed out starts a new flow, whether or not a sweep
    // has run since (so flow splits do not depend on how often the table is swept).
    if (i >= 0 && !this.noExpire) {
      const reason = this.expiry(i, ts);
      if (reason !== 0) {
        this.end(i, reason);
        i = -1;
      }
    }
    if (i < 0) {
      const k = this.k;
      k[0] = a0; k[1] = a1; k[2] = a2; k[3] = a3; k[4] = b0; k[5] = b1; k[6] = b2; k[7] = b3; k[8] = pw; k[9] = w9;
      // Initiator: the sender, unless the first packet is a SYN-ACK (then its receiver).
      let initB = swap;
      if (p.proto === 6 && (p.tcpFlags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) initB = !initB;
      i = this.insert(h, ts, initB);
    }
    const dir = swap ? 1 : 0;
    const f64 = this.cols.f64, u32 = this.cols.u32;
    const fo = i * REC_F64, uo = i * REC_U32;
    if (ts > f64[fo + F_LAST]!) f64[fo + F_LAST] = ts;
    else if (ts < f64[fo + F_FIRST]!) f64[fo + F_FIRST] = ts;
    f64[fo + F_BYTES + dir]! += wirelen;
    u32[uo + U_PKTS + dir]!++;
    if (p.tcpFlags !== 0) u32[uo + U_FLAGS]! |= p.tcpFlags << (dir * 8);
    if (this.ticks) {
      u32[uo + U_TICK_BYTES]! += wirelen;
      u32[uo + U_TICK_PKTS]!++;
    }
    return i;
  }

  /**
   * Account one flow record from a NetFlow/IPFIX exporter (src/collect), not a packet: its counters
   * per direction, its TCP flags and its time span join the flow of the same key — the 5-tuple in
   * either order, VLAN and `origin` (1..63: the exporter and observation domain; see columns.ts
   * PW_ORIGIN_SHIFT). That is the pairing rule: a record joins a live flow of its origin whose key
   * it carries forwards or reversed, unless by the record's start time that flow has ended (idle
   * timeout since its last time, active timeout since its first, TCP close), the same rules that
   * join packets into flows; otherwise it starts a new flow. So the two unidirectional records a
   * router exports for one conversation become one bidirectional flow, and an exporter's
   * active-timeout segments continue theirs.
   *
   * Initiator of a new flow: the record's source, or its destination when the record says so
   * (biflowDirection 2). A record of the other direction that started strictly earlier than the
   * flow makes its own source the initiator (the reply's record often arrives first).
   * Rates and talkers count the record's bytes in the second it arrives (a record is a summary).
   * Returns the flow slot.
   */
  addRecord(r: FlowRecordIn, origin: number): number {
    const s = r.src, d = r.dst;
    const v6 = r.ipVersion === 6;
    const s0 = s[0]!, s1 = v6 ? s[1]! : 0, s2 = v6 ? s[2]! : 0, s3 = v6 ? s[3]! : 0;
    const d0 = d[0]!, d1 = v6 ? d[1]! : 0, d2 = v6 ? d[2]! : 0, d3 = v6 ? d[3]! : 0;
    let swap: boolean;
    if (s0 !== d0) swap = s0 > d0;
    else if (s1 !== d1) swap = s1 > d1;
    else if (s2 !== d2) swap = s2 > d2;
    else if (s3 !== d3) swap = s3 > d3;
    else swap = r.sport > r.dport;
    const k = this.k;
    if (swap) {
      k[0] = d0; k[1] = d1; k[2] = d2; k[3] = d3; k[4] = s0; k[5] = s1; k[6] = s2; k[7] = s3;
      k[8] = (r.dport << 16) | r.sport;
    } else {
      k[0] = s0; k[1] = s1; k[2] = s2; k[3] = s3; k[4] = d0; k[5] = d1; k[6] = d2; k[7] = d3;
      k[8] = (r.sport << 16) | r.dport;
    }
    const vlan = r.vlan;
    k[9] = (r.proto & PW_PROTO) | (v6 ? PW_V6 : 0) | ((origin & PW_ORIGIN_MASK) << PW_ORIGIN_SHIFT) |
      (vlan >= 0 ? PW_VLAN | ((vlan & 0xfff) << PW_VLAN_SHIFT) : 0);
    const h = hashKey(k, 0);
    const key = this.cols.key, index = this.index, mask = this.mask, tag = h >>> 24;
    let slot = h & mask;
    let i = -1;
    for (;;) {
      const e = index[slot]!;
      if (e === 0) break;
      if (e >>> 24 === tag) {
        const f = (e & 0xffffff) - 1, o = f * KEY_WORDS;
        let same = true;
        for (let w = 0; w < KEY_WORDS; w++) {
          if (key[o + w] !== k[w]) {
            same = false;
            break;
          }
        }
        if (same) {
          i = f;
          break;
        }
      }
      slot = (slot + 1) & mask;
    }
    const first = Math.min(r.first, r.last), last = Math.max(r.first, r.last);
    if (i >= 0 && !this.noExpire) {
      const reason = this.expiry(i, first);
      if (reason !== 0) {
        this.end(i, reason);
        i = -1;
      }
    }
    const fwd = swap ? 1 : 0;
    let f64 = this.cols.f64, u32 = this.cols.u32;
    if (i < 0) {
      i = this.insert(h, first, r.initiator === 2 ? !swap : swap);
      f64 = this.cols.f64;
      u32 = this.cols.u32;
    } else if (r.initiator === 0 && first < f64[i * REC_F64 + F_FIRST]!) {
      const m = this.cols.meta(i);
      this.cols.setMeta(i, swap ? m | META_INIT_B : m & ~META_INIT_B);
    }
    const fo = i * REC_F64, uo = i * REC_U32;
    if (first < f64[fo + F_FIRST]!) f64[fo + F_FIRST] = first;
    if (last > f64[fo + F_LAST]!) f64[fo + F_LAST] = last;
    f64[fo + F_BYTES + fwd]! += r.bytes;
    f64[fo + F_BYTES + 1 - fwd]! += r.rbytes;
    u32[uo + U_PKTS + fwd] = Math.min(0xffffffff, u32[uo + U_PKTS + fwd]! + r.packets);
    u32[uo + U_PKTS + 1 - fwd] = Math.min(0xffffffff, u32[uo + U_PKTS + 1 - fwd]! + r.rpackets);
    const fl = ((r.flags & 0xff) << (fwd * 8)) | ((r.rflags & 0xff) << ((1 - fwd) * 8));
    if (fl !== 0) u32[uo + U_FLAGS]! |= fl;
    if (this.ticks) {
      u32[uo + U_TICK_BYTES] = Math.min(0xffffffff, u32[uo + U_TICK_BYTES]! + r.bytes + r.rbytes);
      u32[uo + U_TICK_PKTS] = Math.min(0xffffffff, u32[uo + U_TICK_PKTS]! + r.packets + r.rpackets);
    }
    return i;
  }

  /**
   * Why live flow i has ended by clock `now` (EndReason), or 0 when it has not: idle, then TCP
   * closed (RST, or FIN both ways) for tcpCloseTimeout, then active timeout. The one place these
   * rules live: used on packet arrival and by sweep().
   */
  private expiry(i: number, now: number): number {
    const f64 = this.cols.f64;
    const last = f64[i * REC_F64 + F_LAST]!;
    if (now - last > this.idleTimeout) return EndReason.idle;
    if (now - last > this.tcpCloseTimeout && (this.cols.key[i * KEY_WORDS + KW_PROTO]! & PW_PROTO) === IPPROTO_TCP) {
      const fl = this.cols.u32[i * REC_U32 + U_FLAGS]!;
      if (isClosed(fl & 0xff, (fl >>> 8) & 0xff)) return EndReason.tcp_close;
    }
    if (now - f64[i * REC_F64 + F_FIRST]! > this.activeTimeout) return EndReason.active_timeout;
    return 0;
  }

  /** Create a flow for key `this.k`; the slot has no packets yet. `initB`: the initiator is endpoint B. */
  private insert(h: number, ts: number, initB: boolean): number {
    if (this.count >= this.maxFlows) this.evictOldest();
    let i: number;
    if (this.freeHead !== 0) {
      i = this.freeHead - 1;
      this.freeHead = this.cols.key[i * KEY_WORDS]!;
    } else {
      if (this.hwm === this.cols.capacity) this.growColumns();
      i = this.hwm++;
      if (this.hwm > this.slotsUsed) this.slotsUsed = this.hwm;
    }
    if ((this.count + 1) * 2 > this.index.length) this.growIndex();
    const cols = this.cols;
    const k = this.k, key = cols.key, o = i * KEY_WORDS;
    key[o] = k[0]!; key[o + 1] = k[1]!; key[o + 2] = k[2]!; key[o + 3] = k[3]!; key[o + 4] = k[4]!;
    key[o + 5] = k[5]!; key[o + 6] = k[6]!; key[o + 7] = k[7]!; key[o + 8] = k[8]!; key[o + 9] = k[9]!;
    const f64 = cols.f64, u32 = cols.u32, fo = i * REC_F64, uo = i * REC_U32;
    f64[fo + F_FIRST] = ts;
    f64[fo + F_LAST] = ts;
    f64[fo + F_BYTES] = 0;
    f64[fo + F_BYTES + 1] = 0;
    f64[fo + F_ID] = this.nextId++;
    u32[uo + U_PKTS] = 0;
    u32[uo + U_PKTS + 1] = 0;
    u32[uo + U_TICK_BYTES] = 0;
    u32[uo + U_TICK_PKTS] = 0;
    u32[uo + U_RATE] = 0;
    u32[uo + U_FLAGS] = (META_LIVE | (initB ? META_INIT_B : 0)) << 16;
    this.hashes[i] = h;
    let slot = h & this.mask;
    while (this.index[slot] !== 0) slot = (slot + 1) & this.mask;
    this.index[slot] = ((h >>> 24) << 24) | (i + 1);
    this.count++;
    this.created++;
    return i;
  }

  /** Columns of twice the slots (the live ones copied), up to maxFlows. */
  private growColumns(): void {
    const cap = Math.min(this.cols.capacity * 2, nextPow2(this.maxFlows));
    if (cap <= this.cols.capacity) throw new Error("flow table cannot grow past maxFlows");
    this.cols.grow(cap);
    const hashes = new Int32Array(cap);
    hashes.set(this.hashes);
    this.hashes = hashes;
  }

  /** An index of twice the entries, rebuilt from the live slots. */
  private growIndex(): void {
    const size = this.index.length * 2;
    this.index = new Int32Array(size);
    this.mask = size - 1;
    this.reindex();
  }

  /** Rebuild the index from the live slots. */
  private reindex(): void {
    const cols = this.cols;
    const index = this.index;
    const mask = this.mask;
    for (let i = 0; i < this.hwm; i++) {
      if (!cols.isLive(i)) continue;
      const h = this.hashes[i]!;
      let slot = h & mask;
      while (index[slot] !== 0) slot = (slot + 1) & mask;
      index[slot] = ((h >>> 24) << 24) | (i + 1);
    }
  }

  /** End flow `i`: notify listeners, then free its slot. */
  end(i: number, reason: number): void {
    const cols = this.cols;
    cols.setMeta(i, (cols.meta(i) & 0x0f) | (reason << 4));
    const ls = this.listeners;
    for (let n = 0; n < ls.length; n++) ls[n]!(cols, i, reason);
    cols.setMeta(i, 0);
    // Remove from the index (backward-shift deletion).
    const mask = this.mask;
    const index = this.index;
    const hashes = this.hashes;
    let s = hashes[i]! & mask;
    while ((index[s]! & 0xffffff) !== i + 1) s = (s + 1) & mask;
    let hole = s;
    let j = s;
    for (;;) {
      j = (j + 1) & mask;
      const e = index[j]!;
      if (e === 0) break;
      const home = hashes[(e & 0xffffff) - 1]! & mask;
      // Move e into the hole if its home is not in (hole, j] cyclically.
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!inRange) {
        index[hole] = e;
        hole = j;
      }
    }
    index[hole] = 0;
    cols.key[i * KEY_WORDS] = this.freeHead;
    this.freeHead = i + 1;
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
      if (!cols.isLive(i)) continue;
      n++;
      if (cols.last(i) < threshold) threshold = cols.last(i);
    }
    const before = this.count;
    for (let i = 0; i < hwm; i++) {
      if (cols.isLive(i) && cols.last(i) <= threshold) this.end(i, EndReason.evicted);
    }
    if (this.count === before) {
      // No sample hit (tiny table): evict the single oldest.
      let oldest = -1;
      for (let i = 0; i < hwm; i++) {
        if (cols.isLive(i) && (oldest < 0 || cols.last(i) < cols.last(oldest))) oldest = i;
      }
      if (oldest >= 0) this.end(oldest, EndReason.evicted);
    }
  }

  /** End flows in slots [from, to) that timed out at clock `now` (seconds). Returns how many ended. */
  sweep(now: number, from = 0, to = this.hwm): number {
    if (this.noExpire) return 0;
    const u32 = this.cols.u32;
    let n = 0;
    const end = Math.min(to, this.hwm);
    for (let i = from; i < end; i++) {
      if (!((u32[i * REC_U32 + U_FLAGS]! >>> 16) & META_LIVE)) continue;
      n += this.expireSlot(i, now);
    }
    return n;
  }

  /**
   * Rate tick over slots [from, to): rate over `dt` seconds from the per-flow tick counters, then
   * reset them; `visit` sees each flow that carried packets.
   */
  rateTick(dt: number, visit?: (cols: FlowColumns, i: number) => void, from = 0, to = this.hwm): void {
    const u32 = this.cols.u32;
    const f = dt > 0 ? 1 / dt : 0;
    const end = Math.min(to, this.hwm);
    for (let i = from; i < end; i++) {
      if (!((u32[i * REC_U32 + U_FLAGS]! >>> 16) & META_LIVE)) continue;
      this.rateSlot(i, f, visit);
    }
  }

  /**
   * rateTick and sweep in one pass over slots [from, to) (the tick job's common case: each record
   * is read once, not twice): per slot, its rate first, then its expiry at `now`, so every slot
   * ends up as after rateTick(dt, visit, from, to) then sweep(now, from, to). Returns how many ended.
   */
  rateTickSweep(dt: number, now: number, visit?: (cols: FlowColumns, i: number) => void, from = 0, to = this.hwm): number {
    if (this.noExpire) {
      this.rateTick(dt, visit, from, to);
      return 0;
    }
    const u32 = this.cols.u32;
    const f = dt > 0 ? 1 / dt : 0;
    const end = Math.min(to, this.hwm);
    let n = 0;
    for (let i = from; i < end; i++) {
      if (!((u32[i * REC_U32 + U_FLAGS]! >>> 16) & META_LIVE)) continue;
      this.rateSlot(i, f, visit);
      n += this.expireSlot(i, now);
    }
    return n;
  }

  /** Live slot i's rate from its tick counters (× f = 1 / dt), then the counters reset; `visit` first if it carried packets. */
  private rateSlot(i: number, f: number, visit: ((cols: FlowColumns, i: number) => void) | undefined): void {
    const u32 = this.cols.u32;
    const o = i * REC_U32;
    if (u32[o + U_TICK_PKTS] === 0) {
      if (u32[o + U_RATE] !== 0) u32[o + U_RATE] = 0;
      return;
    }
    if (visit !== undefined) visit(this.cols, i);
    u32[o + U_RATE] = Math.min(0xffffffff, Math.round(u32[o + U_TICK_BYTES]! * f));
    u32[o + U_TICK_BYTES] = 0;
    u32[o + U_TICK_PKTS] = 0;
  }

  /** Ends live slot i if it timed out at `now`: 1 if it ended, else 0. */
  private expireSlot(i: number, now: number): number {
    const reason = this.expiry(i, now);
    if (reason === 0) return 0;
    this.end(i, reason);
    return 1;
  }

  /**
   * End every live flow (end of capture, shutdown): each goes to the listeners, then the table is
   * emptied in one step (no per-flow index deletion).
   */
  flushAll(reason: number = EndReason.end_of_capture): void {
    const cols = this.cols;
    const ls = this.listeners;
    for (let i = 0; i < this.hwm; i++) {
      if (!cols.isLive(i)) continue;
      cols.setMeta(i, (cols.meta(i) & 0x0f) | (reason << 4));
      for (let n = 0; n < ls.length; n++) ls[n]!(cols, i, reason);
      cols.setMeta(i, 0);
      this.ended++;
      if (reason === EndReason.evicted) this.evicted++;
    }
    this.index.fill(0);
    this.count = 0;
    this.hwm = 0;
    this.freeHead = 0;
  }

  /** Calls fn for each live flow slot. */
  forEach(fn: (cols: FlowColumns, i: number) => void): void {
    const cols = this.cols;
    for (let i = 0; i < this.hwm; i++) if (cols.isLive(i)) fn(cols, i);
  }

  /** Slot of the live flow with this id, or -1. O(n): for detail lookups only. */
  findById(id: number): number {
    const cols = this.cols;
    for (let i = 0; i < this.hwm; i++) if (cols.isLive(i) && cols.id(i) === id) return i;
    return -1;
  }
}

function isClosed(fa: number, fb: number): boolean {
  return ((fa | fb) & TCP_RST) !== 0 || ((fa & TCP_FIN) !== 0 && (fb & TCP_FIN) !== 0);
}
