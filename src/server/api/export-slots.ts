/**
 * ExportSlots: how many flow exports (CSV / NDJSON) run at once. An export holds a slot from its
 * snapshot to its last row; at most `max` run, up to `maxQueued` more wait their turn (first come,
 * first served), and beyond that a request is refused at once (the API answers 429 with
 * Retry-After). Interactive queries never take a slot.
 */
export class ExportSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly max = 4, readonly maxQueued = 16) {}

  /** A release function once a slot is free, or null when the queue is full too. */
  acquire(): Promise<() => void> | null {
    if (this.running < this.max) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.maxQueued) return null;
    return new Promise((resolve) => this.waiting.push(() => resolve(this.releaser())));
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    };
  }
}
