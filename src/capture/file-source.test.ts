import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileSource } from "./file-source.ts";
import { FileSourceError } from "./file-source-error.ts";
import type { PacketSink } from "./packet.ts";
import { PCAPS } from "../../test/shared-paths.ts";

const tmp = mkdtempSync(join(tmpdir(), "fm-file-source-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let fileNo = 0;
function write(bytes: Uint8Array | number[]): string {
  const p = join(tmp, `f${fileNo++}`);
  writeFileSync(p, bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
  return p;
}

interface Rec {
  data: number[];
  caplen: number;
  wirelen: number;
  ts: number;
  linktype: number;
}
function collect(path: string, chunkSize?: number): { recs: Rec[]; src: FileSource } {
  const src = new FileSource({ path, chunkSize });
  const recs: Rec[] = [];
  src.readSync({
    packet(buf, off, caplen, wirelen, ts, linktype) {
      recs.push({ data: [...buf.subarray(off, off + caplen)], caplen, wirelen, ts, linktype });
    },
  });
  return { recs, src };
}

// ---- writers built by the test ----

class W {
  bytes: number[] = [];
  constructor(readonly le: boolean) {}
  u16(v: number) {
    const b = [(v >> 8) & 0xff, v & 0xff];
    this.bytes.push(...(this.le ? b.reverse() : b));
    return this;
  }
  u32(v: number) {
    const b = [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    this.bytes.push(...(this.le ? b.reverse() : b));
    return this;
  }
  raw(b: number[]) {
    this.bytes.push(...b);
    return this;
  }
}
const payload = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

function pcap(le: boolean, ns: boolean, linkField: number, recs: { sec: number; frac: number; data: number[]; wire?: number }[]): number[] {
  const w = new W(le).u32(ns ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(linkField);
  for (const r of recs) w.u32(r.sec).u32(r.frac).u32(r.data.length).u32(r.wire ?? r.data.length).raw(r.data);
  return w.bytes;
}

describe("classic pcap", () => {
  const recs = [
    { sec: 1700000000, frac: 250000, data: payload(60, 1) },
    { sec: 1700000001, frac: 999999, data: payload(1514, 2), wire: 9000 },
    { sec: 1700000002, frac: 0, data: [] },
  ];
  test.each([
    [true, false],
    [false, false],
    [true, true],
    [false, true],
  ])("le=%p ns=%p: every record, its bytes, ts, wirelen; linktype from the low 16 bits", (le, ns) => {
    const { recs: got, src } = collect(write(pcap(le, ns, 0x30000001, recs)));
    expect(src.format).toBe("pcap");
    expect(src.linktypes()).toEqual([1]);
    expect(got.length).toBe(3);
    expect(src.records).toBe(3);
    expect(src.stats().packets).toBe(3);
    expect(src.truncated).toBe(false);
    for (let i = 0; i < 3; i++) {
      expect(got[i]!.data).toEqual(recs[i]!.data);
      expect(got[i]!.wirelen).toBe(recs[i]!.wire ?? recs[i]!.data.length);
      expect(got[i]!.linktype).toBe(1);
      expect(Math.abs(got[i]!.ts - (recs[i]!.sec + recs[i]!.frac * (ns ? 1e-9 : 1e-6)))).toBeLessThan(1e-9);
    }
  });

  test("a small chunk (records crossing chunk ends, one record larger than the chunk) gives the same packets", () => {
    const many = Array.from({ length: 300 }, (_, i) => ({ sec: i, frac: i, data: payload((i * 37) % 1600, i) }));
    many.push({ sec: 999, frac: 1, data: payload(200000, 3) });
    many.push({ sec: 1000, frac: 1, data: payload(10, 4) });
    const path = write(pcap(true, false, 1, many));
    const big = collect(path);
    const small = collect(path, 4096);
    expect(small.recs.length).toBe(many.length);
    expect(small.recs).toEqual(big.recs);
    expect(small.recs.map((r) => r.data)).toEqual(many.map((r) => r.data));
  });

  test("truncated at every length: complete records delivered, then truncated + message, never a throw", () => {
    const bytes = readFileSync(`${PCAPS}zeek__communityid_icmp.pcap`);
    // Record boundaries computed here from the file itself (LE µs pcap).
    const ends: number[] = [];
    for (let p = 24; p + 16 <= bytes.length; ) {
      p += 16 + bytes.readUInt32LE(p + 8);
      ends.push(p);
    }
    expect(ends.at(-1)).toBe(bytes.length);
    for (let len = 24; len <= bytes.length; len++) {
      const { recs, src } = collect(write(bytes.subarray(0, len)));
      const complete = ends.filter((e) => e <= len).length;
      expect(recs.length).toBe(complete);
      const atBoundary = len === 24 || ends.includes(len);
      expect(src.truncated).toBe(!atBoundary);
      if (!atBoundary) expect(src.message).toContain("file ends inside");
    }
  });

  test("absurd caplen: counted as malformed, reading stops after the good records", () => {
    const bytes = pcap(true, false, 1, [{ sec: 1, frac: 0, data: payload(40, 1) }]);
    const w = new W(true).u32(2).u32(0).u32(0x7fffffff).u32(262144).raw(payload(100, 2));
    const { recs, src } = collect(write([...bytes, ...w.bytes]));
    expect(recs.length).toBe(1);
    expect(src.malformedRecords).toBe(1);
    expect(src.truncated).toBe(true);
    expect(src.message).toContain("caplen 2147483647");
  });
});

// ---- pcapng ----

function block(le: boolean, type: number, body: number[]): number[] {
  while (body.length % 4) body.push(0);
  const len = body.length + 12;
  return new W(le).u32(type).u32(len).raw(body).u32(len).bytes;
}
function shb(le: boolean): number[] {
  return block(le, 0x0a0d0d0a, new W(le).u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff).bytes);
}
function idb(le: boolean, linktype: number, tsresol?: number, tsoffset?: number, snaplen = 0): number[] {
  const w = new W(le).u16(linktype).u16(0).u32(snaplen);
  w.u16(2).u16(3).raw([0x65, 0x74, 0x68, 0]); // if_name "eth" padded
  if (tsresol !== undefined) w.u16(9).u16(1).raw([tsresol, 0, 0, 0]);
  if (tsoffset !== undefined) {
    w.u16(14).u16(8);
    if (le) w.u32(tsoffset).u32(0);
    else w.u32(0).u32(tsoffset);
  }
  w.u16(0).u16(0);
  return block(le, 1, w.bytes);
}
function epb(le: boolean, ifId: number, ts64: bigint, data: number[], wire?: number): number[] {
  const w = new W(le).u32(ifId).u32(Number(ts64 >> 32n)).u32(Number(ts64 & 0xffffffffn)).u32(data.length).u32(wire ?? data.length).raw(data);
  return block(le, 6, w.bytes);
}

describe("pcapng", () => {
  const d = [payload(60, 1), payload(70, 2), payload(80, 3), payload(90, 4), payload(100, 5), payload(42, 6), payload(44, 7)];
  const file = [
    // Section 1, little-endian: Ethernet µs (default), NULL with ns, raw with 2^-10 and a 100 s offset.
    ...shb(true),
    ...idb(true, 1, undefined, undefined, 90), // snaplen 90 bounds the SPB below (wirelen 200)
    ...idb(true, 0, 9),
    ...idb(true, 101, 0x80 | 10, 100),
    ...epb(true, 0, 1700000000_123456n, d[0]!),
    ...epb(true, 1, 1700000001_000000123n, d[1]!, 1000),
    ...block(true, 0x00000bad, [1, 2, 3, 4, 5]), // custom block: skipped
    ...block(true, 4, [0, 0, 0, 0]), // name resolution: skipped
    ...epb(true, 2, 1024n * 5n + 512n, d[2]!),
    ...block(true, 3, new W(true).u32(200).raw(d[3]!).bytes), // SPB (interface 0), wirelen 200
    ...block(true, 2, new W(true).u16(1).u16(0).u32(0).u32(7).u32(d[4]!.length).u32(d[4]!.length).raw(d[4]!).bytes), // obsolete PB
    ...epb(true, 9, 1n, d[5]!), // unknown interface: malformed, skipped
    // Section 2, big-endian: its own interface list.
    ...shb(false),
    ...idb(false, 113, 3),
    ...epb(false, 0, 1700000099_500n, d[6]!),
  ];

  test("sections of both byte orders, per-interface linktype and resolution, SPB/PB, skipped blocks", () => {
    const { recs, src } = collect(write(file));
    expect(src.format).toBe("pcapng");
    expect(src.linktypes()).toEqual([1, 0, 101, 113]);
    expect(recs.map((r) => r.linktype)).toEqual([1, 0, 101, 1, 0, 113]);
    expect(recs.map((r) => r.data)).toEqual([d[0]!, d[1]!, d[2]!, d[3]!, d[4]!, d[6]!]);
    expect(recs.map((r) => r.wirelen)).toEqual([60, 1000, 80, 200, 100, 44]);
    const ts = recs.map((r) => r.ts);
    const want = [1700000000.123456, 1700000001.000000123, 5.5 + 100, 5.5 + 100, 7 / 1e9, 1700000099.5];
    for (let i = 0; i < want.length; i++) expect(Math.abs(ts[i]! - want[i]!)).toBeLessThan(1e-6);
    expect(src.records).toBe(6);
    expect(src.untimed).toBe(1);
    expect(src.malformedRecords).toBe(1);
    expect(src.truncated).toBe(false);
  });

  test("truncated at every length: no throw, records only grow, a cut block is reported", () => {
    const bytes = new Uint8Array(file);
    let prev = 0;
    for (let len = 12; len <= bytes.length; len++) {
      const { recs, src } = collect(write(bytes.subarray(0, len)));
      expect(recs.length).toBeGreaterThanOrEqual(prev);
      prev = recs.length;
      if (len < bytes.length && src.truncated) expect(src.message.length).toBeGreaterThan(0);
    }
    expect(prev).toBe(6);
  });

  test("the real mixed-linktype file (libpcap refuses it) reads with both linktypes", () => {
    const { recs, src } = collect(`${PCAPS}pcapngtest__test006.pcapng`);
    expect(src.linktypes()).toEqual([1, 0]);
    expect(new Set(recs.map((r) => r.linktype))).toEqual(new Set([0, 1]));
  });

  test("absurd block length stops the read as malformed", () => {
    const bad = [...shb(true), ...idb(true, 1), ...epb(true, 0, 1n, d[0]!), ...new W(true).u32(6).u32(0x7ffffff0).u32(0).bytes];
    const { recs, src } = collect(write(bad));
    expect(recs.length).toBe(1);
    expect(src.truncated).toBe(true);
    expect(src.malformedRecords).toBe(1);
  });
});

describe("errors and async", () => {
  async function rejection(path: string): Promise<FileSourceError> {
    const src = new FileSource({ path });
    const sink: PacketSink = { packet() {} };
    let err: unknown;
    await src.start(sink).catch((e) => (err = e));
    expect(err).toBeInstanceOf(FileSourceError);
    expect(() => src.readSync(sink)).toThrow(FileSourceError);
    return err as FileSourceError;
  }
  test("missing file, directory, empty file, wrong magic, short header", async () => {
    const missing = join(tmp, "nope.pcap");
    expect((await rejection(missing)).message).toBe(`${missing}: cannot read capture file: ENOENT (no such file)`);
    expect((await rejection(tmp)).message).toContain("EISDIR");
    expect((await rejection(write([]))).message).toContain("not a pcap or pcapng file (empty file)");
    const text = write([...Buffer.from("GET / HTTP/1.1\r\n")]);
    expect((await rejection(text)).message).toBe(`${text}: not a pcap or pcapng file (magic 0x20544547)`);
    expect((await rejection(write([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]))).message).toContain("truncated pcap file header");
  });

  test("start() yields to the event loop between batches and stop() ends it", async () => {
    const recs = Array.from({ length: 5000 }, (_, i) => ({ sec: i, frac: 0, data: payload(20, i) }));
    const path = write(pcap(true, false, 1, recs));
    const src = new FileSource({ path, batch: 100 });
    let n = 0;
    let ranDuringReplay = false;
    let seenAtEnd = false;
    await src.start({
      packet() {
        n++;
        if (n === 150) setImmediate(() => (ranDuringReplay = true));
        if (n === 5000) seenAtEnd = ranDuringReplay;
      },
    });
    expect(n).toBe(5000);
    expect(seenAtEnd).toBe(true);

    const stopper = new FileSource({ path, batch: 100 });
    let m = 0;
    const done = stopper.start({ packet: () => void m++ });
    await new Promise((r) => setImmediate(r));
    stopper.stop();
    await done;
    expect(m).toBeLessThan(5000);
    expect(m).toBeGreaterThan(0);
  });
});
