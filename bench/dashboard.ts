#!/usr/bin/env bun
/**
 * Dashboard bench: page weight, live-push message size, and server CPU with many WebSocket clients.
 *
 *   bun bench/dashboard.ts [--clients 200] [--seconds 20] [--file PCAP]
 *
 * Runs `flowmatrix serve --read FILE --loop --speed 1` as a child process on a free loopback port
 * and measures:
 * - first page load: bytes of the HTML of / and the CSS; htmx (+ hx-ws) and _hyperscript
 *   separately (raw as served — the server does not compress — and gzip -6 for reference);
 * - one 1 s tick message (median over a few ticks), the 5 s health message and the connect snapshot;
 * - server CPU (user + system of all its threads, from /proc/<pid>/stat) over `--seconds` with no
 *   client (baseline: capture replay, metrics) and then with `--clients` WebSocket clients
 *   receiving the ticks; target ≤ 15 % of one core with 200 clients.
 * Limits: Linux only (/proc); the clients run in this process on the same machine, so on a small
 * VM they compete with the server for CPU; one run, no repetition (expect ± 1–2 points).
 */
import { parseArgs } from "node:util";
import { readFileSync } from "node:fs";
import { freePort, PCAPS, ServerProcess, waitFor } from "../test/e2e-helpers.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    clients: { type: "string", default: "200" },
    seconds: { type: "string", default: "20" },
    file: { type: "string", default: PCAPS + "ndpi__alexa-app.pcapng" },
  },
});
const CLIENTS = Number(values.clients);
const SECONDS = Number(values.seconds);
const TARGET_PERCENT = 15;
const CLK_TCK = 100; // Linux USER_HZ

/** utime + stime of a process (all threads), in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // fields 14 and 15 (1-based) after pid/comm
}

async function cpuOver(pid: number, seconds: number): Promise<number> {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  await Bun.sleep(seconds * 1000);
  return ((cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000)) * 100;
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const gz = (b: Uint8Array<ArrayBuffer>) => Bun.gzipSync(b, { level: 6 }).length;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function bytes(url: string): Promise<Uint8Array<ArrayBuffer>> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

interface WsClient {
  ws: WebSocket;
  sizes: number[];
  ticks: number;
}

function openClient(wsUrl: string): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const c: WsClient = { ws: new WebSocket(wsUrl), sizes: [], ticks: 0 };
    c.ws.onmessage = (e) => {
      const s = String(e.data);
      c.sizes.push(Buffer.byteLength(s));
      if (s.includes('id="counters"')) c.ticks++;
    };
    c.ws.onopen = () => resolve(c);
    c.ws.onerror = () => reject(new Error("websocket error"));
  });
}

const server = new ServerProcess({ file: values.file!, port: freePort(), loop: true, speed: "1" });
const rows: [string, string, string][] = [];
let failed = false;
try {
  const url = await server.start();
  const wsUrl = url.replace("http", "ws") + "/ws";
  await Bun.sleep(2000); // a few ticks of traffic so the page has content

  const html = await bytes(url + "/");
  const css = await bytes(url + "/static/app.css");
  const htmx = await bytes(url + "/static/htmx.min.js");
  const hxWs = await bytes(url + "/static/hx-ws.js");
  const hs = await bytes(url + "/static/_hyperscript.min.js");
  rows.push(["first load: HTML (/)", kb(html.length), `gzip ${kb(gz(html))}`]);
  rows.push(["first load: CSS", kb(css.length), `gzip ${kb(gz(css))}`]);
  rows.push(["first load: HTML + CSS", kb(html.length + css.length), `gzip ${kb(gz(html) + gz(css))}`]);
  rows.push(["htmx.min.js + hx-ws.js", kb(htmx.length + hxWs.length), `gzip ${kb(gz(htmx) + gz(hxWs))}`]);
  rows.push(["_hyperscript.min.js", kb(hs.length), `gzip ${kb(gz(hs))}`]);

  // message sizes from one client over ~7 s (snapshot, ≥ 5 ticks, ≥ 1 health push)
  const probe = await openClient(wsUrl);
  const msgs: string[] = [];
  probe.ws.onmessage = (e) => msgs.push(String(e.data));
  await waitFor(() => msgs.filter((m) => m.includes('id="counters"')).length >= 7 && msgs.slice(1).some((m) => !m.includes('id="counters"')), 15_000, "ticks and a health push");
  probe.ws.close();
  const size = (m: string) => Buffer.byteLength(m);
  const ticks = msgs.slice(1).filter((m) => m.includes('id="counters"')).map(size);
  const healthMsgs = msgs.slice(1).filter((m) => !m.includes('id="counters"')).map(size);
  const tickGz = gz(new TextEncoder().encode(msgs.slice(1).find((m) => m.includes('id="counters"'))!));
  rows.push(["1 s tick message (median)", kb(median(ticks)), `gzip ${kb(tickGz)} (not compressed on the wire)`]);
  rows.push(["5 s health message", kb(median(healthMsgs)), ""]);
  rows.push(["connect snapshot", kb(size(msgs[0]!)), ""]);

  const pid = server.pid;
  const idle = await cpuOver(pid, Math.min(10, SECONDS));
  rows.push([`server CPU, 0 clients (${Math.min(10, SECONDS)} s)`, `${idle.toFixed(2)} %`, "replay + metrics + ticks (no render)"]);

  const clients: WsClient[] = [];
  for (let i = 0; i < CLIENTS; i += 50) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(50, CLIENTS - i) }, () => openClient(wsUrl)))));
  }
  await Bun.sleep(1500); // snapshots delivered
  const before = clients.map((c) => c.ticks);
  const busy = await cpuOver(pid, SECONDS);
  const got = clients.map((c, i) => c.ticks - before[i]!);
  const open = clients.filter((c) => c.ws.readyState === WebSocket.OPEN).length;
  for (const c of clients) c.ws.close();
  const ok = busy <= TARGET_PERCENT;
  if (!ok) failed = true;
  rows.push([`server CPU, ${CLIENTS} WS clients (${SECONDS} s)`, `${busy.toFixed(2)} %`, `target ≤ ${TARGET_PERCENT} % of one core: ${ok ? "met" : "MISSED"}`]);
  rows.push(["ticks per client in that window", `${Math.min(...got)}–${Math.max(...got)}`, `${open}/${CLIENTS} still open at the end`]);
  rows.push(["push bandwidth per client", kb(median(ticks)) + "/s", `${((median(ticks) * CLIENTS * 8) / 1e6).toFixed(1)} Mbit/s for ${CLIENTS} clients`]);
} finally {
  await server.kill("SIGTERM");
}

const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
console.log(`\nFlowmatrix dashboard bench (${values.file!.split("/").pop()}, bun ${Bun.version})\n`);
console.log(`${"measure".padEnd(w0)}  ${"value".padStart(w1)}  note`);
console.log(`${"-".repeat(w0)}  ${"-".repeat(w1)}  ----`);
for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
process.exit(failed ? 1 : 0);
