/**
 * StoreClient: the main-thread side of the store Worker (store-worker.ts). Component shape:
 * config, start(), stop().
 *
 * - `insert(key, rec, count)` is fire-and-forget: the two buffers are transferred to the Worker
 *   (not copied; the caller's views are detached afterwards). At most `maxInFlight` batches are
 *   in flight; a batch arriving while that many are unacknowledged is dropped and counted
 *   (`dropped`): a slow disk never blocks the caller.
 * - `call(method, params)` (and the typed wrappers) answer through a promise with a timeout;
 *   the method map is StoreCalls (store-protocol.ts).
 * - `attachSink(port)` hands the Worker one end of a MessageChannel whose other end goes to an
 *   engine Worker's PortSink: ended flows then go engine → store directly (see store-worker.ts);
 *   the PortSink's bound, not `maxInFlight`, limits them, and its drops are the sink's.
 * - `stop()` lets the Worker finish what was posted before it (inserts included) and what the
 *   current sink port carries up to its end, closes the database and ends the Worker.
 * Limits: a Worker that dies is not restarted: pending calls are rejected, later calls reject at
 * once and inserts are dropped (counted); status() then reports degraded.
 */
import type { FlowRecord } from "../flows/format/record.ts";
import type { SeriesRange } from "../metrics/ring.ts";
import type { Alert } from "../alerts/alert.ts";
import type { AlertEvent, AlertEventKind, AlertQuery } from "./alert-log.ts";
import type { FlowPage, StoredFlowQuery } from "./flow-query.ts";
import type { StoreStatus } from "./flow-store.ts";
import type { TrafficSample } from "./series.ts";
import type { FromStoreWorker, StoreMethod, StoreParams, StoreResult, StoreWorkerConfig, ToStoreWorker } from "./store-protocol.ts";

export interface StoreClientConfig extends StoreWorkerConfig {
  /** Insert batches posted but not yet written, at most (default 8). */
  maxInFlight?: number;
  /** Call timeout (default 30,000 ms). */
  callTimeoutMs?: number;
}

export class StoreCallError extends Error {
  override readonly name = "StoreCallError";
  constructor(message: string, readonly kind: string) {
    super(message);
  }
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> };

export class StoreClient {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly maxInFlight: number;
  private readonly callTimeoutMs: number;
  private stopped: (() => void) | null = null;
  private dead: string | null = null;
  /** Insert batches posted and not yet acknowledged. */
  inFlight = 0;
  /** Flows handed to insert() / acknowledged as written by the Worker / dropped on this side. */
  offered = 0;
  written = 0;
  dropped = 0;

  constructor(readonly config: StoreClientConfig) {
    this.maxInFlight = Math.max(1, config.maxInFlight ?? 8);
    this.callTimeoutMs = config.callTimeoutMs ?? 30_000;
  }

  /** Starts the Worker; resolves once the store is open (or degraded: see status()). */
  start(): Promise<void> {
    if (this.worker) return Promise.resolve();
    // In a compiled binary the Worker must be its own entry point (as the engine Worker).
    const compiled = import.meta.url.includes("$bunfs");
    const w = new Worker(compiled ? "./store/store-worker.ts" : new URL("./store-worker.ts", import.meta.url).href);
    this.worker = w;
    this.dead = null;
    const { maxInFlight: _m, callTimeoutMs: _c, ...storeConfig } = this.config;
    return new Promise((resolve, reject) => {
      let ready = false;
      w.addEventListener("error", (ev) => {
        if (!ready) reject(new StoreCallError(`store worker failed to start: ${ev.message}`, "WorkerError"));
      });
      w.addEventListener("close", () => this.exited(w));
      w.onmessage = (ev: MessageEvent<FromStoreWorker>) => {
        const m = ev.data;
        if (m.type === "ready") {
          ready = true;
          resolve();
        } else if (m.type === "inserted") {
          this.inFlight--;
          this.written += m.stored;
        } else if (m.type === "reply") {
          const p = this.pending.get(m.id);
          if (!p) return;
          this.pending.delete(m.id);
          clearTimeout(p.timer);
          if (m.error) p.reject(new StoreCallError(m.error.message, m.error.name));
          else p.resolve(m.result);
        } else if (m.type === "stopped") {
          this.stopped?.();
        }
      };
      this.post({ type: "init", config: storeConfig });
    });
  }

  private exited(w: Worker): void {
    if (this.worker !== w) return;
    this.worker = null;
    this.dead = "store worker ended";
    this.inFlight = 0;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new StoreCallError(this.dead, "Unavailable"));
    }
    this.pending.clear();
    this.stopped?.();
  }

  private post(m: ToStoreWorker, transfer: Transferable[] = []): void {
    this.worker!.postMessage(m, transfer);
  }

  /**
   * Hands `count` ended flows (flow table layout) to the Worker; returns false when the batch was
   * dropped (queue full, Worker not running). Ownership of both buffers passes to the Worker.
   * `force` skips the in-flight bound (the final flush at shutdown: every batch is kept, the
   * Worker writes them in order before it stops).
   */
  insert(key: Int32Array, rec: ArrayBuffer, count: number, force = false): boolean {
    this.offered += count;
    if (!this.worker || (!force && this.inFlight >= this.maxInFlight)) {
      this.dropped += count;
      return false;
    }
    this.inFlight++;
    const transfer: Transferable[] = [rec];
    if (key.buffer !== rec) transfer.push(key.buffer as ArrayBuffer);
    this.post({ type: "insert", key, rec, count }, transfer);
    return true;
  }

  /** Transfers `port` to the Worker as a sink port (closed at once when the Worker is not running). */
  attachSink(port: MessagePort): boolean {
    if (!this.worker) {
      port.close();
      return false;
    }
    this.post({ type: "sink", port }, [port]);
    return true;
  }

  call<M extends StoreMethod>(method: M, params: StoreParams<M>): Promise<StoreResult<M>> {
    if (!this.worker) return Promise.reject(new StoreCallError(this.dead ?? "store not started", "Unavailable"));
    const id = this.nextId++;
    return new Promise<StoreResult<M>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new StoreCallError(`store call ${method} timed out after ${this.callTimeoutMs} ms`, "Timeout"));
      }, this.callTimeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.post({ type: "call", id, method, params } as ToStoreWorker);
    });
  }

  queryFlows(q: StoredFlowQuery): Promise<FlowPage> {
    return this.call("queryFlows", q);
  }
  findFlow(id: number): Promise<FlowRecord | null> {
    return this.call("findFlow", { id });
  }
  maxFlowId(): Promise<number> {
    return this.call("maxFlowId", {});
  }
  reserveFlowIds(upTo: number): Promise<boolean> {
    return this.call("reserveFlowIds", { upTo });
  }
  trafficHistory(fromSec: number, toSec: number, maxPoints?: number): Promise<SeriesRange> {
    return this.call("trafficHistory", { fromSec, toSec, maxPoints });
  }
  metricsHistory(fromSec: number, toSec: number, maxPoints?: number): Promise<SeriesRange> {
    return this.call("metricsHistory", { fromSec, toSec, maxPoints });
  }
  alerts(q: AlertQuery = {}): Promise<AlertEvent[]> {
    return this.call("alerts", q);
  }
  /** Fire-and-forget writes (errors are counted in the store's status). */
  addTraffic(s: TrafficSample): void {
    if (this.worker) void this.call("addTraffic", s).catch(() => {});
  }
  addMetrics(t: number, values: Record<string, number>): void {
    if (this.worker) void this.call("addMetrics", { t, values }).catch(() => {});
  }
  addAlertEvent(event: AlertEventKind, alert: Alert, atMs = Date.now()): void {
    if (this.worker) void this.call("addAlertEvent", { event, alert, atMs }).catch(() => {});
  }

  /** The store's status with this side's queue drops added to `dropped`; degraded when the Worker is gone. */
  async status(): Promise<StoreStatus> {
    if (!this.worker) {
      return {
        state: "degraded", reason: this.dead ?? "store not started", flows: 0, bytes: 0, oldest: null,
        inserted: this.written, dropped: this.dropped, errors: 0,
      };
    }
    const s = await this.call("status", {});
    return { ...s, dropped: s.dropped + this.dropped };
  }

  /**
   * Finishes the posted work (and the sink port's), closes the database and ends the Worker. With
   * `reserveFlowIds`, the id reservation is lowered to it (or to the highest id the sink ports
   * carried, when higher) just before the database closes.
   */
  async stop(opts: { reserveFlowIds?: number } = {}): Promise<void> {
    const w = this.worker;
    if (!w) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      this.stopped = () => {
        clearTimeout(timer);
        resolve();
      };
      this.post({ type: "stop", ...(opts.reserveFlowIds !== undefined ? { reserveFlowIds: opts.reserveFlowIds } : {}) });
    });
    this.stopped = null;
    this.worker = null;
    this.dead = "store stopped";
    w.terminate();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new StoreCallError("store stopped", "Unavailable"));
    }
    this.pending.clear();
  }
}
