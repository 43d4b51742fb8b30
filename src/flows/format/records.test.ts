/**
 * The record writers (the API's NDJSON and CSV exports) give byte for byte what they replace:
 * `JSON.stringify(r)` per line and csvRows (csv-stringify), on every flow of the shared captures
 * with `suspicious` lists, and on records with values no capture gives.
 */
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { FileSource } from "../../capture/file-source.ts";
import { csvRows } from "./csv.ts";
import { FlowEngine } from "../engine.ts";
import { toRecord, type FlowRecord } from "./record.ts";
import { csvRecords, ndjsonRecords } from "./records.ts";
import { PCAPS } from "../../../test/shared-paths.ts";

const dec = new TextDecoder();
const REASONS = ["high_rate", "scan", "rejected", "cleartext_credentials"];

function sharedRecords(): (FlowRecord & { suspicious: string[] })[] {
  const out: (FlowRecord & { suspicious: string[] })[] = [];
  for (const f of readdirSync(PCAPS).filter((x) => /\.(pcap|pcapng)$/.test(x)).sort()) {
    const engine = new FlowEngine({ noExpire: true, recentEnded: 1 });
    engine.onEnded((c, i) => {
      const r = toRecord(c, i);
      out.push({ ...r, suspicious: REASONS.filter((_, k) => (r.id >> k) & 1) });
    });
    new FileSource({ path: join(PCAPS, f) }).readSync(engine);
    engine.table.forEach((c, i) => void out.push({ ...toRecord(c, i), suspicious: [] }));
    engine.finish();
  }
  return out;
}

test("every flow of the shared captures, with suspicious lists: NDJSON and CSV bytes equal JSON.stringify and csvRows", () => {
  const records = sharedRecords();
  expect(records.length).toBeGreaterThan(1000);
  for (let k = 0; k < records.length; k += 5000) {
    const page = records.slice(k, k + 5000);
    expect(dec.decode(ndjsonRecords(page))).toBe(page.map((r) => JSON.stringify(r)).join("\n") + "\n");
    expect(dec.decode(csvRecords(page))).toBe(csvRows(page));
  }
});

test("odd values: quotes, commas, CRLF, unicode, lone surrogates, null and undefined fields, nested values", () => {
  const base: FlowRecord = {
    id: 7, proto: 'we,ird"proto', proto_num: 253, ip_version: 6, vlan: null, src_ip: "2001:db8::1", src_port: 1,
    dst_ip: "2001:db8::2", dst_port: 2, packets: 3, bytes: 1.5e21, src_packets: 2, src_bytes: NaN, dst_packets: 1, dst_bytes: -0,
    first_seen: "2024-01-01T00:00:00.000Z", last_seen: "+275760-09-13T00:00:00.000Z", duration_ms: 0.25, tcp_flags: "line\nbreak\r\nhere",
    src_tcp_flags: "cr\rhere \u2028 é 日本 😀 \ud800", dst_tcp_flags: "\x00\x1f\\", state: "established", bps: Infinity, active: false, end_reason: null,
    community_id: "1:a,b\"c", app: null, app_source: null, server_name: null, src_name: null, dst_name: null, src_country: null, dst_country: null, src_asn: null, dst_asn: null, src_as_name: null, dst_as_name: null, source: "capture", exporter: null, exporter_domain: null,
  };
  const records: object[] = [
    base,
    { ...base, suspicious: ["scan", "high,rate", 'q"uote'] },
    { ...base, suspicious: [] },
    { ...base, end_reason: undefined, vlan: 12, active: true, extra: { nested: [1, "x", null] }, list: [1, null, true] },
    { ...base, proto: "", state: undefined, f: () => 1, "we\"ird key": "v" },
    {},
  ];
  // Compared as the bytes the API sent before (TextEncoder: a lone surrogate in CSV becomes U+FFFD).
  const enc = new TextEncoder();
  expect(Buffer.from(ndjsonRecords(records)).equals(enc.encode(records.map((r) => JSON.stringify(r)).join("\n") + "\n"))).toBe(true);
  expect(Buffer.from(csvRecords(records)).equals(enc.encode(csvRows(records as never)))).toBe(true);
  expect(dec.decode(csvRecords(records.slice(0, 4)))).toContain('"scan;high,rate;q""uote"');
  expect(ndjsonRecords([]).length).toBe(0);
  expect(csvRecords([]).length).toBe(0);
});
