/**
 * Buffered output for the CLI: text is appended into one large buffer (256 KiB) and written out in
 * whole chunks, never one write per row. The write is synchronous and waits for the reader: a pipe
 * that is full (EAGAIN on a non-blocking descriptor) is retried after a short sleep, so memory stays
 * bounded by the buffer whatever the reader's speed. This is the backpressure the flow table's
 * synchronous producers need: a capture file is read in one synchronous loop and flows leave the
 * table from inside it (timeouts, end of capture), so the producer is paused by the write itself.
 *
 * The rows' garbage (records, strings) is made in that same synchronous loop, with no turn of the
 * event loop: JSC's heap then grows well ahead of its collections (≈ +230 MiB over the table on
 * 950 k flows). A young-generation collection every MiB written keeps RSS at the table plus a few MiB,
 * and costs less time than it saves.
 *
 * A reader that goes away (EPIPE: `… | head`) turns into StdoutClosed, which main.ts ends quietly
 * with exit code 0, as other Unix tools do.
 */
import { writeSync } from "node:fs";

export class StdoutClosed extends Error {
  override readonly name = "StdoutClosed";
  /** main.ts honours this: a closed reader is not a failure. */
  readonly exitCode = 0;
  constructor() {
    super("standard output closed by the reader");
  }
}

export const OUTPUT_CHUNK = 256 * 1024;

export class OutputWriter {
  private readonly buf: Buffer;
  private len = 0;
  /** Bytes handed to the descriptor so far. */
  written = 0;
  private closed = false;

  private collectedAt = 0;

  /** `collectEvery`: bytes written between two young-generation collections (0: never). */
  constructor(
    private readonly fd = 1,
    size = OUTPUT_CHUNK,
    private readonly collectEvery = 1 << 20,
  ) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Appends `s` (UTF-8); writes the buffer out first when `s` might not fit. */
  write(s: string): void {
    // A UTF-16 code unit takes at most 3 UTF-8 bytes.
    if (this.len + s.length * 3 > this.buf.length) {
      this.flush();
      if (s.length * 3 > this.buf.length) {
        this.writeOut(Buffer.from(s, "utf8"));
        return;
      }
    }
    this.len += this.buf.write(s, this.len, "utf8");
  }

  /** Bytes waiting in the buffer. */
  get buffered(): number {
    return this.len;
  }

  /** Writes out everything buffered (blocking until the reader took it). */
  flush(): void {
    if (this.len === 0) return;
    const n = this.len;
    this.len = 0;
    this.writeOut(this.buf.subarray(0, n));
    if (this.collectEvery > 0 && this.written - this.collectedAt >= this.collectEvery) {
      this.collectedAt = this.written;
      Bun.gc(false);
    }
  }

  /** Drops what is buffered (after an error nothing partial should follow). */
  discard(): void {
    this.len = 0;
  }

  private writeOut(data: Uint8Array): void {
    if (this.closed) throw new StdoutClosed();
    let off = 0;
    while (off < data.length) {
      try {
        off += writeSync(this.fd, data, off, data.length - off);
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (code === "EAGAIN" || code === "EWOULDBLOCK" || code === "EINTR") {
          Bun.sleepSync(1);
          continue;
        }
        if (code === "EPIPE" || code === "ECONNRESET") {
          this.closed = true;
          throw new StdoutClosed();
        }
        throw e;
      }
    }
    this.written += data.length;
  }
}
