#!/usr/bin/env bun
/**
 * The IPFIX exporter's cost on the capture rate (issue 12: ≤ 5 %): `flows --read FILE --format
 * summary` with and without `--export-ipfix 127.0.0.1:PORT` (a UDP socket of this process receives
 * and discards the datagrams), alternating, median wall time of --rounds each.
 *
 *   bun bench/ipfix-capture-cost.ts --pcap FILE [--rounds 5]
 *
 * Traffic goes to 127.0.0.1 only.
 */
import { createSocket } from "node:dgram";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";

const { values } = parseArgs({ args: Bun.argv.slice(2), options: { pcap: { type: "string" }, rounds: { type: "string", default: "5" } } });
if (!values.pcap) throw new Error("usage: bun bench/ipfix-capture-cost.ts --pcap FILE [--rounds N]");
const rounds = Math.max(1, Number(values.rounds));
const main = new URL("../src/main.ts", import.meta.url).pathname;

const sock = createSocket("udp4");
let datagrams = 0;
sock.on("message", () => void datagrams++);
await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
const port = sock.address().port;

async function once(exporting: boolean): Promise<{ seconds: number; packets: number }> {
  const args = [process.execPath, main, "flows", "--read", values.pcap!, "--format", "summary"];
  if (exporting) args.push("--export-ipfix", `127.0.0.1:${port}`);
  const t0 = performance.now();
  const p = Bun.spawn(args, { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`flows failed: ${await new Response(p.stderr).text()}`);
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, packets: (JSON.parse(out) as { packets: number }).packets };
}

const base: number[] = [], exp: number[] = [];
let packets = 0;
await once(false); // page cache warm
for (let r = 0; r < rounds; r++) {
  const a = await once(false);
  const b = await once(true);
  base.push(a.seconds);
  exp.push(b.seconds);
  packets = a.packets;
}
sock.close();
const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const ratio = med(exp) / med(base);
console.log(`IPFIX export cost on the capture rate (${packets.toLocaleString()} packets, median of ${rounds}, load ${loadavg().map((x) => x.toFixed(1)).join(" ")}):`);
console.log(`  without export ${med(base).toFixed(3)} s, with --export-ipfix ${med(exp).toFixed(3)} s: ${((ratio - 1) * 100).toFixed(1)} % slower (target ≤ 5 %); ${datagrams.toLocaleString()} datagrams received`);
