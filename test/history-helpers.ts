/**
 * Helpers for the history tests (test/history-*.test.ts): real `serve` processes on port 0 with a
 * --data-dir, temp dirs, generated captures, and a direct look into the database file. Everything
 * started or created is registered and undone by `cleanupAll()` (afterEach), on every path.
 */
import { Database } from "bun:sqlite";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TOOLS } from "./shared-paths.ts";

export const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const cleanups: (() => void | Promise<void>)[] = [];

export async function cleanupAll(): Promise<void> {
  while (cleanups.length) {
    try {
      await cleanups.pop()!();
    } catch {
      // keep cleaning
    }
  }
}

export function onCleanup(fn: () => void | Promise<void>): void {
  cleanups.push(fn);
}

export function tempDir(prefix = "fm-history-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A capture from gen-pcap.mjs (args: --packets, --flows, …) in `dir`. */
export function genPcap(dir: string, name: string, args: string[]): string {
  const out = join(dir, name);
  const r = spawnSync("node", [`${TOOLS}gen-pcap.mjs`, ...args, "--out", out, "--quiet"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`gen-pcap failed: ${r.stderr}`);
  return out;
}

export interface Served {
  proc: ReturnType<typeof Bun.spawn>;
  url: string;
  stderr(): string;
  get<T = any>(path: string): Promise<T>;
  text(path: string): Promise<{ status: number; body: string; type: string }>;
  /** Sends `signal` and waits for the exit: code and milliseconds from the signal to the exit. */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<{ code: number | null; ms: number }>;
}

/** Starts `serve --port 0 --quiet …args` and resolves once it printed its URL. */
export async function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const proc = Bun.spawn([process.execPath, MAIN, "serve", "--port", "0", "--quiet", ...args], {
    stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env },
  });
  let exited = false;
  void proc.exited.then(() => (exited = true));
  onCleanup(async () => {
    if (!exited) {
      proc.kill("SIGKILL");
      await proc.exited;
    }
  });
  let err = "";
  void (async () => {
    const r = (proc.stderr as ReadableStream<Uint8Array>).getReader();
    const dec = new TextDecoder();
    for (;;) {
      const { value, done } = await r.read();
      if (done) break;
      err += dec.decode(value);
    }
  })();
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let out = "";
  const deadline = Date.now() + 30_000;
  let url = "";
  while (!url) {
    const r = await Promise.race([reader.read(), Bun.sleep(Math.max(1, deadline - Date.now())).then(() => null)]);
    if (r === null || r.done) throw new Error(`serve ${args.join(" ")} printed no URL: ${out}\n${err}`);
    out += dec.decode(r.value);
    url = /dashboard at (http:\/\/\S+?)\/\s/.exec(out)?.[1] ?? "";
  }
  void (async () => {
    for (;;) if ((await reader.read()).done) break;
  })();
  const served: Served = {
    proc, url,
    stderr: () => err,
    async get(path) {
      const res = await fetch(url + path);
      const body = await res.text();
      if (!res.ok && res.status !== 503) throw new Error(`GET ${path}: ${res.status} ${body}`);
      return JSON.parse(body);
    },
    async text(path) {
      const res = await fetch(url + path);
      return { status: res.status, body: await res.text(), type: res.headers.get("content-type") ?? "" };
    },
    async stop(signal = "SIGTERM") {
      const t0 = performance.now();
      proc.kill(signal);
      const code = await proc.exited;
      return { code, ms: performance.now() - t0 };
    },
  };
  return served;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await Bun.sleep(everyMs);
  }
}

/** Waits until the replay finished and one more engine tick went by. */
export async function replayFinished(s: Served, timeoutMs = 60_000): Promise<any> {
  await waitFor("replay finished", async () => (await s.get("/api/v1/health")).capture.state === "finished", timeoutMs);
  const t0 = (await s.get("/api/v1/health")).generated_at;
  await Bun.sleep(1100);
  return s.get("/api/v1/health").then((h) => (h.generated_at > t0 ? h : h));
}

/** Every stored flow row's id and end reason, read from the database file directly (read-only). */
export function storedRows(dbPath: string): { ids: number[]; reasons: Map<number, number>; integrity: string } {
  const db = new Database(dbPath, { readonly: true });
  try {
    const integrity = (db.query("PRAGMA quick_check").get() as { quick_check: string }).quick_check;
    const segs = db.query("SELECT n FROM segments ORDER BY n").all() as { n: number }[];
    const ids: number[] = [];
    const reasons = new Map<number, number>();
    for (const { n } of segs) {
      for (const r of db.query(`SELECT id, reason FROM flows_${n}`).values() as [number, number][]) {
        ids.push(r[0]);
        reasons.set(r[1], (reasons.get(r[1]) ?? 0) + 1);
      }
    }
    return { ids, reasons, integrity };
  } finally {
    db.close();
  }
}

/** All rows of an NDJSON export. */
export function ndjson(body: string): any[] {
  return body.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}
