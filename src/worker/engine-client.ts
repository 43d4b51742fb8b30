/**
 * Server-side handle on the engine Worker: start it with a config, call it (promise per call,
 * with a timeout), and receive the per-second TickSummary.
 *
 * Shape shared by every component: a config, start(), stop().
 */
import type { FlowRecord } from "../flows/record.ts";
import type { Talker, TalkerBy } from "../flows/talkers.ts";
import type { CaptureStatus, EngineConfig, FlowQuery, FromWorker, SeriesPayload, TickSummary, ToWorker } from "./protocol.ts";
import type { EngineStats } from "../flows/engine.ts";
import { EngineCallError } from "./engine-call-error.ts";

export interface EngineStatus {
  capture: CaptureStatus;
  stats: EngineStats;
  capacity: number;
  now: number;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> };

export class EngineClient {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly tickListeners: ((s: TickSummary) => void)[] = [];
  private readonly fatalListeners: ((e: { name: string; message: string }) => void)[] = [];
  /** The latest per-second summary (null until the first tick). */
  last: TickSummary | null = null;
  /** A fatal capture error (permission, missing libpcap, unreadable file), null when none. */
  fatal: { name: string; message: string } | null = null;

  constructor(readonly config: EngineConfig, readonly callTimeoutMs = 10_000) {}

  /** Spawns the Worker and resolves once it has taken the config. */
  start(): Promise<void> {
    // In the compiled binary this module is bundled into the entry (root /$bunfs/root/) and the
    // Worker is its own entry point at worker/engine-worker.ts (see the build script).
    const compiled = import.meta.url.includes("$bunfs");
    const w = new Worker(compiled ? "./worker/engine-worker.ts" : new URL("./engine-worker.ts", import.meta.url).href);
    this.worker = w;
    return new Promise((resolve, reject) => {
      w.onerror = (ev) => reject(new Error(`engine worker failed: ${ev.message}`));
      w.onmessage = (ev: MessageEvent<FromWorker>) => {
        const m = ev.data;
        if (m.type === "ready") resolve();
        else if (m.type === "tick") {
          this.last = m.summary;
          for (const fn of this.tickListeners) fn(m.summary);
        } else if (m.type === "reply") {
          const p = this.pending.get(m.id);
          if (!p) return;
          this.pending.delete(m.id);
          clearTimeout(p.timer);
          if (m.error) p.reject(new EngineCallError(m.error.name, m.error.message, m.error.field));
          else p.resolve(m.result);
        } else if (m.type === "fatal") {
          this.fatal = m.error;
          for (const fn of this.fatalListeners) fn(m.error);
        }
      };
      this.post({ type: "init", config: this.config });
    });
  }

  onTick(fn: (s: TickSummary) => void): void {
    this.tickListeners.push(fn);
  }

  onFatal(fn: (e: { name: string; message: string }) => void): void {
    this.fatalListeners.push(fn);
  }

  private post(m: ToWorker): void {
    this.worker?.postMessage(m);
  }

  private call<T>(method: string, params: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new EngineCallError("Timeout", `engine did not answer ${method} within ${this.callTimeoutMs} ms`));
      }, this.callTimeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.post({ type: "call", id, method, params } as ToWorker);
    });
  }

  flows(q: FlowQuery): Promise<{ records: FlowRecord[]; total: number }> {
    return this.call("flows", q);
  }
  flow(id: number): Promise<FlowRecord | null> {
    return this.call("flow", { id });
  }
  talkers(by: TalkerBy, window: number, limit: number): Promise<Talker[]> {
    return this.call("talkers", { by, window, limit });
  }
  bandwidth(duration: number, maxPoints?: number): Promise<SeriesPayload> {
    return this.call("bandwidth", { duration, maxPoints });
  }
  status(): Promise<EngineStatus> {
    return this.call("status", {});
  }

  /** Stops the capture and terminates the Worker. */
  async stop(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = null;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 1000);
      w.addEventListener("message", (ev: MessageEvent<FromWorker>) => {
        if (ev.data.type === "stopped") {
          clearTimeout(t);
          resolve();
        }
      });
      w.postMessage({ type: "stop" } satisfies ToWorker);
    });
    w.terminate();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new EngineCallError("Stopped", "engine stopped"));
    }
    this.pending.clear();
  }
}
