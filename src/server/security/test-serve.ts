/**
 * Test helper (not used by the server): `flowmatrix serve` as a real child process on port 0
 * replaying a shared capture with --no-store, resolved with its URL once it printed it; stdout
 * and stderr collected. `stop()` sends SIGTERM and waits; every started child is also killed on
 * process exit. `bin` runs another executable (the compiled binary) instead of `bun src/main.ts`.
 */
import { join } from "node:path";

const ROOT = new URL("../../..", import.meta.url).pathname;
export const MAIN = join(ROOT, "src/main.ts");

export interface Served {
  proc: ReturnType<typeof Bun.spawn>;
  url: string;
  port: number;
  out(): string;
  err(): string;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

const running = new Set<ReturnType<typeof Bun.spawn>>();
process.on("exit", () => {
  for (const p of running) p.kill("SIGKILL");
});

export interface ServeRun {
  args: string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  bin?: string[];
  timeoutMs?: number;
}

/** Spawns serve and waits for "dashboard at URL/". Rejects (with the output) if it exits first. */
export async function serve(r: ServeRun): Promise<Served> {
  const cmd = [...(r.bin ?? [process.execPath, MAIN]), "serve", ...r.args];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...r.env })) if (v !== undefined) env[k] = v;
  const proc = Bun.spawn(cmd, { cwd: r.cwd ?? ROOT, env, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  running.add(proc);
  let out = "";
  let err = "";
  const pump = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
    const dec = new TextDecoder();
    const rd = s.getReader();
    try {
      for (let c = await rd.read(); !c.done; c = await rd.read()) add(dec.decode(c.value));
    } catch {
      // gone
    }
  };
  void pump(proc.stdout as ReadableStream<Uint8Array>, (t) => (out += t));
  void pump(proc.stderr as ReadableStream<Uint8Array>, (t) => (err += t));
  const deadline = Date.now() + (r.timeoutMs ?? 20_000);
  for (;;) {
    const m = out.match(/dashboard at (https?:\/\/[^\s]+?)\/ /);
    if (m) {
      const url = m[1]!;
      const port = Number(new URL(url).port);
      return {
        proc, url, port, out: () => out, err: () => err,
        async stop(signal = "SIGTERM") {
          if (proc.exitCode === null) proc.kill(signal);
          const t = setTimeout(() => proc.kill("SIGKILL"), 8000);
          const code = await proc.exited;
          clearTimeout(t);
          running.delete(proc);
          return code;
        },
      };
    }
    if (proc.exitCode !== null || Date.now() > deadline) {
      if (proc.exitCode === null) proc.kill("SIGKILL");
      await proc.exited;
      running.delete(proc);
      throw new Error(`serve ${r.args.join(" ")} did not start (exit ${proc.exitCode}):\n${out}\n${err}`);
    }
    await Bun.sleep(50);
  }
}

/** Runs a flowmatrix command to its end. */
export function run(args: string[], env: Record<string, string | undefined> = {}, cwd = ROOT, bin = [process.execPath, MAIN]): { code: number; out: string; err: string } {
  const e: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) e[k] = v;
  const p = Bun.spawnSync([...bin, ...args], { cwd, env: e, stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  return { code: p.exitCode ?? -1, out: p.stdout.toString(), err: p.stderr.toString() };
}

/** A WebSocket attempt: "open" with the first message, or "refused" (error/close before open). */
export function tryWebSocket(url: string, headers: Record<string, string> = {}, ms = 5000): Promise<{ result: "open" | "refused"; first?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers } as unknown as string[]);
    let opened = false;
    const done = (v: { result: "open" | "refused"; first?: string }) => {
      clearTimeout(t);
      try {
        ws.close();
      } catch {
        // closed
      }
      resolve(v);
    };
    const t = setTimeout(() => done({ result: opened ? "open" : "refused" }), ms);
    ws.onopen = () => (opened = true);
    ws.onmessage = (e) => done({ result: "open", first: String(e.data) });
    ws.onerror = () => {
      if (!opened) done({ result: "refused" });
    };
    ws.onclose = () => {
      if (!opened) done({ result: "refused" });
    };
  });
}
