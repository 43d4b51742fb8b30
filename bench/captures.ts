/**
 * Benchmark inputs: the synthetic captures (generated once with the shared generator and cached in
 * bench/.cache/, which is git-ignored) and the C reference binary `limit` (built once, rebuilt
 * when ../shared/tools/limit.c is newer than the cached binary).
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

export const TOOLS_DIR = new URL("../../shared/tools", import.meta.url).pathname;
export const GEN = join(TOOLS_DIR, "gen-pcap.mjs");
export const LIMIT_SRC = join(TOOLS_DIR, "limit.c");

export interface CaptureSpec {
  /** Short label used in the report. */
  name: string;
  packets: number;
  flows: number;
  seed: number;
  snaplen?: number;
  // Targets printed next to the figures (and checked in the verdict), all ours / C:
  /** Wall time, `--format summary` (and the read loop). */
  maxRatio: number;
  /** Wall time, the formats that print every flow (json, ndjson, csv, table). */
  maxOutputRatio: number;
  /** CPU time (user + sys), every format. */
  maxCpuRatio: number;
  /** Peak RSS of ours in every format. */
  maxRssMiB?: number;
}

const FULL: CaptureSpec[] = [
  { name: "mixed", packets: 5_000_000, flows: 200_000, seed: 1, maxRatio: 1.0, maxOutputRatio: 1.0, maxCpuRatio: 1.2 },
  { name: "mixed-snap128", packets: 5_000_000, flows: 200_000, seed: 1, snaplen: 128, maxRatio: 1.0, maxOutputRatio: 1.0, maxCpuRatio: 1.2 },
  { name: "scan", packets: 1_000_000, flows: 950_000, seed: 2, maxRatio: 1.0, maxOutputRatio: 1.5, maxCpuRatio: 1.2, maxRssMiB: 300 },
];

const QUICK: CaptureSpec[] = [
  { name: "mixed", packets: 500_000, flows: 20_000, seed: 1, maxRatio: 1.0, maxOutputRatio: 1.0, maxCpuRatio: 1.2 },
  { name: "mixed-snap128", packets: 500_000, flows: 20_000, seed: 1, snaplen: 128, maxRatio: 1.0, maxOutputRatio: 1.0, maxCpuRatio: 1.2 },
  // The 300 MiB RSS target is for the 1M-flow scan; a 100k scan must stay well below it anyway.
  { name: "scan", packets: 100_000, flows: 95_000, seed: 2, maxRatio: 1.0, maxOutputRatio: 1.5, maxCpuRatio: 1.2, maxRssMiB: 300 },
];

export function captureSpecs(quick: boolean): CaptureSpec[] {
  return quick ? QUICK : FULL;
}

export function captureFile(cacheDir: string, s: CaptureSpec): string {
  const snap = s.snaplen !== undefined ? `-snap${s.snaplen}` : "";
  return join(cacheDir, `p${s.packets}-f${s.flows}-s${s.seed}${snap}.pcap`);
}

function fmtBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${(n / 1024).toFixed(0)} KiB`;
}

/**
 * Generate the capture unless it is already cached. The generator writes to FILE.part which is
 * renamed on success, so an interrupted run never leaves a truncated capture behind.
 */
export async function ensureCapture(cacheDir: string, s: CaptureSpec, log: (l: string) => void): Promise<string> {
  const file = captureFile(cacheDir, s);
  if (existsSync(file)) return file;
  mkdirSync(cacheDir, { recursive: true });
  const part = `${file}.part`;
  rmSync(part, { force: true });
  const args = ["--packets", String(s.packets), "--flows", String(s.flows), "--seed", String(s.seed), "--out", part];
  if (s.snaplen !== undefined) args.push("--snaplen", String(s.snaplen));
  args.push("--quiet");
  log(`generating ${file} (node ${GEN} ${args.join(" ")}) ...`);
  const t0 = performance.now();
  const node = Bun.which("node");
  const cmd = node ? [node, GEN, ...args] : [process.execPath, GEN, ...args];
  const p = Bun.spawn(cmd, { stdout: "inherit", stderr: "pipe" });
  const ticker = setInterval(() => {
    const size = existsSync(part) ? statSync(part).size : 0;
    log(`  ... ${((performance.now() - t0) / 1000).toFixed(0)} s, ${fmtBytes(size)} written`);
  }, 5000);
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  clearInterval(ticker);
  if (code !== 0) {
    rmSync(part, { force: true });
    throw new Error(`gen-pcap failed (exit ${code}): ${err.trim()}`);
  }
  renameSync(part, file);
  log(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${fmtBytes(statSync(file).size)}`);
  return file;
}

/** Build (or reuse) the C reference; rebuilt when limit.c is newer than the cached binary. */
export async function ensureLimit(cacheDir: string, log: (l: string) => void): Promise<string> {
  const bin = join(cacheDir, "limit");
  if (!existsSync(LIMIT_SRC)) throw new Error(`C reference source not found: ${LIMIT_SRC}`);
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(LIMIT_SRC).mtimeMs) return bin;
  mkdirSync(cacheDir, { recursive: true });
  const cmd = ["gcc", "-O2", "-o", bin, LIMIT_SRC, "-lpcap"];
  log(`building C reference: ${cmd.join(" ")}`);
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`gcc failed (exit ${code}): ${err.trim()}`);
  return bin;
}

/** Read the file once so every timed run starts with it in the page cache. */
export async function warmPageCache(file: string): Promise<void> {
  const p = Bun.spawn(["cat", file], { stdout: "ignore", stderr: "ignore" });
  await p.exited;
}

export { fmtBytes };
