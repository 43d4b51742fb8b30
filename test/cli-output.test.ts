/**
 * `flows` output: streamed through one buffer with backpressure (memory bounded by the flow table
 * whatever the reader's speed), a closed stdout ends quietly with 0, and every format carries the
 * same flows.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { csvLine, csvRows } from "../src/flows/format/csv.ts";
import type { FlowRecord } from "../src/flows/format/record.ts";
import { TOOLS } from "./shared-paths.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "fm-cli-out-"));
const MANY = join(dir, "many.pcap"); // 300 k flows: ~90 MiB of JSON
const SOME = join(dir, "some.pcap"); // 20 k flows: a few MiB of output in every format

function gen(out: string, packets: number, flows: number): void {
  const r = Bun.spawnSync(["node", `${TOOLS}gen-pcap.mjs`, "--packets", String(packets), "--flows", String(flows), "--seed", "7", "--snaplen", "64", "--out", out, "--quiet"]);
  if (r.exitCode !== 0) throw new Error(`gen-pcap: ${r.stderr.toString()}`);
}

beforeAll(() => {
  gen(MANY, 320_000, 300_000);
  gen(SOME, 40_000, 20_000);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sh(script: string) {
  const r = Bun.spawnSync(["bash", "-c", script], { stdout: "pipe", stderr: "pipe", env: { ...process.env, BUN: process.execPath, MAIN } });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

test("a reader that closes stdout (| head) ends the command quietly with 0, in every format", () => {
  for (const format of ["json", "ndjson", "csv", "table"]) {
    const r = sh(`"$BUN" "$MAIN" flows --read ${SOME} --format ${format} 2>${dir}/err | head -c 100 >/dev/null; echo "\${PIPESTATUS[0]}"; cat ${dir}/err`);
    expect({ format, out: r.out }).toEqual({ format, out: "0\n" });
  }
});

/** Peak RSS in MiB of `flows --format F` with stdout going to `sink` (a shell fragment). */
function peakMiB(format: string, sink: string): number {
  const r = sh(`/usr/bin/time -f "%M" -o ${dir}/rss "$BUN" "$MAIN" flows --read ${MANY} --format ${format} 2>/dev/null ${sink}; echo "\${PIPESTATUS[0]}"`);
  expect({ format, status: r.out.trim() }).toEqual({ format, status: "0" });
  return Number(readFileSync(`${dir}/rss`, "utf8").trim().split("\n").pop()) / 1024;
}

test("memory stays bounded by the flow table in every format, also into a slow reader", () => {
  const base = peakMiB("summary", "> /dev/null");
  const peaks: Record<string, number> = {};
  for (const format of ["json", "ndjson", "csv", "table"]) peaks[format] = peakMiB(format, `> ${dir}/out.${format}`);
  peaks["json slow"] = peakMiB("json", "| (sleep 2; cat) > /dev/null");
  peaks["csv slow"] = peakMiB("csv", "| (sleep 2; cat) > /dev/null");
  // Unbuffered, 300 k flows of JSON held in memory would add 100+ MiB over the summary run.
  const over = Object.entries(peaks).filter(([, peak]) => peak - base >= 48).map(([what, peak]) => `${what}: ${peak.toFixed(0)} MiB (summary ${base.toFixed(0)} MiB)`);
  expect(over).toEqual([]);
  console.log(`peak RSS, 300 k flows: summary ${base.toFixed(0)} MiB; ${Object.entries(peaks).map(([w, p]) => `${w} ${p.toFixed(0)}`).join(", ")}`);
  // What was written is whole: valid JSON, and the other formats hold the same flows.
  const doc = JSON.parse(readFileSync(`${dir}/out.json`, "utf8")) as { flows: FlowRecord[]; stats: { flows: number; packets: number } };
  expect(doc.flows.length).toBe(doc.stats.flows);
  expect(doc.stats.packets).toBe(320_000);
  const nd = readFileSync(`${dir}/out.ndjson`, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as FlowRecord);
  expect(nd).toEqual(doc.flows);
  const csv = parse(readFileSync(`${dir}/out.csv`, "utf8"), { columns: true }) as Record<string, string>[];
  expect(csv.length).toBe(doc.flows.length);
  expect(csv.map((r) => Number(r.bytes))).toEqual(doc.flows.map((f) => f.bytes));
  expect(readFileSync(`${dir}/out.table`, "utf8").trimEnd().split("\n").length).toBe(doc.flows.length + 1);
}, 60_000);

test("csvLine gives what csv-stringify gives, quoting included", () => {
  const r: FlowRecord = {
    id: 7, proto: 'we,ird"proto', proto_num: 253, ip_version: 6, vlan: null, src_ip: "2001:db8::1", src_port: 1,
    dst_ip: "2001:db8::2", dst_port: 2, packets: 3, bytes: 1.5e21, src_packets: 2, src_bytes: 100, dst_packets: 1, dst_bytes: 50,
    first_seen: "2024-01-01T00:00:00.000Z", last_seen: "2024-01-01T00:00:01.000Z", duration_ms: 1000, tcp_flags: "line\nbreak\r\nhere",
    src_tcp_flags: "cr\rhere", dst_tcp_flags: "", state: "established", bps: 0.25, active: false, end_reason: null,
    community_id: "1:abc", app: null, app_source: null, server_name: null, src_name: null, dst_name: null, src_country: null, dst_country: null, src_asn: null, dst_asn: null, src_as_name: null, dst_as_name: null, source: "capture", exporter: null, exporter_domain: null,
  };
  for (const suspicious of [[], ["scan"], ["high_rate", "scan,x"]]) {
    expect(csvLine(r, suspicious)).toBe(csvRows([{ ...r, suspicious }]));
    expect(csvLine({ ...r, vlan: 12, active: true, end_reason: "idle", proto: "tcp" }, suspicious))
      .toBe(csvRows([{ ...r, vlan: 12, active: true, end_reason: "idle", proto: "tcp", suspicious }]));
  }
});
