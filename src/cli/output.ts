/**
 * Buffered output for the CLI: text is appended into one large buffer (256 KiB) and written out in
 * whole chunks, never one write per row. The write is synchronous and waits for the reader: a pipe
 * that is full (EAGAIN on a non-blocking descriptor) is retried after a short sleep, so memory stays
 * bounded by the buffer whatever the reader's speed. This is the backpressure the flow table's
 * synchronous producers need: a capture file is read in one synchronous loop and flows leave the
 * table from inside it (timeouts, end of capture), so the producer is paused by the write itself.
 *
 * Flow rows are written straight into the buffer from the flow columns (`row`, with the writers of
 * src/flows/format/rows.ts): no string or object per row, so the synchronous read loop makes no
 * garbage for the output and needs no help from the collector. (The record-and-string path this
 * replaced made ≈ +230 MiB of heap over the table on 950 k flows unless it forced a young
 * collection every MiB.)
 *
 * A reader that goes away (EPIPE: `… | head`) turns into StdoutClosed, which main.ts ends quietly
 * with exit code 0, as other Unix tools do.
 */
import { writeSync } from "node:fs";
import type { FlowColumns } from "../flows/table/columns.ts";
import { MAX_COLUMN_ROW, type ColumnRowWriter } from "../flows/format/rows.ts";

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
  /** The buffer; `len` bytes of it are waiting. Row writers write into it directly (`row`). */
  readonly buf: Buffer;
  private len = 0;
  /** Past this many buffered bytes a row might not fit: write out first. */
  private readonly rowLimit: number;
  /** Bytes handed to the descriptor so far. */
  written = 0;
  private closed = false;

  constructor(
    private readonly fd = 1,
    size = OUTPUT_CHUNK,
  ) {
    if (size < 2 * MAX_COLUMN_ROW) throw new RangeError(`OutputWriter: a ${size}-byte buffer is too small for a flow row`);
    this.buf = Buffer.allocUnsafe(size);
    this.rowLimit = size - MAX_COLUMN_ROW;
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

  /** Appends flow slot `i` of `c` as `writer` formats it (a row of src/flows/format/rows.ts). */
  row(writer: ColumnRowWriter, c: FlowColumns, i: number): void {
    if (this.len > this.rowLimit) this.flush();
    this.len = writer(c, i, this.buf, this.len);
  }

  /** Appends `n` bytes of `b`. */
  writeBytes(b: Uint8Array, n = b.length): void {
    if (this.len + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) {
        this.writeOut(b.subarray(0, n));
        return;
      }
    }
    this.buf.set(n === b.length ? b : b.subarray(0, n), this.len);
    this.len += n;
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
  }

  /** Drops what is buffered (after an error nothing partial should follow). */
  discard(): void {
    this.len = 0;
  }

  private writeOut(data: Uint8Array): void {
    if (this.closed) throw new StdoutClosed();
    try {
      writeAll(this.fd, data);
    } catch (e) {
      if (e instanceof StdoutClosed) this.closed = true;
      throw e;
    }
    this.written += data.length;
  }
}

/**
 * Writes all of `data` to `fd`, synchronously: a full pipe is waited for (EAGAIN retried after
 * 1 ms), a reader that went away is StdoutClosed, any other failure (ENOSPC, EIO) is thrown as it
 * is (main.ts: one line on stderr, exit 1).
 */
function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off, data.length - off);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === "EAGAIN" || code === "EWOULDBLOCK" || code === "EINTR") {
        Bun.sleepSync(1);
        continue;
      }
      if (code === "EPIPE" || code === "ECONNRESET") throw new StdoutClosed();
      throw e;
    }
  }
}

/**
 * One piece of text and a newline on stdout, for the verbs' short outputs (help, version,
 * interfaces, config, token): unlike console.log, a failed write is not dropped (exit 1 with its
 * cause, as `flows` does) and a closed reader ends the command quietly (StdoutClosed: exit 0).
 */
export function printOut(text: string): void {
  writeAll(1, Buffer.from(text + "\n"));
}
