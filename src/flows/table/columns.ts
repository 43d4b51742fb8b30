/**
 * Struct-of-arrays storage for flows. One instance backs the live flow table, another the
 * "recently ended" ring; the query module, CSV and the API read both through the same layout.
 *
 * Two arrays per flow slot `i`, no object per flow:
 * - `key[i*10 .. i*10+9]` (Int32: JSC keeps int32 unboxed, a Uint32 ≥ 2^31 becomes a double): the canonical bidirectional key. Endpoint A is the lower
 *   (address, port) pair, compared word by word, so both directions produce the same key.
 *     [0..3] address A, [4..7] address B — IPv4 in word 0 (host-order value of the
 *            big-endian address, e.g. 10.0.0.1 = 0x0a000001), words 1..3 zero;
 *            IPv6 as four big-endian 32-bit words.
 *     [8]    portA << 16 | portB (both 0 when the protocol has no ports)
 *     [9]    proto | (v6 ? 1 << 8 : 0) | (hasVlan ? 1 << 9 : 0) | origin << 10 | vlanId << 16
 *            origin (bits 10-15): 0 our packet capture, 1..63 a NetFlow/IPFIX exporter and
 *            observation domain (src/collect/origins.ts); part of the key, so flows of different
 *            origins never merge, and it costs no byte per slot
 * - one 64-byte record (a cache line: everything a packet updates is in it), seen through two
 *   views of one buffer:
 *     f64[i*8 + F_FIRST], F_LAST   first / last packet time, seconds since the epoch (min / max)
 *     f64[i*8 + F_BYTES + d]       wire bytes per direction d (0 = A→B, 1 = B→A)
 *     f64[i*8 + F_ID]              flow id, unique for the life of the process (never reused)
 *     u32[i*16 + U_PKTS + d]       packets per direction
 *     u32[i*16 + U_FLAGS]          TCP flags OR-ed per direction (A→B bits 0-7, B→A bits 8-15;
 *                                  FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128)
 *                                  and meta in bits 16-23: bit 0 initiator is B, bit 1 live,
 *                                  bits 4-7 end reason (EndReason)
 *     u32[i*16 + U_TICK_BYTES], U_TICK_PKTS   bytes / packets since the last rate tick
 *     u32[i*16 + U_RATE]           bytes/s over the last tick (bps = 8 ×)
 *
 * Limits: packets per direction are u32 (wrap after 4.29 G packets in one direction of one flow
 * segment; the active timeout cuts long flows into segments well before that); the per-flow
 * rate saturates at 2^32-1 bytes/s (34 Gbit/s). IP-header byte counts are not kept (they would
 * not fit the 128 bytes per flow budget).
 */

export const KEY_WORDS = 10;
/** Key word holding both ports: portA << 16 | portB. */
export const KW_PORTS = 8;
/** Key word holding the protocol, family and VLAN ("proto word"): the bits below. */
export const KW_PROTO = 9;
/** Proto word: IP protocol number (bits 0-7). */
export const PW_PROTO = 0xff;
/** Proto word: IPv6 key (bit 8); IPv4 keys have zeros in address words 1-3 and 5-7. */
export const PW_V6 = 0x100;
/** Proto word: the flow carries a VLAN id (bit 9), which is in bits 16-27. */
export const PW_VLAN = 0x200;
export const PW_VLAN_SHIFT = 16;
/** Proto word: the flow's origin (bits 10-15): 0 = packet capture, 1..63 = a collector exporter/domain. */
export const PW_ORIGIN_SHIFT = 10;
export const PW_ORIGIN_MASK = 0x3f;
export const IPPROTO_TCP = 6;
/** Float64 / Uint32 words per flow record. */
export const REC_F64 = 8;
export const REC_U32 = 16;
export const F_FIRST = 0;
export const F_LAST = 1;
export const F_BYTES = 2;
export const F_ID = 4;
export const U_PKTS = 10;
export const U_FLAGS = 12;
export const U_TICK_BYTES = 13;
export const U_TICK_PKTS = 14;
export const U_RATE = 15;

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
  /** The monitor stopped (SIGTERM): live flows are ended so history keeps them. */
  shutdown: 6,
} as const;
export type EndReasonName = keyof typeof EndReason;
export const END_REASON_NAMES: EndReasonName[] = [
  "active",
  "idle",
  "active_timeout",
  "tcp_close",
  "evicted",
  "end_of_capture",
  "shutdown",
];

/** Bytes of typed-array storage per flow slot (key + record). */
export const BYTES_PER_SLOT = KEY_WORDS * 4 + REC_F64 * 8;

export class FlowColumns {
  capacity: number;
  key: Int32Array;
  f64: Float64Array;
  u32: Uint32Array;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.key = new Int32Array(capacity * KEY_WORDS);
    const buf = new ArrayBuffer(capacity * REC_F64 * 8);
    this.f64 = new Float64Array(buf);
    this.u32 = new Uint32Array(buf);
  }

  /**
   * A view over existing storage in this layout: `key` holds capacity × KEY_WORDS words, `rec`
   * capacity × 64 bytes (either may be shared). Used for ended-flow batches handed to sinks, the
   * history store's Worker (buffers transferred) and the IPFIX exporter's shared ring.
   */
  static wrap(key: Int32Array, rec: ArrayBufferLike): FlowColumns {
    const capacity = key.length / KEY_WORDS;
    if (!Number.isInteger(capacity) || rec.byteLength !== capacity * REC_F64 * 8) {
      throw new RangeError(`FlowColumns.wrap: ${key.length} key words and ${rec.byteLength} record bytes do not describe whole slots`);
    }
    const c = Object.create(FlowColumns.prototype) as FlowColumns;
    c.capacity = capacity;
    c.key = key;
    c.f64 = new Float64Array(rec);
    c.u32 = new Uint32Array(rec);
    return c;
  }

  /** Total bytes held by the typed arrays. */
  byteSize(): number {
    return this.capacity * BYTES_PER_SLOT;
  }

  /** Grow to `capacity` slots, keeping slots [0, this.capacity). */
  grow(capacity: number): void {
    const next = new FlowColumns(capacity);
    next.key.set(this.key);
    next.f64.set(this.f64);
    this.capacity = capacity;
    this.key = next.key;
    this.f64 = next.f64;
    this.u32 = next.u32;
  }

  /** Copy slot `i` of `src` into slot `j` of this. */
  copyFrom(src: FlowColumns, i: number, j: number): void {
    const sk = src.key, dk = this.key, so = i * KEY_WORDS, d = j * KEY_WORDS;
    for (let w = 0; w < KEY_WORDS; w++) dk[d + w] = sk[so + w]!;
    const sf = src.f64, df = this.f64, fo = i * REC_F64, fd = j * REC_F64;
    for (let w = 0; w < REC_F64; w++) df[fd + w] = sf[fo + w]!;
  }

  // ---- record fields ----

  first(i: number): number {
    return this.f64[i * REC_F64 + F_FIRST]!;
  }
  last(i: number): number {
    return this.f64[i * REC_F64 + F_LAST]!;
  }
  id(i: number): number {
    return this.f64[i * REC_F64 + F_ID]!;
  }
  meta(i: number): number {
    return this.u32[i * REC_U32 + U_FLAGS]! >>> 16;
  }
  setMeta(i: number, m: number): void {
    const o = i * REC_U32 + U_FLAGS;
    this.u32[o] = ((this.u32[o]! & 0xffff) | ((m & 0xff) << 16)) >>> 0;
  }
  /** bits/s over the last tick (0 once ended). */
  bps(i: number): number {
    return this.endReason(i) === 0 ? this.u32[i * REC_U32 + U_RATE]! * 8 : 0;
  }
  tickBytes(i: number): number {
    return this.u32[i * REC_U32 + U_TICK_BYTES]!;
  }
  tickPkts(i: number): number {
    return this.u32[i * REC_U32 + U_TICK_PKTS]!;
  }

  // ---- oriented accessors (src = initiator) ----

  isLive(i: number): boolean {
    return (this.meta(i) & META_LIVE) !== 0;
  }
  initB(i: number): boolean {
    return (this.meta(i) & META_INIT_B) !== 0;
  }
  endReason(i: number): number {
    return this.meta(i) >>> 4;
  }
  proto(i: number): number {
    return this.key[i * KEY_WORDS + KW_PROTO]! & PW_PROTO;
  }
  ipVersion(i: number): 4 | 6 {
    return this.key[i * KEY_WORDS + KW_PROTO]! & PW_V6 ? 6 : 4;
  }
  /** VLAN id, or -1 when untagged. */
  vlan(i: number): number {
    const w = this.key[i * KEY_WORDS + KW_PROTO]!;
    return w & PW_VLAN ? w >>> PW_VLAN_SHIFT : -1;
  }
  /** Origin: 0 = our packet capture, 1..63 = a NetFlow/IPFIX exporter and domain (collect/origins.ts). */
  origin(i: number): number {
    return (this.key[i * KEY_WORDS + KW_PROTO]! >>> PW_ORIGIN_SHIFT) & PW_ORIGIN_MASK;
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
    return this.u32[i * REC_U32 + U_PKTS + (this.initB(i) ? 1 - d : d)]!;
  }
  dirBytes(i: number, d: 0 | 1): number {
    return this.f64[i * REC_F64 + F_BYTES + (this.initB(i) ? 1 - d : d)]!;
  }
  dirFlags(i: number, d: 0 | 1): number {
    return (this.u32[i * REC_U32 + U_FLAGS]! >>> ((this.initB(i) ? 1 - d : d) * 8)) & 0xff;
  }
  packets(i: number): number {
    return this.u32[i * REC_U32 + U_PKTS]! + this.u32[i * REC_U32 + U_PKTS + 1]!;
  }
  totalBytes(i: number): number {
    return this.f64[i * REC_F64 + F_BYTES]! + this.f64[i * REC_F64 + F_BYTES + 1]!;
  }
  durationMs(i: number): number {
    return Math.round((this.last(i) - this.first(i)) * 1000);
  }
}
