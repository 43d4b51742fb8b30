/**
 * pcapng block reader (pure TypeScript): Section Header Blocks (each with its own byte order),
 * Interface Description Blocks (linktype, snaplen, if_tsresol, if_tsoffset per interface),
 * Enhanced Packet Blocks, Simple Packet Blocks, the obsolete Packet Block. Every other block type
 * (name resolution, statistics, custom, decryption secrets, …) is skipped.
 *
 * Each packet reaches the sink with ITS interface's linktype, so files mixing linktypes work.
 * Simple Packet Blocks have no timestamp: they get the previous packet's ts and count as untimed.
 * So does a packet whose timestamp (64-bit units / if_tsresol + if_tsoffset) is beyond ±MAX_TS
 * seconds, the range of a JavaScript Date (also counted in badTimestamps).
 *
 * Limits: a block whose total length is < 12, not a multiple of 4 or > MAX_RECORD ends the read
 * (malformed record, `truncated` set); a packet block whose caplen exceeds the block or whose
 * interface id is unknown is skipped (malformed record) and reading goes on. Timestamps are f64
 * seconds: with ns resolution the last ~0.3 µs digits are rounded.
 */
import type { PacketSink } from "./packet.ts";
import { type Chunk, MAX_RECORD, MAX_TS, type ReaderCounters, type RecordReader, finishChunk, u32be, u32le } from "./pcap-reader.ts";

export const PCAPNG_SHB = 0x0a0d0d0a;
const BOM_LE = 0x1a2b3c4d; // as read little-endian from an LE section
const BT_IDB = 1;
const BT_PB = 2;
const BT_SPB = 3;
const BT_EPB = 6;

export class PcapngReader implements RecordReader {
  /** Link types of every IDB seen, in file order. */
  readonly linktypes: number[] = [];
  private le = true;
  /** Per interface of the current section. */
  private ifLinktype: number[] = [];
  private ifUnits: number[] = [];
  private ifOffset: number[] = [];
  private ifSnaplen: number[] = [];
  private lastTs = 0;

  constructor(
    private readonly chunk: Chunk,
    private readonly counters: ReaderCounters,
  ) {}

  private u32(b: Uint8Array, p: number): number {
    return this.le ? u32le(b, p) : u32be(b, p);
  }
  private u16(b: Uint8Array, p: number): number {
    return this.le ? b[p]! | (b[p + 1]! << 8) : (b[p]! << 8) | b[p + 1]!;
  }

  step(sink: PacketSink, budget: number): boolean {
    const c = this.chunk;
    const k = this.counters;
    let n = 0;
    while (n < budget) {
      if (k.stopped) return false;
      if (!c.fill(12)) {
        finishChunk(c, k, "a block header");
        return false;
      }
      let b = c.buf;
      let p = c.pos;
      const type = u32le(b, p); // the SHB type is a palindrome; other types are checked below
      if (type === PCAPNG_SHB) {
        const bom = u32le(b, p + 8);
        if (bom === BOM_LE) this.le = true;
        else if (bom === 0x4d3c2b1a) this.le = false;
        else return this.stopMalformed(`section header with bad byte-order magic 0x${bom.toString(16)}`);
      }
      const blockType = this.u32(b, p);
      const len = this.u32(b, p + 4);
      if (len < 12 || (len & 3) !== 0 || len > MAX_RECORD) {
        return this.stopMalformed(`block type 0x${blockType.toString(16)} claims length ${len}`);
      }
      if (!c.fill(len)) {
        finishChunk(c, k, `block type 0x${blockType.toString(16)} (length ${len})`);
        return false;
      }
      b = c.buf;
      p = c.pos;
      c.pos = p + len;
      if (blockType === BT_EPB || blockType === BT_PB) {
        if (len < 32) {
          k.malformedRecords++;
          continue;
        }
        const ifId = blockType === BT_EPB ? this.u32(b, p + 8) : this.u16(b, p + 8);
        const caplen = this.u32(b, p + 20);
        const wirelen = this.u32(b, p + 24);
        if (ifId >= this.ifLinktype.length || caplen > len - 32) {
          k.malformedRecords++;
          continue;
        }
        const hi = this.u32(b, p + 12);
        const lo = this.u32(b, p + 16);
        const units = this.ifUnits[ifId]!;
        let ts = (hi * 4294967296 + lo) / units + this.ifOffset[ifId]!;
        if (ts <= MAX_TS && ts >= -MAX_TS) this.lastTs = ts;
        else {
          // Beyond what a Date can hold: keep the packet, give it the previous record's time.
          ts = this.lastTs;
          k.badTimestamps++;
          k.untimed++;
        }
        k.records++;
        n++;
        sink.packet(b, p + 28, caplen, wirelen, ts, this.ifLinktype[ifId]!);
      } else if (blockType === BT_SPB) {
        if (len < 16 || this.ifLinktype.length === 0) {
          k.malformedRecords++;
          continue;
        }
        const wirelen = this.u32(b, p + 8);
        let caplen = Math.min(wirelen, len - 16);
        const snap = this.ifSnaplen[0]!;
        if (snap > 0 && caplen > snap) caplen = snap;
        k.records++;
        k.untimed++;
        n++;
        sink.packet(b, p + 12, caplen, wirelen, this.lastTs, this.ifLinktype[0]!);
      } else if (blockType === BT_IDB) {
        this.addInterface(b, p, len);
      } else if (blockType === PCAPNG_SHB) {
        this.ifLinktype = [];
        this.ifUnits = [];
        this.ifOffset = [];
        this.ifSnaplen = [];
      }
    }
    return true;
  }

  private addInterface(b: Uint8Array, p: number, len: number): void {
    if (len < 20) {
      this.counters.malformedRecords++;
      return;
    }
    const linktype = this.u16(b, p + 8);
    const snaplen = this.u32(b, p + 12);
    let units = 1e6;
    let offset = 0;
    const end = p + len - 4;
    let o = p + 16;
    // Options: bounded by the block and by a count.
    for (let i = 0; i < 256 && o + 4 <= end; i++) {
      const code = this.u16(b, o);
      const olen = this.u16(b, o + 2);
      if (code === 0) break;
      const v = o + 4;
      if (v + olen > end) break;
      if (code === 9 && olen >= 1) {
        const r = b[v]!;
        const exp = r & 0x7f;
        units = r & 0x80 ? Math.pow(2, exp) : Math.pow(10, exp);
      } else if (code === 14 && olen >= 8) {
        const hi = this.le ? u32le(b, v + 4) | 0 : u32be(b, v) | 0;
        const lo = this.le ? u32le(b, v) : u32be(b, v + 4);
        offset = hi * 4294967296 + lo;
      }
      o = v + ((olen + 3) & ~3);
    }
    this.ifLinktype.push(linktype);
    this.ifUnits.push(units);
    this.ifOffset.push(offset);
    this.ifSnaplen.push(snaplen);
    this.linktypes.push(linktype);
  }

  private stopMalformed(why: string): boolean {
    const k = this.counters;
    k.malformedRecords++;
    k.truncated = true;
    k.message = `${why} at offset ${this.chunk.offset()}; stopped`;
    return false;
  }
}
