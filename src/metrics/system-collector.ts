/**
 * SystemMetricsCollector: samples host and process metrics on a timer into a SeriesRing.
 *
 * Per tick: host CPU % (systeminformation.currentLoad), load average (os.loadavg), memory
 * (systeminformation.mem; used = total − available), this process's RSS and CPU % of one core
 * (process.cpuUsage delta / wall delta; may exceed 100 with several busy threads), the capture
 * interface (./interface-state.ts: sysfs on Linux, systeminformation.networkStats elsewhere)
 * with per-second rates from counter deltas, and `extra()` (the owner's figures: capture drops,
 * bps, pps, active flows …) — all into one history.
 *
 * Cost: nothing in a tick blocks the event loop for long. Host CPU comes from /proc/stat read
 * asynchronously (./cpu-load.ts) — systeminformation.currentLoad, used before, ran
 * `cat /proc/stat | grep cpu` through execSync and blocked the loop 4–8 ms per tick; it remains
 * the fallback where /proc/stat is missing. Measured with `bun bench/collector-block.ts` (Linux,
 * 2-CPU VM): the longest event-loop stall during a whole tick is 1.1 ms median (the probe timer's
 * resolution), against 3.9 ms median / 8.5 ms max for currentLoad alone.
 *
 * Limits:
 * - The first sample starts at start() but takes ≈ 0.2 s: the CPU counters are primed and read
 *   again 200 ms later. Its proc CPU % is the average since process start.
 * - Two samples within one kernel clock tick (10 ms) give a null CPU value for the second.
 * - Ticks are aligned to multiples of intervalMs (wall clock); a tick that runs late by more than
 *   a step leaves a gap (null). Ticks never overlap: the next is scheduled after one completes.
 * - History holds historyHours / interval steps, capped at MAX_HISTORY_STEPS (≈ 5 MB with
 *   20 series); a shorter interval therefore retains less time.
 * - Extra series names are fixed at the first sample (or by `extraNames`); keys appearing later,
 *   or clashing with built-in names, are not stored in history (still in latest().extra).
 * - Interface counters are from the host network namespace only.
 * - The timer is unref'd: it does not keep the process alive on its own.
 * Errors from systeminformation, `extra` or onSample callbacks never stop the timer; the field
 * they feed reads null for that tick and the error is kept in `lastError` (count in `errorCount`).
 */
import os from "node:os";
import si from "systeminformation";
import { SeriesRing, type SeriesRange } from "./ring.ts";
import { readInterfaceState, type InterfaceState } from "./interface-state.ts";
import { ProcStatCpu } from "./cpu-load.ts";

export interface SystemMetricsConfig {
  /** Sampling interval in ms (default 5000, minimum 50). */
  intervalMs?: number;
  /** Capture interface to watch (e.g. "eth0"); omitted = no interface figures. */
  interface?: string;
  /** History retained, in hours (default 24); see MAX_HISTORY_STEPS. */
  historyHours?: number;
  /** Owner's figures sampled at each tick into the same history. */
  extra?: () => Record<string, number>;
  /** Names of the extra series; default: the keys returned by the first extra() call. */
  extraNames?: readonly string[];
}

export interface InterfaceRates {
  rxBytesPerSec: number;
  txBytesPerSec: number;
  rxPacketsPerSec: number;
  txPacketsPerSec: number;
  /** rx + tx dropped per second. */
  dropsPerSec: number;
  /** rx + tx errors per second. */
  errorsPerSec: number;
}

export interface SystemSample {
  /** Wall clock of the sample, ms since epoch. */
  ts: number;
  cpuPercent: number | null;
  load1: number;
  load5: number;
  load15: number;
  memUsed: number | null;
  memTotal: number | null;
  procRss: number;
  procCpuPercent: number;
  iface: InterfaceState | null;
  /** null on the first sample, or when a counter went backwards (interface recreated). */
  ifaceRates: InterfaceRates | null;
  extra: Record<string, number>;
  /** Wall time this collection took, ms. */
  collectMs: number;
}

/** Built-in history series, in ring order. if_up: 1 up, 0 down, null unknown/missing. */
export const BASE_SERIES = [
  "cpu", "load1", "load5", "load15", "mem_used", "mem_total", "rss", "proc_cpu",
  "if_up", "if_rx_bytes_s", "if_tx_bytes_s", "if_rx_pps", "if_tx_pps", "if_drops_s",
  "if_errors_s", "collect_ms",
] as const;

export const MAX_HISTORY_STEPS = 20_000;

export type SampleListener = (s: SystemSample) => void;

export class SystemMetricsCollector {
  readonly intervalMs: number;
  readonly interfaceName: string | undefined;
  readonly historyHours: number;
  /** Last error caught in a tick (systeminformation, extra, listener), or null. */
  lastError: Error | null = null;
  errorCount = 0;
  private readonly extraFn: (() => Record<string, number>) | undefined;
  private extraNames: readonly string[] | undefined;
  private ring: SeriesRing | null = null;
  private last: SystemSample | null = null;
  private listeners = new Set<SampleListener>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private generation = 0;
  private running = false;
  private prevCpu: NodeJS.CpuUsage | null = null;
  private prevWall = 0;
  /** Host CPU from /proc/stat; null = not Linux, systeminformation.currentLoad instead. */
  private procCpu: ProcStatCpu | null = null;
  private procCpuChecked = false;

  constructor(config: SystemMetricsConfig = {}) {
    this.intervalMs = Math.max(50, config.intervalMs ?? 5000);
    this.interfaceName = config.interface;
    this.historyHours = config.historyHours ?? 24;
    if (!(this.historyHours > 0)) throw new RangeError("SystemMetricsCollector: historyHours must be > 0");
    this.extraFn = config.extra;
    this.extraNames = config.extraNames;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Starts sampling; resolves once the first sample (taken immediately) is stored. Never rejects. */
  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.running = true;
    const gen = ++this.generation;
    return this.primeCpu().then(() => this.tick(gen));
  }

  /** Once: choose the CPU source, and prime /proc/stat's counters 200 ms before the first sample. */
  private async primeCpu(): Promise<void> {
    if (this.procCpuChecked) return;
    this.procCpuChecked = true;
    if (!(await ProcStatCpu.available())) return;
    this.procCpu = new ProcStatCpu();
    await this.procCpu.sample().catch((e) => this.fail(e));
    await Bun.sleep(200);
  }

  /** Stops the timer; an in-flight collection completes but is not recorded. History is kept. */
  stop(): void {
    this.running = false;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  latest(): SystemSample | null {
    return this.last;
  }

  /**
   * The last `durationSec` seconds of history, at most `maxPoints` points (default 1440, so
   * 24 h at 5 s comes back at 60 s resolution). Downsampled points are means over the bucket.
   */
  history(durationSec: number, maxPoints = 1440): SeriesRange {
    const now = Date.now() / 1000;
    if (!this.ring) return { step: this.intervalMs / 1000, t: [], series: {} };
    return this.ring.range(now - durationSec, now, maxPoints);
  }

  /** Names of the series in history ([] before the first sample). */
  seriesNames(): readonly string[] {
    return this.ring ? this.ring.names : [];
  }

  /** Calls `cb` after each sample is stored; returns an unsubscribe function. */
  onSample(cb: SampleListener): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private fail(e: unknown): void {
    this.lastError = e instanceof Error ? e : new Error(String(e));
    this.errorCount++;
  }

  private schedule(gen: number): void {
    if (!this.running || gen !== this.generation) return;
    const now = Date.now();
    const delay = this.intervalMs - (now % this.intervalMs) + 2;
    this.timer = setTimeout(() => void this.tick(gen), delay);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private async tick(gen: number): Promise<void> {
    try {
      const s = await this.collect();
      if (gen !== this.generation) return;
      this.last = s;
      this.record(s);
      for (const cb of this.listeners) {
        try {
          cb(s);
        } catch (e) {
          this.fail(e);
        }
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.schedule(gen);
    }
  }

  private async collect(): Promise<SystemSample> {
    const t0 = performance.now();
    const ts = Date.now();
    const [cpu, mem, iface] = await Promise.all([
      (this.procCpu ? this.procCpu.sample() : si.currentLoad().then((c) => c.currentLoad)).then((c) => c, (e) => (this.fail(e), null)),
      si.mem().then((m) => m, (e) => (this.fail(e), null)),
      this.interfaceName === undefined ? null : readInterfaceState(this.interfaceName),
    ]);
    const [load1, load5, load15] = os.loadavg() as [number, number, number];
    const wall = performance.now();
    const cpuNow = process.cpuUsage();
    let procCpuPercent: number;
    if (this.prevCpu) {
      const used = cpuNow.user - this.prevCpu.user + cpuNow.system - this.prevCpu.system;
      procCpuPercent = (used / 1000 / Math.max(1e-3, wall - this.prevWall)) * 100;
    } else {
      procCpuPercent = ((cpuNow.user + cpuNow.system) / 1e6 / Math.max(1e-3, process.uptime())) * 100;
    }
    const prevIface = this.last?.iface ?? null;
    const ifaceRates = iface && prevIface ? rates(prevIface, iface, (ts - this.last!.ts) / 1000) : null;
    this.prevCpu = cpuNow;
    this.prevWall = wall;
    let extra: Record<string, number> = {};
    if (this.extraFn) {
      try {
        extra = this.extraFn();
      } catch (e) {
        this.fail(e);
      }
    }
    return {
      ts,
      cpuPercent: cpu === null || !Number.isFinite(cpu) ? null : cpu,
      load1, load5, load15,
      memUsed: mem ? mem.total - mem.available : null,
      memTotal: mem ? mem.total : null,
      procRss: process.memoryUsage().rss,
      procCpuPercent,
      iface,
      ifaceRates,
      extra,
      collectMs: performance.now() - t0,
    };
  }

  private ensureRing(s: SystemSample): SeriesRing {
    if (this.ring) return this.ring;
    const base: readonly string[] = BASE_SERIES;
    const extras = (this.extraNames ?? Object.keys(s.extra)).filter((n) => !base.includes(n));
    const stepSec = this.intervalMs / 1000;
    const capacity = Math.min(MAX_HISTORY_STEPS, Math.ceil((this.historyHours * 3600) / stepSec));
    this.extraNames = extras;
    this.ring = new SeriesRing({ names: [...base, ...new Set(extras)], stepSec, capacity });
    return this.ring;
  }

  private record(s: SystemSample): void {
    const ring = this.ensureRing(s);
    const t = s.ts / 1000;
    const values = sampleSeries(s);
    for (let i = 0; i < ring.names.length; i++) {
      const v = values[ring.names[i]!];
      if (v !== undefined) ring.set(t, i, v);
    }
  }
}

/** A sample as named series values (the names of BASE_SERIES, then the extras); absent = no value. */
export function sampleSeries(s: SystemSample): Record<string, number> {
  const out: Record<string, number> = {};
  const put = (name: string, v: number | null | undefined) => {
    if (v !== null && v !== undefined && Number.isFinite(v)) out[name] = v;
  };
  for (const [name, v] of Object.entries(s.extra)) put(name, v);
  put("cpu", s.cpuPercent);
  put("load1", s.load1);
  put("load5", s.load5);
  put("load15", s.load15);
  put("mem_used", s.memUsed);
  put("mem_total", s.memTotal);
  put("rss", s.procRss);
  put("proc_cpu", s.procCpuPercent);
  const link = s.iface?.link;
  put("if_up", link === "up" ? 1 : link === "down" ? 0 : null);
  const r = s.ifaceRates;
  put("if_rx_bytes_s", r?.rxBytesPerSec);
  put("if_tx_bytes_s", r?.txBytesPerSec);
  put("if_rx_pps", r?.rxPacketsPerSec);
  put("if_tx_pps", r?.txPacketsPerSec);
  put("if_drops_s", r?.dropsPerSec);
  put("if_errors_s", r?.errorsPerSec);
  put("collect_ms", s.collectMs);
  return out;
}

function rates(a: InterfaceState, b: InterfaceState, dt: number): InterfaceRates | null {
  if (!(dt > 0) || a.operstate === "missing" || b.operstate === "missing") return null;
  const d = (x: number, y: number) => (y - x) / dt;
  const out: InterfaceRates = {
    rxBytesPerSec: d(a.rxBytes, b.rxBytes),
    txBytesPerSec: d(a.txBytes, b.txBytes),
    rxPacketsPerSec: d(a.rxPackets, b.rxPackets),
    txPacketsPerSec: d(a.txPackets, b.txPackets),
    dropsPerSec: d(a.rxDropped + a.txDropped, b.rxDropped + b.txDropped),
    errorsPerSec: d(a.rxErrors + a.txErrors, b.rxErrors + b.txErrors),
  };
  for (const v of Object.values(out)) if (v < 0) return null;
  return out;
}
