/**
 * SeriesRing: a fixed-capacity ring of time steps holding several numeric series side by side,
 * in typed arrays (no object per point). Memory is fixed at creation:
 * capacity × (8 + 12 × series) bytes, e.g. 3600 steps × 10 series ≈ 460 KB,
 * 17,280 steps × 20 series ≈ 4.3 MB.
 *
 * Time is given by the caller in seconds (any float); step n covers [n·stepSec, (n+1)·stepSec).
 * Each slot stores its step start, so a slot that still holds an older step reads as a gap.
 *
 * Series kinds:
 * - "sum": amounts added within a step (bytes in that second). A step with no data reads 0.
 * - "sample": a level measured in the step (CPU %). `set` keeps the last value, `sample` keeps the
 *   mean of the values given in the step. A step with no value reads null.
 *
 * Limits:
 * - Writes older than the retained window (newest step − capacity + 1) are dropped (return false).
 *   Late writes inside the window land in their own step.
 * - `range` reports only the retained window up to the newest step written or `advance`d to;
 *   call `advance(now)` on a timer if quiet periods must show as zeros/gaps up to "now".
 * - Timestamps must be finite; NaN/±Infinity are dropped.
 */

export type SeriesKind = "sum" | "sample";

export interface SeriesRingConfig {
  /** Series names, unique; index i in the write methods refers to names[i]. */
  names: readonly string[];
  /** Step length in seconds (> 0). */
  stepSec: number;
  /** Number of steps retained (positive integer). */
  capacity: number;
  /** Kind per series: an array parallel to `names` or a record by name. Default "sample". */
  kinds?: readonly SeriesKind[] | Readonly<Record<string, SeriesKind>>;
}

export interface SeriesRange {
  /** Seconds between points (stepSec × downsampling factor). */
  step: number;
  /** Start (seconds) of each point's step or bucket. */
  t: number[];
  /** One array per series, parallel to `t`. */
  series: Record<string, (number | null)[]>;
}

export class SeriesRing {
  readonly names: readonly string[];
  readonly kinds: readonly SeriesKind[];
  readonly stepSec: number;
  readonly capacity: number;
  private readonly n: number;
  /** Step start (seconds) held by each slot; NaN = never used. */
  private readonly starts: Float64Array;
  /** values[slot * n + series]. */
  private readonly values: Float64Array;
  /** Number of writes per value in its step; 0 = no data (gap for samples). */
  private readonly counts: Uint32Array;
  /** Newest step number written or advanced to; -Infinity when empty. */
  private head = -Infinity;
  /** Fast path for the newest step: [curStart, curEnd) → curSlot. */
  private curStart = Infinity;
  private curEnd = -Infinity;
  private curSlot = 0;

  constructor(config: SeriesRingConfig) {
    const { names, stepSec, capacity } = config;
    if (names.length === 0) throw new RangeError("SeriesRing: names must not be empty");
    if (new Set(names).size !== names.length) throw new RangeError("SeriesRing: duplicate series name");
    if (!(stepSec > 0) || !Number.isFinite(stepSec)) throw new RangeError("SeriesRing: stepSec must be > 0");
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("SeriesRing: capacity must be a positive integer");
    const k = config.kinds;
    let kinds: SeriesKind[];
    if (k === undefined) kinds = names.map(() => "sample");
    else if (Array.isArray(k)) {
      if (k.length !== names.length) throw new RangeError("SeriesRing: kinds must be parallel to names");
      kinds = [...(k as readonly SeriesKind[])];
    } else {
      const rec = k as Readonly<Record<string, SeriesKind>>;
      for (const key of Object.keys(rec)) {
        if (!names.includes(key)) throw new RangeError(`SeriesRing: kind given for unknown series ${key}`);
      }
      kinds = names.map((nm) => rec[nm] ?? "sample");
    }
    for (const kind of kinds) {
      if (kind !== "sum" && kind !== "sample") throw new RangeError(`SeriesRing: bad kind ${String(kind)}`);
    }
    this.names = [...names];
    this.kinds = kinds;
    this.stepSec = stepSec;
    this.capacity = capacity;
    this.n = names.length;
    this.starts = new Float64Array(capacity).fill(NaN);
    this.values = new Float64Array(capacity * this.n);
    this.counts = new Uint32Array(capacity * this.n);
  }

  /** Index of a series name, -1 if unknown. */
  indexOf(name: string): number {
    return this.names.indexOf(name);
  }

  /** Start (seconds) of the newest step, or null when nothing was written yet. */
  get newestStart(): number | null {
    return this.head === -Infinity ? null : this.head * this.stepSec;
  }

  /** Adds `amount` to series `index` in the step holding `ts`. Allocation-free. */
  accumulate(ts: number, index: number, amount: number): boolean {
    let slot = this.curSlot;
    if (!(ts >= this.curStart && ts < this.curEnd)) {
      slot = this.slotFor(ts);
      if (slot < 0) return false;
    }
    const i = slot * this.n + index;
    this.values[i]! += amount;
    this.counts[i]!++;
    return true;
  }

  /** Sets series `index` in the step holding `ts` to `v` (last write in a step wins). */
  set(ts: number, index: number, v: number): boolean {
    let slot = this.curSlot;
    if (!(ts >= this.curStart && ts < this.curEnd)) {
      slot = this.slotFor(ts);
      if (slot < 0) return false;
    }
    const i = slot * this.n + index;
    this.values[i] = v;
    this.counts[i] = 1;
    return true;
  }

  /** Folds `v` into the running mean of series `index` in the step holding `ts`. */
  sample(ts: number, index: number, v: number): boolean {
    let slot = this.curSlot;
    if (!(ts >= this.curStart && ts < this.curEnd)) {
      slot = this.slotFor(ts);
      if (slot < 0) return false;
    }
    const i = slot * this.n + index;
    const c = ++this.counts[i]!;
    this.values[i] = c === 1 ? v : this.values[i]! + (v - this.values[i]!) / c;
    return true;
  }

  /** Moves the newest step forward to the one holding `ts` (clearing its slot) without writing. */
  advance(ts: number): void {
    this.slotFor(ts);
  }

  /** Value of series `index` in the step holding `ts`: 0/null for a gap, null outside the window. */
  get(ts: number, index: number): number | null {
    const step = Math.floor(ts / this.stepSec);
    if (!Number.isFinite(step) || step > this.head || step <= this.head - this.capacity) return null;
    return this.read(step, index);
  }

  /**
   * Steps overlapping [sinceSec, untilSec), clipped to the retained window and the newest step.
   * When more than `maxPoints` steps remain, consecutive steps are grouped into buckets of
   * `factor` steps aligned on multiples of factor × stepSec (stable between calls), and
   * - a "sample" series reports the mean of the values present in the bucket (null if none);
   * - a "sum" series reports the mean per original step (bucket total / steps of the bucket
   *   inside the range), so a bytes-per-second series stays bytes per second at any zoom.
   * If alignment would give maxPoints + 1 buckets, the oldest (partial) bucket is left out.
   */
  range(sinceSec: number, untilSec: number, maxPoints = 1000): SeriesRange {
    const out: SeriesRange = { step: this.stepSec, t: [], series: {} };
    for (const nm of this.names) out.series[nm] = [];
    if (this.head === -Infinity || Number.isNaN(sinceSec) || Number.isNaN(untilSec)) return out;
    let first = Math.floor(sinceSec / this.stepSec);
    let last = Math.ceil(untilSec / this.stepSec) - 1;
    first = Math.max(first, this.head - this.capacity + 1);
    last = Math.min(last, this.head);
    if (last < first) return out;
    const steps = last - first + 1;
    const maxP = Math.max(1, Math.floor(maxPoints));
    const cols = this.names.map((nm) => out.series[nm]!);
    if (steps <= maxP) {
      for (let s = first; s <= last; s++) {
        out.t.push(s * this.stepSec);
        for (let j = 0; j < this.n; j++) cols[j]!.push(this.read(s, j));
      }
      return out;
    }
    const f = Math.ceil(steps / maxP);
    out.step = f * this.stepSec;
    const lastB = Math.floor(last / f);
    const firstB = Math.max(Math.floor(first / f), lastB - maxP + 1);
    const sums = new Float64Array(this.n);
    const cnts = new Float64Array(this.n);
    for (let b = firstB; b <= lastB; b++) {
      const s0 = Math.max(b * f, first);
      const s1 = Math.min(b * f + f - 1, last);
      sums.fill(0);
      cnts.fill(0);
      for (let s = s0; s <= s1; s++) {
        const slot = this.slotIndex(s);
        const live = this.starts[slot] === s * this.stepSec;
        for (let j = 0; j < this.n; j++) {
          const i = slot * this.n + j;
          if (this.kinds[j] === "sum") {
            if (live) sums[j]! += this.values[i]!;
            cnts[j]!++;
          } else if (live && this.counts[i]! > 0) {
            sums[j]! += this.values[i]!;
            cnts[j]!++;
          }
        }
      }
      out.t.push(b * f * this.stepSec);
      for (let j = 0; j < this.n; j++) cols[j]!.push(cnts[j]! > 0 ? sums[j]! / cnts[j]! : null);
    }
    return out;
  }

  private slotIndex(step: number): number {
    const r = step % this.capacity;
    return r < 0 ? r + this.capacity : r;
  }

  private read(step: number, j: number): number | null {
    const slot = this.slotIndex(step);
    const i = slot * this.n + j;
    const live = this.starts[slot] === step * this.stepSec;
    if (this.kinds[j] === "sum") return live ? this.values[i]! : 0;
    return live && this.counts[i]! > 0 ? this.values[i]! : null;
  }

  /** Slot for the step holding ts, claiming (clearing) it if it holds an older step; -1 if too old. */
  private slotFor(ts: number): number {
    const step = Math.floor(ts / this.stepSec);
    if (!Number.isFinite(step)) return -1;
    if (step <= this.head - this.capacity) return -1;
    const slot = this.slotIndex(step);
    const start = step * this.stepSec;
    if (this.starts[slot] !== start) {
      this.starts[slot] = start;
      const base = slot * this.n;
      this.values.fill(0, base, base + this.n);
      this.counts.fill(0, base, base + this.n);
    }
    if (step >= this.head) {
      this.head = step;
      this.curStart = start;
      this.curEnd = (step + 1) * this.stepSec;
      this.curSlot = slot;
    }
    return slot;
  }
}
