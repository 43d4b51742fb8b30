#!/usr/bin/env bun
/**
 * `npm run bench` — `flowmatrix flows --read FILE --format F` for every format (summary, json,
 * ndjson, csv, table) against the C reference ../shared/tools/limit.c (`limit agg FILE`, which
 * aggregates the same flows and prints a summary). See bench/README.md.
 *
 *   bun bench/run.ts [--quick] [--rounds N] [--only NAME[,NAME]] [--formats F[,F]]
 *                    [--sink pipe|null|file] [--timeout SEC]
 *
 * For each capture, every round runs C once and ours once per format, in an order that rotates
 * every round; medians over the rounds are reported, as ratios ours / C of wall and CPU time.
 * Exit code 1 when a run fails or the packet counts disagree; missed performance targets are
 * printed but do not change the exit code.
 */
import { parseArgs } from "node:util";
import { closeSync, constants, existsSync, mkdirSync, openSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { captureSpecs, ensureCapture, ensureLimit, fmtBytes, warmPageCache, type CaptureSpec } from "./captures.ts";
import { limitTableBytes, median, parseLimit, parseOurs, tail, type Figures } from "./procs.ts";
import { printCapture, printSummary, type CaptureResult, type FormatResult, type SideResult, type SideRun } from "./report.ts";
import { benchLive, benchLiveExport, printLive, type LiveResult } from "./live-capture.ts";

const ROOT = resolve(dirname(import.meta.path), "..");
const CACHE = join(ROOT, "bench", ".cache");
const LOCAL_BUN = join(ROOT, "node_modules", ".bin", "bun");
export const FORMATS = ["summary", "json", "ndjson", "csv", "table"] as const;
type Format = (typeof FORMATS)[number];
type Sink = "pipe" | "null" | "file";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string", default: "3" },
    only: { type: "string" },
    formats: { type: "string", default: FORMATS.join(",") },
    sink: { type: "string", default: "pipe" },
    timeout: { type: "string", default: "900" },
    "skip-live": { type: "boolean", default: false },
    "skip-store": { type: "boolean", default: false },
    "skip-interop": { type: "boolean", default: false },
    "store-rows": { type: "string", default: "1000000" },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});
if (values.help) {
  console.log("usage: bun bench/run.ts [--quick] [--rounds N] [--only mixed,mixed-snap128,scan]\n" +
    "                    [--formats summary,json,ndjson,csv,table] [--sink pipe|null|file] [--timeout SEC]\n" +
    "                    [--skip-live]   (--only live: the live-capture part alone; see bench/live-capture.ts)\n" +
    "                    [--skip-interop]   (flow interop: collector records/s, IPFIX exporter's cost on the capture rate)\n" +
    "                    [--skip-store] [--store-rows N]   (history store: sink rate, 24 h query p99, bytes/flow; N rows, default 1,000,000, 10,000,000 for the issue's figure)");
  process.exit(0);
}
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer (got "${values.rounds}")`);
const timeoutMs = Number(values.timeout) * 1000;
if (!(timeoutMs > 0)) throw new Error(`--timeout must be a positive number of seconds (got "${values.timeout}")`);
const formats = values.formats.split(",").map((s) => s.trim()) as Format[];
for (const f of formats) if (!FORMATS.includes(f)) throw new Error(`--formats: unknown format "${f}" (formats: ${FORMATS.join(", ")})`);
const sink = values.sink as Sink;
if (!["pipe", "null", "file"].includes(sink)) throw new Error(`--sink must be pipe, null or file (got "${values.sink}")`);

const log = (l: string) => console.error(l);
const only = values.only?.split(",").map((s) => s.trim());
let specs = captureSpecs(values.quick);
if (only) specs = specs.filter((s) => only.includes(s.name));
// The live-capture part (bench/live-capture.ts): runs unless --skip-live, or --only without "live".
const live = !values["skip-live"] && (!only || only.includes("live"));
if (specs.length === 0 && !live) throw new Error(`--only matched nothing (names: mixed, mixed-snap128, scan, live)`);

const bun = existsSync(LOCAL_BUN) ? LOCAL_BUN : process.execPath;
const oursCmd = (file: string, format: string) => [bun, "src/main.ts", "flows", "--read", file, "--format", format];
const OUT_FILE = join(CACHE, "out.tmp");
const OUT_FIFO = join(CACHE, "out.fifo");

async function main(): Promise<number> {
  mkdirSync(CACHE, { recursive: true });
  const limit = await ensureLimit(CACHE, log);
  const files: string[] = [];
  for (const s of specs) files.push(await ensureCapture(CACHE, s, log));

  const started = new Date();
  const env = {
    started: started.toISOString(),
    host: (await Bun.$`hostname`.nothrow().quiet().text()).trim(),
    cpu: cpus()[0]?.model ?? "?",
    cpus: cpus().length,
    bun: (await Bun.$`${bun} --version`.nothrow().quiet().text()).trim(),
    git: (await Bun.$`git -C ${ROOT} rev-parse --short HEAD`.nothrow().quiet().text()).trim(),
    gitDirty: (await Bun.$`git -C ${ROOT} status --porcelain`.nothrow().quiet().text()).trim() !== "",
    loadavgStart: loadavg().map((x) => Number(x.toFixed(2))),
    loadavgEnd: [] as number[],
    quick: values.quick,
    rounds,
    formats,
    sink,
  };
  console.log(`Flowmatrix flows bench — ${values.quick ? "QUICK" : "full"}, ${rounds} round(s), formats ${formats.join(",")}, ` +
    `stdout → ${sinkText(sink)}; ${env.cpus}× ${env.cpu}, bun ${env.bun}, load ${env.loadavgStart.join(" ")}`);
  console.log(`C: ${limit} agg FILE   ours: ${oursCmd("FILE", "F").join(" ")}\n`);

  const results: CaptureResult[] = [];
  for (let i = 0; i < specs.length; i++) {
    const r = await benchCapture(specs[i]!, files[i]!, limit);
    results.push(r);
    printCapture(r);
  }
  rmSync(OUT_FILE, { force: true });
  if (results.length) printSummary(results);
  let liveResult: LiveResult | null = null;
  if (live) {
    liveResult = await benchLive({
      rounds: values.quick ? 1 : Math.max(rounds, 3), seconds: values.quick ? 3 : 10, warmSeconds: values.quick ? 2 : 10,
      rate: 200_000, flows: 100_000, idleSeconds: values.quick ? 3 : 10, latencyProbes: values.quick ? 3 : 10, cacheDir: CACHE, log,
    });
    printLive(liveResult);
  }
  if (!values["skip-interop"]) {
    await benchInterop(files[0], files[specs.findIndex((s) => s.name === "mixed-snap128")]);
    // The exporter on live capture (needs the same capture rights as the live part).
    if (live) {
      await benchLiveExport({
        rounds: values.quick ? 1 : 3, seconds: values.quick ? 3 : 10, warmSeconds: values.quick ? 2 : 10,
        rate: 200_000, flows: 100_000, idleSeconds: 0, latencyProbes: 0, cacheDir: CACHE, log,
      });
    }
  }
  if (!values["skip-store"]) await benchStore(Number(values["store-rows"]));
  env.loadavgEnd = loadavg().map((x) => Number(x.toFixed(2)));

  const stamp = started.toISOString().replace(/:/g, "-").replace(/\.\d+Z$/, "Z");
  const out = join(CACHE, `results-${stamp}.json`);
  writeFileSync(out, JSON.stringify({ env, results, live: liveResult }, null, 2) + "\n");
  console.log(`\nload average at the end: ${env.loadavgEnd.join(" ")}\nresults: ${out}`);
  const broken = results.some((r) => r.c.error || r.formats.some((f) => f.ours.error || f.packetsAgree === false));
  return broken || (liveResult?.errors.length ?? 0) > 0 ? 1 : 0;
}

/**
 * Flow interop (issue 12): the collector's records/s on one core, and the IPFIX exporter's cost on
 * the capture rate (then, with the live part, on live capture: live-capture.ts benchLiveExport) in three configurations: `flows --read` with every flow ending at the end of
 * the file, `flows --read --idle-timeout 2` (flows end during the read, as on a live link), and
 * `serve` with the history store on (the default sensor: the store is an ended-flow sink too, so
 * the batcher's per-flow work is paid without export as well and the figure is export's own),
 * replaying the snaplen-128 capture at --speed max with --idle-timeout 2.
 */
async function benchInterop(capture: string | undefined, snapCapture: string | undefined): Promise<void> {
  console.log("\nFlow interop (--skip-interop leaves this out)");
  const run = async (args: string[]) => {
    const p = Bun.spawn([bun, ...args], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
    if ((await p.exited) !== 0) console.log(`(${args.join(" ")} failed)`);
  };
  await run(["bench/collect-throughput.ts", "--rounds", "3"]);
  if (capture) {
    await run(["bench/ipfix-capture-cost.ts", "--pcap", capture, "--rounds", "3"]);
    await run(["bench/ipfix-capture-cost.ts", "--pcap", capture, "--rounds", "3", "--flags=--idle-timeout 2"]);
  }
  const replay = snapCapture ?? capture;
  if (replay) {
    const dir = join(CACHE, "ipfix-store-bench");
    rmSync(dir, { recursive: true, force: true });
    await run(["bench/ipfix-capture-cost.ts", "--pcap", replay, "--rounds", "3", "--serve", "--data-dir", dir, "--flags=--idle-timeout 2"]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** History store benches (bench/store-*.ts), output passed through: sink rate via serve, insert + bytes/flow, 24 h query p99. */
async function benchStore(rows: number): Promise<void> {
  console.log(`\nHistory store (${rows.toLocaleString()} stored flows for the query; --skip-store leaves this out)`);
  const dir = join(CACHE, "store-bench");
  const scan = join(CACHE, "p1000000-f950000-s2.pcap"); // the scan capture captures.ts makes
  const run = async (args: string[]) => {
    const p = Bun.spawn([bun, ...args], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
    if ((await p.exited) !== 0) console.log(`(${args.join(" ")} failed)`);
  };
  await run(["bench/store-sink.ts", ...(existsSync(scan) ? ["--pcap", scan] : [])]);
  await run(["bench/store-insert.ts", "--rows", String(rows), "--span-hours", "24", "--keep", dir]);
  await run(["bench/store-query.ts", "--dir", dir, "--runs", "30"]);
  rmSync(dir, { recursive: true, force: true });
}

function sinkText(s: Sink): string {
  return s === "pipe" ? "a pipe drained by the bench" : s === "null" ? "/dev/null" : `a file (${OUT_FILE})`;
}

async function benchCapture(spec: CaptureSpec, file: string, limit: string): Promise<CaptureResult> {
  const size = statSync(file).size;
  log(`[${spec.name}] ${file} (${fmtBytes(size)}): warming page cache ...`);
  await warmPageCache(file);
  const c: SideRun[] = [];
  let cErr: string | undefined;
  const ours = new Map<Format, { runs: SideRun[]; error?: string; outBytes: number[] }>(formats.map((f) => [f, { runs: [], outBytes: [] }]));
  const who: ("c" | Format)[] = ["c", ...formats];
  for (let round = 0; round < rounds; round++) {
    // Rotate the order every round, so no one always runs first (or right after C).
    const order = who.map((_, k) => who[(k + round) % who.length]!);
    for (const w of order) {
      if (w === "c") {
        if (cErr !== undefined) continue;
        const r = await runProcess([limit, "agg", file], "pipe");
        if ("error" in r) cErr = r.error;
        else c.push(r.run(parseLimit));
      } else {
        const o = ours.get(w)!;
        if (o.error !== undefined) continue;
        const r = await runProcess(oursCmd(file, w), w === "summary" ? "pipe" : sink);
        if ("error" in r) o.error = r.error;
        else {
          try {
            o.runs.push(r.run(parserFor(w)));
            o.outBytes.push(r.outBytes);
          } catch (e) {
            o.error = (e as Error).message;
          }
        }
      }
    }
    const wall = (runs: SideRun[]) => runs.at(-1)?.wallSeconds.toFixed(2) ?? "-";
    log(`[${spec.name}] round ${round + 1}/${rounds}: wall s — C ${wall(c)}, ` +
      formats.map((f) => `${f} ${wall(ours.get(f)!.runs)}`).join(", "));
  }
  const cSide = summarize(c, cErr);
  const cLast = c.at(-1)?.figures;
  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a != null && b != null && b > 0 ? a / b : null);
  const fr: FormatResult[] = formats.map((f) => {
    const o = ours.get(f)!;
    const side = summarize(o.runs, o.error);
    const last = o.runs.at(-1)?.figures;
    const tableBytes = last ? Number(last.extra.table_bytes) : NaN;
    return {
      format: f,
      ours: side,
      outputBytes: o.outBytes.length ? median(o.outBytes) : null,
      // summary and json end with the stats, whose read_seconds may change length by a digit or two.
      outputStable: o.outBytes.every((b) => Math.abs(b - o.outBytes[0]!) <= (f === "summary" || f === "json" ? 8 : 0)),
      ratios: {
        wall: ratio(side.median?.wallSeconds, cSide.median?.wallSeconds),
        cpu: ratio(side.median?.cpuSeconds, cSide.median?.cpuSeconds),
        loop: ratio(side.median?.loopSeconds, cSide.median?.loopSeconds),
      },
      packetsAgree: cLast && last ? cLast.packets === last.packets : null,
      oursPackets: last?.packets ?? null,
      oursFlows: last?.flows ?? null,
      stableAcrossRounds: o.runs.every((r) => r.figures.packets === last?.packets && r.figures.flows === last?.flows),
      tableBytesPerFlow: last && Number.isFinite(tableBytes) && last.flows > 0 ? tableBytes / last.flows : null,
    };
  });
  const cTable = cLast ? limitTableBytes(cLast.flows) : undefined;
  return {
    name: spec.name,
    file,
    sizeBytes: size,
    spec,
    c: cSide,
    cPackets: cLast?.packets ?? null,
    cFlows: cLast?.flows ?? null,
    cStable: c.every((r) => r.figures.packets === cLast?.packets && r.figures.flows === cLast?.flows),
    cTableBytesPerFlow: cLast && cTable && cLast.flows > 0 ? cTable.bytes / cLast.flows : null,
    formats: fr,
  };
}

/** How each format reports its totals: the stats line (summary), the stats object at the end (json), a line on stderr (others). */
function parserFor(f: Format): (stdoutTail: string, stderr: string) => Figures {
  if (f === "summary") return (out) => parseOurs(out);
  if (f === "json") {
    return (out) => {
      const m = /\],"stats":(\{.*\})\}\s*$/s.exec(out);
      if (!m) throw new Error(`no stats object at the end of the JSON output: …${out.slice(-200)}`);
      return parseOurs(m[1]!);
    };
  }
  return (_out, err) => {
    const m = /^(\d+) packets, \d+ bytes, (\d+) flows/m.exec(err);
    if (!m) throw new Error(`no totals line on stderr: ${tail(err, 3) || "(empty)"}`);
    return { packets: Number(m[1]), flows: Number(m[2]), loopSeconds: NaN, extra: {} };
  };
}

interface Finished {
  outBytes: number;
  run(parse: (stdoutTail: string, stderr: string) => Figures): SideRun;
}

/**
 * One timed run. stdout goes to `to`: a pipe the bench drains as fast as it comes (counting the
 * bytes and keeping the last 64 KiB for the totals), /dev/null, or a file. Wall time is spawn →
 * exit as the bench sees it; CPU time and peak RSS are the child's rusage (wait4): `cpuTime` in µs,
 * `maxRSS` in bytes.
 */
async function runProcess(cmd: string[], to: Sink): Promise<Finished | { error: string }> {
  let timedOut = false;
  let fd = -1;
  let readFd = -1;
  if (to === "file") fd = openSync(OUT_FILE, "w");
  if (to === "pipe") {
    // A real pipe, as `flowmatrix flows … | consumer` gives (Bun.spawn's stdout "pipe" is a
    // socketpair, whose buffers differ): a FIFO opened for reading (non-blocking, so the write
    // side's open does not wait) and then for writing, the write end handed to the child.
    rmSync(OUT_FIFO, { force: true });
    if (Bun.spawnSync(["mkfifo", "-m", "600", OUT_FIFO]).exitCode !== 0) return { error: `mkfifo ${OUT_FIFO} failed` };
    readFd = openSync(OUT_FIFO, constants.O_RDONLY | constants.O_NONBLOCK);
    fd = openSync(OUT_FIFO, constants.O_WRONLY);
  }
  try {
    const t0 = performance.now();
    const p = Bun.spawn(cmd, {
      cwd: ROOT,
      stdin: "ignore",
      stdout: to === "null" ? "ignore" : fd,
      stderr: "pipe",
    });
    if (to === "pipe") {
      closeSync(fd); // the child holds the write end: end of file when it exits
      fd = -1;
    }
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill("SIGKILL");
    }, timeoutMs);
    let outBytes = 0;
    let outTail = "";
    const drain = async () => {
      if (to !== "pipe") return;
      const reader = (Bun.file(readFd).stream() as ReadableStream<Uint8Array>).getReader();
      const dec = new TextDecoder();
      let last: Uint8Array[] = [];
      let lastBytes = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        outBytes += value.length;
        last.push(value);
        lastBytes += value.length;
        while (last.length > 1 && lastBytes - last[0]!.length >= 65536) lastBytes -= last.shift()!.length;
      }
      outTail = last.map((b) => dec.decode(b, { stream: true })).join("");
      last = [];
    };
    const [code, , stderr] = await Promise.all([p.exited, drain(), new Response(p.stderr).text()]);
    const wallSeconds = (performance.now() - t0) / 1000;
    clearTimeout(timer);
    if (to === "file") {
      outBytes = statSync(OUT_FILE).size;
      outTail = await readTail(OUT_FILE, 65536);
    }
    const ru = p.resourceUsage();
    if (timedOut) return { error: `killed after ${timeoutMs / 1000} s timeout` };
    if (code !== 0) return { error: `exit ${code}: ${tail(stderr || outTail)}` };
    return {
      outBytes,
      run: (parse) => {
        const figures = parse(outTail, stderr);
        return {
          wallSeconds,
          loopSeconds: figures.loopSeconds,
          maxRssBytes: ru ? ru.maxRSS : null,
          cpuSeconds: ru ? Number(ru.cpuTime.total) / 1e6 : null,
          figures,
        };
      },
    };
  } catch (e) {
    return { error: `spawn failed: ${(e as Error).message}` };
  } finally {
    if (fd >= 0) closeSync(fd);
    if (readFd >= 0) {
      closeSync(readFd); // Bun.file(fd).stream() leaves the descriptor open at its end
      rmSync(OUT_FIFO, { force: true });
    }
  }
}

async function readTail(path: string, n: number): Promise<string> {
  const f = Bun.file(path);
  return f.slice(Math.max(0, f.size - n)).text();
}

function summarize(runs: SideRun[], error: string | undefined): SideResult {
  const nums = (f: (r: SideRun) => number | null) => runs.map(f).filter((x): x is number => x !== null && Number.isFinite(x));
  const rss = nums((r) => r.maxRssBytes);
  const cpu = nums((r) => r.cpuSeconds);
  const loop = nums((r) => r.loopSeconds);
  return {
    error,
    runs,
    median: runs.length
      ? {
          wallSeconds: median(runs.map((r) => r.wallSeconds)),
          loopSeconds: loop.length ? median(loop) : null,
          maxRssBytes: rss.length ? Math.max(...rss) : null,
          cpuSeconds: cpu.length ? median(cpu) : null,
          packetsPerSecondWall: runs[0]!.figures.packets / median(runs.map((r) => r.wallSeconds)),
        }
      : null,
  };
}

process.exit(await main());
