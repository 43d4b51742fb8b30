/**
 * Idle CPU of a whole `serve` on `lo` with a filter no traffic matches, with the history store
 * (temp --data-dir) and without (--no-store): % of one core over `--seconds` (default 60) after
 * `--warm` seconds (default 5), from /proc/PID/stat (utime + stime, USER_HZ ticks, so ±1 tick =
 * ±0.017 % over 60 s), and per thread from /proc/PID/task/TID/schedstat (ns), grouped by thread
 * name. Runs the two variants alternately `--rounds` times (default 1). Prints the load average
 * before and after: the machine is shared, so other work shows up as noise in the figures.
 *
 *   bun bench/serve-idle.ts [--seconds 60] [--warm 5] [--rounds 1] [--only store|no-store]
 *
 * Needs capture rights on `lo` (root or cap_net_raw). No traffic is sent.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";

const ROOT = resolve(dirname(import.meta.path), "..");
const CLK_TCK = 100; // Linux USER_HZ
/** Matches nothing on a quiet loopback (a port picked at random per run). */
const FILTER = `udp and dst host 127.77.0.1 and dst port ${20_000 + Math.floor(Math.random() * 40_000)}`;

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    warm: { type: "string", default: "5" },
    rounds: { type: "string", default: "1" },
    only: { type: "string" },
  },
});
const SECONDS = Number(values.seconds), WARM = Number(values.warm), ROUNDS = Number(values.rounds);

function processTicks(pid: number): number {
  // fields after the ")" of comm: state is field 3; utime 14, stime 15 (1-based)
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

function threads(pid: number): Map<string, { name: string; ns: number }> {
  const m = new Map<string, { name: string; ns: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      m.set(tid, {
        name: readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim(),
        ns: Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]),
      });
    } catch {
      // the thread ended
    }
  }
  return m;
}

async function measure(store: boolean): Promise<{ percent: number; byThread: [string, number][] }> {
  const dir = mkdtempSync(join(tmpdir(), "flowmatrix-idle-"));
  const p = Bun.spawn([process.execPath, "src/main.ts", "serve", "--interface", "lo", "--filter", FILTER, "--port", "0", "--quiet",
    ...(store ? ["--data-dir", dir] : ["--no-store"])], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  try {
    const reader = p.stdout.getReader();
    let text = "";
    while (!/dashboard at http:\/\/\S+\//.test(text)) {
      const r = await reader.read();
      if (r.done) throw new Error(`serve exited: ${text} ${await new Response(p.stderr).text()}`);
      text += new TextDecoder().decode(r.value);
    }
    void (async () => {
      while (!(await reader.read()).done);
    })();
    await Bun.sleep(WARM * 1000);
    const c0 = processTicks(p.pid), th0 = threads(p.pid), t0 = performance.now();
    await Bun.sleep(SECONDS * 1000);
    const c1 = processTicks(p.pid), th1 = threads(p.pid), wall = (performance.now() - t0) / 1000;
    const byName = new Map<string, number>();
    for (const [tid, b] of th1) {
      const d = b.ns - (th0.get(tid)?.ns ?? 0);
      byName.set(b.name, (byName.get(b.name) ?? 0) + d);
    }
    const byThread = [...byName].map(([n, ns]) => [n, (ns / 1e9 / wall) * 100] as [string, number]).sort((a, b) => b[1] - a[1]);
    return { percent: ((c1 - c0) / CLK_TCK / wall) * 100, byThread };
  } finally {
    p.kill("SIGTERM");
    const t = setTimeout(() => p.kill("SIGKILL"), 10_000);
    await p.exited;
    clearTimeout(t);
    rmSync(dir, { recursive: true, force: true });
  }
}

const la = () => loadavg().map((x) => x.toFixed(2)).join(" ");
console.log(`serve idle on lo, ${SECONDS} s after ${WARM} s warm-up, ${ROUNDS} round(s); load average before: ${la()}`);
const variants = values.only === "store" ? [true] : values.only === "no-store" ? [false] : [true, false];
for (let r = 0; r < ROUNDS; r++) {
  for (const store of r % 2 === 0 ? variants : [...variants].reverse()) {
    const m = await measure(store);
    const top = m.byThread.filter(([, p]) => p >= 0.005).map(([n, p]) => `${n} ${p.toFixed(3)}`).join(", ");
    console.log(`round ${r + 1} ${store ? "store   " : "no-store"}: ${m.percent.toFixed(3)} % of a core (threads, %: ${top}); load ${la()}`);
  }
}
