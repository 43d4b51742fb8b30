/**
 * Host id → dense row number (0, 1, 2, …), for per-host sums that live in typed arrays. IPv4 ids
 * (the address as an int32) go through open addressing with Fibonacci hashing, cleared in O(1) by
 * bumping a generation stamp; IPv6 ids (the four words joined as text, rare) through a Map.
 * Used where hundreds of thousands of hosts are folded every second (talkers, scan detection).
 */

/** A host as a key: the IPv4 word, or the four IPv6 words joined; made text only for output. */
export type HostId = number | string;

export class HostIndex {
  private keys = new Int32Array(1 << 16);
  private rows = new Int32Array(1 << 16);
  private stamp = new Uint32Array(1 << 16);
  private gen = 1;
  private used = 0;
  /** 32 - log2(table size): Fibonacci hashing takes the top bits. */
  private shift = 16;
  private readonly index6 = new Map<string, number>();
  /** Ids by row. */
  ids: HostId[] = [];

  get size(): number {
    return this.ids.length;
  }

  /** The row of `id`; a new one (= size before the call) when unseen. */
  row(id: HostId): number {
    if (typeof id === "string") {
      let j = this.index6.get(id);
      if (j === undefined) {
        j = this.ids.length;
        this.ids.push(id);
        this.index6.set(id, j);
      }
      return j;
    }
    const mask = this.keys.length - 1;
    let s = Math.imul(id, 0x9e3779b1) >>> this.shift;
    for (;;) {
      if (this.stamp[s] !== this.gen) break;
      if (this.keys[s] === id) return this.rows[s]!;
      s = (s + 1) & mask;
    }
    const j = this.ids.length;
    this.ids.push(id);
    this.stamp[s] = this.gen;
    this.keys[s] = id;
    this.rows[s] = j;
    if (++this.used * 2 > this.keys.length) this.rehash();
    return j;
  }

  private rehash(): void {
    const size = this.keys.length * 2;
    const keys = new Int32Array(size), rows = new Int32Array(size), stamp = new Uint32Array(size);
    const mask = size - 1;
    const shift = this.shift - 1;
    for (let s = 0; s < this.keys.length; s++) {
      if (this.stamp[s] !== this.gen) continue;
      const id = this.keys[s]!;
      let t = Math.imul(id, 0x9e3779b1) >>> shift;
      while (stamp[t] === 1) t = (t + 1) & mask;
      stamp[t] = 1;
      keys[t] = id;
      rows[t] = this.rows[s]!;
    }
    this.keys = keys;
    this.rows = rows;
    this.stamp = stamp;
    this.shift = shift;
    this.gen = 1;
  }

  clear(): void {
    this.gen++;
    this.used = 0;
    this.index6.clear();
    this.ids = [];
  }
}
