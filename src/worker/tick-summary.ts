/**
 * The per-second summary the engine posts to the server: counters of the last complete second,
 * the 60 s series, top talkers, the fastest flows and scan candidates.
 *
 * Scan detection walks the whole table: a pass starts every SCAN_EVERY_MS and runs in slices of
 * SCAN_SLICE slots between other work (the `schedule` function, setImmediate in the Worker), so
 * queries never wait for a whole pass. A summary whose engine clock did not move since the
 * previous one (a replay that finished, a stalled clock) reports 0 bit/s and 0 packets/s: the last
 * second is not repeated forever (which kept a bandwidth alert raised after a replay ended).
 *
 * Applications and talker annotations (issue 11), when the host hands over its FlowInspector and
 * GeoLookup (`TickAnnotators`):
 * - `apps`: the pass that finds the fastest flows (already one walk of the table per summary)
 *   also folds each live flow that carried bytes in the last engine second (rate > 0) into its
 *   application (collected NetFlow/IPFIX flows count as "unknown", as their records carry no app): `rate` bytes (bytes/s over that second) under `app_source` payload or port. One
 *   `result(slot)` per such flow (a few loads and one small object) and one Map update; flows
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
import { toRecord, type FlowRecord } from "../flows/format/record.ts";
import { ScanDetector } from "../flows/stats/scan.ts";
import type { ReplayPosition } from "../capture/replay-source.ts";
import type { Talker } from "../flows/stats/talkers.ts";
import type { AppUsage, CaptureStatus, SeriesPayload, TalkerInfo, TickSummary } from "./protocol.ts";

const SCAN_EVERY_MS = 5000;
const SCAN_SLICE = 65_536;
/** Summaries the Top applications panel sums (one per second). */
export const APP_WINDOW = 60;
/** Rows of the Top applications panel. */
export const APP_TOP = 10;
/** `app` of flows with neither a payload match nor a listed port. */
export const UNKNOWN_APP = "unknown";

/** What the summary needs of the FlowInspector (src/l7/inspector.ts): a flow slot's decision, passive DNS. */
export interface AppSourceLike {
  result(slot: number): { app: string | null; app_source: "payload" | "port" | null };
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

const NO_APP = { app: null, app_source: null } as const;

/** Bytes per application in one summary: [payload, port] per name. */
type AppSecond = Map<string, [number, number]>;

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
  /** The last APP_WINDOW summaries' bytes per app (ring; `appAt` is the next slot to write). */
  private readonly appRing: (AppSecond | null)[] = new Array<AppSecond | null>(APP_WINDOW).fill(null);
  private appAt = 0;

  /**
   * `annotators`: the inspector and geo lookup, or a function returning them (read at every
   * summary, so a host may install them after constructing the builder).
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

  build(status: CaptureStatus, replay: ReplayPosition | null): TickSummary {
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
    const second: AppSecond | null = l7 !== null && moved ? new Map() : null;
    const topFlows = this.topByRate(5, l7, second);
    if (l7 !== null) {
      this.appRing[this.appAt] = second;
      this.appAt = (this.appAt + 1) % APP_WINDOW;
    }
    const talkers = engine.talkers?.top("host", 60, 10, engine.now) ?? [];
    return {
      wall: Date.now() / 1000,
      now: engine.now,
      capture: { ...status },
      stats: engine.stats(),
      bps: at("bytes") * 8,
      pps: at("packets"),
      active_flows: engine.table.count,
      last60,
      talkers: this.annotate(talkers, src),
      apps: l7 !== null ? this.topApps(second) : [],
      top_flows: topFlows,
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
   * The n live flows with the highest rate over the last tick (one pass, no sort of the table).
   * With `second`, each live flow that carried bytes in that tick also adds its rate (bytes/s)
   * to its app's payload or port sum.
   */
  private topByRate(n: number, l7: AppSourceLike | null = null, second: AppSecond | null = null): FlowRecord[] {
    const engine = this.engine;
    const c = engine.table.cols;
    const u32 = c.u32;
    const slots: number[] = [];
    const rates: number[] = [];
    for (let i = 0; i < engine.table.hwm; i++) {
      const o = i * REC_U32;
      const rate = u32[o + U_RATE]!;
      if (rate === 0 || !((u32[o + U_FLAGS]! >>> 16) & META_LIVE)) continue;
      if (second !== null) {
        // Collected (NetFlow/IPFIX) flows were never inspected: no app, as in their records.
        const r = c.origin(i) === 0 ? l7!.result(i) : NO_APP;
        const app = r.app ?? UNKNOWN_APP;
        let acc = second.get(app);
        if (acc === undefined) {
          acc = [0, 0];
          second.set(app, acc);
        }
        acc[r.app_source === "payload" ? 0 : 1] += rate;
      }
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
