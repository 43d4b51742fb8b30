/**
 * Helpers for the browser and live-push tests: a Flowmatrix server run as a child process
 * (`bun src/main.ts serve --read FILE --loop --port P`, --no-store or a --data-dir) that can be
 * killed and restarted on the same port, a free-port finder, Debian Chromium through
 * playwright-core, and the server-plus-browser setup most browser tests share
 * (startServerAndBrowser / closeBrowserAndServers).
 *
 * Limits: the port from freePort() is free when asked, not reserved (another process could take
 * it before the server binds; the loopback test machine makes that unlikely). Every child is
 * tracked in `children` so `killAll()` (afterAll) ends any left running; kill() waits for exit.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const ROOT = new URL("..", import.meta.url).pathname;
import { PCAPS } from "./shared-paths.ts";
export { PCAPS };
export const BUN = process.execPath;
export const RESULTS = join(ROOT, "test-results");

export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/** A port the OS reports free on 127.0.0.1. */
export function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
  const port = s.port!;
  s.stop(true);
  return port;
}

const children = new Set<ServerProcess>();

export interface ServeOptions {
  /** Capture to replay (--read); without it no --read, --speed or --loop is passed (e.g. --no-capture in args). */
  file?: string;
  port: number;
  /** History store directory (--data-dir); without it the server runs --no-store. */
  dataDir?: string;
  loop?: boolean;
  speed?: string;
  transport?: "ws" | "sse";
  /** extra CLI args */
  args?: string[];
}

/** A `flowmatrix serve` child process (--no-store unless opts.dataDir). */
export class ServerProcess {
  proc: ReturnType<typeof Bun.spawn> | null = null;
  url = "";
  output = "";

  constructor(readonly opts: ServeOptions) {}

  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  /** Spawns the server and resolves with its URL once it answers HTTP. */
  async start(timeoutMs = 20_000): Promise<string> {
    const o = this.opts;
    const args = [BUN, join(ROOT, "src/main.ts"), "serve", ...(o.dataDir ? ["--data-dir", o.dataDir] : ["--no-store"]),
      "--port", String(o.port),
      ...(o.file ? ["--read", o.file, "--speed", o.speed ?? "1", ...(o.loop === false ? [] : ["--loop"])] : []),
      ...(o.transport ? ["--transport", o.transport] : []), ...(o.args ?? [])];
    const proc = Bun.spawn(args, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    this.proc = proc;
    children.add(this);
    void this.drain(proc.stdout as ReadableStream<Uint8Array>);
    void this.drain(proc.stderr as ReadableStream<Uint8Array>);
    this.url = `http://127.0.0.1:${o.port}`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}: ${this.output}`);
      try {
        const r = await fetch(`${this.url}/api/v1/health`);
        await r.arrayBuffer();
        if (r.status === 200 || r.status === 503) return this.url;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`server did not answer within ${timeoutMs} ms: ${this.output}`);
      await Bun.sleep(100);
    }
  }

  private async drain(s: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    const reader = s.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this.output = (this.output + dec.decode(value)).slice(-20_000);
      }
    } catch {
      // process gone
    }
  }

  /**
   * SIGKILL (an abrupt loss, as a crash) or SIGTERM (the store flushes; SIGKILL after 10 s);
   * waits for the exit and returns its code (null when not running).
   */
  async kill(signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<number | null> {
    const p = this.proc;
    if (!p) return null;
    this.proc = null;
    children.delete(this);
    if (p.exitCode === null) {
      p.kill(signal);
      await Promise.race([p.exited, Bun.sleep(signal === "SIGTERM" ? 10_000 : 5000)]);
      if (p.exitCode === null) p.kill("SIGKILL");
      await p.exited;
    }
    return p.exitCode;
  }

  /** GET `path` as JSON; throws on a status other than 2xx. */
  async json<T>(path: string): Promise<T> {
    const r = await fetch(this.url + path);
    if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  }
}

/** Ends every server child still running (call from afterAll and on failure paths). */
export async function killAll(): Promise<void> {
  await Promise.all([...children].map((c) => c.kill()));
}

process.on("exit", () => {
  for (const c of children) c.proc?.kill("SIGKILL");
});

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Debian Chromium, headless, with a throw-away profile; downloads accepted. */
/**
 * playwright-core 1.65 under Bun sometimes receives a WebSocket frame event for a `ws@…` object it
 * has already disposed (htmx opens and replaces its socket quickly), and its client throws
 * `Cannot find object to "frameReceived"` out of the message loop, failing whatever test runs
 * (seen in ~1 run in 4). Events for unknown WebSocket objects are dropped here; the tests use no
 * playwright WebSocket events. Every other message goes through unchanged.
 */
function tolerateLateWebSocketEvents(context: BrowserContext): void {
  type Msg = { guid?: string; method?: string };
  const conn = (context as unknown as { _connection?: { dispatch(m: Msg): void; _objects: Map<string, unknown> } })._connection;
  if (!conn || typeof conn.dispatch !== "function") throw new Error("playwright-core internals changed: no _connection.dispatch");
  const dispatch = conn.dispatch.bind(conn);
  conn.dispatch = (m: Msg) => {
    if (m.guid?.startsWith("ws@") && m.method !== "__create__" && !conn._objects.has(m.guid)) return;
    dispatch(m);
  };
}

export async function launchBrowser(): Promise<Browser> {
  const dir = mkdtempSync(join(tmpdir(), "fm-chromium-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
  });
  tolerateLateWebSocketEvents(context);
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The usual browser-test setup (call from beforeAll): test-results/ made, a server started with
 * `opts` and answering, then Chromium; on any failure everything started is ended and it throws.
 */
export async function startServerAndBrowser(opts: ServeOptions): Promise<{ server: ServerProcess; browser: Browser }> {
  mkdirSync(RESULTS, { recursive: true });
  const server = new ServerProcess(opts);
  try {
    await server.start();
    return { server, browser: await launchBrowser() };
  } catch (e) {
    await killAll();
    throw e;
  }
}

/** Its counterpart (call from afterAll): closes the browser, then ends every server child, even if closing failed. */
export async function closeBrowserAndServers(browser: Browser | undefined): Promise<void> {
  try {
    await browser?.close();
  } finally {
    await killAll();
  }
}

/** The exact packet count the dashboard shows (the title of its Packets counter). */
export async function pagePackets(page: Page): Promise<number> {
  const title = await page.locator("#counters .counter").evaluateAll((cs) =>
    cs.find((c) => c.querySelector("dt")?.textContent === "Packets")?.querySelector("dd")?.getAttribute("title") ?? "");
  return Number(title.replace(/[^\d]/g, ""));
}

/** Polls `fn` until it returns a truthy value or `ms` pass (then throws with `what`). */
export async function waitFor<T>(fn: () => Promise<T> | T, ms: number, what: string, every = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await Bun.sleep(every);
  }
}
