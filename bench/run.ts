#!/usr/bin/env bun
/**
 * `npm run bench` — capture-core benchmark of `flowmatrix flows --read FILE --format summary`
 * against the C reference ../shared/tools/limit.c (`limit agg FILE`). See bench/README.md.
 *
 *   bun bench/run.ts [--quick] [--rounds N] [--only NAME[,NAME]] [--timeout SEC]
 *
 * For each capture the two programs run alternately (the order flips every round), N rounds each;
 * medians are reported. Exit code 1 when a run fails or the packet counts disagree; missed
 * performance targets are printed but do not change the exit code.
 */
import { parseArgs } from "node:util";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { captureSpecs, ensureCapture, ensureLimit, fmtBytes, warmPageCache, type CaptureSpec } from "./captures.ts";
import { limitTableBytes, median, parseLimit, parseOurs, tail, timedRun, type Figures, type RunResult } from "./procs.ts";
import { printCapture, printSummary, type CaptureResult, type SideResult, type SideRun } from "./report.ts";

const ROOT = resolve(dirname(import.meta.path), "..");
const CACHE = join(ROOT, "bench", ".cache");
const LOCAL_BUN = join(ROOT, "node_modules", ".bin", "bun");

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string", default: "3" },
    only: { type: "string" },
    timeout: { type: "string", default: "900" },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});
if (values.help) {
  console.log("usage: bun bench/run.ts [--quick] [--rounds N] [--only mixed,mixed-snap128,scan] [--timeout SEC]");
  process.exit(0);
}
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer (got "${values.rounds}")`);
const timeoutMs = Number(values.timeout) * 1000;
if (!(timeoutMs > 0)) throw new Error(`--timeout must be a positive number of seconds (got "${values.timeout}")`);

const log = (l: string) => console.error(l);
const only = values.only?.split(",").map((s) => s.trim());
let specs = captureSpecs(values.quick);
if (only) specs = specs.filter((s) => only.includes(s.name));
if (specs.length === 0) throw new Error(`--only matched no capture (names: mixed, mixed-snap128, scan)`);

const bun = existsSync(LOCAL_BUN) ? LOCAL_BUN : process.execPath;
const oursCmd = (file: string) => [bun, "src/main.ts", "flows", "--read", file, "--format", "summary"];

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
  };
  console.log(`Flowmatrix capture bench — ${values.quick ? "QUICK" : "full"}, ${rounds} round(s), ` +
    `${env.cpus}× ${env.cpu}, bun ${env.bun}, load ${env.loadavgStart.join(" ")}`);
  console.log(`C: ${limit} agg FILE   ours: ${oursCmd("FILE").join(" ")}\n`);

  const results: CaptureResult[] = [];
  for (let i = 0; i < specs.length; i++) {
    const r = await benchCapture(specs[i]!, files[i]!, limit);
    results.push(r);
    printCapture(r);
  }
  env.loadavgEnd = loadavg().map((x) => Number(x.toFixed(2)));
  printSummary(results);

  const stamp = started.toISOString().replace(/:/g, "-").replace(/\.\d+Z$/, "Z");
  const out = join(CACHE, `results-${stamp}.json`);
  writeFileSync(out, JSON.stringify({ env, results }, null, 2) + "\n");
  console.log(`\nresults: ${out}`);
  const broken = results.some((r) => r.c.error || r.ours.error || r.check.packetsAgree === false);
  return broken ? 1 : 0;
}

async function benchCapture(spec: CaptureSpec, file: string, limit: string): Promise<CaptureResult> {
  const size = statSync(file).size;
  log(`[${spec.name}] ${file} (${fmtBytes(size)}): warming page cache ...`);
  await warmPageCache(file);
  const c: SideRun[] = [];
  const ours: SideRun[] = [];
  let cErr: string | undefined;
  let oursErr: string | undefined;
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (["c", "ours"] as const) : (["ours", "c"] as const);
    for (const who of order) {
      if (who === "c" && cErr === undefined) {
        const r = await runSide([limit, "agg", file], parseLimit);
        if ("error" in r) cErr = r.error;
        else c.push(r);
      } else if (who === "ours" && oursErr === undefined) {
        const r = await runSide(oursCmd(file), parseOurs);
        if ("error" in r) oursErr = r.error;
        else ours.push(r);
      }
    }
    log(`[${spec.name}] round ${round + 1}/${rounds}: ` +
      `C ${c.at(-1)?.wallSeconds.toFixed(3) ?? "-"} s, ours ${ours.at(-1)?.wallSeconds.toFixed(3) ?? "-"} s (wall)`);
  }
  const cSide = summarize(c, cErr);
  const oSide = summarize(ours, oursErr);
  const cLast = c.at(-1)?.figures;
  const oLast = ours.at(-1)?.figures;
  const ratio = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined && b > 0 ? a / b : null;
  const tableBytes = oLast ? Number(oLast.extra.table_bytes) : NaN;
  const cTable = cLast ? limitTableBytes(cLast.flows) : undefined;
  return {
    name: spec.name,
    file,
    sizeBytes: size,
    spec,
    c: cSide,
    ours: oSide,
    ratios: {
      wall: ratio(oSide.median?.wallSeconds, cSide.median?.wallSeconds),
      loop: ratio(oSide.median?.loopSeconds, cSide.median?.loopSeconds),
    },
    check: {
      packetsAgree: cLast && oLast ? cLast.packets === oLast.packets : null,
      cPackets: cLast?.packets ?? null,
      oursPackets: oLast?.packets ?? null,
      cFlows: cLast?.flows ?? null,
      oursFlows: oLast?.flows ?? null,
      // Flow counts may differ slightly (ICMP keying, eviction/timeouts): printed, not checked.
      // Also flag run-to-run drift: every round must report the same counts.
      stableAcrossRounds:
        c.every((r) => r.figures.packets === cLast?.packets && r.figures.flows === cLast?.flows) &&
        ours.every((r) => r.figures.packets === oLast?.packets && r.figures.flows === oLast?.flows),
    },
    tableBytesPerFlow: {
      ours: oLast && Number.isFinite(tableBytes) && oLast.flows > 0 ? tableBytes / oLast.flows : null,
      c: cLast && cTable && cLast.flows > 0 ? cTable.bytes / cLast.flows : null,
      cCapacity: cTable?.capacity ?? null,
    },
  };
}

async function runSide(cmd: string[], parse: (s: string) => Figures): Promise<SideRun | { error: string }> {
  let r: RunResult;
  try {
    r = await timedRun(cmd, { cwd: ROOT, timeoutMs });
  } catch (e) {
    return { error: `spawn failed: ${(e as Error).message}` };
  }
  if (!r.ok) return { error: r.error ?? `failed: ${tail(r.stderr)}` };
  try {
    const figures = parse(r.stdout);
    return {
      wallSeconds: r.wallSeconds,
      loopSeconds: figures.loopSeconds,
      maxRssBytes: r.maxRssBytes,
      cpuSeconds: r.cpuSeconds,
      figures,
    };
  } catch (e) {
    return { error: `${(e as Error).message}${r.stderr ? `\nstderr: ${tail(r.stderr)}` : ""}` };
  }
}

function summarize(runs: SideRun[], error: string | undefined): SideResult {
  const nums = (f: (r: SideRun) => number | null) => runs.map(f).filter((x): x is number => x !== null);
  const rss = nums((r) => r.maxRssBytes);
  const cpu = nums((r) => r.cpuSeconds);
  return {
    error,
    runs,
    median: runs.length
      ? {
          wallSeconds: median(runs.map((r) => r.wallSeconds)),
          loopSeconds: median(runs.map((r) => r.loopSeconds)),
          maxRssBytes: rss.length ? Math.max(...rss) : null,
          cpuSeconds: cpu.length ? median(cpu) : null,
          packetsPerSecondLoop: runs[0]!.figures.packets / median(runs.map((r) => r.loopSeconds)),
          packetsPerSecondWall: runs[0]!.figures.packets / median(runs.map((r) => r.wallSeconds)),
        }
      : null,
  };
}

process.exit(await main());
