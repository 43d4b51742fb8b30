/**
 * The API's CSV and NDJSON exports, written straight from the engine's raw rows by the CLI's column
 * writers (src/server/api/export-writer.ts), byte for byte against the record path: the same
 * query's JSON page (records with their `suspicious` list, made by toRecord + withSuspicious) put
 * through csvHeader + csvRows (csv-stringify), csvRecords, and JSON.stringify per line.
 *
 * Real servers on 127.0.0.1 port 0, replays finished (the table no longer changes, so the JSON
 * page and the export describe the same flows):
 * - ndpi__gnutella.pcap (IPv4/IPv6, rejected TCP flows), with the per-flow rate threshold at 0 so
 *   every row is `high_rate` too (a finished replay's rates are 0): rows with two reasons;
 * - a generated scan (gen-pcap, 19,000 flows in 20,000 packets: lone SYNs, so `scan` sources);
 * - ndpi__android.pcap and ndpi__ftp.pcap (applications, server names, passive-DNS names;
 *   `cleartext_credentials` on FTP);
 * - history: `serve --data-dir` (a temp dir) replaying ndpi__android.pcap with a 5 s idle timeout,
 *   so many flows end and reach the store while others stay live: `state=all` merges raw live rows
 *   with stored records, `state=ended` is the store's records alone, `state=active` the engine's.
 * - NetFlow: `serve --no-store --collect-netflow` fed by softflowd (IPFIX) from zeek__wikipedia.pcap
 *   on 127.0.0.1: rows with an exporter, which keep the record path.
 * Each case checks that the rows it compares hold what it is there for (a reason, an app, live and
 * stored rows), so a capture that changed would not make the comparison empty.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { FlowmatrixServer } from "../src/server/app.ts";
import { csvHeader, csvRows } from "../src/flows/format/csv.ts";
import { csvRecords } from "../src/flows/format/records.ts";
import type { ApiFlow } from "../src/server/api/flows.ts";
import { PCAPS, SHARED, TOOLS } from "./shared-paths.ts";
import { cleanupAll, replayFinished, serve, tempDir, waitFor, type Served } from "./history-helpers.ts";
import { softflowd } from "./collect-helpers.ts";

const L7 = `${SHARED}pcaps-l7/`;
const enc = new TextEncoder();

interface Page { flows: ApiFlow[]; total: number; returned: number }

async function startServer(path: string, alerts: { cpuPercent: number; flowBps?: number }): Promise<{ server: FlowmatrixServer; url: string }> {
  const server = new FlowmatrixServer({
    engine: { source: { kind: "file", path, speed: "max", loop: false } },
    port: 0,
    metricsIntervalMs: 500,
    alerts,
  });
  const url = await server.start();
  const deadline = Date.now() + 30_000;
  while (((await (await fetch(`${url}/api/v1/health`)).json()) as { capture: { state: string } }).capture.state !== "finished") {
    if (Date.now() > deadline) throw new Error(`replay of ${path} did not finish`);
    await Bun.sleep(50);
  }
  // Two more ticks: rates are 0 and the scan candidates describe the finished table.
  for (let k = 0; k < 2; k++) {
    const seen = server.ctx.engine.last?.wall ?? 0;
    while ((server.ctx.engine.last?.wall ?? 0) === seen && Date.now() < deadline) await Bun.sleep(50);
  }
  return { server, url };
}

async function bytes(url: string): Promise<{ status: number; body: Uint8Array; type: string }> {
  const res = await fetch(url);
  return { status: res.status, body: new Uint8Array(await res.arrayBuffer()), type: res.headers.get("content-type") ?? "" };
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** The first differing line of two texts, for a readable failure. */
function firstDiff(got: string, want: string): string {
  const g = got.split("\n"), w = want.split("\n");
  for (let k = 0; k < Math.max(g.length, w.length); k++) if (g[k] !== w[k]) return `line ${k}:\n got  ${g[k]}\n want ${w[k]}`;
  return "";
}

/**
 * Compares the CSV and NDJSON exports of `query` with the record path of its JSON page; returns the
 * page's flows (at most 10,000: the query must not match more).
 */
async function expectSameBytes(base: string, query: string): Promise<ApiFlow[]> {
  const limited = /(^|&)limit=/.test(query);
  const page = (await (await fetch(`${base}/api/v1/flows?${query}${limited ? "" : "&limit=10000"}`)).json()) as Page;
  // Without a limit the export holds every match: so must the page.
  if (!limited) expect(page.returned).toBe(page.total);
  const flows = page.flows;

  const csv = await bytes(`${base}/api/v1/flows?${query}&format=csv`);
  expect(csv.status).toBe(200);
  expect(csv.type).toContain("text/csv");
  const wantCsv = csvHeader() + csvRows(flows);
  if (text(csv.body) !== wantCsv) throw new Error(`CSV differs (${query}): ${firstDiff(text(csv.body), wantCsv)}`);
  expect(Buffer.from(csv.body).equals(Buffer.from(enc.encode(wantCsv)))).toBe(true);
  // The record-path byte writer says the same.
  expect(Buffer.from(csv.body).equals(Buffer.concat([enc.encode(csvHeader()), csvRecords(flows)]))).toBe(true);

  const nd = await bytes(`${base}/api/v1/flows?${query}&format=ndjson`);
  expect(nd.status).toBe(200);
  expect(nd.type).toContain("application/x-ndjson");
  const wantNd = flows.map((f) => JSON.stringify(f) + "\n").join("");
  if (text(nd.body) !== wantNd) throw new Error(`NDJSON differs (${query}): ${firstDiff(text(nd.body), wantNd)}`);
  expect(Buffer.from(nd.body).equals(Buffer.from(enc.encode(wantNd)))).toBe(true);
  return flows;
}

const count = (flows: ApiFlow[], pred: (f: ApiFlow) => boolean) => flows.filter(pred).length;
const has = (reason: string) => (f: ApiFlow) => (f.suspicious as string[]).includes(reason);

describe("live exports (no store) equal the record path byte for byte", () => {
  const servers: FlowmatrixServer[] = [];
  let scanDir = "";
  afterAll(async () => {
    for (const s of servers) await s.stop();
    if (scanDir) rmSync(scanDir, { recursive: true, force: true });
  });

  test("gnutella (IPv4/IPv6, rejected), every row also high_rate (threshold 0)", async () => {
    const { server, url } = await startServer(`${PCAPS}ndpi__gnutella.pcap`, { cpuPercent: 100, flowBps: 0 });
    servers.push(server);
    for (const q of ["state=all&sort_by=first_seen&order=asc", "state=all&sort_by=src_ip", "state=active&sort_by=dst_port&order=asc", "state=ended&sort_by=duration", "protocol=tcp&sort_by=packets&offset=7&limit=300"]) {
      const flows = await expectSameBytes(url, q);
      expect(flows.length).toBeGreaterThan(0);
    }
    const all = await expectSameBytes(url, "state=all");
    expect(all.length).toBeGreaterThan(500);
    expect(count(all, (f) => f.ip_version === 6)).toBeGreaterThan(0);
    expect(count(all, has("high_rate"))).toBe(all.length);
    expect(count(all, has("rejected"))).toBeGreaterThan(0);
    expect(count(all, (f) => f.active)).toBeGreaterThan(0);
    expect(count(all, (f) => !f.active)).toBeGreaterThan(0);
  }, 60_000);

  test("a scan: rows flagged scan and rejected", async () => {
    scanDir = mkdtempSync(join(tmpdir(), "fm-export-bytes-"));
    const pcap = join(scanDir, "scan.pcap");
    const g = Bun.spawnSync(["node", `${TOOLS}gen-pcap.mjs`, "--packets", "20000", "--flows", "19000", "--seed", "2", "--out", pcap, "--quiet"]);
    if (g.exitCode !== 0) throw new Error(`gen-pcap: ${g.stderr.toString()}`);
    const { server, url } = await startServer(pcap, { cpuPercent: 100 });
    servers.push(server);
    expect((server.ctx.engine.last?.scans ?? []).length).toBeGreaterThan(0);
    let scans = 0, rejected = 0, rows = 0;
    // 19,000 flows: compared in two windows of the whole ordering (a JSON page holds 10,000).
    for (const q of ["state=all&sort_by=first_seen&order=asc&offset=0&limit=9500", "state=all&sort_by=first_seen&order=asc&offset=9500&limit=9500"]) {
      const flows = await expectSameBytes(url, q);
      rows += flows.length;
      scans += count(flows, has("scan"));
      rejected += count(flows, has("rejected"));
    }
    expect(rows).toBeGreaterThan(15_000);
    expect(scans).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
  }, 90_000);

  test("applications: android (TLS, HTTP, DNS names) and ftp (cleartext_credentials)", async () => {
    for (const [file, check] of [
      ["ndpi__android.pcap", (flows: ApiFlow[]) => {
        expect(count(flows, (f) => f.app !== null)).toBeGreaterThan(10);
        expect(count(flows, (f) => f.server_name !== null)).toBeGreaterThan(0);
        expect(count(flows, (f) => f.src_country !== null || f.dst_country !== null)).toBeGreaterThan(0);
      }],
      ["ndpi__ftp.pcap", (flows: ApiFlow[]) => {
        expect(count(flows, (f) => f.app === "ftp")).toBeGreaterThan(0);
        expect(count(flows, has("cleartext_credentials"))).toBeGreaterThan(0);
      }],
    ] as const) {
      const { server, url } = await startServer(`${L7}${file}`, { cpuPercent: 100 });
      servers.push(server);
      const all = await expectSameBytes(url, "state=all");
      check(all);
      await expectSameBytes(url, "state=all&sort_by=dst_ip&order=asc");
      await expectSameBytes(url, "q=app:tls");
    }
  }, 90_000);
});

describe("with history (serve --data-dir): live raw rows merged with stored records", () => {
  let s: Served;
  beforeAll(async () => {
    const dir = tempDir("fm-export-bytes-");
    s = await serve(["--read", `${L7}ndpi__android.pcap`, "--speed", "max", "--idle-timeout", "5", "--data-dir", dir]);
    await replayFinished(s);
    // The ended flows reach the store within a second or two: wait until the listing stands still.
    let last = "";
    await waitFor("the stored flows to settle", async () => {
      const p = await s.get<Page>("/api/v1/flows?state=all&limit=10000&sort_by=first_seen");
      const now = JSON.stringify(p.flows.map((f) => [f.id, f.active]));
      const same = now === last;
      last = now;
      return same && p.flows.some((f) => !f.active);
    }, 30_000, 1000);
  }, 90_000);
  afterAll(() => cleanupAll());

  test("state=all (merged), state=ended (stored), state=active (live), several orders", async () => {
    const all = await expectSameBytes(s.url, "state=all");
    expect(count(all, (f) => f.active)).toBeGreaterThan(0);
    expect(count(all, (f) => !f.active)).toBeGreaterThan(0);
    expect(count(all, (f) => f.app !== null)).toBeGreaterThan(0);
    for (const q of [
      "state=all&sort_by=first_seen&order=asc", "state=all&sort_by=last_seen", "state=all&sort_by=src_ip&order=asc",
      "state=all&sort_by=dst_port", "state=all&sort_by=duration&order=asc", "state=all&sort_by=packets&offset=5&limit=40",
      "state=ended&sort_by=bytes", "state=active&sort_by=bytes",
    ]) await expectSameBytes(s.url, q);
  }, 60_000);
});

describe("NetFlow rows (serve --collect-netflow, softflowd on 127.0.0.1)", () => {
  afterAll(() => cleanupAll());

  test("rows with an exporter (the record path) among the export's bytes", async () => {
    const s = await serve(["--no-store", "--collect-netflow", "127.0.0.1:0"]);
    const h = await s.get<{ collector: { listen: string } | null }>("/api/v1/health");
    const port = Number(h.collector!.listen.split(":").pop());
    await softflowd(port, `${PCAPS}zeek__wikipedia.pcap`, 10);
    let last = -1;
    await waitFor("the collected flows to settle", async () => {
      const n = (await s.get<Page>("/api/v1/flows?state=all&limit=1")).total;
      const same = n === last && n > 0;
      last = n;
      return same;
    }, 30_000, 300);
    const all = await expectSameBytes(s.url, "state=all");
    expect(all.length).toBeGreaterThan(10);
    expect(count(all, (f) => f.source === "netflow" && f.exporter === "127.0.0.1")).toBe(all.length);
    await expectSameBytes(s.url, "state=all&sort_by=src_ip&order=asc");
  }, 60_000);
});
