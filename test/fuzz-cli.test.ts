/**
 * Bounded mutation fuzzing of `flows --read MUTANT --format json`, with and without `--filter`
 * (our reader, and libpcap's): a few hundred mutants of the shared captures (bit flips, record
 * lengths set huge, truncations, pcapng block lengths, out-of-range timestamps, header fields).
 * Every run must exit 0 or 2, never print a stack trace, leave valid JSON on stdout for 0 and
 * nothing for 2, with consistent totals. Seeded: a failure names the seed and the mutation, and
 * FUZZ_SEED / FUZZ_MUTANTS rerun it or run more.
 *
 * Most mutants run in this process through flowsCommand — the very function main.ts calls, with
 * stdout replaced by a file — and the error mapping main.ts uses; a sample goes through the real
 * CLI process.
 */
import { afterAll, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flowsCommand } from "../src/cli/flows-command.ts";
import { errorReport, exitCodeFor } from "../src/cli/errors.ts";
import { OutputWriter } from "../src/cli/output.ts";
import { PCAPS } from "./shared-paths.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const MUTANTS = Number(process.env.FUZZ_MUTANTS ?? 400);
const CLI_SAMPLE = 40;
const FILTER = "tcp or udp or icmp or icmp6";
const dir = mkdtempSync(join(tmpdir(), "fm-fuzz-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** mulberry32: small, seeded, good enough to pick mutations. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]! };
}
type Rng = ReturnType<typeof rng>;

const HUGE = [0xffffffff, 0x7fffffff, 0x80000000, 0x10000000, 0x00100000, 65536 * 4 + 1];

/** Offsets of the record headers of a classic pcap (little or big endian). */
function pcapRecords(b: Uint8Array, le: boolean): number[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  for (let off = 24; off + 16 <= b.length && out.length < 100_000; ) {
    out.push(off);
    off += 16 + v.getUint32(off + 8, le);
  }
  return out;
}

/** [offset, type] of the blocks of a pcapng (endianness from the first section header). */
function pcapngBlocks(b: Uint8Array, le: boolean): [number, number][] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: [number, number][] = [];
  for (let off = 0; off + 12 <= b.length && out.length < 100_000; ) {
    const len = v.getUint32(off + 4, le);
    out.push([off, v.getUint32(off, le)]);
    if (len < 12 || len % 4 !== 0) break;
    off += len;
  }
  return out;
}

/** One mutant of `orig` and a description of what was done. */
function mutate(orig: Uint8Array, r: Rng): [Uint8Array, string] {
  const b = orig.slice();
  const v = new DataView(b.buffer);
  const magic = v.getUint32(0, true);
  const pcapng = magic === 0x0a0d0d0a;
  const le = pcapng ? v.getUint32(8, true) === 0x1a2b3c4d : magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const kind = r.int(6);
  if (kind === 0) {
    const n = 1 + r.int(12);
    const at: number[] = [];
    for (let k = 0; k < n; k++) {
      const i = r.int(b.length);
      b[i]! ^= 1 << r.int(8);
      at.push(i);
    }
    return [b, `bit flips at ${at.join(",")}`];
  }
  if (kind === 1) {
    const cut = r.next() < 0.2 ? r.int(Math.min(b.length, 64)) : r.int(b.length);
    return [b.subarray(0, cut), `truncated to ${cut} bytes`];
  }
  if (!pcapng) {
    const recs = pcapRecords(b, le);
    if (recs.length === 0) return [b, "unchanged"];
    const off = r.pick(recs);
    if (kind === 2 || kind === 3) {
      const field = r.pick([8, 12]);
      const val = r.pick(HUGE);
      v.setUint32(off + field, val, le);
      return [b, `record at ${off}: ${field === 8 ? "incl_len" : "orig_len"} = ${val}`];
    }
    if (kind === 4) {
      v.setUint32(off, r.pick([0xffffffff, 0x80000000, 0]), le);
      v.setUint32(off + 4, r.pick([0xffffffff, 999_999_999, 1_000_000_000, 0]), le);
      return [b, `record at ${off}: timestamp out of range`];
    }
    const field = r.pick([16, 20]);
    v.setUint32(field, r.pick([0, 1, 0xffffffff, 147, 65000, r.int(300)]), le);
    return [b, `file header field ${field} = ${v.getUint32(field, le)}`];
  }
  const blocks = pcapngBlocks(b, le);
  const [off, type] = r.pick(blocks);
  if (kind === 2) {
    const epbs = blocks.filter(([, t]) => t === 6);
    if (epbs.length === 0) return [b, "unchanged"];
    const [e] = r.pick(epbs);
    const val = r.pick(HUGE);
    v.setUint32(e + 20, val, le);
    return [b, `EPB at ${e}: captured length = ${val}`];
  }
  if (kind === 3) {
    const len = v.getUint32(off + 4, le);
    const val = r.pick([0, 4, 8, 11, 12, 13, len - 4, len + 4, len + 1, ...HUGE]) >>> 0;
    const trailing = r.next() < 0.3 && off + len <= b.length && len >= 12;
    v.setUint32(trailing ? off + len - 4 : off + 4, val, le);
    return [b, `block type ${type} at ${off}: ${trailing ? "trailing" : "leading"} length = ${val}`];
  }
  if (kind === 4) {
    const epbs = blocks.filter(([, t]) => t === 6);
    if (epbs.length === 0) return [b, "unchanged"];
    const [e] = r.pick(epbs);
    v.setUint32(e + 12, r.pick([0xffffffff, 0x80000000, 0x7fffffff, 0x00ffffff]), le);
    v.setUint32(e + 16, r.pick([0xffffffff, 0, r.int(0x100000000)]) >>> 0, le);
    return [b, `EPB at ${e}: timestamp out of range (${v.getUint32(e + 12, le)}, ${v.getUint32(e + 16, le)})`];
  }
  const idbs = blocks.filter(([, t]) => t === 1);
  if (idbs.length === 0) return [b, "unchanged"];
  const [i] = r.pick(idbs);
  if (r.next() < 0.5) {
    v.setUint16(i + 8, r.pick([0, 1, 101, 113, 276, 0xffff, r.int(300)]), le);
    return [b, `IDB at ${i}: linktype = ${v.getUint16(i + 8, le)}`];
  }
  // An if_tsresol option right after the fixed part (option code 9, length 1), when there is room.
  if (v.getUint32(i + 4, le) >= 32) {
    v.setUint16(i + 16, 9, le);
    v.setUint16(i + 18, 1, le);
    b[i + 20] = r.pick([0x7f, 0xff, 0x3f, 0x00, 0x80, 0x13]);
    return [b, `IDB at ${i}: if_tsresol = 0x${b[i + 20]!.toString(16)}`];
  }
  return [b, "unchanged"];
}

interface Outcome {
  code: number;
  out: string;
  err: string;
}

interface Stats {
  packets: number;
  bytes: number;
  ip_packets: number;
  ip_bytes: number;
  non_ip_packets: number;
  malformed_packets: number;
  flows: number;
  linktypes: Record<string, number>;
  records: number;
  truncated: boolean;
  truncated_reason: string | null;
}

/** Everything wrong with one run, as readable strings (empty: fine). */
function violations(o: Outcome): string[] {
  const bad: string[] = [];
  if (o.code !== 0 && o.code !== 2) bad.push(`exit ${o.code}`);
  if (/^\s+at /m.test(o.err) || o.err.includes("TypeError") || o.err.includes("RangeError")) bad.push(`stack or crash on stderr: ${o.err.slice(0, 300)}`);
  if (o.code === 2) {
    if (o.out !== "") bad.push(`exit 2 with ${o.out.length} bytes on stdout`);
    if (!/^flowmatrix: [^\n]+\n$/.test(o.err)) bad.push(`exit 2 without one error line: ${JSON.stringify(o.err.slice(0, 300))}`);
    return bad;
  }
  if (o.code !== 0) return bad;
  if (o.err !== "") bad.push(`exit 0 with stderr: ${o.err.slice(0, 200)}`);
  let doc: { flows: { packets: number; bytes: number }[]; stats: Stats };
  try {
    doc = JSON.parse(o.out);
  } catch (e) {
    bad.push(`stdout is not JSON: ${(e as Error).message}`);
    return bad;
  }
  const s = doc.stats;
  const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);
  if (s.packets !== s.ip_packets + s.non_ip_packets + s.malformed_packets) bad.push(`packets ${s.packets} != ip ${s.ip_packets} + non-IP ${s.non_ip_packets} + malformed ${s.malformed_packets}`);
  if (sum(doc.flows.map((f) => f.packets)) !== s.ip_packets) bad.push(`flow packets ${sum(doc.flows.map((f) => f.packets))} != ip_packets ${s.ip_packets}`);
  if (sum(doc.flows.map((f) => f.bytes)) !== s.ip_bytes) bad.push(`flow bytes != ip_bytes ${s.ip_bytes}`);
  if (sum(Object.values(s.linktypes)) !== s.packets) bad.push(`linktype counts ${sum(Object.values(s.linktypes))} != packets ${s.packets}`);
  if (doc.flows.length !== s.flows) bad.push(`${doc.flows.length} flows printed, stats say ${s.flows}`);
  if (s.records !== s.packets) bad.push(`records ${s.records} != packets ${s.packets}`);
  if (s.truncated !== (typeof s.truncated_reason === "string")) bad.push(`truncated ${s.truncated} with reason ${s.truncated_reason}`);
  return bad;
}

function argsFor(path: string, filtered: boolean): string[] {
  return ["--read", path, "--format", "json", ...(filtered ? ["--filter", FILTER] : [])];
}

/** flowsCommand in this process with stdout going to a file; errors mapped as main.ts maps them. */
async function inProcess(path: string, filtered: boolean): Promise<Outcome> {
  const outPath = join(dir, "stdout");
  const fd = openSync(outPath, "w");
  let code: number;
  let err = "";
  try {
    code = await flowsCommand(argsFor(path, filtered), { out: new OutputWriter(fd), progress: false, note: (l) => (err += l + "\n") });
  } catch (e) {
    code = exitCodeFor(e);
    err = errorReport(e, "flows", false);
  } finally {
    closeSync(fd);
  }
  return { code, out: readFileSync(outPath, "utf8"), err };
}

function viaCli(path: string, filtered: boolean): Outcome {
  const r = Bun.spawnSync([process.execPath, MAIN, "flows", ...argsFor(path, filtered)], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

const captures = readdirSync(PCAPS)
  .filter((f) => /\.pcap(ng)?$/.test(f) && statSync(join(PCAPS, f)).size <= 2 << 20)
  .sort()
  .map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(join(PCAPS, f))) }));

test(`${MUTANTS} mutants of the shared captures (seed ${SEED}): exit 0 or 2, no stack, JSON or nothing, consistent totals`, async () => {
  const r = rng(SEED);
  const problems: string[] = [];
  const codes = { 0: 0, 2: 0, other: 0 };
  const cliEvery = Math.max(1, Math.floor(MUTANTS / CLI_SAMPLE));
  for (let m = 0; m < MUTANTS; m++) {
    const src = captures[m % captures.length]!;
    const [bytes, what] = mutate(src.bytes, r);
    const path = join(dir, `m${m}-${src.name}`);
    writeFileSync(path, bytes);
    for (const filtered of [false, true]) {
      // A sample runs as a real process; the rest in this process through the same function.
      const o = m % cliEvery === 0 ? viaCli(path, filtered) : await inProcess(path, filtered);
      if (o.code === 0 || o.code === 2) codes[o.code]++;
      else codes.other++;
      for (const v of violations(o)) problems.push(`mutant ${m} (${src.name}: ${what})${filtered ? " --filter" : ""}: ${v}`);
    }
    rmSync(path);
  }
  console.log(`fuzz seed ${SEED}: ${MUTANTS} mutants × (no filter, --filter): exit 0 ×${codes[0]}, exit 2 ×${codes[2]}, other ×${codes.other}`);
  expect(problems).toEqual([]);
  // The mutations must reach both outcomes, or the test proves little.
  expect(codes[0]).toBeGreaterThan(MUTANTS / 4);
  expect(codes[2]).toBeGreaterThan(5);
}, 120_000);
