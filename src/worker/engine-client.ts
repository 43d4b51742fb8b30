/**
 * Server-side handle on the engine Worker: start it with a config, call it (promise per call,
 * with a timeout), and receive the per-second TickSummary.
 *
 * Start: start() resolves once the Worker reports the capture open (live) or the file and filter
 * usable (replay), and rejects with the capture's typed error (PcapError, FileSourceError,
 * CapturePermissionError, LibpcapMissingError; rebuilt from the Worker's data) when it cannot
 * start. Faults: an exception inside the Worker is logged (with its stack and cause), counted and
 * kept as `lastFault`; the Worker keeps serving. If the Worker dies, pending calls are rejected
 * at once with an EngineCallError naming the cause (kind "Unavailable": the API answers 503),
 * calls made meanwhile likewise, and a new Worker is started with backoff (0.5 s doubling to
 * 10 s; it starts the capture again from the beginning: the flows seen so far are lost). A Worker
 * that posts nothing for `stallMs` (it ticks every second) is stuck: it is terminated and
 * restarted the same way. A call that times out is logged and counted as a fault.
 *
 * Shape shared by every component: a config, start(), stop().
 */
import type { CaptureStatus, EngineConfig, FromWorker, TickSummary, ToWorker } from "./protocol.ts";
import type { EngineStats } from "../flows/engine.ts";
import type { CallName, CallParams, CallResult, EngineStatus } from "./calls.ts";
import type { PortSinkConfig } from "./port-sink.ts";
import { EngineCallError } from "./engine-call-error.ts";
import { EngineStartError, reviveError } from "./wire-error.ts";
import { nowMs, SpanRing, TRACE_ON } from "./call-trace.ts";

export type { EngineStatus } from "./calls.ts";

/** The engine Worker itself, as health reports it. */
export interface EngineHealth {
  /** running; restarting (the Worker died, a new one is on its way); stopped. */
  state: "running" | "restarting" | "stopped";
  /** Exceptions in the engine since the server started (Worker deaths included). */
  faults: number;
  /** Workers started again after one died. */
  restarts: number;
  last_fault: { where: string; message: string; at: string } | null;
}

export interface EngineClientOptions {
  callTimeoutMs?: number;
  /** A Worker silent this long (no tick, no reply) is stuck: terminated and restarted (default 30 s). */
  stallMs?: number;
  /** Where faults and restarts are logged (default: stderr). */
  log?: (line: string) => void;
  /**
   * Ended-flow sinks in other Workers: each is given a fresh MessagePort per engine Worker
   * (called again after a restart); see PortSink.
   */
  sinkPorts?: () => PortSinkConfig[];
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> };

const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 10_000;
/** A fault logged for one place is not logged again for that place within this time (still counted). */
const LOG_EVERY_MS = 10_000;

export class EngineClient {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly tickListeners: ((s: TickSummary) => void)[] = [];
  private readonly fatalListeners: ((e: { name: string; message: string }) => void)[] = [];
  private readonly callTimeoutMs: number;
  private readonly stallMs: number;
  private lastMessageAt = 0;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private readonly log: (line: string) => void;
  private generation = 0;
  private stopping = false;
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private restartBackoff = RESTART_MIN_MS;
  private workerStartedAt = 0;
  /** Why the Worker is unavailable (it died), null while it runs. */
  private downCause: string | null = null;
  /** The first Worker reported a good start (before that, a death fails start() instead). */
  private started = false;
  private readonly logged = new Map<string, { at: number; suppressed: number }>();
  /** The latest per-second summary (null until the first tick). */
  last: TickSummary | null = null;
  /** A fatal capture error (permission, missing libpcap, unreadable file), null when none. */
  fatal: { name: string; message: string } | null = null;
  /** Flow table capacity from the last status answer (for a status built from the last tick). */
  private capacity: number;
  faults = 0;
  restarts = 0;
  lastFault: EngineHealth["last_fault"] = null;

  private readonly sinkPorts: (() => PortSinkConfig[]) | undefined;
  /** Call tracing on this (the server) thread: `post:<method>` spans and event-loop `lag` (call-trace.ts); null unless FLOWMATRIX_CALL_TRACE=1. */
  readonly trace: SpanRing | null = TRACE_ON ? new SpanRing() : null;

  constructor(readonly config: EngineConfig, options: EngineClientOptions = {}) {
    this.sinkPorts = options.sinkPorts;
    this.callTimeoutMs = options.callTimeoutMs ?? 10_000;
    this.stallMs = options.stallMs ?? 30_000;
    this.log = options.log ?? ((line) => console.error(line));
    this.capacity = config.maxFlows ?? 1_000_000;
  }

  /**
   * Spawns the Worker; resolves once the capture is open, rejects with the capture's typed
   * error (or EngineStartError) when it cannot start.
   */
  start(): Promise<void> {
    this.stopping = false;
    this.watchdog ??= setInterval(() => this.checkStall(), Math.min(1000, this.stallMs / 2));
    this.trace?.startLagSampler();
    return this.spawn().catch(async (e: unknown) => {
      await this.stop();
      throw e;
    });
  }

  private spawn(): Promise<void> {
    // In the compiled binary this module is bundled into the entry (root /$bunfs/root/) and the
    // Worker is its own entry point at worker/engine-worker.ts (see the build script).
    const compiled = import.meta.url.includes("$bunfs");
    const w = new Worker(compiled ? "./worker/engine-worker.ts" : new URL("./engine-worker.ts", import.meta.url).href);
    this.worker = w;
    this.workerStartedAt = Date.now();
    this.lastMessageAt = Date.now();
    let lastError = "";
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (err?: Error) => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve();
      };
      w.addEventListener("error", (ev) => {
        lastError = ev.message || "uncaught error";
      });
      w.addEventListener("close", (ev) => {
        const code = (ev as CloseEvent & { code?: number }).code;
        const cause = lastError !== "" ? lastError : `exit code ${code ?? "unknown"}`;
        if (!settled) settle(new EngineStartError(`engine worker ended before the capture started (${cause})`, "WorkerExit"));
        this.workerExited(w, cause);
      });
      w.onmessage = (ev: MessageEvent<FromWorker>) => {
        const m = ev.data;
        this.lastMessageAt = Date.now();
        if (m.type === "ready") {
          this.downCause = null;
          this.started = true;
          settle();
        } else if (m.type === "start-failed") {
          settle(reviveError(m.error));
        } else if (m.type === "tick") {
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
        } else if (m.type === "fault") {
          this.recordFault(m.where, `${m.error.name}: ${m.error.message}`, m.error.stack ?? m.error.message);
        }
      };
      const testFault = process.env.FLOWMATRIX_TEST_ENGINE_FAULT;
      const sinks = this.sinkPorts?.() ?? [];
      const init: ToWorker = { type: "init", config: this.config, generation: this.generation, ...(testFault ? { testFault } : {}), ...(sinks.length ? { sinks } : {}) };
      w.postMessage(init, sinks.map((s) => s.port));
    });
  }

  /** Counts a fault, keeps it as the last one and logs it (at most once per LOG_EVERY_MS per place). */
  private recordFault(where: string, message: string, detail: string): void {
    this.faults++;
    this.lastFault = { where, message, at: new Date().toISOString() };
    const now = Date.now();
    const seen = this.logged.get(where);
    if (seen && now - seen.at < LOG_EVERY_MS) {
      seen.suppressed++;
      return;
    }
    const more = seen && seen.suppressed > 0 ? ` (${seen.suppressed} more in ${where} not logged)` : "";
    this.logged.set(where, { at: now, suppressed: 0 });
    this.log(`flowmatrix: engine fault in ${where}${more}: ${detail}`);
  }

  /** The Worker ended: unless we stopped it, fail what is pending and start a new one. */
  private workerExited(w: Worker, cause: string): void {
    if (this.worker !== w || this.stopping) return;
    this.worker = null;
    if (!this.started) return; // start() rejects (see spawn)
    if (Date.now() - this.workerStartedAt > 60_000) this.restartBackoff = RESTART_MIN_MS;
    const delay = this.restartBackoff;
    this.restartBackoff = Math.min(this.restartBackoff * 2, RESTART_MAX_MS);
    this.downCause = `engine worker died (${cause})`;
    this.recordFault("worker", this.downCause, `${this.downCause}; restarting in ${(delay / 1000).toFixed(1)} s`);
    this.failPending(new EngineCallError("Unavailable", `${this.downCause}; restarting`));
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopping) return;
      this.generation++;
      this.restarts++;
      this.spawn().then(
        () => this.log(`flowmatrix: engine worker restarted (restart ${this.restarts})`),
        (e: Error) => this.log(`flowmatrix: engine worker restart failed: ${e.message}`),
      );
    }, delay);
  }

  /** A running Worker that has posted nothing for stallMs is stuck: end it (then restarted). */
  private checkStall(): void {
    const w = this.worker;
    if (!w || this.stopping || this.downCause !== null) return;
    const silent = Date.now() - this.lastMessageAt;
    if (silent < this.stallMs) return;
    w.terminate();
    this.workerExited(w, `stuck: nothing from it for ${(silent / 1000).toFixed(1)} s`);
  }

  private failPending(e: EngineCallError): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
  }

  /** The Worker's own state, faults and restarts. */
  health(): EngineHealth {
    return {
      state: this.stopping ? "stopped" : this.downCause !== null ? "restarting" : "running",
      faults: this.faults,
      restarts: this.restarts,
      last_fault: this.lastFault,
    };
  }

  /** Why calls fail right now (the Worker died and is being restarted), null when it runs. */
  get unavailable(): string | null {
    return this.downCause;
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

  /** One call of the map (calls.ts), typed by it; rejects with an EngineCallError. */
  call<K extends CallName>(method: K, params: CallParams<K>): Promise<CallResult<K>> {
    if (this.downCause !== null || !this.worker) {
      const why = this.downCause ?? (this.stopping ? "engine stopped" : "engine not started");
      return Promise.reject(new EngineCallError("Unavailable", this.downCause ? `${why}; restarting` : why));
    }
    const id = this.nextId++;
    const trace = this.trace;
    if (trace) {
      const t0 = nowMs();
      const p = this.callOnce(id, method, params);
      const end = () => trace.add(`post:${method}`, id, t0, nowMs());
      p.then(end, end);
      return p;
    }
    return this.callOnce(id, method, params);
  }

  private callOnce<K extends CallName>(id: number, method: K, params: CallParams<K>): Promise<CallResult<K>> {
    return new Promise<CallResult<K>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        const e = new EngineCallError("Timeout", `engine did not answer ${method} within ${this.callTimeoutMs} ms`);
        this.recordFault("call timeout", e.message, e.message);
        reject(e);
      }, this.callTimeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.post({ type: "call", id, method, params } as ToWorker);
    });
  }

  async status(): Promise<EngineStatus> {
    const s = await this.call("status", {});
    this.capacity = s.capacity;
    return s;
  }

  /**
   * status(), or when the engine cannot answer (restarting, timeout), the capture status and
   * counters of the last tick, with the reason it could not answer.
   */
  async statusOrLast(): Promise<{ status: EngineStatus; unavailable: string | null }> {
    try {
      return { status: await this.status(), unavailable: null };
    } catch (err) {
      if (!(err instanceof EngineCallError) || err.kind === "QueryError") throw err;
      const t = this.last;
      const c = this.config.source;
      const capture: CaptureStatus = t?.capture ?? {
        interface: c.kind === "live" ? c.interface : c.kind === "file" ? c.path : "", source: c.kind, state: "down", error: err.message, linktype: null,
        packets: 0, received: 0, dropped: 0, if_dropped: 0, drop_rate: 0, dropped_last: 0, reopens: 0,
      };
      const stats: EngineStats = t?.stats ?? {
        packets: 0, bytes: 0, ip_packets: 0, ip_bytes: 0, non_ip_packets: 0, malformed: {}, malformed_packets: 0,
        flows: 0, active_flows: 0, ended_flows: 0, evicted: 0, table_bytes: 0, table_slots: 0, linktypes: {},
      };
      return {
        status: { capture, stats, capacity: this.capacity, now: t?.now ?? Date.now() / 1000, sinks: [], exports: { open: 0, queued: 0 } },
        unavailable: err.message,
      };
    }
  }

  /** Stops the capture and terminates the Worker. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.trace?.stop();
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const w = this.worker;
    this.worker = null;
    if (w) {
      await new Promise<void>((resolve) => {
        // The Worker ends every live flow (reason shutdown) and flushes its sinks before "stopped".
        const t = setTimeout(resolve, 5000);
        w.addEventListener("message", (ev: MessageEvent<FromWorker>) => {
          if (ev.data.type === "stopped") {
            clearTimeout(t);
            resolve();
          }
        });
        w.addEventListener("close", () => {
          clearTimeout(t);
          resolve();
        });
        w.postMessage({ type: "stop" } satisfies ToWorker);
      });
      w.terminate();
    }
    this.failPending(new EngineCallError("Stopped", "engine stopped"));
  }
}
