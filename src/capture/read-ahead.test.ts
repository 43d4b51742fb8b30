/**
 * The read-ahead Worker (read-ahead.ts) hands the readers exactly the bytes a read on the capture
 * thread would: every record of every shared capture (pcap and pcapng) with tiny slots, so records
 * cross slot ends all the time; pcapng blocks longer than the pad (joined in the spill buffer); a
 * file that ends inside a record (the same truncation message); a file too small for the Worker.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileSource } from "./file-source.ts";
import type { ReadAheadConfig } from "./read-ahead.ts";
import { PCAPS } from "../../test/shared-paths.ts";

const tmp = mkdtempSync(join(tmpdir(), "fm-read-ahead-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Every record as one string (caplen, wirelen, ts, linktype, bytes) and the reader's counters. */
async function read(path: string, ra: (ReadAheadConfig & { minBytes?: number }) | null) {
  const src = new FileSource({ path });
  const used = ra === null ? false : await src.prepareReadAhead(ra);
  const recs: string[] = [];
  src.readSync({
    packet(buf, off, caplen, wirelen, ts, linktype) {
      recs.push(`${caplen} ${wirelen} ${ts} ${linktype} ${Buffer.from(buf.subarray(off, off + caplen)).toString("base64")}`);
    },
  });
  return { used, recs, records: src.records, truncated: src.truncated, message: src.message, malformed: src.malformedRecords };
}

const shared = readdirSync(PCAPS).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => join(PCAPS, f));

describe("the same records as a read on the capture thread", () => {
  test.each([
    ["2 slots of 4 KiB, pad 2 KiB (long records joined in the spill buffer)", { slots: 2, slotBytes: 4096, pad: 2048 }],
    ["3 slots of 64 KiB, pad 70 KiB (every record fits the pad)", { slots: 3, slotBytes: 65536, pad: 70 * 1024 }],
  ])("%s, every shared capture", async (_name, config) => {
    expect(shared.length).toBeGreaterThan(20);
    expect(shared.some((f) => f.endsWith(".pcapng"))).toBe(true);
    for (const f of shared) {
      const plain = await read(f, null);
      const ahead = await read(f, { ...config, minBytes: 0 });
      expect(ahead.used).toBe(true);
      expect(ahead.records).toBe(plain.records);
      expect(ahead.truncated).toBe(plain.truncated);
      expect(ahead.message).toBe(plain.message);
      expect(ahead.recs).toEqual(plain.recs);
    }
  }, 120_000);
});

// ---- files built here ----

function u32le(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
const bytes = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/** A little-endian pcapng: one section, one Ethernet interface, one EPB per payload. */
function pcapng(payloads: number[][]): Uint8Array {
  const out: number[] = [];
  const block = (type: number, body: number[]) => {
    const len = 12 + body.length;
    out.push(...u32le(type), ...u32le(len), ...body, ...u32le(len));
  };
  block(0x0a0d0d0a, [...u32le(0x1a2b3c4d), 1, 0, 0, 0, ...u32le(0xffffffff), ...u32le(0xffffffff)]);
  block(1, [1, 0, 0, 0, ...u32le(262144)]);
  payloads.forEach((p, i) => {
    const padded = [...p, ...new Array((4 - (p.length % 4)) % 4).fill(0)];
    block(6, [...u32le(0), ...u32le(0), ...u32le(1_700_000_000_000_000 % 2 ** 32 + i), ...u32le(p.length), ...u32le(p.length), ...padded]);
  });
  return new Uint8Array(out);
}

/** A classic little-endian µs pcap with one record per payload. */
function pcap(payloads: number[][]): Uint8Array {
  const out = [...u32le(0xa1b2c3d4), 2, 0, 4, 0, ...u32le(0), ...u32le(0), ...u32le(262144), ...u32le(1)];
  payloads.forEach((p, i) => out.push(...u32le(1_700_000_000 + i), ...u32le(i), ...u32le(p.length), ...u32le(p.length + 4), ...p));
  return new Uint8Array(out);
}

describe("edge cases", () => {
  test("pcapng blocks of up to 40 KiB through 4 KiB slots and a 1 KiB pad (spill buffer grown and reused)", async () => {
    const payloads = [bytes(60, 1), bytes(40_000, 2), bytes(1500, 3), bytes(9000, 4), bytes(40_001, 5), bytes(64, 6), bytes(20_000, 7)];
    const f = join(tmp, "big-blocks.pcapng");
    writeFileSync(f, pcapng(payloads));
    const plain = await read(f, null);
    const ahead = await read(f, { slots: 2, slotBytes: 4096, pad: 1024, minBytes: 0 });
    expect(ahead.used).toBe(true);
    expect(plain.records).toBe(payloads.length);
    expect(ahead.recs).toEqual(plain.recs);
    expect(ahead.recs.map((r) => Number(r.split(" ")[0]))).toEqual(payloads.map((p) => p.length));
  });

  test("a file that ends inside a record: the same records and the same truncation message", async () => {
    const whole = pcap(Array.from({ length: 300 }, (_, i) => bytes(40 + ((i * 97) % 1400), i)));
    const f = join(tmp, "cut.pcap");
    writeFileSync(f, whole.subarray(0, whole.length - 700));
    const plain = await read(f, null);
    const ahead = await read(f, { slots: 2, slotBytes: 4096, pad: 2048, minBytes: 0 });
    expect(ahead.used).toBe(true);
    expect(plain.truncated).toBe(true);
    expect(plain.message).toMatch(/^file ends inside record \d+ \(caplen \d+\) at offset \d+ \(\d+ bytes left\); stopped$/);
    expect(ahead.message).toBe(plain.message);
    expect(ahead.recs).toEqual(plain.recs);
  });

  test("a file smaller than minBytes is read on the capture thread; a non-capture file fails the same way", async () => {
    const f = join(tmp, "small.pcap");
    writeFileSync(f, pcap([bytes(100, 1)]));
    expect((await read(f, { minBytes: 1 << 20 })).used).toBe(false);
    const bad = join(tmp, "bad.pcap");
    writeFileSync(bad, readFileSync(f).map((b, i) => (i < 4 ? 0 : b)));
    const src = new FileSource({ path: bad });
    expect(await src.prepareReadAhead({ minBytes: 0 })).toBe(true);
    expect(() => src.readSync({ packet() {} })).toThrow(/not a pcap or pcapng file \(magic 0x00000000\)/);
  });
});
