/**
 * The per-second summary the engine posts to the server: counters of the last complete second,
 * the 60 s series, top talkers, the fastest flows and scan candidates.
 *
 * Nothing here holds the engine thread for long (issue 8, "queries that never starve"): the host
 * builds a summary in pieces between calls (start / step / finish, see engine-host.ts): the
 * per-flow pass (top flows by rate, bytes per app; ~40 ms at 1 M flows under a 200 kpps capture)
 * runs in steps of SUMMARY_STEP slots, in turns of SUMMARY_TURN_MS. `build()` does the same at once.
 * Scan detection walks the whole table: a pass starts every SCAN_EVERY_MS and runs in the same
 * steps and turns (the `schedule` function, setImmediate in the Worker). A summary whose engine
 * clock did not move since the previous one (a replay that finished, a stalled clock) reports 0
 * bit/s and 0 packets/s: the last second is not repeated forever (which kept a bandwidth alert
 * raised after a replay ended).
 *
 * Applications and talker annotations (issue 11), when the host hands over its FlowInspector and
 * GeoLookup (`TickAnnotators`):
 * - `apps`: the pass that finds the fastest flows (already one walk of the table per summary)
 *   also folds each live flow that carried bytes in the last engine second (rate > 0) into its
 *   application (collected NetFlow/IPFIX flows count as "unknown", as their records carry no app): `rate` bytes (bytes/s over that second) under `app_source` payload or port. One
 *   `appId(slot)` per such flow (a few loads: no string, no look-up) into sums per application id,
 *   named once when the summary finishes; flows
 *   without traffic in that second cost nothing more than today's check. The per-summary sums go
 *   into a ring of APP_WINDOW (60) summaries; `apps` is the top APP_TOP (10) of the ring's sum
 *   (≤ 60 × number of apps additions). Nothing is folded while the engine clock stands still, so
 *   a finished replay's last second is not counted again and again.
 * - `talkers`: the 10 rows get a passive-DNS name, a country or special-range label and the AS:
 *   at most 10 passive-DNS look-ups and 10 GeoLookup look-ups per summary (both LRU-cached maps;
 *   the first AS look-up of a family loads that family's table once, see src/l7/geo.ts).
 */
import { META_LIVE, REC_U32, U_FLAGS, U_RATE } from "../flows/table/columns.ts";
import type { FlowEngine } from "../flows/engine.ts";
import { toRecord } from "../flows/format/record.ts";
import { REPORT_RULE, ScanDetector } from "../flows/stats/scan.ts";
import type { ReplayPosition } from "../capture/replay-source.ts";
import type { Talker } from "../flows/stats/talkers.ts";
import type { AppUsage, CaptureStatus, SeriesPayload, TalkerInfo, TickSummary } from "./protocol.ts";
import { APP_NAMES, appName } from "../l7/apps.ts";

const SCAN_EVERY_MS = 5000;
/** Summaries the Top applications panel sums (one per second). */
export const APP_WINDOW = 60;
/** Rows of the Top applications panel. */
export const APP_TOP = 10;
/** `app` of flows with neither a payload match nor a listed port. */
export const UNKNOWN_APP = "unknown";

/** What the summary needs of the FlowInspector (src/l7/inspector.ts): a flow slot's decision, passive DNS. */
export interface AppSourceLike {
  /**
   * A flow slot's app as its APP_NAMES id (0: none, reported as "unknown") and, in `appByPort`
   * after the call, whether it was decided by port (else by payload).
   */
  appId(slot: number): number;
  readonly appByPort: boolean;
  readonly passiveDns?: { name(addr: string, now?: number): string | null } | undefined;
}

/** What the summary needs of GeoLookup (src/l7/geo.ts). */
export interface GeoSourceLike {
  lookup(addr: string): { country: string | null; asn: number | null; as_name: string | null; special: string | null };
}

/** The engine host's inspector and geo lookup (either may be absent: no annotation then). */
export interface TickAnnotators {
  l7?: AppSourceLike | null;
  geo?: GeoSourceLike | null;
}


/** Bytes per application in one summary: [payload, port] per name. */
type AppSecond = Map<string, [number, number]>;

/** Bandwidth series: per second up to 1 h, per minute beyond (up to 24 h). */
export function bandwidth(engine: FlowEngine, duration: number, maxPoints = 1000): SeriesPayload {
  const until = Math.floor(engine.now);
  const ring = duration <= 3600 ? engine.totals.perSecond : engine.totals.perMinute;
  return ring.range(until - duration, until, maxPoints);
}

/**
 * A summary being built (TickSummaryBuilder.start / step / finish): the fields fixed when the
 * tick fired, and the per-flow pass (top flows by rate, bytes per app) so far.
 */
export interface SummaryJob {
  readonly head: Omit<TickSummary, "talkers" | "apps" | "top_flows" | "scans">;
  readonly src: TickAnnotators;
  readonly l7: AppSourceLike | null;
  /** Whether the engine clock moved since the previous summary (apps fold only then). */
  readonly moved: boolean;
  /** performance.now() at start(). */
  readonly startedAt: number;
  /** Next slot of the per-flow pass, and `engine.totals.closed` when the pass (re)started. */
  cursor: number;
  closed: number;
  /**
   * This summary's bytes per app id, [payload, port] at 2 × id (null: no inspector, or the clock
   * stood still); finish() names them for the ring.
   */
  sums: Float64Array | null;
  /** The TOP_FLOWS fastest so far: slots, rates and flow ids, fastest first. */
  slots: number[];
  rates: number[];
  ids: number[];
}

/** Fastest flows reported per summary. */
const TOP_FLOWS = 5;
/** Flow slots per step of a summary's per-flow pass and of a scan pass. */
export const SUMMARY_STEP = 4_096;
/**
 * A turn of sliced summary or scan work runs steps until this many ms have passed (measured at 1 M
 * flows under a 200 kpps flood: a step is 0.1-0.5 ms; see bench/tick-work.ts), then yields.
 */
export const SUMMARY_TURN_MS = 2;
/**
 * How long a summary's pass waits for the engine's tick job to finish before it starts (the host),
 * and restarts when a second closes while it runs: within this many ms of start(). Beyond, the pass
 * goes on and its rates may be of the last two seconds (when seconds close faster than a pass can
 * run in turns: a full-speed replay of a large table); a summary built at once right after a tick
 * job's first slice read such a mix too.
 */
export const SUMMARY_WAIT_MS = 500;

export class TickSummaryBuilder {
  private readonly detector = new ScanDetector(REPORT_RULE);
  private scansAt = 0;
  private lastNow = -1;
  /** The last APP_WINDOW summaries' bytes per app (ring; `appAt` is the next slot to write). */
  private readonly appRing: (AppSecond | null)[] = new Array<AppSecond | null>(APP_WINDOW).fill(null);
  private appAt = 0;

  /**
   * `annotators`: the inspector and geo lookup, or a function returning them (read at every
   * summary, so a host may install them after constructing the builder). `schedule` runs the scan
   * passes' slices.
   */
  constructor(
    private readonly engine: FlowEngine,
    private readonly schedule: (fn: () => void) => void,
    private annotators: TickAnnotators | (() => TickAnnotators) = {},
  ) {}

  /** Install or replace the inspector / geo lookup. */
  setAnnotators(a: TickAnnotators | (() => TickAnnotators)): void {
    this.annotators = a;
  }

  private sources(): TickAnnotators {
    const a = this.annotators;
    return typeof a === "function" ? a() : a;
  }

  /** The whole summary at once: start, every step, finish (tests, small tables). */
  build(status: CaptureStatus, replay: ReplayPosition | null): TickSummary {
    const job = this.start(status, replay);
    while (!this.step(job, Infinity));
    return this.finish(job);
  }

  /**
   * A summary in pieces (the engine host runs the steps between calls, see engine-host.ts): start()
   * takes what the tick fixes (clock, counters, the 60 s series, capture status), step() walks
   * SUMMARY_STEP slots of the per-flow pass, finish() adds talkers, apps and scans. Built from the
   * same table, the pieces give what build() gives. A second that closes while the pass runs (the
   * engine's tick job rewrites every rate) restarts the pass, so its rates are all of one second
   * (within SUMMARY_WAIT_MS of start).
   */
  start(status: CaptureStatus, replay: ReplayPosition | null): SummaryJob {
    const engine = this.engine;
    const last60 = bandwidth(engine, 60);
    const s = last60.series;
    const n = last60.t.length;
    const lastIdx = n - 2 >= 0 ? n - 2 : n - 1; // the newest step may still be filling
    const moved = engine.now !== this.lastNow;
    this.lastNow = engine.now;
    const at = (name: string) => (moved && lastIdx >= 0 ? (s[name]?.[lastIdx] ?? 0) : 0) ?? 0;
    const src = this.sources();
    const l7 = src.l7 ?? null;
    return {
      head: {
        wall: Date.now() / 1000,
        now: engine.now,
        capture: { ...status },
        stats: engine.stats(),
        bps: at("bytes") * 8,
        pps: at("packets"),
        active_flows: engine.table.count,
        last60,
        replay,
      },
      src, l7, moved,
      startedAt: performance.now(),
      cursor: 0, closed: engine.totals.closed,
      sums: l7 !== null && moved ? new Float64Array(2 * APP_NAMES.length) : null,
      slots: [], rates: [], ids: [],
    };
  }

  /** One step of the per-flow pass (at most `slots` slots, SUMMARY_STEP unless given): true when the pass is complete. */
  step(job: SummaryJob, slots = SUMMARY_STEP): boolean {
    const t = this.engine.table;
    if (job.closed !== this.engine.totals.closed) {
      job.closed = this.engine.totals.closed;
      // A second closed since the pass started: its rates are being rewritten; start again (within SUMMARY_WAIT_MS).
      if (performance.now() - job.startedAt < SUMMARY_WAIT_MS) {
        job.cursor = 0;
        job.slots.length = 0;
        job.rates.length = 0;
        job.ids.length = 0;
        job.sums?.fill(0);
      }
    }
    const to = Math.min(t.hwm, job.cursor + slots);
    this.topByRate(job, job.cursor, to);
    job.cursor = to;
    return to >= t.hwm;
  }

  /** The summary: the per-flow pass's results, talkers, apps, scans (after step() returned true). */
  finish(job: SummaryJob): TickSummary {
    const engine = this.engine;
    const l7 = job.l7;
    let second: AppSecond | null = null;
    if (l7 !== null) {
      const sums = job.sums;
      if (sums !== null) {
        second = new Map();
        for (let id = 0; id < APP_NAMES.length; id++) {
          const payload = sums[2 * id]!, port = sums[2 * id + 1]!;
          if (payload !== 0 || port !== 0) second.set(appName(id) ?? UNKNOWN_APP, [payload, port]);
        }
      }
      this.appRing[this.appAt] = second;
      this.appAt = (this.appAt + 1) % APP_WINDOW;
    }
    const c = engine.table.cols;
    const talkers = engine.talkers?.top("host", 60, 10, engine.now) ?? [];
    const { replay, ...head } = job.head;
    return {
      ...head,
      talkers: this.annotate(talkers, job.src),
      apps: l7 !== null ? this.topApps(second) : [],
      // A fast flow that ended after the pass saw it (its slot freed or taken by another flow) is left out.
      top_flows: job.slots.filter((i, k) => c.isLive(i) && c.id(i) === job.ids[k]).map((i) => toRecord(c, i)),
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
      // Steps of SUMMARY_STEP slots until SUMMARY_TURN_MS has passed, then the next turn is scheduled.
      const scan = () => {
        const t0 = performance.now();
        while (d.step(this.engine.table, SUMMARY_STEP)) {
          if (performance.now() - t0 >= SUMMARY_TURN_MS) {
            this.schedule(scan);
            return;
          }
        }
      };
      scan();
    }
    return d.result;
  }

  /** The APP_TOP apps by bytes over the ring; `bps` from the newest summary. */
  private topApps(latest: AppSecond | null): AppUsage[] {
    const sum = new Map<string, AppUsage>();
    for (const sec of this.appRing) {
      if (sec === null) continue;
      for (const [app, [p, q]] of sec) {
        let u = sum.get(app);
        if (u === undefined) {
          u = { app, bytes: 0, payload_bytes: 0, port_bytes: 0, bps: 0 };
          sum.set(app, u);
        }
        u.payload_bytes += p;
        u.port_bytes += q;
        u.bytes += p + q;
      }
    }
    if (latest !== null) {
      for (const [app, [p, q]] of latest) {
        const u = sum.get(app);
        if (u !== undefined) u.bps = (p + q) * 8;
      }
    }
    return [...sum.values()].filter((u) => u.bytes > 0)
      .sort((a, b) => b.bytes - a.bytes || (a.app < b.app ? -1 : 1)).slice(0, APP_TOP);
  }

  /** Talker rows with the name, country / special range and AS of their host (≤ 10 look-ups each). */
  private annotate(rows: Talker[], src: TickAnnotators): TalkerInfo[] {
    const dns = src.l7?.passiveDns ?? null;
    const geo = src.geo ?? null;
    if (dns === null && geo === null) return rows;
    const now = this.engine.now;
    return rows.map((t) => {
      const out: TalkerInfo = { ...t };
      if (dns !== null) out.name = dns.name(t.host, now);
      if (geo !== null) {
        const g = geo.lookup(t.host);
        out.country = g.country;
        out.special = g.special;
        out.asn = g.asn;
        out.as_name = g.as_name;
      }
      return out;
    });
  }

  /**
   * Slots [from, to) of the per-flow pass: the TOP_FLOWS live flows with the highest rate over the
   * last tick (kept sorted, no sort of the table). With `job.second`, each live flow that carried
   * bytes in that tick also adds its rate (bytes/s) to its app's payload or port sum.
   */
  private topByRate(job: SummaryJob, from: number, to: number): void {
    const n = TOP_FLOWS;
    const c = this.engine.table.cols;
    const u32 = c.u32;
    const { slots, rates, ids, sums } = job;
    const l7 = job.l7;
    for (let i = from; i < to; i++) {
      const o = i * REC_U32;
      const rate = u32[o + U_RATE]!;
      if (rate === 0 || !((u32[o + U_FLAGS]! >>> 16) & META_LIVE)) continue;
      if (sums !== null) {
        // Unknown (0) and port-decided apps under port, as result()'s app_source says. Collected
        // (NetFlow/IPFIX) flows were never inspected: no app, as in their records.
        const id = c.origin(i) !== 0 ? 0 : l7!.appId(i);
        sums[2 * id + (id !== 0 && !l7!.appByPort ? 0 : 1)]! += rate;
      }
      if (slots.length === n && rate <= rates[n - 1]!) continue;
      let j = slots.length < n ? slots.length : n - 1;
      while (j > 0 && rates[j - 1]! < rate) {
        if (j < n) {
          rates[j] = rates[j - 1]!;
          slots[j] = slots[j - 1]!;
          ids[j] = ids[j - 1]!;
        }
        j--;
      }
      rates[j] = rate;
      slots[j] = i;
      ids[j] = c.id(i);
    }
  }
}
