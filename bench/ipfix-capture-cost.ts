#!/usr/bin/env bun
/**
 * The IPFIX exporter's cost on the capture rate (issue 12: ≤ 5 %): `flows --read FILE --format
 * summary` with and without `--export-ipfix 127.0.0.1:PORT` (a UDP socket of this process receives
 * and discards the datagrams), alternating, median of --rounds each:
 * - wall time of the whole process, end to end: with export it includes waiting, after the file,
 *   for the exporter Worker to send the flows still queued (the lossless file mode);
 * - CPU time (user + system) of the whole process, all threads: the work export adds, wherever
 *   it runs (the capture thread's batches, the exporter Worker's encoding and sends).
 * A capture whose flows all live to its end (gen-pcap's) hands every flow over at the end of the
 * file, so nothing of the export overlaps the read loop: the worst case for the wall time.
 *
 *   bun bench/ipfix-capture-cost.ts --pcap FILE [--rounds 5]
 *
 * Traffic goes to 127.0.0.1 only. The load average is printed with the figures.
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

async function once(exporting: boolean): Promise<{ seconds: number; cpu: number; packets: number }> {
  const args = [process.execPath, main, "flows", "--read", values.pcap!, "--format", "summary"];
  if (exporting) args.push("--export-ipfix", `127.0.0.1:${port}`);
  const t0 = performance.now();
  const p = Bun.spawn(args, { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`flows failed: ${await new Response(p.stderr).text()}`);
  const seconds = (performance.now() - t0) / 1000;
  const ru = p.resourceUsage();
  const cpu = ru ? Number(ru.cpuTime.user + ru.cpuTime.system) / 1e6 : NaN;
  return { seconds, cpu, packets: (JSON.parse(out) as { packets: number }).packets };
}

const base: number[] = [], exp: number[] = [], baseCpu: number[] = [], expCpu: number[] = [];
const load0 = loadavg()[0]!;
let packets = 0;
await once(false); // page cache warm
for (let r = 0; r < rounds; r++) {
  const a = await once(false);
  const b = await once(true);
  base.push(a.seconds);
  exp.push(b.seconds);
  baseCpu.push(a.cpu);
  expCpu.push(b.cpu);
  packets = a.packets;
}
sock.close();
const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const pct = (a: number[], b: number[]) => ((med(b) / med(a) - 1) * 100).toFixed(1);
const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(" ");
console.log(`IPFIX export cost on the capture rate (${packets.toLocaleString()} packets, median of ${rounds}, load ${load0.toFixed(1)} at the start, ${loadavg().map((x) => x.toFixed(1)).join(" ")} at the end):`);
console.log(`  wall, end to end: without export ${med(base).toFixed(3)} s, with --export-ipfix ${med(exp).toFixed(3)} s: ${pct(base, exp)} % slower (target ≤ 5 %)`);
console.log(`    rounds without: ${list(base)}; with: ${list(exp)}`);
console.log(`  CPU, all threads: without ${med(baseCpu).toFixed(3)} s, with ${med(expCpu).toFixed(3)} s: +${pct(baseCpu, expCpu)} %`);
console.log(`  ${datagrams.toLocaleString()} datagrams received in all (UDP beyond the receiver's socket buffer is lost)`);
