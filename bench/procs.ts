/**
 * One timed run of a process and the parsers for what the two contestants print.
 *
 * Wall time is taken around the whole child (just before Bun.spawn until its exit), so it includes
 * process start-up (Bun's runtime + module loading for ours, the dynamic loader for C). Peak RSS
 * and CPU time come from the child's rusage as reported by wait4 (Bun's `Subprocess.resourceUsage()`):
 * `maxRSS` is in BYTES there (checked against `/usr/bin/time -v`, which prints KiB), `cpuTime` in µs.
 */

export interface RunResult {
  ok: boolean;
  code: number | null;
  wallSeconds: number;
  maxRssBytes: number | null;
  cpuSeconds: number | null;
  stdout: string;
  stderr: string;
  error?: string;
}

export async function timedRun(cmd: string[], opts: { cwd?: string; timeoutMs: number }): Promise<RunResult> {
  let timedOut = false;
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { cwd: opts.cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => {
    timedOut = true;
    p.kill("SIGKILL");
  }, opts.timeoutMs);
  const [code, stdout, stderr] = await Promise.all([
    p.exited,
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
  ]);
  const wallSeconds = (performance.now() - t0) / 1000;
  clearTimeout(timer);
  const ru = p.resourceUsage();
  const res: RunResult = {
    ok: code === 0 && !timedOut,
    code,
    wallSeconds,
    maxRssBytes: ru ? ru.maxRSS : null,
    cpuSeconds: ru ? Number(ru.cpuTime.total) / 1e6 : null,
    stdout,
    stderr,
  };
  if (timedOut) res.error = `killed after ${opts.timeoutMs / 1000} s timeout`;
  else if (code !== 0) res.error = `exit ${code}: ${tail(stderr || stdout)}`;
  return res;
}

export function tail(s: string, lines = 6): string {
  return s.trim().split("\n").slice(-lines).join("\n");
}

/** What both sides report about the capture; loopSeconds is the read loop only (no start-up). */
export interface Figures {
  packets: number;
  flows: number;
  loopSeconds: number;
  /** Extra fields (C: ip, wire, checksum; ours: the whole stats object). */
  extra: Record<string, unknown>;
}

/**
 * `limit agg FILE` prints one line:
 *   mode=agg packets=N ip=N wire=N flows=N bidir=N pktsum=N bytesum=N elapsed=S Mpps=X
 * The loop time is derived from the rate as packets / pps (more digits than `elapsed`, which is
 * printed with millisecond resolution); `elapsed` is the fallback.
 */
export function parseLimit(stdout: string): Figures {
  const kv: Record<string, string> = {};
  for (const m of stdout.matchAll(/(\w+)=(\S+)/g)) kv[m[1]!] = m[2]!;
  const packets = Number(kv.packets);
  const flows = Number(kv.flows);
  const mpps = Number(kv.Mpps);
  if (!Number.isFinite(packets) || !Number.isFinite(flows)) throw new Error(`cannot parse limit output: ${tail(stdout, 2)}`);
  const loopSeconds = mpps > 0 ? packets / (mpps * 1e6) : Number(kv.elapsed);
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(kv)) extra[k] = /^-?[\d.]+$/.test(v) ? Number(v) : v;
  return { packets, flows, loopSeconds, extra };
}

/** `flowmatrix flows --read FILE --format summary` prints one JSON line of stats. */
export function parseOurs(stdout: string): Figures {
  const line = stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
  if (!line) throw new Error(`no JSON stats line on stdout: ${tail(stdout, 2) || "(empty)"}`);
  const s = JSON.parse(line) as Record<string, unknown>;
  const packets = Number(s.packets);
  const flows = Number(s.flows);
  const loopSeconds = Number(s.read_seconds);
  if (!Number.isFinite(packets) || !Number.isFinite(flows) || !Number.isFinite(loopSeconds)) {
    throw new Error(`stats line lacks packets/flows/read_seconds: ${line.slice(0, 300)}`);
  }
  return { packets, flows, loopSeconds, extra: s };
}

/**
 * Table size of the C reference after `flows` insertions: open addressing, capacity a power of two
 * from 2^16, doubled when more than half full; 86 bytes per slot
 * (tag 4 + key 40 + pkts 8 + bytes 16 + first 8 + last 8 + flags 2).
 */
export function limitTableBytes(flows: number): { capacity: number; bytes: number } {
  let cap = 1 << 16;
  while (flows * 2 > cap) cap *= 2;
  return { capacity: cap, bytes: cap * 86 };
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
