/**
 * Call tracing: where an engine call spends its time (bench instrumentation, see
 * bench/api-export-load.ts --trace). Off unless FLOWMATRIX_CALL_TRACE=1 is in the environment when
 * the server starts (the engine Worker inherits it); off, it costs one boolean test per call.
 *
 * Spans are [kind, id, start, end, cpu] with times in ms since the epoch (performance.timeOrigin +
 * performance.now()), comparable between the threads of one process to well under a millisecond,
 * and `cpu` the CPU time (ms, user + system) this thread got during the span (getrusage per thread
 * through process.threadCpuUsage, ~1 µs a call): cpu ≈ end − start is a busy thread (our code or
 * its GC), cpu ≪ end − start a thread that was runnable but not running (the machine's other work).
 * Each thread keeps its own ring of SPAN_CAP spans (4 doubles + a kind string each, ≈ 2 MiB);
 * `drain()` hands them over and empties the ring.
 *
 * Kinds: engine side `call:<method>` (a handler's run; id = the call's id), `bulk` (one export
 * turn), `slice:<function name>` (one scheduled slice of the per-second table work — FlowEngine's
 * pump — or of scan detection), `slice:summary` / `slice:summary-post` (one 2 ms turn of the
 * per-second summary; the last one posts it), `tick:advance` (the clock advanced, capture status),
 * `tick:summary` (the summary started: its first piece), `tick:skipped` (no summary started: the
 * previous one is still being built), `lag` (the event loop
 * late by more than LAG_MS on a 1 ms timer: the thread was busy or not scheduled); server side
 * `post:<method>` (from the call's postMessage to its reply arriving) and `lag`.
 */
export const TRACE_ON = typeof process !== "undefined" && process.env.FLOWMATRIX_CALL_TRACE === "1";

/** Wall-clock ms, sub-ms resolution, comparable across threads. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

export type Span = [kind: string, id: number, start: number, end: number, cpu: number];

/** This thread's CPU time so far, ms. */
export function cpuMs(): number {
  const u = (process as unknown as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage?.();
  return u ? (u.user + u.system) / 1000 : 0;
}

const SPAN_CAP = 50_000;
/** A timer tick this late (ms) is recorded as `lag`. */
const LAG_MS = 3;

export class SpanRing {
  private spans: Span[] = [];
  private lagTimer: ReturnType<typeof setInterval> | null = null;

  add(kind: string, id: number, start: number, end: number, cpu = 0): void {
    if (this.spans.length >= SPAN_CAP) this.spans.splice(0, SPAN_CAP / 2);
    this.spans.push([kind, id, start, end, cpu]);
  }

  /** The spans so far, oldest first; the ring is emptied. */
  drain(): Span[] {
    const s = this.spans;
    this.spans = [];
    return s;
  }

  /** Records `lag` spans: a 1 ms interval timer that fires late (costs ~1000 wake-ups/s: tracing only). */
  startLagSampler(): void {
    if (this.lagTimer) return;
    let last = nowMs(), lastCpu = cpuMs();
    this.lagTimer = setInterval(() => {
      const t = nowMs(), c = cpuMs();
      if (t - last > 1 + LAG_MS) this.add("lag", 0, last + 1, t, c - lastCpu);
      last = t;
      lastCpu = c;
    }, 1);
    (this.lagTimer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    if (this.lagTimer) clearInterval(this.lagTimer);
    this.lagTimer = null;
  }
}
