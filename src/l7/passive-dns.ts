/**
 * Passive DNS: names learned from DNS answers seen on the wire label the addresses they resolved to,
 * so a flow or a talker can be shown as `name (address)` without sending a query.
 *
 * Bounded LRU (a Map in recency order: a hit moves the entry to the end, inserting past the cap
 * drops the oldest), TTL-aware (an entry expires at answer time + TTL, the TTL clamped to
 * [minTtl, maxTtl] so a 0-TTL answer still labels the connection that follows it and a week-long
 * TTL does not pin a stale name). The clock is the caller's (packet time offline, wall time live).
 * Memory: about 150 bytes per entry (Map entry, the address text key, the name string shared by
 * all the addresses of one answer); 65,536 entries by default ≈ 10 MiB at most.
 */
export interface PassiveDnsConfig {
  maxEntries?: number;
  minTtl?: number;
  maxTtl?: number;
}

interface Entry {
  name: string;
  expires: number;
}

export function addrBytesText(a: Uint8Array): string {
  if (a.length === 4) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((a[i]! << 8) | a[i + 1]!).toString(16));
  // RFC 5952: compress the longest run of two or more zero groups.
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== "0") { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === "0") j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return g.join(":");
  return `${g.slice(0, best).join(":")}::${g.slice(best + bestLen).join(":")}`;
}

/** Text of an address held as the flow key's Int32 words (IPv4 in word 0; IPv6 four big-endian words). */
export function addrWordsText(w: ArrayLike<number>, off: number, v6: boolean): string {
  const b = new Uint8Array(v6 ? 16 : 4);
  for (let i = 0; i < (v6 ? 4 : 1); i++) {
    const x = w[off + i]!;
    b[i * 4] = x >>> 24; b[i * 4 + 1] = (x >>> 16) & 255; b[i * 4 + 2] = (x >>> 8) & 255; b[i * 4 + 3] = x & 255;
  }
  return addrBytesText(b);
}

export class PassiveDns {
  private readonly map = new Map<string, Entry>();
  readonly maxEntries: number;
  readonly minTtl: number;
  readonly maxTtl: number;
  learned = 0;
  dropped = 0;

  constructor(config: PassiveDnsConfig = {}) {
    this.maxEntries = Math.max(1, config.maxEntries ?? 65_536);
    this.minTtl = config.minTtl ?? 60;
    this.maxTtl = config.maxTtl ?? 86_400;
  }

  get size(): number {
    return this.map.size;
  }

  /** An answer: `addr` (4 or 16 bytes) resolved from `name`, valid `ttl` seconds from `now`. */
  learn(name: string, addr: Uint8Array, ttl: number, now: number): void {
    const key = addrBytesText(addr);
    const t = Math.min(this.maxTtl, Math.max(this.minTtl, ttl));
    this.map.delete(key);
    this.map.set(key, { name, expires: now + t });
    this.learned++;
    if (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
      this.dropped++;
    }
  }

  /** The name last learned for `addr` (text, as in records), or null when none or expired at `now`. */
  name(addr: string, now?: number): string | null {
    const e = this.map.get(addr);
    if (e === undefined) return null;
    if (now !== undefined && now > e.expires) {
      this.map.delete(addr);
      return null;
    }
    this.map.delete(addr);
    this.map.set(addr, e);
    return e.name;
  }

  /** `name (address)` when a name is known, else the address. */
  label(addr: string, now?: number): string {
    const n = this.name(addr, now);
    return n === null ? addr : `${n} (${addr})`;
  }
}
