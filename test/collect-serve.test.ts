/**
 * `serve --collect-netflow` end to end: the real CLI with only a collector (no --interface or
 * --read: capture kind none), softflowd exporting a shared capture to it on 127.0.0.1; the flows
 * in the API (and the grammar's `source:`/`exporter:`), the health section listing the exporter,
 * /metrics; a collector port in use exits 2 before serving.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PCAPS } from "./shared-paths.ts";
import { captureConversations, SOFTFLOWD } from "./collect-helpers.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const procs: ReturnType<typeof Bun.spawn>[] = [];
afterAll(() => {
  for (const p of procs) p.kill("SIGTERM");
});

interface Health {
  status: string;
  capture: { source: string; state: string };
  collector: {
    listen: string; state: string; packets: number; records: number; errors: number; error_reasons: Record<string, number>;
    exporters: { address: string; versions: number[]; packets: number; records: number; errors: number; last_seen: number; sampling_rate: number }[];
  } | null;
}

async function startServe(args: string[]): Promise<{ url: string; proc: ReturnType<typeof Bun.spawn>; get: <T>(p: string) => Promise<T> }> {
  const proc = Bun.spawn([process.execPath, MAIN, "serve", "--no-store", "--port", "0", "--quiet", ...args], { stdout: "pipe", stderr: "pipe" });
  procs.push(proc);
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  const deadline = Date.now() + 20_000;
  while (!/dashboard at (http:\/\/\S+)\//.test(text)) {
    if (Date.now() > deadline) throw new Error(`serve did not start: ${text}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`serve exited: ${text} ${await new Response(proc.stderr as ReadableStream).text()}`);
    text += new TextDecoder().decode(value);
  }
  const url = /dashboard at (http:\/\/\S+?)\/ /.exec(text)![1]!;
  expect(text).toContain("collecting NetFlow/IPFIX on 127.0.0.1:0");
  const get = async <T,>(p: string) => (await (await fetch(url + p)).json()) as T;
  return { url, proc, get };
}

describe("serve --collect-netflow", () => {
  test("collector only: softflowd's flows in the API, filtered by source and exporter; health and /metrics list the exporter", async () => {
    const { url, get } = await startServe(["--collect-netflow", "127.0.0.1:0"]);
    let h = await get<Health>("/api/v1/health");
    expect(h.capture.source).toBe("none");
    expect(h.collector).not.toBeNull();
    const port = Number(h.collector!.listen.split(":").pop());
    expect(port).toBeGreaterThan(0);
    const dir = mkdtempSync(join(tmpdir(), "fm-sf-"));
    try {
      const sf = Bun.spawn([SOFTFLOWD, "-a", "-d", "-r", `${PCAPS}zeek__wikipedia.pcap`, "-n", `127.0.0.1:${port}`, "-v", "10", "-p", "pid", "-c", "c"], { cwd: dir, stdout: "pipe", stderr: "pipe" });
      expect(await sf.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const ours = await captureConversations(`${PCAPS}zeek__wikipedia.pcap`);
    type Flows = { flows: { src_ip: string; packets: number; bytes: number }[]; total: number };
    let all: Flows = { flows: [], total: 0 };
    for (let n = 0; n < 100; n++) {
      all = await get<Flows>("/api/v1/flows?q=source:netflow&limit=1000&state=all");
      if (all.total >= ours.size) break;
      await Bun.sleep(100);
    }
    expect(all.total).toBe(ours.size); // one flow per conversation (softflowd flushes each at the end of the file)
    let packets = 0, ipBytes = 0;
    for (const c of ours.values()) {
      packets += c.packets[0] + c.packets[1];
      ipBytes += c.ipBytes[0] + c.ipBytes[1];
    }
    expect(all.flows.reduce((n, f) => n + f.packets, 0)).toBe(packets);
    expect(all.flows.reduce((n, f) => n + f.bytes, 0)).toBe(ipBytes);
    expect((await get<Flows>("/api/v1/flows?q=source:capture&state=all")).total).toBe(0);
    expect((await get<Flows>("/api/v1/flows?q=exporter:127.0.0.0/8&state=all&limit=1000")).total).toBe(ours.size);
    expect((await get<Flows>("/api/v1/flows?q=-exporter:127.0.0.1&state=all")).total).toBe(0);
    expect((await get<Flows>("/api/v1/flows?q=source:netflow%20exporter:127.0.0.1&state=all&limit=1000")).total).toBe(ours.size);
    const bad = await fetch(`${url}/api/v1/flows?q=source:router`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain('unknown source "router"');

    h = await get<Health>("/api/v1/health");
    const e = h.collector!.exporters;
    expect(e).toHaveLength(1);
    expect(e[0]).toMatchObject({ address: "127.0.0.1", versions: [10], errors: 0, sampling_rate: 1 });
    expect(e[0]!.records).toBe(57);
    expect(e[0]!.packets).toBeGreaterThan(0);
    expect(Math.abs(e[0]!.last_seen - Date.now() / 1000)).toBeLessThan(30);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('flowmatrix_collector_records_total{exporter="127.0.0.1"} 57');
    expect(metrics).toMatch(/flowmatrix_collector_last_seen_seconds\{exporter="127\.0\.0\.1"\} \d+/);
  }, 60_000);

  test("an engine Worker restart binds the collector's port again", async () => {
    const probe = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    const port = probe.port;
    probe.close();
    const proc = Bun.spawn([process.execPath, MAIN, "serve", "--no-store", "--port", "0", "--quiet", "--collect-netflow", `127.0.0.1:${port}`], {
      stdout: "pipe", stderr: "pipe", env: { ...process.env, FLOWMATRIX_TEST_ENGINE_FAULT: "flows-exits" },
    });
    procs.push(proc);
    const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
    let text = "";
    while (!/dashboard at http/.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`serve exited: ${text}`);
      text += new TextDecoder().decode(value);
    }
    const url = /dashboard at (http:\/\/\S+?)\/ /.exec(text)![1]!;
    expect((await fetch(`${url}/api/v1/flows`)).status).toBe(503); // the first Worker exits
    let h: Health & { engine: { restarts: number } } = { engine: { restarts: 0 } } as never;
    for (let n = 0; n < 100 && !(h.engine.restarts === 1 && h.collector?.state === "active"); n++) {
      await Bun.sleep(100);
      h = (await (await fetch(`${url}/api/v1/health`)).json()) as typeof h;
    }
    expect(h.collector).toMatchObject({ state: "active", listen: `127.0.0.1:${port}` });
    const dir = mkdtempSync(join(tmpdir(), "fm-sf-"));
    try {
      const sf = Bun.spawn([SOFTFLOWD, "-a", "-d", "-r", `${PCAPS}zeek__wikipedia.pcap`, "-n", `127.0.0.1:${port}`, "-v", "9", "-p", "pid", "-c", "c"], { cwd: dir, stdout: "pipe", stderr: "pipe" });
      expect(await sf.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (let n = 0; n < 50 && (h.collector?.records ?? 0) < 57; n++) {
      await Bun.sleep(100);
      h = (await (await fetch(`${url}/api/v1/health`)).json()) as typeof h;
    }
    expect(h.collector!.records).toBe(57);
    proc.kill("SIGTERM");
    await proc.exited;
  }, 60_000);

  test("a collector port in use exits 2 with one line, before serving", async () => {
    const holder = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    try {
      const proc = Bun.spawn([process.execPath, MAIN, "serve", "--no-store", "--port", "0", "--collect-netflow", `127.0.0.1:${holder.port}`], { stdout: "pipe", stderr: "pipe" });
      const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      expect(code).toBe(2);
      expect(out).toBe("");
      expect(err.trim()).toBe(`flowmatrix: collector port ${holder.port} is in use`);
    } finally {
      holder.close();
    }
  }, 30_000);

  test("a bad address is a usage error; --help lists the flag", () => {
    const r = Bun.spawnSync([process.execPath, MAIN, "serve", "--no-store", "--collect-netflow", "host:port"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain("collect-netflow");
    const help = Bun.spawnSync([process.execPath, MAIN, "serve", "--help"]).stdout.toString();
    expect(help).toContain("--collect-netflow [HOST:]PORT");
  });
});
