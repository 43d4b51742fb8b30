/**
 * IPFIX export against a real collector: nfcapd (Debian package nfdump) listening on 127.0.0.1,
 * read back with `nfdump -o json`, compared with our own `flows --read --format json` output for
 * the same capture — every flow, its packets and bytes per direction, times, ports, VLAN and the
 * initiator's TCP flags. Also `serve --read … --export-ipfix` delivering flows while it runs.
 *
 * What nfdump shows of our biflow records (nfdump 1.7): in_packets/in_bytes = the initiator's
 * direction (packetDeltaCount/octetDeltaCount), out_packets/out_bytes = the responder's (the RFC 5103
 * reverse elements, PEN 29305, which nfdump maps to its "out" counters); tcp_flags = one direction
 * only (nfdump reads any other reverse element as its forward one; our template puts the reverse
 * flags first, so the forward — initiator's — flags are what it keeps); for ICMP it shows no ports
 * but icmp_type/icmp_code from the destination port (our echo id: type = id & 255, code = id >> 8).
 * It cannot show: the responder's TCP flags, flowEndReason and biflowDirection (in its json/csv
 * output), and the Community ID (an enterprise element it skips by length).
 * nfcapd's own summary on exit also checks the sequence numbers ("Sequence Errors: 0").
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ipaddr from "ipaddr.js";
import type { FlowRecord } from "../src/flows/format/record.ts";
import { PCAPS } from "./shared-paths.ts";
import { serve } from "../src/server/security/test-serve.ts";
import { freeUdpPort } from "./collect-helpers.ts";

setDefaultTimeout(60_000);
const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Collector {
  port: number;
  /** Stops nfcapd (SIGTERM: it closes its file) and returns its records and its exit summary. */
  stop(): Promise<{ records: NfRecord[]; log: string }>;
}

interface NfRecord {
  proto: number;
  src4_addr?: string;
  dst4_addr?: string;
  src6_addr?: string;
  dst6_addr?: string;
  src_port?: number;
  dst_port?: number;
  icmp_type?: number;
  icmp_code?: number;
  first: string;
  last: string;
  in_packets: number;
  in_bytes: number;
  out_packets?: number;
  out_bytes?: number;
  tcp_flags?: string;
  src_vlan?: number;
}

async function startNfcapd(): Promise<Collector> {
  const dir = mkdtempSync(join(tmpdir(), "fm-nfcapd-"));
  dirs.push(dir);
  const port = await freeUdpPort();
  // -B: a socket buffer that holds the burst `serve` sends when it stops (the last flows all at once); the
  // default buffer drops some of it on a loaded machine (nfcapd then counts sequence errors).
  const proc = Bun.spawn(["nfcapd", "-w", dir, "-p", String(port), "-b", "127.0.0.1", "-t", "3600", "-B", "4194304"], { stdout: "pipe", stderr: "pipe" });
  let log = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const r = s.getReader();
    for (;;) {
      const { value, done } = await r.read();
      if (done) return;
      log += new TextDecoder().decode(value);
    }
  };
  const pumps = [pump(proc.stdout), pump(proc.stderr)];
  for (let i = 0; i < 100 && !log.includes("Startup"); i++) await Bun.sleep(50);
  expect(log).toContain("Startup");
  return {
    port,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
      await Promise.all(pumps);
      const files = readdirSync(dir).filter((f) => /^nfcapd\.\d+$/.test(f));
      expect(files.length).toBe(1);
      const nf = Bun.spawnSync(["nfdump", "-r", join(dir, files[0]!), "-o", "json"], { env: { ...process.env, TZ: "UTC" } });
      expect(nf.exitCode).toBe(0);
      const text = nf.stdout.toString().trim();
      return { records: text === "" ? [] : (JSON.parse(text) as NfRecord[]), log };
    },
  };
}

async function run(args: string[]): Promise<{ out: string; err: string; code: number }> {
  const p = Bun.spawn([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { out, err, code };
}

const ip = (s: string) => ipaddr.parse(s).toNormalizedString();
/** nfdump's 8-letter flag string (CWR ECE URG ACK PSH RST SYN FIN) from our letters. */
function nfFlags(ours: string): string {
  const has = (c: string) => ours.includes(c);
  return (has("C") ? "C" : ".") + (has("E") ? "E" : ".") + (has("U") ? "U" : ".") + (has("A") ? "A" : ".") +
    (has("P") ? "P" : ".") + (has("R") ? "R" : ".") + (has("S") ? "S" : ".") + (has("F") ? "F" : ".");
}

function ourKey(f: FlowRecord): string {
  const icmp = f.proto_num === 1 || f.proto_num === 58;
  const ports = icmp ? `icmp ${f.dst_port}` : `${f.src_port}>${f.dst_port}`;
  const flags = f.proto_num === 6 ? nfFlags(f.src_tcp_flags) : "........";
  return [f.proto_num, ip(f.src_ip), ip(f.dst_ip), ports, f.vlan ?? 0, Date.parse(f.first_seen), Date.parse(f.last_seen),
    f.src_packets, f.src_bytes, f.dst_packets, f.dst_bytes, flags].join("|");
}

function nfKey(r: NfRecord): string {
  const icmp = r.proto === 1 || r.proto === 58;
  // nfdump splits an ICMP record's destination port into icmp_type (low byte) and icmp_code (high byte).
  const ports = icmp ? `icmp ${((r.icmp_code ?? 0) << 8) | (r.icmp_type ?? 0)}` : `${r.src_port ?? 0}>${r.dst_port ?? 0}`;
  return [r.proto, ip(r.src4_addr ?? r.src6_addr!), ip(r.dst4_addr ?? r.dst6_addr!), ports, r.src_vlan ?? 0,
    Date.parse(r.first + "Z"), Date.parse(r.last + "Z"), r.in_packets, r.in_bytes, r.out_packets ?? 0, r.out_bytes ?? 0,
    r.tcp_flags ?? "........"].join("|");
}

const count = (keys: string[]) => {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
};

describe("flows --read --export-ipfix into nfcapd, read back with nfdump", () => {
  for (const [pcap, extra] of [
    ["ndpi__gnutella.pcap", []],
    ["ndpi__gnutella.pcap", ["--active-timeout", "5", "--idle-timeout", "20"]],
    ["zeek__mixed-vlan-mpls.pcap", []],
    ["zeek__communityid_icmp6.pcap", []],
    ["zeek__communityid_icmp.pcap", []],
    ["ndpi__quic.pcap", []],
    ["ndpi__6in4tunnel.pcap", []],
  ] as const) {
    test(`${pcap} ${extra.join(" ")}`, async () => {
      const path = `${PCAPS}${pcap}`;
      const ours = await run(["flows", "--read", path, "--format", "json", ...extra]);
      expect(ours.code).toBe(0);
      const flows = (JSON.parse(ours.out) as { flows: FlowRecord[] }).flows;
      expect(flows.length).toBeGreaterThan(0);

      const nf = await startNfcapd();
      const exp = await run(["flows", "--read", path, "--format", "summary", "--export-ipfix", `127.0.0.1:${nf.port}`, "--ipfix-domain", "7", ...extra]);
      expect(exp.code).toBe(0);
      expect(exp.err).toContain(`ipfix: ${flows.length} flows in `);
      expect(exp.err).toContain("0 send errors");
      await Bun.sleep(200);
      const { records, log } = await nf.stop();
      expect(log).toContain("Observation domain 7");
      expect(log).toMatch(new RegExp(`Flows: ${flows.length}, .*Sequence Errors: 0, Bad Packets: 0`));

      // The same flows, one for one: addresses, ports, VLAN, times (ms), packets and bytes per direction, initiator's flags.
      expect(records.length).toBe(flows.length);
      expect(count(records.map(nfKey))).toEqual(count(flows.map(ourKey)));
      // With --active-timeout the long flows leave in segments, each exported on its own.
      if (extra.length) expect(flows.filter((f) => f.end_reason === "active_timeout").length).toBeGreaterThan(0);
    });
  }
});

describe("serve --read --export-ipfix", () => {
  test("delivers flows while running, counted in health and /metrics; the rest at shutdown", async () => {
    const path = `${PCAPS}ndpi__gnutella.pcap`;
    const ours = await run(["flows", "--read", path, "--format", "summary"]);
    const stats = JSON.parse(ours.out) as { ip_packets: number; ip_bytes: number };
    const nf = await startNfcapd();
    const s = await serve({ args: ["--no-store", "--port", "0", "--quiet", "--read", path, "--speed", "max",
      "--idle-timeout", "1", "--export-ipfix", `127.0.0.1:${nf.port}`, "--ipfix-domain", "42"] });
    try {
      const url = s.url;
      // While it runs: flows idle out (1 s) and are exported; health and /metrics count them. The
      // replay must have finished before the stop (the whole capture is compared below): the
      // exporter Worker sends flows while the replay still runs.
      let exporter: { flows: number; messages: number; send_errors: number; domain_id: number } | undefined;
      for (let i = 0; i < 100; i++) {
        const h = (await (await fetch(`${url}/api/v1/health`)).json()) as { exporters?: (typeof exporter)[]; capture: { state: string } };
        exporter = h.exporters?.[0];
        if (exporter && exporter.flows > 500 && h.capture.state === "finished") break;
        await Bun.sleep(100);
      }
      expect(exporter).toBeDefined();
      expect(exporter!.flows).toBeGreaterThan(500);
      expect(exporter!.messages).toBeGreaterThan(10);
      expect(exporter!.send_errors).toBe(0);
      expect(exporter!.domain_id).toBe(42);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/flowmatrix_ipfix_flows_total\{target="127\.0\.0\.1:\d+"\} [1-9]\d*/);
      expect(metrics).toMatch(/flowmatrix_ipfix_send_errors_total\{target="127\.0\.0\.1:\d+"\} 0/);
    } finally {
      await s.stop();
    }
    await Bun.sleep(200);
    const { records, log } = await nf.stop();
    expect(log).toContain("Observation domain 42");
    expect(log).toMatch(/Sequence Errors: 0, Bad Packets: 0/);
    // Every packet and byte of the capture arrived, in as many flows as the served engine made.
    expect(records.reduce((n, r) => n + r.in_packets + (r.out_packets ?? 0), 0)).toBe(stats.ip_packets);
    expect(records.reduce((n, r) => n + r.in_bytes + (r.out_bytes ?? 0), 0)).toBe(stats.ip_bytes);
  });
});
