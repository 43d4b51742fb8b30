/**
 * EngineHost: the engine as a component — the packet source (CaptureRunner), the FlowEngine it
 * feeds, the per-second summary, the ended-flow sinks and the handlers of the call map. The
 * engine Worker (engine-worker.ts) is a thin adapter around one host; tests drive a host directly.
 *
 * Scheduling: the Worker has one thread. Interactive calls (flows, flow, talkers, bandwidth,
 * status) are answered as they arrive. Bulk work — an export's snapshot and its pages — runs in
 * turns of about BULK_TURN_MS (steps of EXPORT_SLICE_SLOTS slots or EXPORT_SLICE_ROWS rows, each
 * well under a millisecond on a quiet machine, until the turn's time is up) scheduled with
 * setImmediate, round robin between exports, so a query arriving meanwhile waits at most one
 * turn, never a whole export. Export pages leave as raw rows (ExportRows: the slots copied, plus
 * extras); records and text are made on the server thread, so an export costs this thread a copy
 * per row. The per-second work is sliced too: the engine's tick job (rates, talkers, expiry;
 * FlowEngine's slices of TICK_SLICE_MS) and the summary (tick-summary.ts: its per-flow pass in
 * turns of SUMMARY_TURN_MS, then one turn for talkers, apps, scans and the post). The summary's
 * pass waits until the tick job's slices are done (`pumpsPending`; at most SUMMARY_WAIT_MS), so it
 * reads the rates of the second that job closed, as a summary built at once after the job would.
 * A tick that finds the previous summary still unfinished starts none (a starved thread posts
 * fewer summaries rather than building one at once).
 *
 * Faults: an exception in the tick, a timer or the packet path is reported through `onFault`
 * (the Worker posts it; the server logs and counts it) and the host goes on.
 *
 * Shape shared by every component: a config, start(), stop().
 */
import { CaptureRunner } from "../capture/capture-runner.ts";
import { FlowEngine } from "../flows/engine.ts";
import { ExportCursor, ExportRows } from "../flows/query/export-cursor.ts";
import { compileScan } from "../flows/query/query-compile.ts";
import { toRecord, type FlowRecord } from "../flows/format/record.ts";
import { selectFlows } from "../flows/query/select.ts";
import type { EndedFlowSink } from "../flows/sinks.ts";
import { IpfixSink } from "../export/ipfix-sink.ts";
import { NetflowCollector } from "../collect/collector.ts";
import { FlowAnnotator } from "../l7/annotate.ts";
import type { CallMessage, EngineHandlers, ExportPage } from "./calls.ts";
import { cpuMs, nowMs, SpanRing, TRACE_ON } from "./call-trace.ts";
import type { EngineConfig, TickSummary } from "./protocol.ts";
import { bandwidth, SUMMARY_TURN_MS, SUMMARY_WAIT_MS, TickSummaryBuilder, type SummaryJob } from "./tick-summary.ts";

export interface EngineHostConfig {
  engine: EngineConfig;
  /** Ended-flow sinks (history store, exporters). */
  sinks?: EndedFlowSink[];
  /** A host started again after its Worker died: the capture's start is not reported. */
  restart?: boolean;
  onStart?: (err?: Error) => void;
  onTick?: (s: TickSummary) => void;
  onFatal?: (e: Error) => void;
  onFault?: (where: string, err: unknown) => void;
  /** Per-second summary interval, ms (default 1000). */
  tickMs?: number;
  /** EXPORT_CALL_BUDGET_MS unless set. */
  exportCallBudgetMs?: number;
}

/** Export snapshot work per step (flow slots scanned) and page work per step (rows copied). */
export const EXPORT_SLICE_SLOTS = 8_192;
export const EXPORT_SLICE_ROWS = 500;
/** Rows per export page at most, whatever the caller asks (≈ 104 B each plus extras): the caller asks again. */
export const EXPORT_PAGE_MAX = 16_384;
/** Bulk work per turn, ms: steps run until this much time has passed, then the event loop answers what arrived. */
export const BULK_TURN_MS = 1;
/** An export cursor not read for this long is closed (its client went away). */
export const EXPORT_IDLE_MS = 60_000;
/**
 * An export call still at work after this long answers anyway, before the server gives up on the
 * call (its call timeout is 10 s): exportNext with the rows built so far (the stream asks again),
 * exportOpen with a Timeout error (the server answers 503) and its cursor dropped. So a Worker
 * starved by a live capture never goes on taking snapshots for callers that are gone.
 */
export const EXPORT_CALL_BUDGET_MS = 8_000;

/** A slice of bulk work: true when the job is complete; `fail` answers its caller when it throws. */
interface BulkJob {
  run: () => boolean;
  fail: (err: unknown) => void;
}

export class EngineHost {
  readonly engine: FlowEngine;
  readonly capture: CaptureRunner;
  readonly handlers: EngineHandlers;
  private readonly summary: TickSummaryBuilder;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly exports = new Map<number, ExportCursor>();
  private nextCursor = 1;
  private readonly bulk: BulkJob[] = [];
  private bulkScheduled = false;
  private stopped = false;
  /** How long an export call may work before it answers anyway (see EXPORT_CALL_BUDGET_MS). */
  exportCallBudgetMs: number;
  private readonly ipfix: IpfixSink | null;
  /** --collect-netflow: decoded flow records go straight into the table (FlowTable.addRecord). */
  readonly collector: NetflowCollector | null;
  readonly annotator: FlowAnnotator;
  /** Call tracing (FLOWMATRIX_CALL_TRACE=1, call-trace.ts), else null. */
  private readonly trace: SpanRing | null = TRACE_ON ? new SpanRing() : null;
  /** The engine's tick-job slices scheduled and not yet run (the summary's pass waits for 0). */
  private pumpsPending = 0;
  /** The summary being built in turns since the last tick (null: none), and whether its next turn is scheduled. */
  private summaryJob: SummaryJob | null = null;
  private summaryScheduled = false;
  /** The summary's per-flow pass is complete: its next turn finishes and posts it. */
  private summaryPassDone = false;
  /** Ticks that started no summary because the previous one was still being built (see tick()). */
  summariesSkipped = 0;

  constructor(private readonly config: EngineHostConfig) {
    const c = config.engine;
    this.exportCallBudgetMs = config.exportCallBudgetMs ?? EXPORT_CALL_BUDGET_MS;
    const trace = this.trace;
    // A slice of per-second work, traced as `slice:<function name>` (pump: the engine's tick job; scan).
    const run = trace
      ? (fn: () => void) => {
        const t0 = nowMs(), c0 = cpuMs();
        try {
          fn();
        } finally {
          trace.add(`slice:${fn.name || "anonymous"}`, 0, t0, nowMs(), cpuMs() - c0);
        }
      }
      : (fn: () => void) => fn();
    const schedule = (fn: () => void) => void setImmediate(() => run(fn));
    // The engine's tick job: counted, so the summary's pass starts once its last slice has run.
    const schedulePump = (fn: () => void) => {
      this.pumpsPending++;
      setImmediate(() => {
        this.pumpsPending--;
        run(fn);
        this.resumeSummary();
      });
    };
    // --export-ipfix: only the batches are posted from here; encoding and sends run in the exporter's
    // own Worker (bounded queue: a batch beyond it is dropped and counted, never waited for; IpfixSink).
    this.ipfix = c.exportIpfix ? new IpfixSink(c.exportIpfix) : null;
    this.ipfix?.open().catch((err) => config.onFault?.("ipfix export", err));
    const sinks = this.ipfix ? [...(config.sinks ?? []), this.ipfix] : config.sinks;
    this.engine = new FlowEngine({
      maxFlows: c.maxFlows, idleTimeout: c.idleTimeout, activeTimeout: c.activeTimeout, recentEnded: c.recentEnded,
      firstFlowId: c.firstFlowId, talkers: true, schedule: schedulePump, sinks,
    });
    // App, server names, passive DNS, country and AS (src/l7): the inspector is the packet hook,
    // records and queries read the extras through the resolver; released after the readers.
    this.annotator = new FlowAnnotator(this.engine, { geoipDb: c.geoipDb, asnDb: c.asnDb });
    this.collector = c.collect
      ? new NetflowCollector({
        ...c.collect,
        onFlow: (f, origin) => {
          const e = this.engine;
          e.table.addRecord(f, origin);
          e.totals.flowRecord(f.bytes + f.rbytes, f.packets + f.rpackets, f.proto);
        },
      })
      : null;
    this.capture = new CaptureRunner({
      source: c.source, filter: c.filter, sink: this.engine, restart: config.restart,
      onStart: config.onStart, onFatal: config.onFatal, onFault: config.onFault,
      onFinished: () => this.engine.advance(Math.min(this.engine.now + 1, Date.now() / 1000)), // never ahead of the wall clock
    });
    // Top applications and annotated talkers in the per-second summary (tick-summary.ts).
    this.summary = new TickSummaryBuilder(this.engine, schedule, { l7: this.annotator.inspector, geo: this.annotator.geo });
    this.handlers = this.makeHandlers();
    this.annotator.attach();
  }

  /** Starts the capture and the one-second summary; resolves when the capture ends. */
  async start(): Promise<void> {
    // Live traffic (and collected flows) name global addresses within seconds: load the country and
    // AS databases before the capture starts rather than at the first lookup, on the packet loop.
    if (this.config.engine.source.kind === "live" || this.collector) this.annotator.geo?.warm();
    if (this.collector) {
      // The collector's socket is bound before the capture starts: a port in use is a start failure.
      try {
        await this.collector.start();
      } catch (err) {
        if (this.config.restart) this.config.onFault?.("collector", err);
        else this.config.onStart?.(err as Error);
        return;
      }
    }
    this.timer = setInterval(() => this.tick(), this.config.tickMs ?? 1000);
    this.trace?.startLagSampler();
    return this.capture.start().catch((err) => this.config.onFault?.("capture", err));
  }

  /** Stops the capture; every live flow is ended (reason shutdown) and handed to the sinks. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.capture.stop();
    this.collector?.stop();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.trace?.stop();
    this.summaryJob = null;
    this.exports.clear();
    await this.engine.shutdown();
    this.annotator.detach();
  }

  /** Answers one call of the map (a QueryError or a handler's exception rejects). */
  call(m: CallMessage): unknown {
    const h = this.handlers[m.method] as (p: unknown) => unknown;
    if (!this.trace) return h(m.params);
    const t0 = nowMs(), c0 = cpuMs();
    try {
      return h(m.params);
    } finally {
      this.trace.add(`call:${m.method}`, m.id, t0, nowMs(), cpuMs() - c0);
    }
  }

  /**
   * The per-second work: advance the clock, refresh the capture status, start the summary. The
   * summary's pass over the table (bench/api-live.ts --trace, 1 M live flows under a 200 kpps
   * capture: 36-43 ms of CPU in one piece when it was built here at once) runs in turns between
   * calls (summaryTurn) once the engine's tick job is done; the last turn posts it.
   */
  tick(): void {
    const t0 = this.trace ? nowMs() : 0, c0 = this.trace ? cpuMs() : 0;
    try {
      const e = this.engine;
      const kind = this.config.engine.source.kind;
      // Live capture, and a collector alone, run on the wall clock.
      if (kind === "live" || (kind === "none" && this.collector)) e.advance(Date.now() / 1000);
      else {
        const clock = this.capture.replayClock();
        if (clock !== null) e.advance(clock);
      }
      const status = this.capture.tick();
      this.collector?.tick();
      this.closeIdleExports();
      const t1 = this.trace ? nowMs() : 0, c1 = this.trace ? cpuMs() : 0;
      this.trace?.add("tick:advance", 0, t0, t1, c1 - c0);
      if (this.summaryJob !== null) {
        // The previous summary is still being built a second later (a thread starved of CPU): it goes
        // on in turns and is posted when done; this tick starts none (building it at once would hold
        // every call behind a pass over the table, which is what the turns are for).
        this.summariesSkipped++;
        this.trace?.add("tick:skipped", 0, t1, nowMs(), 0);
      } else {
        this.summaryJob = this.summary.start(status, this.capture.replayPosition());
        this.summaryPassDone = false;
        this.trace?.add("tick:summary", 0, t1, this.trace ? nowMs() : 0, this.trace ? cpuMs() - c1 : 0);
      }
      this.resumeSummary();
    } catch (err) {
      this.summaryJob = null;
      this.config.onFault?.("tick", err);
    }
  }

  /** Whether the summary waits: the engine's tick job still has slices to run (for at most SUMMARY_WAIT_MS). */
  private summaryWaits(job: SummaryJob): boolean {
    return this.pumpsPending > 0 && performance.now() - job.startedAt < SUMMARY_WAIT_MS;
  }

  /** Schedules the summary's next turn, unless one is scheduled or it waits for the engine's tick job. */
  private resumeSummary(): void {
    if (this.summaryJob === null || this.summaryScheduled || this.summaryWaits(this.summaryJob)) return;
    this.summaryScheduled = true;
    setImmediate(this.summaryTurn);
  }

  /**
   * One turn of the summary: steps of its per-flow pass until SUMMARY_TURN_MS has passed; the turn
   * after the pass is complete finishes it (talkers, apps, scans) and posts it.
   */
  private readonly summaryTurn = (): void => {
    this.summaryScheduled = false;
    const job = this.summaryJob;
    if (job === null || this.summaryWaits(job)) return; // none, or resumed after the tick job's slices
    const t0 = performance.now(), c0 = this.trace ? cpuMs() : 0;
    let posted = false;
    try {
      if (!this.summaryPassDone) {
        let done: boolean;
        do done = this.summary.step(job);
        while (!done && performance.now() - t0 < SUMMARY_TURN_MS);
        this.summaryPassDone = done;
      } else if (this.summary.step(job, 0)) {
        // Still complete (step(job, 0) restarts the pass if a second closed since, or sees new slots): finish and post.
        this.summaryJob = null;
        posted = true;
        this.config.onTick?.(this.summary.finish(job));
      } else this.summaryPassDone = false;
    } catch (err) {
      this.summaryJob = null;
      this.config.onFault?.("tick", err);
    }
    this.trace?.add(posted ? "slice:summary-post" : "slice:summary", 0, performance.timeOrigin + t0, nowMs(), this.trace ? cpuMs() - c0 : 0);
    this.resumeSummary();
  };

  private makeHandlers(): EngineHandlers {
    const e = this.engine;
    return {
      flows: (q) => selectFlows(e.table, e.recent, compileScan(q.query), q),
      flow: ({ id }) => this.findFlow(id),
      talkers: ({ by, window, limit }) => e.talkers?.top(by, window, limit, e.now) ?? [],
      bandwidth: ({ duration, maxPoints }) => bandwidth(e, duration, maxPoints),
      status: () => ({
        capture: { ...this.capture.refresh() },
        stats: e.stats(),
        capacity: e.table.maxFlows,
        now: e.now,
        sinks: e.sinkStats(),
        exports: { open: this.exports.size, queued: this.bulk.length },
        exporters: this.ipfix ? [this.ipfix.stats()] : [],
        collector: this.collector?.stats() ?? null,
      }),
      exportOpen: ({ query }) => {
        const id = this.nextCursor++;
        const cur = new ExportCursor(e.table, e.recent, compileScan(query.query), query);
        this.exports.set(id, cur);
        const t0 = Date.now(), budget = this.exportCallBudgetMs;
        return new Promise((resolve, reject) => {
          this.enqueue(() => {
            if (!this.exports.has(id)) {
              reject(new RangeError(`export cursor ${id} was closed before its snapshot was taken`));
              return true;
            }
            if (cur.step(EXPORT_SLICE_SLOTS)) {
              resolve({ cursor: id, total: cur.size });
              return true;
            }
            if (Date.now() - t0 <= budget) return false;
            this.exports.delete(id);
            const err = new Error(`the export's snapshot was not taken within ${budget} ms (the engine is busy); try again`);
            err.name = "Timeout";
            reject(err);
            return true;
          }, (err) => {
            this.exports.delete(id);
            reject(err);
          });
        });
      },
      exportNext: ({ cursor, max }) => {
        const cur = this.exports.get(cursor);
        if (!cur) throw new RangeError(`export cursor ${cursor} is closed or unknown`);
        const rows = new ExportRows(Math.max(1, Math.min(max, EXPORT_PAGE_MAX)));
        const t0 = Date.now(), budget = this.exportCallBudgetMs;
        return new Promise<ExportPage>((resolve, reject) => {
          this.enqueue(() => {
            if (this.exports.get(cursor) !== cur) {
              resolve({ rows: rows.batch(), done: true });
              return true;
            }
            cur.nextBatch(Math.min(EXPORT_SLICE_ROWS, rows.limit - rows.count), rows);
            if (!rows.full && !cur.done && !(rows.count > 0 && Date.now() - t0 > budget)) return false;
            if (cur.done) this.exports.delete(cursor);
            resolve({ rows: rows.batch(), done: cur.done });
            return true;
          }, (err) => {
            this.exports.delete(cursor);
            reject(err);
          });
        });
      },
      exportClose: ({ cursor }) => this.exports.delete(cursor),
      trace: () => this.trace?.drain() ?? [],
    };
  }

  private findFlow(id: number): FlowRecord | null {
    const e = this.engine;
    const i = e.table.findById(id);
    if (i >= 0) return toRecord(e.table.cols, i);
    const j = e.recent.findById(id);
    return j >= 0 ? toRecord(e.recent.cols, j) : null;
  }

  private closeIdleExports(): void {
    const now = Date.now();
    for (const [id, cur] of this.exports) if (now - cur.lastUsed > EXPORT_IDLE_MS) this.exports.delete(id);
  }

  /** Bulk work: one turn (BULK_TURN_MS of steps) per job in turn, each in its own setImmediate. */
  private enqueue(run: () => boolean, fail: (err: unknown) => void): void {
    this.bulk.push({ run, fail });
    this.scheduleBulk();
  }

  private scheduleBulk(): void {
    if (this.bulkScheduled || this.bulk.length === 0) return;
    this.bulkScheduled = true;
    setImmediate(() => {
      this.bulkScheduled = false;
      const job = this.bulk.shift();
      if (!job) return;
      let done = true;
      const t0 = performance.now(), c0 = this.trace ? cpuMs() : 0;
      try {
        do done = job.run();
        while (!done && performance.now() - t0 < BULK_TURN_MS);
      } catch (err) {
        done = true; // a job that threw has answered its caller (fail) and is dropped, whatever its earlier steps said
        this.config.onFault?.("export", err);
        job.fail(err);
      }
      this.trace?.add("bulk", 0, performance.timeOrigin + t0, nowMs(), this.trace ? cpuMs() - c0 : 0);
      if (!done) this.bulk.push(job);
      this.scheduleBulk();
    });
  }
}
