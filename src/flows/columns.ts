/**
 * Struct-of-arrays storage for flows. One instance backs the live flow table, another the
 * "recently ended" ring; the query module, CSV and the API read both through the same layout.
 *
 * Layout of flow slot `i` (no object per flow):
 * - `key[i*10 .. i*10+9]`: canonical bidirectional key. Endpoint A is the lower (address, port)
 *   pair, compared word by word, so both directions of a conversation produce the same key.
 *     [0..3] address A, [4..7] address B — IPv4 in word 0 (host-order value of the
 *            big-endian address, e.g. 10.0.0.1 = 0x0a000001), words 1..3 zero;
 *            IPv6 as four big-endian 32-bit words.
 *     [8]    portA << 16 | portB (both 0 when the protocol has no ports)
 *     [9]    proto | (v6 ? 1 << 8 : 0) | (hasVlan ? 1 << 9 : 0) | vlanId << 16
 * - `hash[i]`: hash of the key (used by the table index and for fast rejects).
 * - `id[i]`: flow id, unique for the life of the process (never reused).
 * - `first[i]`, `last[i]`: seconds since the epoch (f64, µs precision).
 * - `pkts[i*2 + d]`, `bytes[i*2 + d]`: per direction d (0 = A→B, 1 = B→A); bytes = wire length.
 * - `ipBytes[i]`: sum of the outer IP length fields (IPv4 total length, IPv6 payload + 40).
 * - `flags[i*2 + d]`: OR of TCP flags seen per direction (FIN 1, SYN 2, RST 4, PSH 8, ACK 16,
 *   URG 32, ECE 64, CWR 128).
 * - `meta[i]`: bit 0 = initiator is B; bit 1 = slot live; bits 4..7 = end reason (EndReason).
 * - `tickBytes[i]`, `tickPkts[i]`: bytes and packets since the last rate tick; `bps[i]`: bits/s over the last tick.
 *
 * Limits: packets per direction are u32 (wrap after 4.29 G packets per direction of one flow
 * segment; the active timeout cuts long flows into segments well before that).
 */

export const KEY_WORDS = 10;

export const META_INIT_B = 1;
export const META_LIVE = 2;

/** Why a flow left the table. 0 = still active. */
export const EndReason = {
  active: 0,
  idle: 1,
  active_timeout: 2,
  tcp_close: 3,
  evicted: 4,
  end_of_capture: 5,
} as const;
export type EndReasonName = keyof typeof EndReason;
export const END_REASON_NAMES: EndReasonName[] = [
  "active",
  "idle",
  "active_timeout",
  "tcp_close",
  "evicted",
  "end_of_capture",
];

/** Bytes of typed-array storage per flow slot (see BYTES_PER_SLOT test). */
export const BYTES_PER_SLOT =
  KEY_WORDS * 4 + 4 + 8 + 8 + 8 + 2 * 4 + 2 * 8 + 8 + 2 + 1 + 4 + 4 + 4;

export class FlowColumns {
  capacity: number;
  key: Uint32Array;
  hash: Uint32Array;
  id: Float64Array;
  first: Float64Array;
  last: Float64Array;
  pkts: Uint32Array;
  bytes: Float64Array;
  ipBytes: Float64Array;
  flags: Uint8Array;
  meta: Uint8Array;
  tickBytes: Float32Array;
  tickPkts: Uint32Array;
  bps: Float32Array;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.key = new Uint32Array(capacity * KEY_WORDS);
    this.hash = new Uint32Array(capacity);
    this.id = new Float64Array(capacity);
    this.first = new Float64Array(capacity);
    this.last = new Float64Array(capacity);
    this.pkts = new Uint32Array(capacity * 2);
    this.bytes = new Float64Array(capacity * 2);
    this.ipBytes = new Float64Array(capacity);
    this.flags = new Uint8Array(capacity * 2);
    this.meta = new Uint8Array(capacity);
    this.tickBytes = new Float32Array(capacity);
    this.tickPkts = new Uint32Array(capacity);
    this.bps = new Float32Array(capacity);
  }

  /** Total bytes held by the typed arrays. */
  byteSize(): number {
    return this.capacity * BYTES_PER_SLOT;
  }

  /** Grow to `capacity` slots, keeping slots [0, this.capacity). */
  grow(capacity: number): void {
    const next = new FlowColumns(capacity);
    next.key.set(this.key);
    next.hash.set(this.hash);
    next.id.set(this.id);
    next.first.set(this.first);
    next.last.set(this.last);
    next.pkts.set(this.pkts);
    next.bytes.set(this.bytes);
    next.ipBytes.set(this.ipBytes);
    next.flags.set(this.flags);
    next.meta.set(this.meta);
    next.tickBytes.set(this.tickBytes);
    next.tickPkts.set(this.tickPkts);
    next.bps.set(this.bps);
    Object.assign(this, next);
  }

  /** Copy slot `i` of `src` into slot `j` of this. */
  copyFrom(src: FlowColumns, i: number, j: number): void {
    const sk = src.key, dk = this.key, so = i * KEY_WORDS, d = j * KEY_WORDS;
    for (let w = 0; w < KEY_WORDS; w++) dk[d + w] = sk[so + w]!;
    this.hash[j] = src.hash[i]!;
    this.id[j] = src.id[i]!;
    this.first[j] = src.first[i]!;
    this.last[j] = src.last[i]!;
    this.pkts[j * 2] = src.pkts[i * 2]!;
    this.pkts[j * 2 + 1] = src.pkts[i * 2 + 1]!;
    this.bytes[j * 2] = src.bytes[i * 2]!;
    this.bytes[j * 2 + 1] = src.bytes[i * 2 + 1]!;
    this.ipBytes[j] = src.ipBytes[i]!;
    this.flags[j * 2] = src.flags[i * 2]!;
    this.flags[j * 2 + 1] = src.flags[i * 2 + 1]!;
    this.meta[j] = src.meta[i]!;
    this.tickBytes[j] = src.tickBytes[i]!;
    this.tickPkts[j] = src.tickPkts[i]!;
    this.bps[j] = src.bps[i]!;
  }

  // ---- oriented accessors (src = initiator) ----

  isLive(i: number): boolean {
    return (this.meta[i]! & META_LIVE) !== 0;
  }
  initB(i: number): boolean {
    return (this.meta[i]! & META_INIT_B) !== 0;
  }
  endReason(i: number): number {
    return this.meta[i]! >>> 4;
  }
  proto(i: number): number {
    return this.key[i * KEY_WORDS + 9]! & 0xff;
  }
  ipVersion(i: number): 4 | 6 {
    return this.key[i * KEY_WORDS + 9]! & 0x100 ? 6 : 4;
  }
  /** VLAN id, or -1 when untagged. */
  vlan(i: number): number {
    const w = this.key[i * KEY_WORDS + 9]!;
    return w & 0x200 ? w >>> 16 : -1;
  }
  /** Word offset in `key` of the initiator's address. */
  srcAddrOff(i: number): number {
    return i * KEY_WORDS + (this.initB(i) ? 4 : 0);
  }
  /** Word offset in `key` of the responder's address. */
  dstAddrOff(i: number): number {
    return i * KEY_WORDS + (this.initB(i) ? 0 : 4);
  }
  srcPort(i: number): number {
    const w = this.key[i * KEY_WORDS + 8]!;
    return this.initB(i) ? w & 0xffff : w >>> 16;
  }
  dstPort(i: number): number {
    const w = this.key[i * KEY_WORDS + 8]!;
    return this.initB(i) ? w >>> 16 : w & 0xffff;
  }
  /** d = 0: initiator→responder, 1: responder→initiator. */
  dirPackets(i: number, d: 0 | 1): number {
    return this.pkts[i * 2 + (this.initB(i) ? 1 - d : d)]!;
  }
  dirBytes(i: number, d: 0 | 1): number {
    return this.bytes[i * 2 + (this.initB(i) ? 1 - d : d)]!;
  }
  dirFlags(i: number, d: 0 | 1): number {
    return this.flags[i * 2 + (this.initB(i) ? 1 - d : d)]!;
  }
  packets(i: number): number {
    return this.pkts[i * 2]! + this.pkts[i * 2 + 1]!;
  }
  totalBytes(i: number): number {
    return this.bytes[i * 2]! + this.bytes[i * 2 + 1]!;
  }
  durationMs(i: number): number {
    return Math.round((this.last[i]! - this.first[i]!) * 1000);
  }
}
