/**
 * Read-ahead for whole-file reads (`flows --read`): a Worker does the read(2) calls into a ring of
 * shared slots while the capture thread decodes the slot before, so the kernel's copy of the file
 * into our memory runs beside the packet loop instead of inside it.
 *
 * Why: the copy is system time on the reading thread: 0.5-0.6 s of the 1.2 s the C reference
 * takes for the 3.55 GiB bench capture, and ~0.12 s for the 595 MiB one (bench/run.ts; the C
 * reference, libpcap's stdio reader, pays it inline too). Mapping the file instead (mmap) was
 * measured and rejected: the copy's system time went, but the packet loop then took every record
 * header as a cache miss from the page cache (user time +0.7 s on the 3.55 GiB capture: each
 * record's address depends on the previous record's length, so nothing prefetches it), where the
 * copy leaves the bytes in cache.
 *
 * ReadAheadChunk is a Chunk (pcap-reader.ts): the readers call fill() as they would on the
 * read-based one and see the same bytes. A record cut by a slot's end is joined by copying its
 * start into the pad in front of the next slot's data (at most one record, ≤ PAD bytes); a pcapng
 * block longer than the pad is joined in a private buffer grown by doubling.
 *
 * Costs and bounds: SLOTS × (PAD + SLOT_BYTES) ≈ 6 MiB of shared memory; slot size 512 KiB
 * (slots stay in the L2/L3 caches: an 8 MiB chunk cost 0.14 s more user time on the same capture
 * than 512 KiB); the Worker's start (~10-20 ms) is paid only for files of at least MIN_BYTES.
 * A Worker that does not answer is not waited on forever: STALL_MS without a slot ends the read
 * with a read error ("read-ahead stalled"), as an I/O error would.
 */
import { MAX_CAPLEN, MAX_RECORD, Chunk } from "./pcap-reader.ts";
import {
  CTL_BYTES, ERROR_CODES, FILLED, LEN0, MAX_SLOTS, READER_WAITS, READY, RELEASED, slotOffset, STOP, WORKER_WAITS,
  type ReadAheadInit,
} from "./read-ahead-protocol.ts";

export const SLOT_BYTES = 512 * 1024;
export const SLOTS = 8;
/** Room for the longest classic pcap record (24-byte header + MAX_CAPLEN), rounded up to a page. */
export const PAD = MAX_CAPLEN + 4096;
/** Files smaller than this are read on the capture thread (the Worker's start would cost more). */
export const MIN_BYTES = 16 * 1024 * 1024;
export const STALL_MS = 10_000;
/** How long start() waits for the Worker to open the file before reading without it. */
const START_MS = 5_000;

export interface ReadAheadConfig {
  slots?: number;
  slotBytes?: number;
  pad?: number;
  stallMs?: number;
}

export class ReadAhead {
  readonly ctl: Int32Array;
  readonly bytes: Uint8Array;
  readonly slots: number;
  readonly slotBytes: number;
  readonly pad: number;
  readonly stallMs: number;
  private worker: Worker | null = null;

  private constructor(config: ReadAheadConfig) {
    this.slots = Math.min(MAX_SLOTS, Math.max(2, config.slots ?? SLOTS));
    this.slotBytes = Math.max(64, config.slotBytes ?? SLOT_BYTES);
    this.pad = Math.max(64, config.pad ?? PAD);
    this.stallMs = config.stallMs ?? STALL_MS;
    const sab = new SharedArrayBuffer(CTL_BYTES + this.slots * (this.pad + this.slotBytes));
    this.ctl = new Int32Array(sab, 0, LEN0 + this.slots);
    this.bytes = new Uint8Array(sab);
  }

  /**
   * Starts a read-ahead Worker on the file open as `fd` (it opens /proc/self/fd/N: the same file
   * even if the path has been replaced since). Resolves to null when the Worker cannot start or
   * open it; the caller then reads without it.
   */
  static async start(fd: number, path: string, config: ReadAheadConfig = {}): Promise<ReadAhead | null> {
    const ra = new ReadAhead(config);
    const compiled = import.meta.url.includes("$bunfs");
    let w: Worker;
    try {
      w = new Worker(compiled ? "./capture/read-ahead-worker.ts" : new URL("./read-ahead-worker.ts", import.meta.url).href);
    } catch {
      return null;
    }
    ra.worker = w;
    (w as Worker & { unref?: () => void }).unref?.();
    const procPath = process.platform === "linux" ? `/proc/self/fd/${fd}` : path;
    const init: ReadAheadInit = {
      type: "init", sab: ra.bytes.buffer as SharedArrayBuffer, path: procPath, slots: ra.slots, slotBytes: ra.slotBytes, pad: ra.pad,
    };
    w.postMessage(init);
    const ok = await new Promise<boolean>((resolve) => {
      const done = (v: boolean) => {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(() => done(false), START_MS);
      const poll = setInterval(() => {
        const r = Atomics.load(ra.ctl, READY);
        if (r !== 0) done(r === 1);
      }, 1);
      w.addEventListener("error", () => done(false));
    });
    if (!ok) {
      ra.stop();
      return null;
    }
    return ra;
  }

  /** The chunk the readers use (one per read). */
  chunk(fd: number): ReadAheadChunk {
    return new ReadAheadChunk(fd, this);
  }

  /** Ends the Worker (idempotent). */
  stop(): void {
    Atomics.store(this.ctl, STOP, 1);
    Atomics.notify(this.ctl, RELEASED);
    this.worker?.terminate();
    this.worker = null;
  }
}

export class ReadAheadChunk extends Chunk {
  /** Slots taken so far (the next one to take is number `taken`). */
  private taken = 0;
  /** A private buffer for blocks longer than the pad (grown by doubling, kept for reuse). */
  private spill: Uint8Array | null = null;
  private readonly views: Uint8Array[] = [];

  constructor(
    fd: number,
    private readonly ra: ReadAhead,
  ) {
    super(fd, 0);
    for (let s = 0; s < ra.slots; s++) {
      const off = slotOffset(s, ra.slotBytes, ra.pad);
      this.views.push(ra.bytes.subarray(off, off + ra.pad + ra.slotBytes));
    }
  }

  override fill(need: number): boolean {
    if (this.end - this.pos >= need) return true;
    if (need > MAX_RECORD) return false;
    while (this.end - this.pos < need) {
      if (this.eof || !this.next()) return false;
    }
    return true;
  }

  /** Moves on to the next slot (keeping the unread tail in front of it); false at the end. */
  private next(): boolean {
    const ra = this.ra, ctl = ra.ctl, t = this.taken;
    let since = 0;
    for (;;) {
      if (Atomics.load(ctl, FILLED) > t) break;
      // Say we wait, then look again (a slot filled in between is seen here or wakes the wait).
      Atomics.store(ctl, READER_WAITS, 1);
      const f = Atomics.load(ctl, FILLED);
      const r = f > t ? "ok" : Atomics.wait(ctl, FILLED, f, 250);
      Atomics.store(ctl, READER_WAITS, 0);
      if (r === "timed-out") {
        since += 250;
        if (since >= ra.stallMs) {
          this.error = "read-ahead stalled";
          this.eof = true;
          return false;
        }
      } else since = 0;
    }
    const s = t % ra.slots;
    const n = ctl[LEN0 + s]!;
    if (n <= 0) {
      if (n < 0) this.error = ERROR_CODES[-1 - n] ?? "EIO";
      this.eof = true;
      return false;
    }
    this.taken = t + 1;
    const tail = this.end - this.pos, at = this.base + this.pos;
    const slot = this.views[s]!;
    if (tail <= ra.pad) {
      if (tail > 0) slot.set(this.buf.subarray(this.pos, this.end), ra.pad - tail);
      this.release(t);
      this.buf = slot;
      this.pos = ra.pad - tail;
      this.end = ra.pad + n;
    } else {
      // A block longer than the pad: append the slot's bytes to the tail in the spill buffer.
      let sp = this.spill;
      if (this.buf === sp && sp.length - this.end >= n) {
        sp.set(slot.subarray(ra.pad, ra.pad + n), this.end);
        this.end += n;
      } else {
        const next = new Uint8Array(Math.max(tail + n, Math.min(MAX_RECORD + ra.slotBytes, 2 * (sp?.length ?? 0))));
        next.set(this.buf.subarray(this.pos, this.end), 0);
        next.set(slot.subarray(ra.pad, ra.pad + n), tail);
        this.spill = sp = next;
        this.buf = sp;
        this.pos = 0;
        this.end = tail + n;
      }
      this.release(t + 1);
    }
    this.base = at - this.pos;
    return true;
  }

  /** Every slot before number `upTo` is done with. */
  private release(upTo: number): void {
    const ctl = this.ra.ctl;
    Atomics.store(ctl, RELEASED, upTo);
    const want = Atomics.load(ctl, WORKER_WAITS);
    if (want !== 0 && upTo >= want) Atomics.notify(ctl, RELEASED);
  }

  override close(): void {
    this.ra.stop();
  }
}
