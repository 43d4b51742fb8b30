/**
 * FileSource: replays a classic pcap (both byte orders, µs/ns, Kuznetzov-modified) or pcapng file
 * through a PacketSink, in pure TypeScript (no libpcap: libpcap refuses pcapng files whose
 * interfaces have different linktypes; this reader gives every packet its own interface's linktype).
 *
 * - `readSync(sink)`: fastest path, reads the whole file synchronously (CLI, bench).
 * - `start(sink)`: same reader in batches of `batch` packets, yielding to the event loop between
 *   batches (for a Worker that must answer messages while replaying); `stop()` ends it.
 *
 * Errors: a file that cannot be opened or is not a capture file rejects start() / throws from
 * readSync() with a FileSourceError naming the file and the reason. Damage after the header never
 * throws: every complete record is delivered, then `truncated` / `message` say why reading stopped.
 * The `buf` handed to the sink is a reused chunk buffer: the sink must not keep it.
 */
import { closeSync, fstatSync, openSync, statSync } from "node:fs";
import { FileSourceError } from "./file-source-error.ts";
import type { CaptureStats, PacketSink, PacketSource } from "./packet.ts";
import {
  CHUNK_SIZE,
  Chunk,
  PCAP_MAGIC_KUZ,
  PCAP_MAGIC_NS,
  PCAP_MAGIC_US,
  PcapReader,
  ReaderCounters,
  type RecordReader,
  u32le,
} from "./pcap-reader.ts";
import { PCAPNG_SHB, PcapngReader } from "./pcapng-reader.ts";
import { MIN_BYTES, ReadAhead, type ReadAheadConfig } from "./read-ahead.ts";

export interface FileSourceConfig {
  path: string;
  /** Packets per batch between event-loop yields in start() (default 16384). */
  batch?: number;
  /** Chunk buffer size in bytes (default 8 MiB; smaller for tests). */
  chunkSize?: number;
  /** Awaited between batches in start() instead of a bare event-loop yield (replay pacing). */
  between?: () => Promise<void>;
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
  ENOTDIR: "a path component is not a directory",
  ELOOP: "too many symbolic links",
  EMFILE: "too many open files",
  EIO: "I/O error",
};

function errnoError(path: string, e: unknown): FileSourceError {
  const code = (e as NodeJS.ErrnoException)?.code ?? "EUNKNOWN";
  return new FileSourceError(path, code, `cannot read capture file: ${code} (${ERRNO_TEXT[code] ?? String(e)})`);
}

export type CaptureFormat = "pcap" | "pcapng";

export class FileSource implements PacketSource {
  readonly path: string;
  /** Shared counters: records, untimed, malformedRecords, truncated, message. */
  readonly counters = new ReaderCounters();
  /** "pcap" or "pcapng" once opened. */
  format: CaptureFormat | "" = "";
  private readonly batch: number;
  private readonly chunkSize: number;
  private readonly between: (() => Promise<void>) | undefined;
  private types: number[] = [];
  /** The chunk of the read in progress (its file offset is the reader's position). */
  private current: Chunk | null = null;
  /** True when the last read went through a read-ahead Worker (prepareReadAhead). */
  readAhead = false;
  /** The file opened by openNow(), for the next read. */
  private opened: { reader: RecordReader; fd: number; chunk: Chunk } | null = null;
  /** A descriptor opened and handed to a read-ahead Worker by prepareReadAhead(), for the next read. */
  private prepared: { fd: number; ra: ReadAhead } | null = null;

  constructor(config: FileSourceConfig) {
    this.path = config.path;
    this.batch = Math.max(1, config.batch ?? 16384);
    this.chunkSize = Math.max(4096, config.chunkSize ?? CHUNK_SIZE);
    this.between = config.between;
  }

  /** File offset of the next record of the read in progress (-1 before and after it). */
  position(): number {
    return this.current?.offset() ?? -1;
  }

  /** Packet records delivered. */
  get records(): number {
    return this.counters.records;
  }
  /** Records without a timestamp (pcapng SPB). */
  get untimed(): number {
    return this.counters.untimed;
  }
  /** Records whose time was outside a JavaScript Date's range (also counted in untimed). */
  get badTimestamps(): number {
    return this.counters.badTimestamps;
  }
  /** Records whose header was unusable (skipped, or the one that stopped the read). */
  get malformedRecords(): number {
    return this.counters.malformedRecords;
  }
  /** True when reading stopped before a clean end of file. */
  get truncated(): boolean {
    return this.counters.truncated;
  }
  /** Why reading stopped early, "" otherwise. */
  get message(): string {
    return this.counters.message;
  }

  /**
   * For the next readSync(): when the file is a regular file of at least `minBytes` (default
   * MIN_BYTES), starts a read-ahead Worker on it (read-ahead.ts) so the reads run beside the packet
   * loop. Does nothing (the read stays on this thread) when the file cannot be opened here (readSync
   * reports that) or the Worker cannot start.
   */
  async prepareReadAhead(config: ReadAheadConfig & { minBytes?: number } = {}): Promise<boolean> {
    // Only a regular file, checked before opening it: opening a pipe here would take bytes (or its
    // writer) from the read.
    let fd: number;
    try {
      const st = statSync(this.path);
      if (!st.isFile() || st.size < (config.minBytes ?? MIN_BYTES)) return false;
      fd = openSync(this.path, "r");
    } catch {
      return false;
    }
    const ra = await ReadAhead.start(fd, this.path, config).catch(() => null);
    if (ra !== null) {
      this.prepared = { fd, ra };
      return true;
    }
    closeSync(fd);
    return false;
  }

  /**
   * Opens the file and parses its header now, kept open for the next read (throws FileSourceError):
   * for a pipe or a device (`flows --read -`), which can be opened and read only once, so the
   * checks before any output and the read itself use the same descriptor.
   */
  openNow(): void {
    this.opened ??= this.open();
  }

  /** Opens the file and parses the file header; throws FileSourceError. */
  private open(): { reader: RecordReader; fd: number; chunk: Chunk } {
    const kept = this.opened;
    if (kept !== null) {
      this.opened = null;
      return kept;
    }
    const path = this.path;
    const prepared = this.prepared;
    this.prepared = null;
    this.readAhead = prepared !== null;
    let fd: number;
    let chunk: Chunk | null = null;
    try {
      fd = prepared?.fd ?? openSync(path, "r");
    } catch (e) {
      throw errnoError(path, e);
    }
    try {
      let size = this.chunkSize;
      try {
        const st = fstatSync(fd);
        if (st.isDirectory()) throw new FileSourceError(path, "EISDIR", "cannot read capture file: EISDIR (is a directory)");
        if (st.isFile()) size = Math.min(size, Math.max(65536, st.size));
      } catch (e) {
        if (e instanceof FileSourceError) throw e;
        throw errnoError(path, e);
      }
      chunk = prepared?.ra.chunk(fd) ?? new Chunk(fd, size);
      chunk.fill(24);
      if (chunk.error) throw errnoError(path, { code: chunk.error });
      const have = chunk.end - chunk.pos;
      if (have < 4) {
        throw new FileSourceError(path, "EFORMAT", `not a pcap or pcapng file (${have === 0 ? "empty file" : `only ${have} bytes`})`);
      }
      const magic = u32le(chunk.buf, chunk.pos);
      let reader: RecordReader;
      const pcapMagics = [PCAP_MAGIC_US, PCAP_MAGIC_NS, PCAP_MAGIC_KUZ, 0xd4c3b2a1, 0x4d3cb2a1, 0x34cdb2a1];
      if (pcapMagics.includes(magic)) {
        if (have < 24) throw new FileSourceError(path, "EFORMAT", `truncated pcap file header (${have} of 24 bytes)`);
        const r = new PcapReader(chunk, this.counters, magic);
        this.format = "pcap";
        this.types = [r.linktype];
        reader = r;
      } else if (magic === PCAPNG_SHB) {
        if (have < 12) throw new FileSourceError(path, "EFORMAT", `truncated pcapng section header (${have} bytes)`);
        const bom = u32le(chunk.buf, chunk.pos + 8);
        if (bom !== 0x1a2b3c4d && bom !== 0x4d3c2b1a) {
          throw new FileSourceError(path, "EFORMAT", `pcapng section header with bad byte-order magic 0x${bom.toString(16)}`);
        }
        const r = new PcapngReader(chunk, this.counters);
        this.format = "pcapng";
        this.types = r.linktypes;
        reader = r;
      } else {
        const hex = magic.toString(16).padStart(8, "0");
        throw new FileSourceError(path, "EFORMAT", `not a pcap or pcapng file (magic 0x${hex})`);
      }
      return { reader, fd, chunk };
    } catch (e) {
      if (chunk !== null) chunk.close(); // a read-ahead chunk stops its Worker
      else prepared?.ra.stop();
      closeSync(fd);
      throw e;
    }
  }

  /** Opens the file and reads its header, then closes it: throws the FileSourceError start() would. */
  probe(): void {
    const { fd, chunk } = this.open();
    chunk.close();
    closeSync(fd);
  }

  /** Reads the whole file synchronously into `sink`. Throws FileSourceError if it cannot start. */
  readSync(sink: PacketSink): void {
    this.counters.stopped = false;
    const { reader, fd, chunk } = this.open();
    this.current = chunk;
    try {
      while (reader.step(sink, 1 << 30)) {
        /* step returns false at the end */
      }
    } finally {
      this.current = null;
      chunk.close();
      closeSync(fd);
    }
  }

  async start(sink: PacketSink): Promise<void> {
    this.counters.stopped = false;
    const { reader, fd, chunk } = this.open();
    try {
      while (reader.step(sink, this.batch)) {
        if (this.between) await this.between();
        else await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      chunk.close();
      closeSync(fd);
    }
  }

  stop(): void {
    this.counters.stopped = true;
  }

  stats(): CaptureStats {
    return { packets: this.counters.records, received: 0, dropped: 0, ifDropped: 0 };
  }

  linktypes(): number[] {
    return this.types.slice();
  }
}
