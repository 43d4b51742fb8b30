/**
 * Progress of a whole-file read on stderr, for terminals only: percent of the file, packets/s and
 * time left, redrawn in place at most 4 times a second. The position in the file is what the reader
 * says (our reader: the offset of its next record), else the kernel's offset of the reader's
 * descriptor (libpcap's: Linux /proc/self/fdinfo), else an estimate from the record lengths seen.
 */
import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync, writeSync } from "node:fs";
import type { PacketSink } from "../capture/packet.ts";

export interface ProgressState {
  /** Bytes of the file read so far, and its size. */
  done: number;
  total: number;
  packets: number;
  /** Seconds since the read started. */
  elapsed: number;
}

function si(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

function duration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  s = Math.ceil(s);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}

/** `37% of 1.2 GB · 412.3k packets/s · 5s left` */
export function formatProgress(p: ProgressState): string {
  const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
  const rate = p.elapsed > 0 ? p.packets / p.elapsed : 0;
  const left = frac > 0 ? (p.elapsed * (1 - frac)) / frac : Infinity;
  return `${Math.floor(frac * 100)}% of ${si(p.total)}B · ${si(p.packets)} packets · ${si(rate)} packets/s · ${duration(left)} left`;
}

/**
 * Wraps a sink and draws the progress line every 250 ms (after the first half second, so a small file
 * shows nothing). `finish()` clears the line.
 */
export class ProgressSink implements PacketSink {
  private packets = 0;
  private estimate = 0;
  private readonly t0 = performance.now();
  /** First draw after FLOWMATRIX_PROGRESS_DELAY ms (default 500), so a quick read shows nothing. */
  private next = this.t0 + Number(process.env.FLOWMATRIX_PROGRESS_DELAY ?? 500);
  private drawn = false;
  private fd = -2;
  private readonly size: number;
  private readonly real: string;

  constructor(
    private readonly inner: PacketSink,
    path: string,
    private readonly out = 2,
    /** The reader's own position (file offset), or -1 when it does not know. */
    private readonly reached: () => number = () => -1,
  ) {
    this.size = statSync(path).size;
    this.real = realpathSync(path);
  }

  packet(buf: Uint8Array, off: number, caplen: number, wirelen: number, ts: number, linktype: number): void {
    this.inner.packet(buf, off, caplen, wirelen, ts, linktype);
    this.estimate += caplen + 16;
    if ((++this.packets & 8191) === 0) {
      const now = performance.now();
      if (now >= this.next) {
        this.next = now + Math.min(250, Number(process.env.FLOWMATRIX_PROGRESS_DELAY ?? 250));
        this.draw(now);
      }
    }
  }

  /** The reader's offset in the file, from the kernel, when its descriptor can be found. */
  private position(): number {
    const own = this.reached();
    if (own >= 0) return own;
    if (this.fd === -2) {
      this.fd = -1;
      try {
        for (const d of readdirSync("/proc/self/fd")) {
          try {
            if (readlinkSync(`/proc/self/fd/${d}`) === this.real) this.fd = Number(d);
          } catch {
            /* closed meanwhile */
          }
        }
      } catch {
        /* not Linux */
      }
    }
    if (this.fd >= 0) {
      try {
        const m = /^pos:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${this.fd}`, "utf8"));
        if (m) return Number(m[1]);
      } catch {
        this.fd = -1;
      }
    }
    return Math.min(this.estimate, this.size);
  }

  private draw(now: number): void {
    const line = formatProgress({ done: this.position(), total: this.size, packets: this.packets, elapsed: (now - this.t0) / 1000 });
    writeSync(this.out, `\r${line}\x1b[K`);
    this.drawn = true;
  }

  finish(): void {
    if (this.drawn) writeSync(this.out, "\r\x1b[K");
    this.drawn = false;
  }
}
