/**
 * The column row writers give byte for byte what the record path gives (toRecord, then
 * JSON.stringify, csvLine, formatTableRow), for every flow of every shared capture, of crafted
 * captures (out-of-range times), of generated ones (IPv6, VLANs, TCP flag mixes), for live flows
 * (active, bps) and for synthetic slots with values no capture holds (huge counters, unnamed end
 * reasons, every protocol number, extreme times).
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileSource } from "../../capture/file-source.ts";
import { formatTableRow } from "../../cli/table-format.ts";
import { FlowColumns, KEY_WORDS, REC_F64, REC_U32, U_FLAGS, U_PKTS, U_RATE, F_BYTES, F_FIRST, F_ID, F_LAST } from "../table/columns.ts";
import { csvLine } from "./csv.ts";
import { FlowEngine } from "../engine.ts";
import { toRecord } from "./record.ts";
import { MAX_COLUMN_ROW, putCsvRow, putJsonRow, putTableRow } from "./rows.ts";
import { timestampCaptures } from "../../../test/fixtures/timestamp-captures.ts";
import { writeCaptures } from "../../../test/fixtures/ppp-captures.ts";
import { PCAPS, TOOLS } from "../../../test/shared-paths.ts";

const dir = mkdtempSync(join(tmpdir(), "fm-rows-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const buf = new Uint8Array(MAX_COLUMN_ROW * 2);
const dec = new TextDecoder();

/** Differences between the column writers and the record path for slot i (empty when identical). */
function compare(c: FlowColumns, i: number, out: string[]): number {
  const r = toRecord(c, i);
  const want = [JSON.stringify(r), csvLine(r), formatTableRow(r)];
  const writers = [putJsonRow, putCsvRow, putTableRow];
  let longest = 0;
  for (let k = 0; k < 3; k++) {
    buf.fill(0xee);
    const n = writers[k]!(c, i, buf, 0);
    longest = Math.max(longest, n);
    const got = dec.decode(buf.subarray(0, n));
    if (got !== want[k] && out.length < 10) out.push(`${["json", "csv", "table"][k]}:\n  want ${want[k]}\n  got  ${got}`);
  }
  return longest;
}

/** Reads `path` with the CLI's engine settings and with timeouts off; compares every flow as it ends, and the live ones first. */
function checkCapture(path: string): { flows: number; bad: string[] } {
  const bad: string[] = [];
  let flows = 0;
  for (const config of [{ idleTimeout: 0, activeTimeout: 0, recentEnded: 1, rates: false, sweepEvery: 10 }, { noExpire: true, recentEnded: 1, rates: true }]) {
    const engine = new FlowEngine(config);
    engine.onEnded((c, i) => {
      flows++;
      compare(c, i, bad);
    });
    new FileSource({ path }).readSync(engine);
    engine.table.forEach((c, i) => void compare(c, i, bad));
    engine.finish();
  }
  return { flows, bad };
}

const shared = readdirSync(PCAPS).filter((f) => /\.(pcap|pcapng)$/.test(f)).sort();

test("every flow of every shared capture: json, csv and table rows equal the record path", () => {
  const bad: string[] = [];
  let total = 0;
  for (const f of shared) {
    const r = checkCapture(join(PCAPS, f));
    total += r.flows;
    bad.push(...r.bad.map((b) => `${f}: ${b}`));
  }
  expect(bad).toEqual([]);
  expect(total).toBeGreaterThan(1000);
}, 120_000);

test("crafted captures with out-of-range times: rows equal the record path", () => {
  const paths = writeCaptures(timestampCaptures());
  const bad: string[] = [];
  for (const [name, path] of paths) bad.push(...checkCapture(path).bad.map((b) => `${name}: ${b}`));
  expect(bad).toEqual([]);
});

test("generated captures (IPv6, VLANs, TCP flag mixes, idle and active timeouts): rows equal the record path", () => {
  const bad: string[] = [];
  for (const [seed, extra] of [[11, []], [12, ["--v6", "0.6", "--vlan", "0.3"]], [13, ["--duration", "400", "--v6", "0.3"]]] as const) {
    const out = join(dir, `g${seed}.pcap`);
    const g = Bun.spawnSync(["node", `${TOOLS}gen-pcap.mjs`, "--packets", "60000", "--flows", "8000", "--seed", String(seed), ...extra, "--out", out, "--quiet"]);
    expect(g.exitCode).toBe(0);
    bad.push(...checkCapture(out).bad.map((b) => `seed ${seed}: ${b}`));
  }
  expect(bad).toEqual([]);
}, 60_000);

/** xorshift: the same numbers on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

test("synthetic slots: every protocol, flag pair and end reason, huge and odd counters, extreme times; rows fit MAX_COLUMN_ROW", () => {
  const n = 60_000;
  const c = new FlowColumns(n);
  const r = rng(9);
  const pick = <T,>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const bytes = [0, 1, 1500, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 60, 1e21, 1.7976931348623157e308, 0.5, NaN, Infinity, -3];
  const times = [0, 1_700_000_000.0005, 1_700_000_000.0015, -1, 8.64e12, -8.64e12, 8.64e12 + 5, 1e300, -1e300, NaN, 253_402_300_800, -62_167_219_200.5];
  let longest = 0;
  for (let i = 0; i < n; i++) {
    const k = i * KEY_WORDS;
    const v6 = r() < 0.5;
    for (let w = 0; w < 8; w++) c.key[k + w] = v6 || w === 0 || w === 4 ? (r() < 0.4 ? 0 : r() < 0.5 ? (r() * 65536) | 0 : (r() * 2 ** 32) | 0) : 0;
    c.key[k + 8] = (r() * 2 ** 32) | 0;
    const proto = i % 256;
    c.key[k + 9] = proto | (v6 ? 0x100 : 0) | (r() < 0.3 ? 0x200 | (((r() * 4096) | 0) << 16) : 0);
    const u = i * REC_U32;
    const f = i * REC_F64;
    c.u32[u + U_PKTS] = r() < 0.2 ? 0xffffffff : (r() * 1000) | 0;
    c.u32[u + U_PKTS + 1] = r() < 0.3 ? 0 : (r() * 2 ** 32) >>> 0;
    const reason = r() < 0.1 ? (r() * 4096) | 0 : (r() * 7) | 0;
    c.u32[u + U_FLAGS] = (((r() * 65536) | 0) | ((((r() * 2) | 0) | 2 | (reason << 4)) << 16)) >>> 0;
    c.u32[u + U_RATE] = (r() * 2 ** 32) >>> 0;
    c.f64[f + F_BYTES] = r() < 0.3 ? pick(bytes) : Math.floor(r() * 1e12);
    c.f64[f + F_BYTES + 1] = r() < 0.3 ? pick(bytes) : Math.floor(r() * 1e6);
    const t0 = r() < 0.2 ? pick(times) : 1_600_000_000 + r() * 2e8;
    c.f64[f + F_FIRST] = t0;
    c.f64[f + F_LAST] = r() < 0.2 ? pick(times) : t0 + (r() < 0.5 ? r() * 100 : r() * 1e7);
    c.f64[f + F_ID] = r() < 0.05 ? pick(bytes) : i + 1;
  }
  const bad: string[] = [];
  for (let i = 0; i < n; i++) longest = Math.max(longest, compare(c, i, bad));
  expect(bad).toEqual([]);
  // The longest row stays well inside the room each row is given.
  expect(longest).toBeLessThan(MAX_COLUMN_ROW / 2);
});
