#!/usr/bin/env bun
/**
 * Live capture, side by side with C: CPU per captured packet of `flowmatrix serve` (the whole
 * process, as a user sees it) against `limit live` (../shared/tools/limit.c: the same decode and
 * flow table design fed by libpcap), both capturing on `lo` while bench/udp-flood.ts sends a paced
 * UDP flood to `--flows` addresses in 127.64.0.0/10 (loopback only; bounded in time and count).
 * Run by `npm run bench` (bench/run.ts, skip with --skip-live) or alone:
 *
 *   bun bench/live-capture.ts [--rounds 5] [--seconds 10] [--warm 10] [--rate 200000] [--flows 100000] [--export]
 *
 * `--export`: instead, the IPFIX exporter's cost on live capture (benchLiveExport: ours alone,
 * without and with --export-ipfix, flows ending by active timeout during the flood).
 *
 * One measurement, identical for both sides: start the capture (C: `limit live lo S FILTER`;
 * ours: `serve --interface lo --filter FILTER`, history store in a temp dir) and let it settle;
 * a warm-up flood of `--warm` seconds (default 10: the table fills to `--flows` flows, and our JIT
 * has compiled the hot paths — it still spends ~0.1 s on them in the first seconds); then
 * the measured flood of `--seconds` at the same rate to the same addresses. CPU is read from
 * /proc the same way for both processes — utime+stime of the whole process (/proc/PID/stat: every
 * thread; for ours the HTTP server, the engine Worker, JIT and GC threads and the store) — 1.5 s
 * after each flood ended (so the last kernel block is delivered). Per packet:
 *   - steady (the figure the target is about): CPU between the two floods' ends / packets of the
 *     measured flood — the table holds `--flows` flows throughout.
 *   - cold: CPU from before the warm-up / packets of both floods — table filled from empty, and
 *     for ours the JIT's compile time.
 * Packets: ours the engine's `capture.packets` from /api/v1/health at the samples; C prints only
 * its totals, so its measured-flood packets are its total minus what the warm-up flood sent (both
 * totals are checked against what the floods sent). C's own report (getrusage over its whole
 * loop) is shown too. Ours also: the engine Worker's thread alone (/proc/PID/task/TID/schedstat,
 * the busiest thread). Kernel drops: pcap_stats of each. Sides alternate (C first in odd rounds);
 * medians over the rounds, and the median of the per-round ratios.
 *
 * Also: idle CPU of each with no traffic (% of a core over `--idle-seconds`), and the latency from
 * a packet on the wire to its flow in the table (a datagram to a fresh address in 127.126.0.0/16
 * while the flood runs, then /api/v1/flows polled every 5 ms until the flow is there).
 *
 * Needs capture rights on `lo` (root or cap_net_raw) and gcc + libpcap-dev for the C side.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { ensureLimit } from "./captures.ts";
import { median } from "./procs.ts";

const ROOT = resolve(dirname(import.meta.path), "..");
/** The checkout whose `serve` is measured (default: this one; another for A/B comparisons). */
const SERVE_ROOT = process.env.FLOWMATRIX_BENCH_SERVE_ROOT ?? ROOT;
const LOCAL_BUN = join(ROOT, "node_modules", ".bin", "bun");
const BUN = existsSync(LOCAL_BUN) ? LOCAL_BUN : process.execPath;
const FLOOD = join(ROOT, "bench", "udp-flood.ts");
/**
 * The issue's filter, narrowed to this run's flood port (chosen at random per bench run), so a
 * second bench running on the same machine does not feed our captures.
 */
export const FLOOD_PORT = 20_000 + Math.floor(Math.random() * 40_000);
export const LIVE_FILTER = `udp and dst net 127.64.0.0/10 and dst port ${FLOOD_PORT}`;
const CLK_TCK = 100; // Linux USER_HZ
const TAIL_MS = 1500;

export interface LiveOptions {
  rounds: number;
  /** Flood duration per measurement, seconds (after a warm-up flood of warmSeconds). */
  seconds: number;
  warmSeconds: number;
  /** Flood rate, datagrams per second. */
  rate: number;
  /** Distinct destinations (= flows in the table). */
  flows: number;
  idleSeconds: number;
  latencyProbes: number;
  cacheDir: string;
  log: (l: string) => void;
}

export interface LiveRun {
  packets: number;
  cpuSeconds: number;
  usPerPacket: number;
  /** ours: the engine Worker thread alone. */
  threadUsPerPacket?: number;
  /** ours: CPU by thread name over the window (seconds). */
  threads?: Record<string, number>;
  /** CPU per packet from before the warm-up flood (table filled from empty, JIT warming up). */
  coldUsPerPacket: number;
  /** C: what limit itself printed (getrusage over its whole loop). */
  selfReportUsPerPacket?: number;
  /** Datagrams the two floods sent, and packets the capture saw over both. */
  expectedPackets: number;
  capturedPackets: number;
  dropped: number;
  flows: number;
  kpps: number;
  sent: number;
  /** ours: the ended-flow sinks at the end of the measured flood (flows taken, dropped). */
  sinks?: { name: string; flows: number; dropped_flows: number }[];
}

export interface LiveResult {
  options: Omit<LiveOptions, "log" | "cacheDir">;
  c: LiveRun[];
  ours: LiveRun[];
  errors: string[];
  median: {
    c: number | null; ours: number | null; oursThread: number | null; ratio: number | null; ratioOfRounds: number | null;
    cCold: number | null; oursCold: number | null;
  };
  idle: { cPercent: number | null; oursPercent: number | null };
  latencyMs: number[];
  /** 1-minute load average before and after (the machine is shared: read the ratios with it). */
  load: [number, number];
}

const sleep = (ms: number) => Bun.sleep(ms);

/** Children still running (serve, limit, floods): killed if the bench exits early. */
const children = new Set<{ kill: (sig?: number | NodeJS.Signals) => void }>();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

/** Starts the flood; resolves with what it sent once it stopped by itself. */
function flood(o: LiveOptions): { done: Promise<{ sent: number }>; kill: () => void } {
  const p = Bun.spawn([BUN, FLOOD, "--flows", String(o.flows), "--seconds", String(o.seconds), "--rate", String(o.rate),
    "--max-packets", String(Math.ceil(o.rate * o.seconds)), "--port", String(FLOOD_PORT)], {
    cwd: ROOT, stdout: "pipe", stderr: "ignore",
  });
  children.add(p);
  const timer = setTimeout(() => p.kill("SIGKILL"), (o.seconds + 20) * 1000);
  const done = (async () => {
    const out = await new Response(p.stdout).text();
    await p.exited;
    clearTimeout(timer);
    children.delete(p);
    const last = out.trim().split("\n").pop() ?? "{}";
    return { sent: Number((JSON.parse(last) as { sent?: number }).sent ?? 0) };
  })();
  return { done, kill: () => p.kill() };
}

function parseKv(s: string): Record<string, number> {
  const kv: Record<string, number> = {};
  for (const m of s.matchAll(/(\w+)=(\S+)/g)) kv[m[1]!] = Number(m[2]);
  return kv;
}

/** CPU snapshots of a capture process at the window's ends (see the header). */
interface Phase {
  cpu: number;
  threads: Map<string, { name: string; ns: number }>;
  packets?: number;
  dropped?: number;
  flows?: number;
  /** The ended-flow sinks' counters (history store, IPFIX): flows taken and dropped. */
  sinks?: { name: string; flows: number; dropped_flows: number }[];
}

async function sample(pid: number, url?: string): Promise<Phase> {
  const cpu = processCpu(pid);
  const threads = threadCpu(pid);
  if (!url) return { cpu, threads };
  const h = await health(url);
  return { cpu, threads, packets: h.capture.packets, dropped: h.capture.dropped, flows: h.flows.active, sinks: h.sinks };
}

/**
 * The common sequence: capture running → warm-up flood → sample → measured flood → sample.
 * Returns the samples (before the warm-up, before and after the measured flood) and what the
 * two floods sent.
 */
async function phases(pid: number, o: LiveOptions, url?: string): Promise<{ s: Phase[]; warmSent: number; sent: number }> {
  await sleep(1000);
  const s0 = await sample(pid, url);
  const warm = await flood({ ...o, seconds: o.warmSeconds }).done;
  await sleep(TAIL_MS);
  const s1 = await sample(pid, url);
  const win = await flood(o).done;
  await sleep(TAIL_MS);
  const s2 = await sample(pid, url);
  return { s: [s0, s1, s2], warmSent: warm.sent, sent: win.sent };
}

function threadDelta(a: Phase, b: Phase): { byName: Record<string, number>; busiestNs: number } {
  const byName: Record<string, number> = {};
  let busiestNs = 0;
  for (const [tid, t] of b.threads) {
    const ns = t.ns - (a.threads.get(tid)?.ns ?? 0);
    byName[t.name] = Number(((byName[t.name] ?? 0) + ns / 1e9).toFixed(3));
    if (ns > busiestNs) busiestNs = ns;
  }
  return { byName, busiestNs };
}

async function runC(limit: string, o: LiveOptions): Promise<LiveRun> {
  const secs = 1 + o.warmSeconds + o.seconds + (2 * TAIL_MS) / 1000 + 2;
  const p = Bun.spawn([limit, "live", "lo", String(secs), LIVE_FILTER], { stdout: "pipe", stderr: "pipe" });
  children.add(p);
  const outP = new Response(p.stdout).text();
  const errP = new Response(p.stderr).text();
  try {
    const { s, warmSent, sent } = await phases(p.pid, o);
    const [out, err, code] = await Promise.all([outP, errP, p.exited]);
    if (code !== 0) throw new Error(`limit live exited ${code}: ${err.trim()}`);
    const kv = parseKv(out);
    if (!Number.isFinite(kv.packets) || !Number.isFinite(kv.cpu)) throw new Error(`cannot parse limit live output: ${out.trim()}`);
    // limit prints totals only: the measured flood's packets are the total minus the warm-up's.
    const packets = kv.packets! - warmSent;
    const cpu = s[2]!.cpu - s[1]!.cpu;
    const coldCpu = s[2]!.cpu - s[0]!.cpu;
    return {
      packets, cpuSeconds: cpu, usPerPacket: (cpu * 1e6) / packets, coldUsPerPacket: (coldCpu * 1e6) / kv.packets!,
      selfReportUsPerPacket: kv.us_per_pkt!, dropped: kv.drop!, flows: kv.flows!, kpps: sent / o.seconds / 1000, sent,
      expectedPackets: warmSent + sent, capturedPackets: kv.packets!,
    };
  } finally {
    p.kill();
    await p.exited;
    children.delete(p);
  }
}

interface ServeProc {
  pid: number;
  url: string;
  stop: () => Promise<void>;
}

async function startServe(extra: string[] = []): Promise<ServeProc> {
  const dataDir = mkdtempSync(join(tmpdir(), "flowmatrix-live-bench-"));
  const p = Bun.spawn([BUN, "src/main.ts", "serve", "--interface", "lo", "--filter", LIVE_FILTER, "--port", "0", "--quiet", "--data-dir", dataDir, ...extra], {
    cwd: SERVE_ROOT, stdout: "pipe", stderr: "pipe",
  });
  children.add(p);
  const stderr = new Response(p.stderr).text();
  const stop = async () => {
    p.kill("SIGTERM");
    const t = setTimeout(() => p.kill("SIGKILL"), 10_000);
    await p.exited;
    clearTimeout(t);
    children.delete(p);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const reader = p.stdout.getReader();
    let text = "";
    const deadline = Date.now() + 20_000;
    while (!/http:\/\/\S+?:\d+\//.test(text)) {
      const r = await Promise.race([reader.read(), sleep(Math.max(0, deadline - Date.now())).then(() => null)]);
      if (r === null) throw new Error(`serve did not print its URL in 20 s: ${text.trim()}`);
      if (r.done) throw new Error(`serve exited: ${text.trim()} ${(await stderr).trim()}`);
      text += new TextDecoder().decode(r.value);
    }
    void (async () => {
      while (!(await reader.read()).done); // keep draining
    })();
    const url = text.match(/(http:\/\/\S+?:\d+)\//)![1]!;
    // The capture is open once health answers with the capture active.
    for (let n = 0; ; n++) {
      const h = await health(url).catch(() => null);
      if (h?.capture.state === "active") break;
      if (n === 100) throw new Error(`serve's capture is not active after 10 s (${h?.capture.state ?? "no answer"})`);
      await sleep(100);
    }
    return { pid: p.pid, url, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

interface Health {
  capture: { packets: number; dropped: number; state: string };
  flows: { active: number };
  sinks?: { name: string; flows: number; dropped_flows: number }[];
}

async function health(url: string): Promise<Health> {
  const r = await fetch(`${url}/api/v1/health`);
  return (await r.json()) as Health;
}

/** utime+stime of the whole process, seconds. */
function processCpu(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const w = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(w[11]) + Number(w[12])) / CLK_TCK; // fields 14, 15
}

/** Per thread: [name, CPU ns from schedstat]. */
function threadCpu(pid: number): Map<string, { name: string; ns: number }> {
  const m = new Map<string, { name: string; ns: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      m.set(tid, { name, ns });
    } catch {
      // the thread ended
    }
  }
  return m;
}

async function runOurs(o: LiveOptions, extra: string[] = []): Promise<LiveRun> {
  const serve = await startServe(extra);
  try {
    const { s, warmSent, sent } = await phases(serve.pid, o, serve.url);
    const [s0, s1, s2] = s as [Phase, Phase, Phase];
    const packets = s2.packets! - s1.packets!;
    const cpu = s2.cpu - s1.cpu;
    const { byName, busiestNs } = threadDelta(s1, s2);
    return {
      packets, cpuSeconds: cpu, usPerPacket: (cpu * 1e6) / packets, threadUsPerPacket: busiestNs / 1e3 / packets, threads: byName,
      coldUsPerPacket: ((s2.cpu - s0.cpu) * 1e6) / (s2.packets! - s0.packets!),
      dropped: s2.dropped! - s0.dropped!, flows: s2.flows!, kpps: sent / o.seconds / 1000, sent,
      expectedPackets: warmSent + sent, capturedPackets: s2.packets! - s0.packets!, sinks: s2.sinks,
    };
  } finally {
    await serve.stop();
  }
}

/** Idle CPU (% of one core) of ours and of C with no matching traffic. */
async function idle(limit: string, o: LiveOptions): Promise<{ cPercent: number; oursPercent: number }> {
  const s = await startServe();
  let oursPercent: number;
  try {
    await sleep(2000);
    const c0 = processCpu(s.pid);
    const t0 = performance.now();
    await sleep(o.idleSeconds * 1000);
    oursPercent = ((processCpu(s.pid) - c0) / ((performance.now() - t0) / 1000)) * 100;
  } finally {
    await s.stop();
  }
  const p = Bun.spawn([limit, "live", "lo", String(o.idleSeconds), LIVE_FILTER], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  const kv = parseKv(out);
  return { cPercent: (kv.cpu! / kv.elapsed!) * 100, oursPercent };
}

/** Packet-to-table latency: datagrams to fresh addresses while the flood runs (ms). */
async function latency(o: LiveOptions): Promise<number[]> {
  const s = await startServe();
  const f = flood({ ...o, seconds: Math.max(5, o.latencyProbes + 3) });
  const sock = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { error() {} } });
  const out: number[] = [];
  try {
    await sleep(1500);
    for (let n = 1; n <= o.latencyProbes; n++) {
      const dst = `127.126.0.${n}`;
      const t0 = performance.now();
      sock.send(new Uint8Array([1]), FLOOD_PORT, dst);
      for (;;) {
        const r = await fetch(`${s.url}/api/v1/flows?dst_ip=${dst}&limit=1`);
        const j = (await r.json()) as { total: number };
        if (j.total > 0) break;
        if (performance.now() - t0 > 5000) throw new Error(`flow to ${dst} not in the table after 5 s`);
        await sleep(5);
      }
      out.push(performance.now() - t0);
      await sleep(300);
    }
  } finally {
    sock.close();
    f.kill();
    await f.done;
    await s.stop();
  }
  return out;
}

export async function benchLive(o: LiveOptions): Promise<LiveResult> {
  const limit = await ensureLimit(o.cacheDir, o.log);
  const load0 = loadavg()[0]!;
  const c: LiveRun[] = [];
  const ours: LiveRun[] = [];
  const errors: string[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < o.rounds; round++) {
    const order = round % 2 === 0 ? (["c", "ours"] as const) : (["ours", "c"] as const);
    let rc: LiveRun | undefined, ro: LiveRun | undefined;
    for (const who of order) {
      try {
        if (who === "c") c.push((rc = await runC(limit, o)));
        else ours.push((ro = await runOurs(o)));
      } catch (e) {
        errors.push(`${who}: ${(e as Error).message}`);
        o.log(`[live] ${who} failed: ${(e as Error).message}`);
      }
    }
    if (rc && ro) ratios.push(ro.usPerPacket / rc.usPerPacket);
    o.log(`[live] round ${round + 1}/${o.rounds}: C ${rc ? `${rc.usPerPacket.toFixed(3)} µs/pkt (${rc.kpps.toFixed(0)} kpps, drops ${rc.dropped})` : "-"}, ` +
      `ours ${ro ? `${ro.usPerPacket.toFixed(3)} µs/pkt, engine thread ${ro.threadUsPerPacket!.toFixed(3)} (${ro.kpps.toFixed(0)} kpps, drops ${ro.dropped})` : "-"}` +
      (rc && ro ? ` → ×${(ro.usPerPacket / rc.usPerPacket).toFixed(2)}` : ""));
  }
  let idleRes: LiveResult["idle"] = { cPercent: null, oursPercent: null };
  let lat: number[] = [];
  try {
    if (o.idleSeconds > 0) idleRes = await idle(limit, o);
    if (o.latencyProbes > 0) lat = await latency(o);
  } catch (e) {
    errors.push(`idle/latency: ${(e as Error).message}`);
  }
  const mc = c.length ? median(c.map((r) => r.usPerPacket)) : null;
  const mo = ours.length ? median(ours.map((r) => r.usPerPacket)) : null;
  const { log: _l, cacheDir: _d, ...options } = o;
  return {
    options, c, ours, errors,
    median: {
      c: mc, ours: mo, oursThread: ours.length ? median(ours.map((r) => r.threadUsPerPacket!)) : null,
      ratio: mc && mo ? mo / mc : null, ratioOfRounds: ratios.length ? median(ratios) : null,
      cCold: c.length ? median(c.map((r) => r.coldUsPerPacket)) : null,
      oursCold: ours.length ? median(ours.map((r) => r.coldUsPerPacket)) : null,
    },
    idle: idleRes,
    latencyMs: lat,
    load: [Number(load0.toFixed(2)), Number(loadavg()[0]!.toFixed(2))],
  };
}

/**
 * The IPFIX exporter's cost on live capture (`--export`): ours alone, alternating per round without
 * and with `--export-ipfix` to a UDP socket of this process on 127.0.0.1 (it reads and discards),
 * both with `--active-timeout ACTIVE` so flows end while the flood runs (100 k flows of 2 packets/s
 * each, active timeout 5 s: ~20 k flows end and are exported per second) and the history store on
 * in both (the default serve). CPU per captured packet, whole process and engine thread.
 */
export async function benchLiveExport(o: LiveOptions, active = 5): Promise<void> {
  const { createSocket } = await import("node:dgram");
  const sock = createSocket("udp4");
  let datagrams = 0;
  sock.on("message", () => void datagrams++);
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  const common = ["--active-timeout", String(active)];
  const runs: { plain: LiveRun[]; exp: LiveRun[] } = { plain: [], exp: [] };
  const load0 = loadavg()[0]!;
  try {
    for (let round = 0; round < o.rounds; round++) {
      for (const which of round % 2 === 0 ? (["plain", "exp"] as const) : (["exp", "plain"] as const)) {
        const extra = which === "exp" ? [...common, "--export-ipfix", `127.0.0.1:${sock.address().port}`] : common;
        const r = await runOurs(o, extra);
        runs[which].push(r);
        o.log(`[live export] round ${round + 1}/${o.rounds} ${which}: ${r.usPerPacket.toFixed(3)} µs/pkt, engine thread ${r.threadUsPerPacket!.toFixed(3)} ` +
          `(${r.kpps.toFixed(0)} kpps, drops ${r.dropped}, captured ${r.capturedPackets} of ${r.expectedPackets}; ` +
          `sinks ${(r.sinks ?? []).map((k) => `${k.name} ${k.flows} taken, ${k.dropped_flows} dropped`).join(", ")})`);
      }
    }
  } finally {
    sock.close();
  }
  const m = (xs: LiveRun[], k: "usPerPacket" | "threadUsPerPacket") => median(xs.map((x) => x[k]!));
  const pct = (a: number, b: number) => `${b >= a ? "+" : ""}${((b / a - 1) * 100).toFixed(1)} %`;
  console.log(`\n== IPFIX export on live capture (lo, ${o.flows.toLocaleString()} flows, ${o.rate.toLocaleString()} datagrams/s, --active-timeout ${active}, ` +
    `history store on; ${o.rounds} round(s) alternating; load ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}; target ≤ 5 %)`);
  for (const k of ["usPerPacket", "threadUsPerPacket"] as const) {
    const a = m(runs.plain, k), b = m(runs.exp, k);
    console.log(`   ${k === "usPerPacket" ? "whole process" : "engine thread"}: without export ${a.toFixed(3)} µs/pkt, with ${b.toFixed(3)}: ${pct(a, b)}  ` +
      `(rounds ${runs.plain.map((x) => x[k]!.toFixed(3)).join(" ")} | ${runs.exp.map((x) => x[k]!.toFixed(3)).join(" ")})`);
  }
  const drops = [...runs.plain, ...runs.exp].reduce((n, x) => n + x.dropped, 0);
  const sink = (name: string) => runs.exp.flatMap((x) => x.sinks ?? []).filter((k) => k.name === name);
  const taken = sink("ipfix").reduce((n, k) => n + k.flows, 0), lost = sink("ipfix").reduce((n, k) => n + k.dropped_flows, 0);
  console.log(`   kernel drops: ${drops}; exporter: ${taken.toLocaleString()} flows taken, ${lost.toLocaleString()} dropped (ring full); ` +
    `${datagrams.toLocaleString()} IPFIX datagrams received (UDP beyond this process's socket buffer is lost)`);
}

export function printLive(r: LiveResult): void {
  const o = r.options;
  const f = (x: number | null | undefined, d = 3) => (x === null || x === undefined ? "-" : x.toFixed(d));
  console.log(`\n== live capture on lo: ${o.flows.toLocaleString()} flows, ${o.rate.toLocaleString()} datagrams/s, ` +
    `${o.warmSeconds} s warm-up + ${o.seconds} s measured, filter "${LIVE_FILTER}", ${o.rounds} round(s), alternating; ` +
    `load ${r.load.join(" → ")}`);
  console.log("   µs of CPU per captured packet, whole process from /proc for both (C: limit live; ours: serve)");
  console.log("   round   C steady  ours steady  (engine thread)  ratio   C cold  ours cold  C self-report  drops C/ours  kpps C/ours");
  const n = Math.max(r.c.length, r.ours.length);
  for (let i = 0; i < n; i++) {
    const c = r.c[i], u = r.ours[i];
    console.log(`   ${String(i + 1).padStart(5)}  ${f(c?.usPerPacket).padStart(9)}  ${f(u?.usPerPacket).padStart(11)}  ` +
      `${f(u?.threadUsPerPacket).padStart(15)}  ${(c && u ? (u.usPerPacket / c.usPerPacket).toFixed(2) : "-").padStart(5)}  ` +
      `${f(c?.coldUsPerPacket).padStart(7)}  ${f(u?.coldUsPerPacket).padStart(9)}  ${f(c?.selfReportUsPerPacket).padStart(13)}  ` +
      `${`${c?.dropped ?? "-"}/${u?.dropped ?? "-"}`.padStart(12)}  ${`${f(c?.kpps, 0)}/${f(u?.kpps, 0)}`.padStart(11)}`);
  }
  const m = r.median;
  const miss = m.ratio !== null && m.ratio > 1.0 ? " !" : "";
  console.log(`   median steady: C ${f(m.c)}  ours ${f(m.ours)} (engine thread ${f(m.oursThread)})  ratio ours/C ×${f(m.ratio, 2)}${miss} ` +
    `(median of per-round ratios ×${f(m.ratioOfRounds, 2)}; target ≤ 1.00)`);
  console.log(`   median cold:   C ${f(m.cCold)}  ours ${f(m.oursCold)}  ratio ×${f(m.cCold && m.oursCold ? m.oursCold / m.cCold : null, 2)}`);
  const last = r.ours.at(-1);
  if (last?.threads) {
    const parts = Object.entries(last.threads).filter(([, s]) => s >= 0.005).sort((a, b) => b[1] - a[1]);
    console.log(`   ours by thread, last round, measured flood (CPU s): ${parts.map(([k, s]) => `${k} ${s.toFixed(3)}`).join(", ")}`);
  }
  const lost = [...r.c, ...r.ours].filter((x) => x.capturedPackets !== x.expectedPackets);
  const drops = r.c.some((x) => x.dropped > 0) || r.ours.some((x) => x.dropped > 0);
  const slow = [...r.c, ...r.ours].filter((x) => x.kpps < 0.9 * (o.rate / 1000));
  if (slow.length) {
    console.log(`   ! ${slow.length} run(s) where the flood fell short of ${o.rate / 1000} kpps (busy machine, load ${r.load.join(" → ")}): ` +
      "fixed per-second costs weigh more per packet there; compare rounds with the same rate");
  }
  console.log(`   kernel drops: ${drops ? "SOME !" : "0 on both sides"}; ` +
    (lost.length ? `${lost.length} run(s) captured a count different from what the floods sent !` : "every run captured exactly what the floods sent"));
  if (r.idle.oursPercent !== null) {
    console.log(`   idle CPU (no matching traffic): ours ${r.idle.oursPercent.toFixed(2)} % of a core, C ${f(r.idle.cPercent, 2)} %`);
  }
  if (r.latencyMs.length) {
    const s = [...r.latencyMs].sort((a, b) => a - b);
    console.log(`   packet → flow table (under the flood): median ${median(s).toFixed(0)} ms, max ${s.at(-1)!.toFixed(0)} ms (${s.length} probes; target ≤ 100 ms)`);
  }
  for (const e of r.errors) console.log(`   error: ${e}`);
}

if (import.meta.main) {
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: {
      rounds: { type: "string", default: "5" },
      seconds: { type: "string", default: "10" },
      warm: { type: "string", default: "10" },
      rate: { type: "string", default: "200000" },
      flows: { type: "string", default: "100000" },
      "idle-seconds": { type: "string", default: "10" },
      probes: { type: "string", default: "10" },
      json: { type: "boolean", default: false },
      export: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.export) {
    await benchLiveExport({
      rounds: Number(values.rounds), seconds: Number(values.seconds), warmSeconds: Number(values.warm), rate: Number(values.rate), flows: Number(values.flows),
      idleSeconds: 0, latencyProbes: 0, cacheDir: join(ROOT, "bench", ".cache"), log: (l) => console.error(l),
    });
    process.exit(0);
  }
  const r = await benchLive({
    rounds: Number(values.rounds), seconds: Number(values.seconds), warmSeconds: Number(values.warm), rate: Number(values.rate), flows: Number(values.flows),
    idleSeconds: Number(values["idle-seconds"]), latencyProbes: Number(values.probes),
    cacheDir: join(ROOT, "bench", ".cache"), log: (l) => console.error(l),
  });
  printLive(r);
  if (values.json) console.log(JSON.stringify(r, null, 2));
  process.exit(r.errors.length ? 1 : 0);
}
