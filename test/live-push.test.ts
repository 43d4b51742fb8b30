/**
 * Live push at the protocol level, against a real FlowmatrixServer on 127.0.0.1 port 0 replaying
 * ndpi__alexa-app.pcapng in a loop at speed 1 (metrics every 1 s so health pushes come quickly):
 * - a WebSocket client gets the snapshot (every live id, out of band), then 1 s ticks and the
 *   health fragments;
 * - 20 WebSocket clients get byte-identical ticks, and the server rendered once per tick (the
 *   hub's render counter), i.e. Bun pub/sub publish, not per-client rendering;
 * - an SSE client gets the snapshot and ticks as unnamed `data:` events and a heartbeat comment
 *   within 15 s, and its generator is cleaned up when it disconnects;
 * - a bandwidth alert (threshold 1 bit/s) turns the pushed chart and alert red.
 * The server runs with a 2 s SSE heartbeat (ServerConfig.sseHeartbeatMs) so the heartbeat case is short.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { FlowmatrixServer } from "../src/server/app.ts";
import { liveHub } from "../src/server/live.ts";
import { PCAPS, waitFor } from "./e2e-helpers.ts";

setDefaultTimeout(60_000);

const TICK_IDS = ["bandwidth-chart", "counters", "protocol-mix", "top-talkers", "top-apps", "alerts", "header-status"];
const SNAPSHOT_IDS = [...TICK_IDS, "health-indicators"];

let server: FlowmatrixServer;
let url = "";
/** SSE heartbeat for this server (the default, HEARTBEAT_MS, is 15 s). */
const HEARTBEAT = 2000;

beforeAll(async () => {
  server = new FlowmatrixServer({
    engine: { source: { kind: "file", path: PCAPS + "ndpi__alexa-app.pcapng", speed: 1, loop: true } },
    port: 0,
    metricsIntervalMs: 1000,
    sseHeartbeatMs: HEARTBEAT,
    // a 1 bit/s threshold raises the bandwidth alert after 1 s of traffic
    alerts: { cpuPercent: 100, bandwidthBps: 1, bandwidthSeconds: 1, coolDownSec: 0 },
  });
  url = await server.start();
});

afterAll(async () => {
  await server?.stop();
});

/** ids of the elements marked hx-swap-oob="true" in a message. */
function oobIds(html: string): string[] {
  return [...html.matchAll(/<[a-z]+ id="([^"]+)"[^>]*hx-swap-oob="true"/g)].map((m) => m[1]!);
}

/** Top-level elements of a message (start tags directly followed by a known id) — all must be OOB. */
function rootsWithoutOob(html: string): string[] {
  return [...html.matchAll(/<(div|section|dl) id="([^"]+)"([^>]*)>/g)]
    .filter((m) => SNAPSHOT_IDS.includes(m[2]!) && !m[3]!.includes('hx-swap-oob="true"')).map((m) => m[2]!);
}

interface Client {
  ws: WebSocket;
  messages: string[];
  close(): void;
}

async function connect(): Promise<Client> {
  const ws = new WebSocket(url.replace("http", "ws") + "/ws");
  const messages: string[] = [];
  ws.onmessage = (e) => messages.push(String(e.data));
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("ws error"));
  });
  return { ws, messages, close: () => ws.close() };
}

const isTick = (m: string) => m.includes('id="counters"');

describe("WebSocket /ws", () => {
  test("snapshot first, then ticks and health fragments, all out of band", async () => {
    const c = await connect();
    try {
      await waitFor(() => c.messages.length >= 1, 5000, "snapshot");
      const snap = c.messages[0]!;
      expect(oobIds(snap).sort()).toEqual([...SNAPSHOT_IDS].sort());
      expect(rootsWithoutOob(snap)).toEqual([]);
      await waitFor(() => c.messages.slice(1).filter(isTick).length >= 2, 5000, "two ticks");
      const tick = c.messages.slice(1).find(isTick)!;
      expect(oobIds(tick).sort()).toEqual([...TICK_IDS].sort());
      await waitFor(() => c.messages.slice(1).some((m) => m.includes('id="health-indicators"')), 5000, "health push");
      const health = c.messages.slice(1).find((m) => m.includes('id="health-indicators"'))!;
      expect(oobIds(health).sort()).toEqual(["header-status", "health-indicators"]);
    } finally {
      c.close();
    }
  });

  test("20 clients get the same tick from one render (publish)", async () => {
    const hub = liveHub(server.ctx)!;
    expect(hub).toBeDefined();
    const clients = await Promise.all(Array.from({ length: 20 }, connect));
    try {
      await waitFor(() => clients.every((c) => c.messages.length >= 1), 5000, "20 snapshots");
      const renders0 = hub.stats.tickRenders;
      const published0 = hub.stats.published;
      const start = clients.map((c) => c.messages.length);
      await waitFor(() => clients.every((c, i) => c.messages.slice(start[i]).filter(isTick).length >= 3), 8000, "3 ticks each");
      const ticks = clients.map((c, i) => c.messages.slice(start[i]).filter(isTick).slice(0, 3));
      for (const t of ticks) expect(t).toEqual(ticks[0]!);
      const renders = hub.stats.tickRenders - renders0;
      const published = hub.stats.published - published0;
      // one render per tick (plus at most a couple of ticks in flight), never one per client
      expect(renders).toBeGreaterThanOrEqual(3);
      expect(renders).toBeLessThan(10);
      expect(published).toBeLessThan(20);
    } finally {
      for (const c of clients) c.close();
    }
  });

  test("a bandwidth alert turns the pushed chart and alert red", async () => {
    // the replay has silent seconds, so the alert comes and goes: judge each render on its own
    const HIGH = /<div id="bandwidth-chart" class="panel bandwidth high"/;
    const c = await connect();
    try {
      await waitFor(() => c.messages.some((m) => isTick(m) && HIGH.test(m)), 30_000, "a red chart");
      const m = c.messages.find((x) => isTick(x) && HIGH.test(x))!;
      expect(m).toMatch(/<section id="alerts" class="panel alerts has-active"/);
      expect(m).toMatch(/<span class="rule">(host_|flow_)?bandwidth<\/span>/);
      expect(m).toMatch(/<li class="alert level-(warning|error|critical)"/);
      await waitFor(async () => HIGH.test(await (await fetch(url + "/")).text()), 30_000, "a red chart on the page");
    } finally {
      c.close();
    }
  });
});

describe("SSE /sse", () => {
  test("snapshot and ticks as unnamed data events, heartbeat comment, cleanup on disconnect", async () => {
    const hub = liveHub(server.ctx)!;
    const ac = new AbortController();
    const res = await fetch(url + "/sse", { signal: ac.signal });
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    await waitFor(() => hub.sse.size === 1, 2000, "SSE client registered");
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = "";
    const events: string[] = [];
    let heartbeats = 0;
    const t0 = Date.now();
    try {
      while ((heartbeats === 0 || events.filter(isTick).length < 3) && Date.now() - t0 < HEARTBEAT + 8000) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i: number;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const lines = block.split("\n");
          if (lines.every((l) => l.startsWith(":"))) heartbeats++;
          else {
            expect(lines.every((l) => l.startsWith("data: "))).toBe(true); // no event: name
            events.push(lines.map((l) => l.slice(6)).join("\n"));
          }
        }
      }
      expect(heartbeats).toBeGreaterThanOrEqual(1);
      expect(oobIds(events[0]!).sort()).toEqual([...SNAPSHOT_IDS].sort());
      expect(events.filter(isTick).length).toBeGreaterThanOrEqual(3);
      for (const e of events.slice(1).filter(isTick)) expect(oobIds(e).sort()).toEqual([...TICK_IDS].sort());
    } finally {
      ac.abort();
      await reader.cancel().catch(() => {});
    }
    await waitFor(() => hub.sse.size === 0, 3000, "SSE client removed after disconnect");
  });
});
