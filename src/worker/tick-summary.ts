/**
 * The per-second summary the engine posts to the server: counters of the last complete second,
 * the 60 s series, top talkers, the fastest flows and scan candidates.
 *
 * Scan detection walks the whole table: a pass starts every SCAN_EVERY_MS and runs in slices of
 * SCAN_SLICE slots between other work (the `schedule` function, setImmediate in the Worker), so
 * queries never wait for a whole pass. A summary whose engine clock did not move since the
 * previous one (a replay that finished, a stalled clock) reports 0 bit/s and 0 packets/s: the last
 * second is not repeated forever (which kept a bandwidth alert raised after a replay ended).
 */
import { META_LIVE, REC_U32, U_FLAGS, U_RATE } from "../flows/columns.ts";
import type { FlowEngine } from "../flows/engine.ts";
import { toRecord, type FlowRecord } from "../flows/record.ts";
import { ScanDetector } from "../flows/scan.ts";
import type { ReplayPosition } from "../capture/replay-source.ts";
import type { CaptureStatus, SeriesPayload, TickSummary } from "./protocol.ts";

const SCAN_EVERY_MS = 5000;
const SCAN_SLICE = 65_536;

/** Bandwidth series: per second up to 1 h, per minute beyond (up to 24 h). */
export function bandwidth(engine: FlowEngine, duration: number, maxPoints = 1000): SeriesPayload {
  const until = Math.floor(engine.now);
  const ring = duration <= 3600 ? engine.totals.perSecond : engine.totals.perMinute;
  return ring.range(until - duration, until, maxPoints);
}

export class TickSummaryBuilder {
  private readonly detector = new ScanDetector();
  private scansAt = 0;
  private lastNow = -1;

  constructor(private readonly engine: FlowEngine, private readonly schedule: (fn: () => void) => void) {}

  build(status: CaptureStatus, replay: ReplayPosition | null): TickSummary {
    const engine = this.engine;
    const last60 = bandwidth(engine, 60);
    const s = last60.series;
    const n = last60.t.length;
    const lastIdx = n - 2 >= 0 ? n - 2 : n - 1; // the newest step may still be filling
    const moved = engine.now !== this.lastNow;
    this.lastNow = engine.now;
    const at = (name: string) => (moved && lastIdx >= 0 ? (s[name]?.[lastIdx] ?? 0) : 0) ?? 0;
    return {
      wall: Date.now() / 1000,
      now: engine.now,
      capture: { ...status },
      stats: engine.stats(),
      bps: at("bytes") * 8,
      pps: at("packets"),
      active_flows: engine.table.count,
      last60,
      talkers: engine.talkers?.top("host", 60, 10, engine.now) ?? [],
      top_flows: this.topByRate(5),
      scans: this.latestScans(),
      replay,
    };
  }

  private latestScans(): TickSummary["scans"] {
    const now = Date.now();
    const d = this.detector;
    if (now - this.scansAt >= SCAN_EVERY_MS && !d.busy) {
      this.scansAt = now;
      d.begin();
      const slice = () => {
        if (d.step(this.engine.table, SCAN_SLICE)) this.schedule(slice);
      };
      slice();
    }
    return d.result;
  }

  /** The n live flows with the highest rate over the last tick (one pass, no sort of the table). */
  private topByRate(n: number): FlowRecord[] {
    const engine = this.engine;
    const c = engine.table.cols;
    const u32 = c.u32;
    const slots: number[] = [];
    const rates: number[] = [];
    for (let i = 0; i < engine.table.hwm; i++) {
      const o = i * REC_U32;
      const rate = u32[o + U_RATE]!;
      if (rate === 0 || !((u32[o + U_FLAGS]! >>> 16) & META_LIVE)) continue;
      if (slots.length === n && rate <= rates[n - 1]!) continue;
      let j = slots.length < n ? slots.length : n - 1;
      while (j > 0 && rates[j - 1]! < rate) {
        if (j < n) {
          rates[j] = rates[j - 1]!;
          slots[j] = slots[j - 1]!;
        }
        j--;
      }
      rates[j] = rate;
      slots[j] = i;
    }
    return slots.map((i) => toRecord(c, i));
  }
}
