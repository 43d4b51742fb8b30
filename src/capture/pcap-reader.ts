/**
 * Classic pcap record reader (pure TypeScript) and the chunked file buffer shared with the pcapng
 * reader.
 *
 * The file is read in big chunks (8 MiB by default) into one reused buffer; the sink receives
 * `(chunk, offset, caplen, …)` views into it — no copy and no allocation per packet. A record that
 * crosses the end of the chunk is moved to the start of the buffer before the next read.
 * The sink must therefore not keep `buf` beyond its `packet()` call.
 *
 * Limits: a record's caplen above MAX_CAPLEN (262144, wiretap's limit) is counted as a malformed
 * record and ends the read (the classic format cannot resynchronise); a record cut by the end of the
 * file ends the read with `truncated` set. Neither throws.
 */
import { readSync } from "node:fs";
import type { PacketSink } from "./packet.ts";

/** Largest caplen accepted in a classic pcap record (wiretap's WTAP_MAX_PACKET_SIZE_STANDARD). */
export const MAX_CAPLEN = 262144;
/** Largest block/record the chunk buffer grows to hold (pcapng blocks). */
export const MAX_RECORD = 64 * 1024 * 1024;
/** Default chunk size. */
export const CHUNK_SIZE = 512 * 1024;
/**
 * Largest |timestamp| in seconds a reader hands on: a JavaScript Date holds ±8.64e15 ms. A classic
 * pcap record (u32 seconds + u32 fraction) never exceeds it; a pcapng one (64-bit count of
 * if_tsresol units, plus if_tsoffset) can.
 */
export const MAX_TS = 8.64e12;

/** Counters shared by the readers and exposed by FileSource. */
export class ReaderCounters {
  /** Packet records handed to the sink. */
  records = 0;
  /**
   * Records without a usable timestamp: pcapng Simple Packet Blocks, and records whose time is
   * outside what a JavaScript Date can hold (badTimestamps). They carry the previous record's ts
   * (0 when there is none).
   */
  untimed = 0;
  /** Records whose timestamp was outside ±MAX_TS (or not finite): also counted in `untimed`. */
  badTimestamps = 0;
  /** Records skipped or that ended the read because their header made no sense. */
  malformedRecords = 0;
  /** True when the file ended inside a record/block or an absurd length stopped the read. */
  truncated = false;
  /** Why the read stopped early ("" when it reached a clean end of file). */
  message = "";
  /** Set by FileSource.stop(); readers check it between records. */
  stopped = false;
}

/** A file read in chunks into one reused buffer. */
export class Chunk {
  buf: Uint8Array;
  /** Next unread byte in buf. */
  pos = 0;
  /** End of valid data in buf. */
  end = 0;
  /** File offset of buf[0]. */
  base = 0;
  eof = false;
  /** Read error (EIO…) met after the file was opened; treated as end of file. */
  error = "";

  constructor(
    readonly fd: number,
    size: number,
  ) {
    this.buf = new Uint8Array(size);
  }

  /** Releases what the chunk holds beyond its buffer (a read-ahead Worker: ReadAheadChunk). */
  close(): void {}

  /** File offset of buf[pos]. */
  offset(): number {
    return this.base + this.pos;
  }

  /**
   * Makes `need` bytes available at buf[pos..]. May move the unread tail to the start of the buffer
   * (or grow it up to MAX_RECORD). Returns false when the file ends first.
   */
  fill(need: number): boolean {
    if (this.end - this.pos >= need) return true;
    if (need > MAX_RECORD) return false;
    if (need > this.buf.length) {
      const next = new Uint8Array(Math.min(MAX_RECORD, Math.max(need, this.buf.length * 2)));
      next.set(this.buf.subarray(this.pos, this.end));
      this.buf = next;
      this.base += this.pos;
      this.end -= this.pos;
      this.pos = 0;
    } else if (this.pos > 0 && this.pos + need > this.buf.length) {
      this.buf.copyWithin(0, this.pos, this.end);
      this.base += this.pos;
      this.end -= this.pos;
      this.pos = 0;
    }
    while (this.end - this.pos < need && !this.eof) {
      let n = 0;
      try {
        n = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null);
      } catch (e) {
        this.error = (e as NodeJS.ErrnoException).code ?? String(e);
        n = 0;
      }
      if (n <= 0) this.eof = true;
      else this.end += n;
    }
    return this.end - this.pos >= need;
  }
}

/** Steps a reader: delivers up to `budget` records; returns false once the file is finished. */
export interface RecordReader {
  step(sink: PacketSink, budget: number): boolean;
}

/** Classic pcap magic numbers as read little-endian from the first 4 bytes. */
export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
/** Kuznetzov's modified pcap (records have 8 extra header bytes), microseconds. */
export const PCAP_MAGIC_KUZ = 0xa1b2cd34;

export function u32le(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}
export function u32be(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

/** Reads the records of a classic pcap file whose 24-byte header is at chunk.pos. */
export class PcapReader implements RecordReader {
  readonly linktype: number;
  readonly snaplen: number;
  private readonly le: boolean;
  private readonly fracScale: number;
  private readonly hdrLen: number;

  constructor(
    private readonly chunk: Chunk,
    private readonly counters: ReaderCounters,
    /** Magic as read little-endian. */
    magicLE: number,
  ) {
    const b = chunk.buf;
    const p = chunk.pos;
    const swappedNs = 0x4d3cb2a1;
    const swappedKuz = 0x34cdb2a1;
    this.le = magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS || magicLE === PCAP_MAGIC_KUZ;
    this.fracScale = magicLE === PCAP_MAGIC_NS || magicLE === swappedNs ? 1e-9 : 1e-6;
    this.hdrLen = magicLE === PCAP_MAGIC_KUZ || magicLE === swappedKuz ? 24 : 16;
    const rd = this.le ? u32le : u32be;
    this.snaplen = rd(b, p + 16);
    // tshark/libpcap: the link type is the low 16 bits; the upper bits hold FCS info.
    this.linktype = rd(b, p + 20) & 0xffff;
    chunk.pos = p + 24;
  }

  step(sink: PacketSink, budget: number): boolean {
    const c = this.chunk;
    const k = this.counters;
    const lt = this.linktype;
    const hl = this.hdrLen;
    const scale = this.fracScale;
    const le = this.le;
    let buf = c.buf;
    let n = 0;
    while (n < budget) {
      if ((n & 255) === 0 && k.stopped) return false; // stop() is honoured within 256 records
      let p = c.pos;
      if (c.end - p < hl) {
        if (!c.fill(hl)) return this.finish("record header");
        buf = c.buf;
        p = c.pos;
      }
      let sec: number, frac: number, caplen: number, wirelen: number;
      if (le) {
        sec = (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
        frac = (buf[p + 4]! | (buf[p + 5]! << 8) | (buf[p + 6]! << 16) | (buf[p + 7]! << 24)) >>> 0;
        caplen = (buf[p + 8]! | (buf[p + 9]! << 8) | (buf[p + 10]! << 16) | (buf[p + 11]! << 24)) >>> 0;
        wirelen = (buf[p + 12]! | (buf[p + 13]! << 8) | (buf[p + 14]! << 16) | (buf[p + 15]! << 24)) >>> 0;
      } else {
        sec = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
        frac = ((buf[p + 4]! << 24) | (buf[p + 5]! << 16) | (buf[p + 6]! << 8) | buf[p + 7]!) >>> 0;
        caplen = ((buf[p + 8]! << 24) | (buf[p + 9]! << 16) | (buf[p + 10]! << 8) | buf[p + 11]!) >>> 0;
        wirelen = ((buf[p + 12]! << 24) | (buf[p + 13]! << 16) | (buf[p + 14]! << 8) | buf[p + 15]!) >>> 0;
      }
      if (caplen > MAX_CAPLEN) {
        k.malformedRecords++;
        k.truncated = true;
        k.message = `record ${k.records + 1} at offset ${c.offset()} claims caplen ${caplen} > ${MAX_CAPLEN}; stopped`;
        return false;
      }
      const need = hl + caplen;
      if (c.end - p < need) {
        if (!c.fill(need)) return this.finish(`record ${k.records + 1} (caplen ${caplen})`);
        buf = c.buf;
        p = c.pos;
      }
      c.pos = p + need;
      k.records++;
      n++;
      sink.packet(buf, p + hl, caplen, wirelen, sec + frac * scale, lt);
    }
    return true;
  }

  /** End of data: clean when nothing is left, else truncated. */
  private finish(what: string): boolean {
    finishChunk(this.chunk, this.counters, what);
    return false;
  }
}

/** Sets the end-of-file state: truncated when bytes are left over or a read failed. */
export function finishChunk(c: Chunk, k: ReaderCounters, what: string): void {
  const left = c.end - c.pos;
  if (c.error) {
    k.truncated = true;
    k.message = `read error ${c.error} at offset ${c.offset()}; stopped`;
  } else if (left > 0) {
    k.truncated = true;
    k.message = `file ends inside ${what} at offset ${c.offset()} (${left} bytes left); stopped`;
  }
  c.pos = c.end;
}
