/**
 * Live push: WebSocket /ws and Server-Sent Events /sse carry out-of-band HTML fragments
 * (`hx-swap-oob="true"` + a stable id) that htmx swaps into the page by id.
 *
 * - On connect: a snapshot of every live part (chart, counters, protocol mix, talkers, top applications, alerts,
 *   health indicators, header status), so a reconnecting page resyncs at once.
 * - Each engine tick (1 s): chart, counters, protocol mix, talkers, top applications, alerts, header status.
 * - Each system metrics sample (5 s by default): health indicators + header status.
 *
 * Fan-out: ONE render per tick, then `server.publish("live", html)` (Bun pub/sub) for WebSocket
 * clients and the same string handed to each SSE client's queue. Nothing is rendered while no
 * client is connected. Slow WebSocket clients are bounded by the app's backpressure settings
 * (1 MiB, close on limit); a slow SSE client keeps at most SSE_QUEUE_MAX pending messages (the
 * oldest are dropped: every message replaces whole elements, so the newest is enough).
 *
 * SSE: data-only events (no `event:` name: htmx 4 swaps only unnamed messages), each line of the
 * HTML as its own `data:` line; a comment heartbeat every HEARTBEAT_MS (whether or not ticks
 * flow, e.g. for proxies that want traffic) keeps the stream under the idle timeout. The generator's `finally` removes the client.
 *
 * Access: the request guard (src/server/security/guard.ts) runs before both routes — a foreign
 * Host gets 421, a foreign Origin 403, and with a token configured a client without the session
 * cookie or a Bearer token 401 (the WebSocket handshake fails) — so nothing here checks again.
 * A connection opened with a session cookie closes when that session ends (logout or expiry):
 * the WebSocket with code 1008, the SSE stream by ending.
 *
 * Limits: elements that are not on the current tab are ignored by htmx (e.g. the chart while on
 * Flows), so every tab receives the same stream. Incoming WebSocket messages are ignored.
 */
import { Elysia } from "elysia";
import type { TickSummary } from "../worker/protocol.ts";
import type { HealthJson } from "../../views/types.ts";
import { HeaderStatus } from "../../views/layout.tsx";
import { AlertsList, BandwidthChart, Counters, ProtocolMix, TopApps, TopTalkers } from "../../views/live.tsx";
import { HealthIndicators } from "../../views/health.tsx";
import type { ServerContext } from "./context.ts";
import { alertsJson, countersFromTick, currentHealth, highBandwidth, liveBandwidth, refreshHealth } from "./page-data.ts";
import { sessionKeyOf } from "./security/guard.ts";

export const TOPIC = "live";
export const HEARTBEAT_MS = 15_000;
export const SSE_QUEUE_MAX = 8;

/** What publish() needs from Bun's server. */
interface Publisher {
  publish(topic: string, data: string): number;
  subscriberCount(topic: string): number;
}

/** One SSE client: a bounded queue plus a waiter woken by push() or close(). */
class SseClient {
  private readonly queue: string[] = [];
  private wake: (() => void) | null = null;
  closed = false;

  push(msg: string): void {
    if (this.queue.length >= SSE_QUEUE_MAX) this.queue.shift();
    this.queue.push(msg);
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  /** The next message, or null after `ms` without one (heartbeat time) or on close. */
  next(ms: number): Promise<string | null> {
    const m = this.queue.shift();
    if (m !== undefined) return Promise.resolve(m);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = null;
        resolve(self.queue.shift() ?? null);
      }
      this.wake = done;
    });
  }
}

/** An SSE frame Elysia writes as is (its sse() helper would not split multi-line data). */
interface SseFrame {
  sse: true;
  toSSE(): string;
}

export function sseData(html: string): SseFrame {
  const body = html.split(/\r\n|\r|\n/).map((l) => `data: ${l}`).join("\n");
  return { sse: true, toSSE: () => `${body}\n\n` };
}

export const SSE_HEARTBEAT: SseFrame = { sse: true, toSSE: () => ": heartbeat\n\n" };

/** Renders the fragments and fans them out. One per server context. */
export class LiveHub {
  server: Publisher | null = null;
  readonly sse = new Set<SseClient>();
  private health: HealthJson | null = null;
  /** Counters for tests and the bench: renders per kind, messages published. */
  readonly stats = { tickRenders: 0, healthRenders: 0, published: 0 };
  private stopped = false;

  constructor(readonly ctx: ServerContext) {}

  start(): void {
    this.ctx.engine.onTick((t) => this.onTick(t));
    this.ctx.metrics.onSample(() => void this.onSample());
    void this.onSample();
  }

  stop(): void {
    this.stopped = true;
    for (const c of this.sse) c.close();
  }

  /** Connected live clients (WebSocket and SSE). */
  clients(): number {
    let n = this.sse.size;
    try {
      n += this.server?.subscriberCount(TOPIC) ?? 0;
    } catch {
      // server stopped
    }
    return n;
  }

  /** The 1 s fragments (all OOB). */
  tickHtml(tick: TickSummary | null = this.ctx.engine.last): string {
    this.stats.tickRenders++;
    const alerts = alertsJson(this.ctx);
    const bw = liveBandwidth(tick);
    return [
      BandwidthChart({ bandwidth: bw, high: highBandwidth(alerts), oob: true }),
      Counters({ counters: countersFromTick(tick), oob: true }),
      ProtocolMix({ by_protocol: bw.by_protocol, oob: true }),
      TopTalkers({ talkers: tick?.talkers ?? [], oob: true }),
      TopApps({ apps: tick?.apps ?? [], oob: true }),
      AlertsList({ alerts, oob: true }),
      HeaderStatus({ health: refreshHealth(this.health, this.ctx), oob: true }),
    ].join("") as string;
  }

  /** The 5 s fragments (all OOB); the snapshot leaves out the header (already in tickHtml). */
  healthHtml(withHeader = true): string {
    this.stats.healthRenders++;
    const h = refreshHealth(this.health, this.ctx);
    return ((h ? HealthIndicators({ health: h, oob: true }) : "") as string) +
      (withHeader ? (HeaderStatus({ health: h, oob: true }) as string) : "");
  }

  /** Everything, for a client that just connected. */
  async snapshot(): Promise<string> {
    if (!this.health) this.health = await currentHealth(this.ctx);
    return this.tickHtml() + this.healthHtml(false);
  }

  publish(html: string): void {
    if (this.stopped) return;
    this.stats.published++;
    try {
      this.server?.publish(TOPIC, html);
    } catch {
      // server stopped between the check and the call
    }
    for (const c of this.sse) c.push(html);
  }

  private onTick(tick: TickSummary): void {
    if (this.stopped || this.clients() === 0) return;
    this.publish(this.tickHtml(tick));
  }

  private async onSample(): Promise<void> {
    if (this.stopped) return;
    const h = await currentHealth(this.ctx);
    if (h) this.health = h;
    if (this.clients() === 0) return;
    this.publish(this.healthHtml());
  }

  /** An SSE stream: snapshot, then pushed messages and heartbeats until the client leaves. */
  async *sseStream(signal: AbortSignal, heartbeatMs = HEARTBEAT_MS): AsyncGenerator<SseFrame> {
    const client = new SseClient();
    const onAbort = () => client.close();
    signal.addEventListener("abort", onAbort);
    this.sse.add(client);
    try {
      yield sseData(await this.snapshot());
      let beat = Date.now() + heartbeatMs;
      while (!client.closed && !signal.aborted && !this.stopped) {
        const msg = await client.next(Math.max(0, beat - Date.now()));
        if (client.closed || signal.aborted) break;
        if (msg !== null) yield sseData(msg);
        if (Date.now() >= beat) {
          beat = Date.now() + heartbeatMs;
          yield SSE_HEARTBEAT;
        }
      }
    } finally {
      this.sse.delete(client);
      signal.removeEventListener("abort", onAbort);
    }
  }
}

const hubs = new WeakMap<ServerContext, LiveHub>();

/** The hub serving a context (tests and the bench read its stats). */
export function liveHub(ctx: ServerContext): LiveHub | undefined {
  return hubs.get(ctx);
}

/** Cleanups of the session watches of open WebSockets (by their ws.data). */
const sessionEnds = new WeakMap<object, () => void>();

/**
 * Calls `close` when the session the request was authenticated with ends (logout) or expires;
 * returns the cleanup, or undefined for a request without a session (Bearer token, no auth).
 */
function onSessionEnd(ctx: ServerContext, req: Request | undefined, close: () => void): (() => void) | undefined {
  const key = req ? sessionKeyOf(req) : undefined;
  if (!key) return undefined;
  const off = ctx.auth.onSessionEnd(key, close);
  const expires = ctx.auth.sessionExpires(key);
  const timer = expires === undefined ? undefined : setTimeout(close, Math.max(0, expires - Date.now()));
  (timer as { unref?: () => void } | undefined)?.unref?.();
  return () => {
    off();
    if (timer) clearTimeout(timer);
  };
}

export function liveRoutes(ctx: ServerContext, hub = new LiveHub(ctx)) {
  hubs.set(ctx, hub);
  hub.start();
  return new Elysia({ name: "flowmatrix-live" })
    .onStart(({ server }) => {
      if (server) hub.server = server as unknown as Publisher;
    })
    .onStop(() => hub.stop())
    .ws("/ws", {
      async open(ws) {
        const data = ws.data as { server?: Publisher | null; request?: Request };
        if (!hub.server && data.server) hub.server = data.server;
        const end = onSessionEnd(ctx, data.request, () => ws.close(1008, "session ended"));
        if (end) sessionEnds.set(data, end);
        ws.subscribe(TOPIC);
        ws.send(await hub.snapshot());
      },
      message() {
        // the page never sends; ignore anything that arrives
      },
      close(ws) {
        const data = ws.data as object;
        sessionEnds.get(data)?.();
        sessionEnds.delete(data);
      },
    })
    .get("/sse", async function* ({ request, set }) {
      set.headers["x-accel-buffering"] = "no";
      // Ends when the client leaves or its session ends (logout, expiry).
      const stop = new AbortController();
      const abort = () => stop.abort();
      request.signal.addEventListener("abort", abort);
      const end = onSessionEnd(ctx, request, abort);
      try {
        yield* hub.sseStream(stop.signal, ctx.config.sseHeartbeatMs);
      } finally {
        end?.();
        request.signal.removeEventListener("abort", abort);
      }
    });
}
