/**
 * Helpers of the collector tests: run Debian's softflowd on a capture file into a collector on
 * 127.0.0.1, and aggregate flows — collected, or from our own capture of the same file — by
 * conversation for comparison.
 *
 * Conversation key: protocol and the two (address, port) endpoints in canonical order; ICMP and
 * ICMPv6 ports are left out (softflowd puts type/code in the destination port, our capture the
 * echo id in both, collected flows keep none: see README "NetFlow/IPFIX collector").
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode } from "../src/capture/decode.ts";
import { FileSource } from "../src/capture/file-source.ts";
import { DecodedPacket, DecodeResult } from "../src/capture/packet.ts";
import { addrText, toRecord } from "../src/flows/format/record.ts";
import type { FlowTable } from "../src/flows/table/table.ts";
import type { NetflowCollector } from "../src/collect/collector.ts";

/** Debian installs softflowd in /usr/sbin, which a user's PATH may leave out. */
export const SOFTFLOWD = existsSync("/usr/sbin/softflowd") ? "/usr/sbin/softflowd" : "softflowd";

export interface Conv {
  /** Packets and bytes per direction: [0] from the lower endpoint, [1] from the higher. */
  packets: [number, number];
  bytes: [number, number];
  /** IP bytes (IPv4 total length, IPv6 payload + 40) per direction: what NetFlow counts. */
  ipBytes: [number, number];
  flows: number;
  /** First and last packet time, seconds. */
  first: number;
  last: number;
}

export function newConv(): Conv {
  return { packets: [0, 0], bytes: [0, 0], ipBytes: [0, 0], flows: 0, first: Infinity, last: -Infinity };
}

/** Conversation key and the direction of (a → b) in it. */
export function convKey(proto: number, a: string, pa: number, b: string, pb: number): { key: string; dir: 0 | 1 } {
  if (proto === 1 || proto === 58) pa = pb = 0;
  const ea = `${a}#${pa}`, eb = `${b}#${pb}`;
  return ea <= eb ? { key: `${proto} ${ea} ${eb}`, dir: 0 } : { key: `${proto} ${eb} ${ea}`, dir: 1 };
}

/** Our own capture of `path`: per conversation, packets, wire bytes and IP bytes per direction (every IP packet). */
export async function captureConversations(path: string): Promise<Map<string, Conv>> {
  const out = new Map<string, Conv>();
  const p = new DecodedPacket();
  const src = new FileSource({ path });
  await src.start({
    packet(buf, off, caplen, wirelen, ts, linktype) {
      if (decode(buf, off, caplen, linktype, p) !== DecodeResult.OK) return;
      const v6 = p.ipVersion === 6;
      const { key, dir } = convKey(p.proto, addrText(p.src, 0, v6), p.sport, addrText(p.dst, 0, v6), p.dport);
      let c = out.get(key);
      if (!c) out.set(key, (c = newConv()));
      c.packets[dir]++;
      c.bytes[dir] += wirelen;
      c.ipBytes[dir] += p.ipLen;
      c.first = Math.min(c.first, ts);
      c.last = Math.max(c.last, ts);
    },
  });
  return out;
}

/** Flows of a table (live ones) per conversation; `flows` counts the table's flows in it. */
export function tableConversations(t: FlowTable): Map<string, Conv> {
  const out = new Map<string, Conv>();
  t.forEach((cols, i) => {
    const r = toRecord(cols, i);
    const { key, dir } = convKey(r.proto_num, r.src_ip, r.src_port, r.dst_ip, r.dst_port);
    let c = out.get(key);
    if (!c) out.set(key, (c = newConv()));
    c.flows++;
    c.packets[dir] += r.src_packets;
    const rev = dir === 0 ? 1 : 0;
    c.packets[rev] += r.dst_packets;
    c.bytes[dir] += r.src_bytes;
    c.bytes[rev] += r.dst_bytes;
    c.first = Math.min(c.first, cols.first(i));
    c.last = Math.max(c.last, cols.last(i));
  });
  return out;
}

/**
 * Run softflowd on `pcap` (times adjusted to the file's, -a; foreground, -d) exporting NetFlow
 * `version` (5, 9, 10) to the collector's port on 127.0.0.1 (or to a port number: another
 * collector), and wait until its datagrams have arrived (softflowd has exited and our collector
 * saw no datagram for 100 ms).
 */
export async function softflowd(collector: NetflowCollector | number, pcap: string, version: 5 | 9 | 10, extra: string[] = []): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "fm-softflowd-"));
  const port = typeof collector === "number" ? collector : collector.port;
  try {
    const before = typeof collector === "number" ? 0 : collector.stats().packets;
    const proc = Bun.spawn(
      // The control socket's path is relative and short: softflowd 1.1.0 (Debian 12) with -r blocks
      // in accept() on its control socket, instead of reading the file, when that path is 13
      // characters or longer (e.g. /tmp/sf/d1/ctl); "c" in its own working directory never does.
      [SOFTFLOWD, "-a", "-d", "-r", pcap, "-n", `127.0.0.1:${port}`, "-v", String(version), "-p", "pid", "-c", "c", ...extra],
      { cwd: dir, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
    );
    const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    if ((await proc.exited) !== 0) throw new Error(`softflowd failed: ${stderr}`);
    let last = -1;
    for (let n = 0; n < 100 && typeof collector !== "number"; n++) {
      await Bun.sleep(100);
      const now = collector.stats().packets;
      if (now === last && now > before) break;
      last = now;
    }
    return stdout + stderr;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** "Flows exported: N (M records) in K packets" from softflowd's statistics. */
export function softflowdExported(out: string): { flows: number; records: number; packets: number } {
  const m = /Flows exported: (\d+) \((\d+) records\) in (\d+) packets/.exec(out);
  if (!m) throw new Error(`no export statistics in softflowd output: ${out}`);
  return { flows: Number(m[1]), records: Number(m[2]), packets: Number(m[3]) };
}

/** A UDP port free on 127.0.0.1 now (for a peer such as nfcapd that must be told its port). */
export async function freeUdpPort(): Promise<number> {
  const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  const port = s.port;
  s.close();
  return port;
}
