/**
 * API latency with ~1,000,000 flows in the table: p50/p99/max of GET /api/v1/flows sorted by bytes
 * and of CIDR / combined filters, measured with a bounded Bun fetch loop on loopback (default 200
 * requests per scenario, concurrency 1 by default) against a real FlowmatrixServer replaying a generated
 * capture (2,000,000 packets, 1,000,000 flows, seed 3) at full speed with maxFlows 1,100,000.
 *
 *   bun bench/api-latency.ts [--requests 200] [--big-requests 10] [--concurrency 1] [--export-only | --no-export]
 *                            [--exporters 0,10,50] [--load-requests 200] [--load-seconds 40]
 *
 * 3. The export-load case (bench/api-export-load.ts): the scan capture's 950 k flows in a server
 * process of its own, `sort_by=bytes&limit=100` one at a time while 0, 10 and 50 clients export
 * 10,000-row CSV pages in a loop; p50/p99, server RSS, export rows/s, CPU of the server thread
 * and of the engine Worker. Target p99 ≤ 50 ms with 10 exporting clients, RSS < 1 GiB.
 *
 * The capture is generated once into bench/.cache/api-1m.pcap (about 0.9 GB, git-ignored) with
 * ../shared/tools/gen-pcap.mjs. Measurement starts after the replay has finished: a file
 * replay has no capture drops (pcap_stats does not apply to files; the figure is printed anyway).
 * Limits: every flows request is a full scan of the table in the engine Worker (O(flows), with a
 * bounded heap for the page), and requests are served one at a time by that Worker, so latency
 * grows with concurrency; target p99 ≤ 50 ms.
 */
import { opt, pct } from "./args.ts";
import { existsSync, mkdirSync, renameSync } from "node:fs";
import { FlowmatrixServer } from "../src/server/app.ts";
import { exportLoad } from "./api-export-load.ts";

const REQUESTS = opt("requests", 200);
const CONCURRENCY = opt("concurrency", 1);
const CACHE = new URL("./.cache/", import.meta.url).pathname;
const PCAP = `${CACHE}api-1m.pcap`;

function ensureCapture(): void {
  if (existsSync(PCAP)) return;
  mkdirSync(CACHE, { recursive: true });
  console.error(`generating ${PCAP} (once)…`);
  const p = Bun.spawnSync(["node", new URL("../../shared/tools/gen-pcap.mjs", import.meta.url).pathname, "--packets", "2000000", "--flows", "1000000", "--seed", "3", "--out", `${PCAP}.part`, "--quiet"], { stderr: "inherit" });
  if (p.exitCode !== 0) throw new Error("gen-pcap failed");
  renameSync(`${PCAP}.part`, PCAP);
}

async function measure(url: string, path: string, requests = REQUESTS): Promise<{ p50: number; p99: number; max: number; total: number; bytes: number }> {
  const times: number[] = [];
  let next = 0;
  let total = -1;
  let bytes = 0;
  const worker = async () => {
    while (next < requests) {
      next++;
      const t0 = performance.now();
      const res = await fetch(url + path);
      const body = await res.text();
      times.push(performance.now() - t0);
      if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${body.slice(0, 200)}`);
      bytes = body.length;
      if (total >= 0) continue;
      // JSON: its `total`; CSV: data rows (lines minus the header); NDJSON: lines.
      const type = res.headers.get("content-type") ?? "";
      const lines = () => body.length - body.replaceAll("\n", "").length;
      total = type.includes("application/json") ? ((JSON.parse(body) as { total?: number }).total ?? Number.NaN) : type.includes("text/csv") ? lines() - 1 : lines();
    }
  };
  await fetch(url + path).then((r) => r.text()); // warm-up (query compile cache, JIT)
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  times.sort((a, b) => a - b);
  return { p50: pct(times, 50), p99: pct(times, 99), max: times[times.length - 1]!, total, bytes };
}

type Health = { capture: { state: string; dropped: number; packets: number }; flows: { active: number; ended: number; evicted: number } };
const health = async (url: string) => (await (await fetch(`${url}/api/v1/health`)).json()) as Health;

/**
 * [name, path, requests (default --requests)]. The large responses (a JSON page at the maximum
 * limit, a 100,000-row CSV / NDJSON export) take 0.1-2 s each, so they run --big-requests times
 * (default 10): they show what the response path (serialisation, schemas) costs per byte.
 */
const BIG = opt("big-requests", 10);
const SCENARIOS: [string, string, number?][] = [
  ["top 100 by bytes", "/api/v1/flows?sort_by=bytes&limit=100"],
  ["CIDR src_ip=10.0.0.0/10", "/api/v1/flows?src_ip=10.0.0.0/10&limit=100"],
  ["CIDR + proto, q", `/api/v1/flows?q=${encodeURIComponent("dst_ip:198.18.0.0/24 protocol:tcp")}&sort_by=packets&limit=100`],
  ["IPv6 CIDR fd00::/8", "/api/v1/flows?src_ip=fd00::/8&limit=100"],
  ["health", "/api/v1/health"],
  ["JSON page of 10,000 (max limit)", "/api/v1/flows?sort_by=bytes&limit=10000", BIG],
  ["CSV export 100,000 rows", "/api/v1/flows?format=csv&sort_by=bytes&limit=100000", BIG],
  ["NDJSON export 100,000 rows", "/api/v1/flows?format=ndjson&sort_by=bytes&limit=100000", BIG],
];

async function table(url: string, scenarios: [string, string, number?][]): Promise<void> {
  const rows: string[][] = [["scenario", "matches", "p50 ms", "p99 ms", "max ms", "body KiB", "p99 ≤ 50 ms"]];
  for (const [name, path, requests] of scenarios) {
    const m = await measure(url, path, requests);
    rows.push([name, m.total < 0 || Number.isNaN(m.total) ? "-" : m.total.toLocaleString(), m.p50.toFixed(1), m.p99.toFixed(1), m.max.toFixed(1), (m.bytes / 1024).toFixed(1), m.p99 <= 50 ? "yes" : "NO"]);
  }
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) console.log(r.map((v, c) => (c === 0 ? v.padEnd(w[c]!) : v.padStart(w[c]!))).join("  "));
}

const argv = process.argv.slice(2);
if (!argv.includes("--export-only")) await latencyCases();
if (!argv.includes("--no-export")) {
  const i = argv.indexOf("--exporters");
  const counts = i >= 0 ? argv[i + 1]!.split(",").map(Number) : [0, 10, 50];
  console.log("\n== export load (bench/api-export-load.ts)");
  await exportLoad(counts, opt("load-requests", 200), opt("load-seconds", 40));
}

async function latencyCases(): Promise<void> {
  ensureCapture();

  // 1. The table full (1M flows), the replay finished: the cost of a request alone.
  {
    const server = new FlowmatrixServer({
      engine: { source: { kind: "file", path: PCAP, speed: "max", loop: false }, maxFlows: 1_100_000 },
      port: 0,
    });
    const t0 = performance.now();
    const url = await server.start();
    try {
      let h: Health;
      for (;;) {
        h = await health(url);
        if (h.capture.state === "finished") break;
        await Bun.sleep(250);
      }
      const replayS = (performance.now() - t0) / 1000;
      console.log(`replay: ${h.capture.packets.toLocaleString()} packets in ${replayS.toFixed(1)} s; flows active ${h.flows.active.toLocaleString()}, ended ${h.flows.ended.toLocaleString()}, evicted ${h.flows.evicted}`);
      console.log(`\n== table full, replay finished: ${REQUESTS} requests per scenario, concurrency ${CONCURRENCY}, loopback`);
      await table(url, SCENARIOS);
    } finally {
      await server.stop();
    }
  }

  // 2. The same while the capture replays at full speed in a loop (the table stays at ~1M flows:
  // later passes hit the same keys). A file replay cannot drop packets; the cost of the API load
  // shows as replay throughput instead, measured with and without the load.
  {
    const server = new FlowmatrixServer({
      engine: { source: { kind: "file", path: PCAP, speed: "max", loop: true }, maxFlows: 1_100_000 },
      port: 0,
    });
    const url = await server.start();
    try {
      while ((await health(url)).flows.active < 950_000) await Bun.sleep(250);
      const rate = async (ms: number) => {
        const a = await health(url);
        const t = performance.now();
        await Bun.sleep(ms);
        const b = await health(url);
        return (b.capture.packets - a.capture.packets) / ((performance.now() - t) / 1000);
      };
      const idle = await rate(3000);
      const a = await health(url);
      const t = performance.now();
      console.log(`\n== while replaying at full speed (loop): ${REQUESTS} requests per scenario, concurrency ${CONCURRENCY}`);
      await table(url, SCENARIOS.slice(0, 2));
      const b = await health(url);
      const loaded = (b.capture.packets - a.capture.packets) / ((performance.now() - t) / 1000);
      console.log(`replay throughput: ${(idle / 1e6).toFixed(2)} Mpps without API load, ${(loaded / 1e6).toFixed(2)} Mpps under it; ` +
        `capture drops ${b.capture.dropped} (a file replay is never dropped: the API slows the replay instead)`);
    } finally {
      await server.stop();
    }
  }
}
