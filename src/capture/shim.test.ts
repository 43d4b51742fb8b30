import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bufText, cstr, errbuf, libpcap, PCAP } from "./libpcap.ts";
import { createBatch, loadShim, readBatch, RECORD_HEADER, ShimStatus } from "./shim.ts";
import { PCAPS } from "../../test/shared-paths.ts";

const FILE = `${PCAPS}zeek__wikipedia.pcap`; // classic pcap, µs, little-endian
const ROOT = `${import.meta.dir}/../..`;

/** The file's records parsed in TS: [ts_sec, ts_usec, caplen, wirelen, data]. */
function records(path: string): [number, number, number, number, Uint8Array][] {
  const b = readFileSync(path);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: [number, number, number, number, Uint8Array][] = [];
  for (let off = 24; off + 16 <= b.length; ) {
    const incl = dv.getUint32(off + 8, true);
    out.push([dv.getUint32(off, true), dv.getUint32(off + 4, true), incl, dv.getUint32(off + 12, true), b.subarray(off + 16, off + 16 + incl)]);
    off += 16 + incl;
  }
  return out;
}

test("createBatch rounds snap to 4 and keeps room for one record", () => {
  const b = createBatch(10, 61);
  expect(b.snap).toBe(64);
  expect(b.buf.length).toBe(RECORD_HEADER + 64);
  expect(b.words.buffer).toBe(b.buf.buffer);
});

test("one batch holds aligned records identical to the file's, cut to snap", async () => {
  await loadShim();
  const s = libpcap().symbols;
  const err = errbuf();
  const h = s.pcap_open_offline_with_tstamp_precision(cstr(FILE), PCAP.TSTAMP_PRECISION_MICRO, err);
  expect(bufText(err)).toBe("");
  const expected = records(FILE);
  const batch = createBatch(1 << 20, 100);
  const n = readBatch(h!, batch, -1, 0, true);
  expect(n).toBe(expected.length);
  expect(batch.status[0]).toBe(ShimStatus.EOF);
  let off = 0;
  for (const [sec, usec, caplen, wire, data] of expected) {
    const w = batch.words.subarray(off >>> 2, (off >>> 2) + 4);
    const stored = Math.min(caplen, 100);
    expect([w[0], w[1], w[2], w[3]]).toEqual([sec, usec, stored, wire]);
    expect(batch.buf.subarray(off + 16, off + 16 + stored)).toEqual(data.subarray(0, stored));
    off += 16 + ((stored + 3) & ~3);
  }
  expect(batch.status[1]).toBe(off);
  s.pcap_close(h!);
});

test("a small buffer fills (FULL), then the next calls continue until EOF", async () => {
  await loadShim();
  const s = libpcap().symbols;
  const h = s.pcap_open_offline_with_tstamp_precision(cstr(FILE), PCAP.TSTAMP_PRECISION_MICRO, errbuf());
  const batch = createBatch(4 * (16 + 64), 64);
  const statuses: number[] = [];
  let total = 0;
  for (;;) {
    const n = readBatch(h!, batch, -1, 0, true);
    total += n;
    statuses.push(batch.status[0]!);
    if (batch.status[0] !== ShimStatus.FULL) break;
    expect(n).toBeGreaterThanOrEqual(4);
  }
  expect(total).toBe(136);
  expect(statuses.at(-1)).toBe(ShimStatus.EOF);
  expect(statuses.length).toBeGreaterThan(10);
  s.pcap_close(h!);
});

test("the shim works inside a `bun build --compile` binary run from another directory", () => {
  const dir = mkdtempSync(join(tmpdir(), "fm-shimbin-"));
  try {
    const out = join(dir, "shimtest");
    const build = Bun.spawnSync(
      [process.execPath, "build", "--compile", "test/fixtures/shim-compiled-entry.ts", "--outfile", out],
      { cwd: ROOT },
    );
    expect(build.exitCode).toBe(0);
    const run = Bun.spawnSync([out, `${PCAPS}ndpi__gnutella.pcap`, "udp"], { cwd: dir });
    expect(run.stderr.toString()).toBe("");
    expect(JSON.parse(run.stdout.toString())).toEqual({ packets: 1692, wireBytes: 279419, linktypes: [1], syncPackets: 1692 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
