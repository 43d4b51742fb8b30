/**
 * FragmentTracker: gives non-first IP fragments the ports of their first fragment.
 *
 * A bounded open-addressing table (fixed-size typed arrays, no allocation per packet) from
 * (src, dst, proto, fragment id, IP version) to the first fragment's (sport, dport), with an expiry
 * in packet time. Lookups and inserts probe at most PROBES slots; when all are taken by live
 * entries the oldest of them is overwritten (so under a flood of fragments some later fragments
 * keep ports 0 — never an unbounded table).
 *
 * Limits: fragments that arrive before their first fragment stay at ports 0 (no buffering);
 * fragment ids are reused by senders, so an entry lives at most `ttl` seconds of packet time.
 */
import type { DecodedPacket } from "./packet.ts";

const KW = 10; // src[4], dst[4], proto|version<<8, fragId
const PROBES = 8;

export class FragmentTracker {
  readonly capacity: number;
  private readonly mask: number;
  private readonly keys: Int32Array;
  private readonly ports: Uint32Array;
  /** Packet time the entry was stored. */
  private readonly seen: Float64Array;
  /** 1 when the slot holds an entry (possibly expired). */
  private readonly used: Uint8Array;
  private readonly ttl: number;
  /** Non-first fragments that got ports from a first fragment. */
  resolved = 0;
  /** Non-first fragments whose first fragment was not (or no longer) known. */
  unresolved = 0;

  /** `capacity` is rounded up to a power of two; `ttlSeconds` of packet time (default 30). */
  constructor(capacity = 4096, ttlSeconds = 30) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    this.capacity = cap;
    this.mask = cap - 1;
    this.keys = new Int32Array(cap * KW);
    this.ports = new Uint32Array(cap);
    this.seen = new Float64Array(cap);
    this.used = new Uint8Array(cap);
    this.ttl = ttlSeconds;
  }

  /**
   * Call for every decoded IP packet (cheap no-op unless pkt.isFragment). A first fragment
   * (offset 0) records its ports; a later one takes the recorded ports, or keeps 0.
   * `ts` is the packet time in seconds.
   */
  resolve(pkt: DecodedPacket, ts: number): void {
    if (!pkt.isFragment) return;
    const s = pkt.src;
    const d = pkt.dst;
    const pv = pkt.proto | (pkt.ipVersion << 8);
    const id = pkt.fragId | 0;
    let h = Math.imul(s[0]! ^ Math.imul(d[0]!, 0x9e3779b1), 0x85ebca6b);
    h ^= Math.imul(s[1]! ^ s[2]! ^ s[3]! ^ d[1]! ^ d[2]! ^ d[3]!, 0xc2b2ae35);
    h ^= Math.imul(id ^ (pv << 16), 0x27d4eb2f);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 13;
    const keys = this.keys;
    const seen = this.seen;
    const used = this.used;
    const first = pkt.fragOffset === 0;
    let victim = -1;
    let oldest = -1;
    let oldestTs = Infinity;
    for (let i = 0; i < PROBES; i++) {
      const slot = (h + i) & this.mask;
      const t = seen[slot]!;
      if (used[slot] === 1 && Math.abs(ts - t) <= this.ttl) {
        const k = slot * KW;
        if (
          keys[k + 9] === id && keys[k + 8] === pv &&
          keys[k] === s[0] && keys[k + 1] === s[1] && keys[k + 2] === s[2] && keys[k + 3] === s[3] &&
          keys[k + 4] === d[0] && keys[k + 5] === d[1] && keys[k + 6] === d[2] && keys[k + 7] === d[3]
        ) {
          if (first) {
            this.ports[slot] = ((pkt.sport << 16) | pkt.dport) >>> 0;
            seen[slot] = ts;
          } else {
            const pp = this.ports[slot]!;
            pkt.sport = pp >>> 16;
            pkt.dport = pp & 0xffff;
            this.resolved++;
          }
          return;
        }
        if (t < oldestTs) {
          oldestTs = t;
          oldest = slot;
        }
      } else if (victim < 0) {
        victim = slot; // empty or expired
      }
    }
    if (!first) {
      this.unresolved++;
      return;
    }
    if (victim < 0) victim = oldest;
    used[victim] = 1;
    const k = victim * KW;
    keys[k] = s[0]!;
    keys[k + 1] = s[1]!;
    keys[k + 2] = s[2]!;
    keys[k + 3] = s[3]!;
    keys[k + 4] = d[0]!;
    keys[k + 5] = d[1]!;
    keys[k + 6] = d[2]!;
    keys[k + 7] = d[3]!;
    keys[k + 8] = pv;
    keys[k + 9] = id;
    this.ports[victim] = ((pkt.sport << 16) | pkt.dport) >>> 0;
    seen[victim] = ts;
  }
}
