/**
 * API latency with ~1,000,000 flows in the table while a LIVE capture runs, and the capture drops
 * the API load causes. The server captures on `lo` (filter: udp to 127.64.0.0/10); a child process
 * (bench/udp-flood.ts) sends UDP datagrams over loopback to 1,000,000 distinct addresses in
 * 127.64.0.0/10, paced at --rate datagrams/s (default 200,000; 0 = as fast as it can). Once ~1M
 * flows are in the table, drops (pcap_stats) are read
 * over a window without API load, then over the window of the API requests (concurrency 1).
 *
 *   bun bench/api-live.ts [--requests 200] [--seconds 180] [--exporters 10] [--rate 200000] [--trace]
 *
 * --trace: the export-load windows print where the interactive requests waited (see
 * bench/api-export-load.ts --trace; the capture's drains show as engine queue time not covered by
 * export or table slices).
 *
 * Then the export load of bench/api-export-load.ts during the live capture: --exporters clients
 * exporting 10,000-row CSV pages in a loop while the top-100 requests run, with the kernel drops
 * over that window.
 *
 * Each window also prints, for the engine Worker (capture, table, queries, export slices) and the
 * server thread, the % of a core used and the % of the window spent runnable but waiting for a
 * core (run-queue wait, /proc/PID/task/TID/schedstat), the flood's CPU, and the load average: kernel
 * drops with the engine thread far from 100 % busy but waiting for a core are CPU starvation of the
 * machine, drops with it near 100 % busy are our own work in the way.
 *
 * Loopback only. Needs capture rights (root or cap_net_raw). Limits: the generator reaches a few
 * hundred kpps on this kind of machine; the table holds the flows for --idle 600 s.
 */
import { opt, pct } from "./args.ts";
import { loadavg } from "node:os";
import { loadWindow, startServerProc, threadCpu, threadTicks } from "./api-export-load.ts";

const REQUESTS = opt("requests", 200);
const SECONDS = opt("seconds", 180);
/** Flood rate, datagrams/s (0: as fast as the flood can send). */
const RATE = opt("rate", 200_000);
const EXPORTERS = (() => {
  const i = process.argv.indexOf("--exporters");
  return i >= 0 ? process.argv[i + 1]!.split(",").map(Number) : [10];
})();

type Health = { capture: { packets: number; dropped: number; received: number }; flows: { active: number } };

// The server in a process of its own (bench/api-server.ts), as in the export-load case.
const TRACE = process.argv.includes("--trace");
const server = await startServerProc({
  engine: { source: { kind: "live", interface: "lo" }, filter: "udp and dst net 127.64.0.0/10", maxFlows: 1_100_000, idleTimeout: 600 },
}, { trace: TRACE });
const url = server.url;
const health = async () => (await (await fetch(`${url}/api/v1/health`)).json()) as Health;
const flood = Bun.spawn([process.execPath, new URL("./udp-flood.ts", import.meta.url).pathname, "--flows", "1000000", "--seconds", String(SECONDS), "--rate", String(RATE)], {
  stdout: "pipe", stderr: "ignore",
});
try {
  const t0 = performance.now();
  let h = await health();
  while (h.flows.active < 950_000) {
    if (performance.now() - t0 > 90_000) throw new Error(`only ${h.flows.active} flows after 90 s`);
    await Bun.sleep(500);
    h = await health();
  }
  console.log(`table: ${h.flows.active.toLocaleString()} active flows after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const window = async (label: string, work: () => Promise<void>) => {
    const a = await health();
    const ta = threadTicks(server.pid), fa = threadTicks(flood.pid);
    const t = performance.now();
    await work();
    const b = await health();
    const s = (performance.now() - t) / 1000;
    const th = threadCpu(ta, threadTicks(server.pid), s), fl = threadCpu(fa, threadTicks(flood.pid), s);
    const pkts = b.capture.packets - a.capture.packets;
    const drops = b.capture.dropped - a.capture.dropped;
    const f = (k: string) => (th[k] ?? 0).toFixed(0);
    const floodCpu = Object.entries(fl).filter(([k]) => !k.startsWith("wait ")).reduce((n, [, v]) => n + v, 0);
    console.log(`${label.padEnd(28)} ${s.toFixed(1)} s  captured ${(pkts / s / 1000).toFixed(0)} kpps  kernel drops ${drops.toLocaleString()}  ` +
      `| engine Worker CPU ${f("Worker")} %, run-queue wait ${f("wait Worker")} %; server thread CPU ${f("bun (server thread)")} %, wait ${f("wait bun (server thread)")} %; ` +
      `flood CPU ${floodCpu.toFixed(0)} %; load ${loadavg().map((x) => x.toFixed(1)).join(" ")}`);
  };
  await window("no API load", () => Bun.sleep(5000));
  for (const [name, path] of [
    ["top 100 by bytes", "/api/v1/flows?sort_by=bytes&limit=100"],
    ["CIDR dst_ip=127.64.0.0/12", "/api/v1/flows?dst_ip=127.64.0.0/12&limit=100"],
  ] as const) {
    const times: number[] = [];
    await window(`API: ${name}`, async () => {
      for (let n = 0; n < REQUESTS; n++) {
        const t = performance.now();
        const r = await fetch(url + path);
        await r.text();
        if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status}`);
        times.push(performance.now() - t);
      }
    });
    times.sort((x, y) => x - y);
    console.log(`  ${name}: p50 ${pct(times, 50).toFixed(1)} ms, p99 ${pct(times, 99).toFixed(1)} ms, max ${times[times.length - 1]!.toFixed(1)} ms (target p99 ≤ 50 ms)`);
  }
  // The export load meanwhile: N clients export 10,000-row CSV pages in a loop (as in bench/api-export-load.ts).
  for (const n of EXPORTERS) {
    await window(`API + ${n} exporting clients`, async () => {
      const r = await loadWindow(server, n, REQUESTS, 30, "/api/v1/flows?sort_by=bytes&limit=100", TRACE);
      console.log(`  top 100 by bytes: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms (${r.requests} requests); ` +
        `export ${Math.round(r.rowsPerSec).toLocaleString()} rows/s, ${r.refused} 429s; server RSS peak ${r.rssPeakMiB.toFixed(0)} MiB; ` +
        `CPU % server thread ${(r.threads["bun (server thread)"] ?? 0).toFixed(0)}, engine Worker ${(r.threads.Worker ?? 0).toFixed(0)}`);
    });
  }
} finally {
  flood.kill();
  await flood.exited;
  await server.stop();
}
