/**
 * Engine faults: an exception inside the engine Worker is logged on stderr with its stack, counted
 * in /api/v1/health and /metrics, and the Worker keeps serving; a Worker that dies is restarted
 * (with backoff, said in health) and the call it was answering gets a 503 JSON naming the cause
 * at once, never a hang or a silent 503 forever.
 *
 * The faults are provoked through the Worker's test-only hook FLOWMATRIX_TEST_ENGINE_FAULT (an
 * environment variable of the serve process; not reachable over HTTP): "flows-throws" (the flows
 * handler throws), "timer-throws" (a timer in the Worker throws once, nobody catches it),
 * "flows-exits" (a flows call ends the first Worker), "flows-hangs" (a flows call spins the first
 * Worker forever). The real CLI, a real replay, real HTTP.
 */
import { afterEach, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { FlowmatrixServer } from "../src/server/app.ts";
import type { HealthReport } from "../src/server/health.ts";
import { PCAPS } from "./shared-paths.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const CAPTURE = `${PCAPS}ndpi__gnutella.pcap`;

interface Served {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  url: string;
  /** Everything the process wrote on stderr so far. */
  stderr(): string;
}

const running: Served[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) {
    s.proc.kill("SIGTERM");
    await s.proc.exited;
  }
});

async function serve(fault: string): Promise<Served> {
  const proc = Bun.spawn([process.execPath, MAIN, "serve", "--no-store", "--read", CAPTURE, "--loop", "--speed", "4", "--port", "0"], {
    stdout: "pipe", stderr: "pipe", env: { ...process.env, FLOWMATRIX_TEST_ENGINE_FAULT: fault },
  });
  let err = "";
  void (async () => {
    const r = proc.stderr.getReader();
    for (let c = await r.read(); !c.done; c = await r.read()) err += new TextDecoder().decode(c.value);
  })();
  const reader = proc.stdout.getReader();
  let text = "";
  while (!/http:\/\/\S+\//.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`serve exited: ${err}`);
    text += new TextDecoder().decode(value);
  }
  const s: Served = { proc, url: text.match(/(http:\/\/[^\s/]+)\//)![1]!, stderr: () => err };
  running.push(s);
  return s;
}

async function json<T>(url: string): Promise<{ status: number; type: string; body: T }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get("content-type") ?? "", body: (await res.json()) as T };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

const metric = async (url: string, name: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(text.match(new RegExp(`^${name} (\\S+)$`, "m"))?.[1] ?? NaN);
};

test("a handler that throws: 500 JSON naming the fault, logged with its stack, counted; the engine keeps serving", async () => {
  const s = await serve("flows-throws");
  const flows = await json<{ error: string; message: string }>(`${s.url}/api/v1/flows`);
  expect(flows.status).toBe(500);
  expect(flows.type).toContain("application/json");
  expect(flows.body.error).toBe("engine_fault");
  expect(flows.body.message).toContain("TypeError: test fault: the flows handler threw");

  await waitFor("the fault on stderr", async () => (s.stderr().includes("engine fault in flows call") ? true : undefined));
  expect(s.stderr()).toContain("TypeError: test fault: the flows handler threw");
  expect(s.stderr()).toMatch(/^\s+at .*engine-worker\.ts/m); // the stack

  // Other engine-backed endpoints still answer.
  expect((await fetch(`${s.url}/api/v1/talkers`)).status).toBe(200);
  expect((await fetch(`${s.url}/api/v1/bandwidth`)).status).toBe(200);
  const h = await json<HealthReport>(`${s.url}/api/v1/health`);
  expect(h.body.engine).toMatchObject({ state: "running", faults: 1, restarts: 0 });
  expect(h.body.engine.last_fault).toMatchObject({ where: "flows call", message: "TypeError: test fault: the flows handler threw" });
  expect(h.body.reasons.map((r) => r.code)).toContain("engine_fault");
  expect(h.body.status).not.toBe("ok");
  expect(await metric(s.url, "flowmatrix_engine_faults_total")).toBe(1);
  expect(await metric(s.url, "flowmatrix_engine_up")).toBe(1);
}, 30_000);

test("an exception nobody catches in the Worker (a timer): logged, counted, the Worker survives with its flows", async () => {
  const s = await serve("timer-throws");
  await waitFor("the fault on stderr", async () => (s.stderr().includes("engine fault in uncaught exception") ? true : undefined));
  expect(s.stderr()).toContain("Error: test fault: a timer threw");
  // The same Worker goes on replaying and answering (flows keep arriving, no restart).
  await waitFor("flows from the surviving Worker", async () => {
    const f = await json<{ total: number }>(`${s.url}/api/v1/flows`);
    return f.status === 200 && f.body.total > 0 ? true : undefined;
  });
  const h = await json<HealthReport>(`${s.url}/api/v1/health`);
  expect(h.body.engine).toMatchObject({ state: "running", faults: 1, restarts: 0 });
  expect(h.body.engine.last_fault?.where).toBe("uncaught exception");
  expect(await metric(s.url, "flowmatrix_engine_faults_total")).toBe(1);
}, 30_000);

test("the Worker dies: the pending call gets a 503 naming the cause at once, it is restarted and serves again", async () => {
  const s = await serve("flows-exits");
  const t0 = Date.now();
  const dead = await json<{ error: string; message: string }>(`${s.url}/api/v1/flows`);
  expect(Date.now() - t0).toBeLessThan(5000); // not the 10 s call timeout
  expect(dead.status).toBe(503);
  expect(dead.type).toContain("application/json");
  expect(dead.body.error).toBe("unavailable");
  expect(dead.body.message).toContain("engine worker died (exit code 70)");
  // Right after (the restart waits 0.5 s): health says so, critical, from the last tick's status.
  const down = await json<HealthReport>(`${s.url}/api/v1/health`);
  expect(down.status).toBe(503);
  expect(down.body.engine.state).toBe("restarting");
  expect(down.body.reasons.find((r) => r.code === "engine_down")?.message).toContain("engine worker died (exit code 70)");

  await waitFor("the death on stderr", async () => (s.stderr().includes("engine worker died (exit code 70); restarting in") ? true : undefined));
  const back = await waitFor("the Worker restarted", async () => {
    const h = await json<HealthReport>(`${s.url}/api/v1/health`);
    return h.body.engine.restarts === 1 && h.body.engine.state === "running" ? h : undefined;
  });
  expect(back.body.engine.faults).toBe(1);
  expect(back.body.engine.last_fault?.where).toBe("worker");
  expect(s.stderr()).toContain("engine worker restarted (restart 1)");
  // The new Worker replays the file again and answers flow queries.
  const flows = await waitFor("flows from the new Worker", async () => {
    const f = await json<{ total: number }>(`${s.url}/api/v1/flows`);
    return f.status === 200 && f.body.total > 0 ? f : undefined;
  });
  expect(flows.status).toBe(200);
  expect(await metric(s.url, "flowmatrix_engine_restarts_total")).toBe(1);
  expect(await metric(s.url, "flowmatrix_engine_up")).toBe(1);
}, 30_000);

test("a Worker stuck in a loop (no tick): ended after the stall time, its call answered 503, restarted", async () => {
  // In-process server (real Worker, real HTTP) so the stall time can be short; the hook is read
  // by the Worker from the environment when it starts.
  process.env.FLOWMATRIX_TEST_ENGINE_FAULT = "flows-hangs";
  const server = new FlowmatrixServer({
    engine: { source: { kind: "file", path: CAPTURE, speed: 4, loop: true } },
    port: 0,
    engineStallMs: 2000,
    alerts: { cpuPercent: 100 },
  });
  try {
    const url = await server.start();
    delete process.env.FLOWMATRIX_TEST_ENGINE_FAULT;
    const t0 = Date.now();
    const stuck = await json<{ error: string; message: string }>(`${url}/api/v1/flows`);
    expect(Date.now() - t0).toBeLessThan(8000); // the stall time, not the 10 s call timeout
    expect(stuck.status).toBe(503);
    expect(stuck.body.message).toMatch(/engine worker died \(stuck: nothing from it for \d+\.\d s\)/);
    const back = await waitFor("the Worker restarted", async () => {
      const h = await json<HealthReport>(`${url}/api/v1/health`);
      return h.body.engine.restarts === 1 && h.body.engine.state === "running" ? h : undefined;
    });
    expect(back.body.engine.last_fault?.where).toBe("worker");
    await waitFor("flows from the new Worker", async () => ((await fetch(`${url}/api/v1/flows`)).status === 200 ? true : undefined));
  } finally {
    delete process.env.FLOWMATRIX_TEST_ENGINE_FAULT;
    await server.stop();
  }
}, 30_000);
