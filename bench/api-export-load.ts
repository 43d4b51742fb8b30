/**
 * Interactive queries under export load: p50/p99/max of `GET /api/v1/flows?sort_by=bytes&limit=100`
 * (one request at a time) while 0, 10 and 50 clients export 10,000-row CSV pages in a loop, with
 * the server's RSS, the CPU of each of its threads (the server thread vs the engine Worker) and the
 * export throughput (CSV rows received per second, all exporters together).
 *
 *   bun bench/api-export-load.ts [--exporters 0,10,50] [--load-requests 200] [--load-seconds 40] [--rounds 1] [--trace]
 *
 * --trace: the server runs with FLOWMATRIX_CALL_TRACE=1 (src/worker/call-trace.ts) and each window
 * prints where the interactive requests' time went: before the engine call (client, HTTP, the
 * server's event loop), waiting in the engine Worker (behind export slices, table slices, other
 * calls), the query itself (wall and the engine thread's CPU time: a gap is the thread waiting for
 * a core), the reply, and after (JSON, the server's event loop, the client); `srv lag cpu` is the
 * server thread's CPU time during its event-loop lag (≈ lag: busy; ≪ lag: not scheduled).
 * Tracing adds a 1 ms lag timer on each thread: compare traced runs with traced runs.
 *
 * Table: the scan capture (`gen-pcap.mjs --packets 1000000 --flows 950000 --seed 2`, cached in
 * bench/.cache/ like `npm run bench`'s) replayed once at full speed into a server in its own
 * process (bench/api-server.ts) with --max-flows 1,100,000 and an idle timeout of an hour, so the
 * ~950 k flows stay in the table while the load runs (the replay is finished: the engine Worker
 * does nothing but answer). Each exporter loops over `format=csv&state=all&sort_by=bytes&limit=10000`
 * with offset 0, 10,000, …, 90,000 (a client paging through the top 100 k), reading every byte;
 * a 429 is counted and its Retry-After honoured. The interactive requests start 2 s after the
 * exporters and stop after --load-requests requests or --load-seconds seconds.
 *
 * RSS: VmRSS of the server process sampled every 100 ms over each load window (peak shown), and
 * VmHWM (the process's peak since start, replay included) at the end. Thread CPU: utime + stime
 * from /proc/PID/task/TID/stat over the window, in % of one core, by thread name ("bun" is the
 * server thread: HTTP, JSON, CSV text; "Worker" is the engine Worker: queries, export slices;
 * "HeapHelper" is the GC), and each thread's run-queue wait (from schedstat: % of the window it was
 * runnable but had no core). The load generator runs in this process, on the same 2 cores: its CPU
 * is what is left.
 */
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { opt, pct } from "./args.ts";
import { captureSpecs, ensureCapture } from "./captures.ts";
import { nowMs, SpanRing, type Span } from "../src/worker/call-trace.ts";

const CACHE = new URL("./.cache/", import.meta.url).pathname;
const TOP100 = "/api/v1/flows?sort_by=bytes&limit=100";
const EXPORT_ROWS = 10_000;
const EXPORT_PAGES = 10;

export interface LoadResult {
  exporters: number;
  requests: number;
  p50: number;
  p99: number;
  max: number;
  rssPeakMiB: number;
  rowsPerSec: number;
  exportsDone: number;
  refused: number;
  errors: number;
  threads: Record<string, number>;
}

/** A server process from bench/api-server.ts: its URL and pid. */
export interface ServerProc {
  url: string;
  pid: number;
  /** Spans since the last call (server thread and engine Worker); only when started with trace. */
  trace(): Promise<{ server: Span[]; engine: Span[] }>;
  stop(): Promise<void>;
}

export async function startServerProc(config: unknown, opts: { trace?: boolean } = {}): Promise<ServerProc> {
  const p = Bun.spawn([process.execPath, new URL("./api-server.ts", import.meta.url).pathname, JSON.stringify(config)], {
    stdin: "pipe", stdout: "pipe", stderr: "inherit",
    env: { ...process.env, FLOWMATRIX_CALL_TRACE: opts.trace ? "1" : "0" },
  });
  process.on("exit", () => p.kill("SIGKILL"));
  const reader = p.stdout.getReader();
  const dec = new TextDecoder();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`bench server exited: ${await p.exited}`);
    text += dec.decode(value);
  }
  const url = text.split("\n")[0]!.trim();
  text = text.slice(text.indexOf("\n") + 1);
  const traceWaiters: ((t: { server: Span[]; engine: Span[] }) => void)[] = [];
  void (async () => {
    // The rest of stdout: TRACE lines answer trace() in order.
    for (;;) {
      let nl: number;
      while ((nl = text.indexOf("\n")) >= 0) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        if (line.startsWith("TRACE ")) traceWaiters.shift()?.(JSON.parse(line.slice(6)));
      }
      const { value, done } = await reader.read();
      if (done) return;
      text += dec.decode(value);
    }
  })();
  return {
    url,
    pid: p.pid,
    trace: () => new Promise((resolve) => {
      traceWaiters.push(resolve);
      p.stdin.write("trace\n");
      p.stdin.flush();
    }),
    stop: async () => {
      p.kill("SIGTERM");
      const t = setTimeout(() => p.kill("SIGKILL"), 10_000);
      await p.exited;
      clearTimeout(t);
    },
  };
}

const statusKiB = (pid: number, field: string): number => {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
  return m ? Number(m[1]) : 0;
};
export const rssMiB = (pid: number) => statusKiB(pid, "VmRSS") / 1024;
export const hwmMiB = (pid: number) => statusKiB(pid, "VmHWM") / 1024;

/** One thread's counters: CPU ticks (1/100 s) from stat; ns on a CPU and ns runnable but waiting for one, from schedstat. */
export interface ThreadTicks {
  name: string;
  ticks: number;
  runNs: number;
  waitNs: number;
}

/** Counters of every thread of `pid`, by tid, with its name. */
export function threadTicks(pid: number): Map<string, ThreadTicks> {
  const out = new Map<string, ThreadTicks>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = s.slice(s.indexOf("(") + 1, s.lastIndexOf(")"));
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      let runNs = 0, waitNs = 0;
      try {
        [runNs, waitNs] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ").map(Number) as [number, number];
      } catch {
        // no schedstat in this kernel
      }
      out.set(tid, { name: tid === String(pid) ? "bun (server thread)" : name, ticks: Number(f[11]) + Number(f[12]), runNs, waitNs });
    } catch {
      // the thread ended
    }
  }
  return out;
}

/**
 * Per thread name between two threadTicks() readings `seconds` apart: % of one core used, and % of
 * the window spent runnable but waiting for a core (run-queue wait: the machine had no core free).
 */
export function threadCpu(a: Map<string, ThreadTicks>, b: Map<string, ThreadTicks>, seconds: number): Record<string, number> {
  const by: Record<string, number> = {};
  for (const [tid, t] of b) {
    const p = a.get(tid);
    by[t.name] = (by[t.name] ?? 0) + (t.ticks - (p?.ticks ?? 0)) / seconds; // ticks/s at 100 Hz = % of a core
    const w = `wait ${t.name}`;
    by[w] = (by[w] ?? 0) + (t.waitNs - (p?.waitNs ?? 0)) / 1e7 / seconds;
  }
  return by;
}

/** Counts CSV rows as they arrive (newlines), across all exporters. */
const counters = { lines: 0, exports: 0, refused: 0, errors: 0 };

async function exporter(url: string, k: number, signal: AbortSignal): Promise<void> {
  let page = k % EXPORT_PAGES;
  while (!signal.aborted) {
    const path = `/api/v1/flows?format=csv&state=all&sort_by=bytes&limit=${EXPORT_ROWS}&offset=${page * EXPORT_ROWS}`;
    page = (page + 1) % EXPORT_PAGES;
    try {
      const res = await fetch(url + path, { signal });
      if (res.status === 429) {
        counters.refused++;
        await res.arrayBuffer();
        const wait = Number(res.headers.get("retry-after") ?? "1") * 1000;
        await new Promise<void>((r) => {
          const t = setTimeout(r, wait);
          signal.addEventListener("abort", () => { clearTimeout(t); r(); }, { once: true });
        });
        continue;
      }
      if (res.status !== 200 || !res.body) {
        counters.errors++;
        await res.arrayBuffer();
        await Bun.sleep(100);
        continue;
      }
      const reader = res.body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        let i = -1;
        while ((i = value.indexOf(10, i + 1)) >= 0) counters.lines++;
      }
      counters.lines--; // the header line
      counters.exports++;
    } catch (e) {
      if (!signal.aborted) {
        counters.errors++;
        console.error(`exporter ${k}: ${(e as Error).message}`);
      }
    }
  }
}

/**
 * Overlap in ms of [a, b] with the spans of `kinds` (a span of a kind ending in ":" matches by
 * prefix); with `cpu`, the thread's CPU time in that overlap instead (the span's, pro rata).
 */
function overlap(spans: Span[], kinds: string[], a: number, b: number, cpu = false): number {
  let sum = 0;
  for (const [k, , s, e, c] of spans) {
    if (e <= a || s >= b) continue;
    if (!kinds.some((x) => (x.endsWith(":") ? k.startsWith(x) : k === x))) continue;
    const o = Math.min(b, e) - Math.max(a, s);
    sum += cpu ? (c * o) / Math.max(e - s, 1e-9) : o;
  }
  return sum;
}

/**
 * Where each interactive request's time went (--trace): the client's [start, end] joined with the
 * server thread's `post:flows` span (the engine call) and the engine Worker's `call:flows` span
 * (its handler), then what overlapped the waits (export slices, table slices, ticks, event loops
 * that ran late). Printed: the percentiles of each part, and the parts of the slowest 3 %.
 */
function printBreakdown(reqs: [number, number][], tr: { server: Span[]; engine: Span[] }, client: Span[]): void {
  const posts = tr.server.filter((x) => x[0] === "post:flows");
  const calls = new Map(tr.engine.filter((x) => x[0] === "call:flows").map((x) => [x[1], x]));
  type Row = Record<string, number>;
  const rows: Row[] = [];
  for (const [t0, t1] of reqs) {
    const post = posts.find((x) => x[2] >= t0 - 2 && x[2] <= t1);
    const call = post ? calls.get(post[1]) : undefined;
    if (!post || !call) continue;
    rows.push({
      total: t1 - t0,
      "client→call": post[2] - t0,
      "engine queue": call[2] - post[2],
      "engine run": call[3] - call[2],
      "run cpu": call[4],
      "reply": post[3] - call[3],
      "reply→client": t1 - post[3],
      "q:export slices": overlap(tr.engine, ["bulk"], post[2], call[2]),
      "q:table slices": overlap(tr.engine, ["slice:", "tick:"], post[2], call[2]),
      "q:other calls": overlap(tr.engine, ["call:"], post[2], call[2]),
      "srv lag": overlap(tr.server, ["lag"], t0, post[2]) + overlap(tr.server, ["lag"], post[3], t1),
      "srv lag cpu": overlap(tr.server, ["lag"], t0, post[2], true) + overlap(tr.server, ["lag"], post[3], t1, true),
      "client lag": overlap(client, ["lag"], t0, t1),
    });
  }
  if (rows.length === 0) {
    console.log("  trace: no request joined (FLOWMATRIX_CALL_TRACE off in the server?)");
    return;
  }
  const keys = Object.keys(rows[0]!);
  const col = (k: string) => rows.map((r) => r[k]!).sort((a, b) => a - b);
  rows.sort((a, b) => b.total! - a.total!);
  const slow = rows.slice(0, Math.max(1, Math.ceil(rows.length * 0.03)));
  const mean = (rs: Row[], k: string) => rs.reduce((n, r) => n + r[k]!, 0) / rs.length;
  const fmt = (v: number) => v.toFixed(1).padStart(8);
  console.log(`  trace of ${rows.length} requests (ms):  ${keys.map((k) => k.padStart(Math.max(8, k.length))).join(" ")}`);
  for (const [label, f] of [["p50", (k: string) => pct(col(k), 50)], ["p99", (k: string) => pct(col(k), 99)], [`slowest ${slow.length} (mean)`, (k: string) => mean(slow, k)]] as const) {
    console.log(`  ${label.padStart(33)}  ${keys.map((k) => fmt(f(k)).padStart(Math.max(8, k.length))).join(" ")}`);
  }
  const stat = (spans: Span[], kind: string) => {
    const d = spans.filter((x) => x[0] === kind).map((x) => x[3] - x[2]).sort((a, b) => a - b);
    const cpu = spans.filter((x) => x[0] === kind).reduce((a, x) => a + x[4], 0);
    return d.length ? `${kind} n=${d.length} p50 ${pct(d, 50).toFixed(2)} p99 ${pct(d, 99).toFixed(2)} max ${d[d.length - 1]!.toFixed(1)} sum ${d.reduce((a, b) => a + b, 0).toFixed(0)} (cpu ${cpu.toFixed(0)})` : `${kind} none`;
  };
  const sliceKinds = [...new Set(tr.engine.filter((x) => x[0].startsWith("slice:")).map((x) => x[0]))];
  console.log(`  engine: ${["bulk", ...sliceKinds, "tick:advance", "tick:summary", "lag", "call:exportNext", "call:flows"].map((k) => stat(tr.engine, k)).join("; ")}`);
  console.log(`  server: ${["lag", "post:exportNext", "post:exportOpen"].map((k) => stat(tr.server, k)).join("; ")}; client: ${stat(client, "lag")}`);
}

/** One load window: `exporters` export loops, then interactive requests one at a time. */
export async function loadWindow(srv: ServerProc, exporters: number, requests: number, seconds: number, path = TOP100, trace = false): Promise<LoadResult> {
  const ac = new AbortController();
  const loops = Array.from({ length: exporters }, (_, k) => exporter(srv.url, k, ac.signal));
  let rssPeak = 0;
  const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, rssMiB(srv.pid)); }, 100);
  await fetch(srv.url + path).then((r) => r.text()); // warm-up
  if (exporters > 0) await Bun.sleep(2000);
  const c0 = { ...counters };
  const clientLag = trace ? new SpanRing() : null;
  if (trace) await srv.trace(); // start from an empty trace
  clientLag?.startLagSampler();
  const reqs: [number, number][] = [];
  const th0 = threadTicks(srv.pid);
  const gen0 = process.cpuUsage();
  const t0 = performance.now();
  const times: number[] = [];
  while (times.length < requests && performance.now() - t0 < seconds * 1000) {
    const t = performance.now();
    const a = nowMs();
    const res = await fetch(srv.url + path);
    await res.text();
    reqs.push([a, nowMs()]);
    times.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
  }
  clientLag?.stop();
  if (trace) printBreakdown(reqs, await srv.trace(), clientLag!.drain());
  const s = (performance.now() - t0) / 1000;
  const threads = threadCpu(th0, threadTicks(srv.pid), s);
  const gen = process.cpuUsage(gen0);
  threads["load generator"] = (gen.user + gen.system) / 1e4 / s; // this process: the exporters and the timed requests
  const c1 = { ...counters };
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, rssMiB(srv.pid));
  ac.abort();
  await Promise.all(loops);
  times.sort((a, b) => a - b);
  return {
    exporters, requests: times.length,
    p50: pct(times, 50), p99: pct(times, 99), max: times[times.length - 1]!,
    rssPeakMiB: rssPeak, rowsPerSec: (c1.lines - c0.lines) / s,
    exportsDone: c1.exports - c0.exports, refused: c1.refused - c0.refused, errors: c1.errors - c0.errors,
    threads,
  };
}

export function printLoad(results: LoadResult[]): void {
  const names = [...new Set(results.flatMap((r) => Object.keys(r.threads)))]
    .filter((n) => results.some((r) => (r.threads[n] ?? 0) >= 1));
  const rows: string[][] = [["exporters", "requests", "p50 ms", "p99 ms", "max ms", "p99 ≤ 50", "RSS peak MiB", "export rows/s", "exports", "429s", ...names.map((n) => (n.startsWith("wait ") ? `runq-wait% ${n.slice(5)}` : `CPU% ${n}`))]];
  for (const r of results) {
    rows.push([String(r.exporters), String(r.requests), r.p50.toFixed(1), r.p99.toFixed(1), r.max.toFixed(1), r.p99 <= 50 ? "yes" : "NO",
      r.rssPeakMiB.toFixed(0), Math.round(r.rowsPerSec).toLocaleString(), String(r.exportsDone), String(r.refused),
      ...names.map((n) => (r.threads[n] ?? 0).toFixed(0))]);
  }
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) console.log(r.map((v, c) => v.padStart(w[c]!)).join("  "));
}

type Health = { capture: { state: string; packets: number }; flows: { active: number; ended: number } };

/**
 * The export-load case: the scan capture's ~950 k flows, then one window per exporter count, all
 * of it `rounds` times in the same server (rows of one run compare; the load average is printed).
 */
export async function exportLoad(exporterCounts: number[], requests: number, seconds: number, opts: { rounds?: number; trace?: boolean } = {}): Promise<LoadResult[]> {
  const scan = captureSpecs(false).find((s) => s.name === "scan")!;
  const pcap = await ensureCapture(CACHE, scan, (l) => console.error(l));
  const srv = await startServerProc({
    engine: { source: { kind: "file", path: pcap, speed: "max", loop: false }, maxFlows: 1_100_000, idleTimeout: 3600 },
    metricsIntervalMs: 5000,
  }, { trace: opts.trace });
  try {
    const t0 = performance.now();
    let h: Health;
    for (;;) {
      h = (await (await fetch(`${srv.url}/api/v1/health`)).json()) as Health;
      if (h.capture.state === "finished") break;
      await Bun.sleep(250);
    }
    console.log(`table: ${h.flows.active.toLocaleString()} active + ${h.flows.ended.toLocaleString()} ended flows ` +
      `(${h.capture.packets.toLocaleString()} packets replayed in ${((performance.now() - t0) / 1000).toFixed(1)} s); server RSS ${rssMiB(srv.pid).toFixed(0)} MiB`);
    console.log(`\n== sort_by=bytes&limit=100 while N clients export ${EXPORT_ROWS.toLocaleString()}-row CSV pages in a loop (requests one at a time, ≤ ${requests} or ${seconds} s)`);
    const results: LoadResult[] = [];
    const la = () => loadavg().map((x) => x.toFixed(1)).join(" ");
    for (let round = 1; round <= (opts.rounds ?? 1); round++) {
      console.log(`round ${round}: load average at start: ${la()} (a shared machine: compare rows of one run)`);
      const rs: LoadResult[] = [];
      for (const n of exporterCounts) {
        if (opts.trace) console.log(`-- ${n} exporters`);
        rs.push(await loadWindow(srv, n, requests, seconds, TOP100, opts.trace));
        await Bun.sleep(1000);
      }
      printLoad(rs);
      console.log(`round ${round}: load average at end: ${la()}`);
      results.push(...rs);
    }
    console.log(`server VmHWM (peak since start, replay included): ${hwmMiB(srv.pid).toFixed(0)} MiB; target < 1024 MiB`);
    return results;
  } finally {
    await srv.stop();
  }
}

if (import.meta.main) {
  const i = process.argv.indexOf("--exporters");
  const counts = i >= 0 ? process.argv[i + 1]!.split(",").map(Number) : [0, 10, 50];
  await exportLoad(counts, opt("load-requests", 200), opt("load-seconds", 40), { rounds: opt("rounds", 1), trace: process.argv.includes("--trace") });
}
