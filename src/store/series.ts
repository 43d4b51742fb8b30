/**
 * Traffic and system-metric history: per-second rows for the last hour, per-minute rows for 30
 * days, both kept as (sum, count) so any bucket reads as the mean of what was recorded in it.
 *
 * - traffic_s / traffic_m: one write per second (`addTraffic`) adds to that second's row and to
 *   its minute's row (n = seconds recorded), so a value reads as a per-second amount (bytes/s) at
 *   any step, as SeriesRing's "sum" series.
 * - metrics_s / metrics_m: samples of named numbers (every ~5 s) add to their second's and their
 *   minute's row; a bucket reads as the mean of the samples in it.
 * A bucket with nothing recorded reads null (the store was not running), not 0.
 */
import type { Database, Statement } from "bun:sqlite";
import type { SeriesRange } from "../metrics/ring.ts";

export const TRAFFIC_SERIES = [
  "packets", "bytes", "tcp_bytes", "udp_bytes", "icmp_bytes", "other_bytes", "non_ip_bytes",
] as const;
export type TrafficName = (typeof TRAFFIC_SERIES)[number];

/** One second of traffic: `t` is the second (epoch seconds), amounts are totals in that second. */
export type TrafficSample = { t: number } & Record<TrafficName, number>;

/** Seconds of per-second (and raw metric) history kept. */
export const FINE_SEC = 3600;
/** Seconds of per-minute history kept. */
export const COARSE_SEC = 30 * 86400;

export class SeriesStore {
  private readonly names = new Map<string, number>();
  private readonly trafficS: Statement;
  private readonly trafficM: Statement;
  private readonly metricS: Statement;
  private readonly metricM: Statement;
  private readonly addName: Statement;

  constructor(private readonly db: Database) {
    const cols = TRAFFIC_SERIES.join(", ");
    const vals = TRAFFIC_SERIES.map((_, k) => `?${k + 2}`).join(", ");
    const add = TRAFFIC_SERIES.map((c) => `${c} = ${c} + excluded.${c}`).join(", ");
    this.trafficS = db.prepare(`INSERT INTO traffic_s (t, n, ${cols}) VALUES (?1, 1, ${vals}) ON CONFLICT(t) DO UPDATE SET ${add}`);
    this.trafficM = db.prepare(`INSERT INTO traffic_m (t, n, ${cols}) VALUES (?1, 1, ${vals}) ON CONFLICT(t) DO UPDATE SET n = n + 1, ${add}`);
    const up = "ON CONFLICT(t, name) DO UPDATE SET sum = sum + excluded.sum, n = n + 1";
    this.metricS = db.prepare(`INSERT INTO metrics_s (t, name, sum, n) VALUES (?, ?, ?, 1) ${up}`);
    this.metricM = db.prepare(`INSERT INTO metrics_m (t, name, sum, n) VALUES (?, ?, ?, 1) ${up}`);
    this.addName = db.prepare("INSERT INTO metric_names (name) VALUES (?) ON CONFLICT(name) DO UPDATE SET name = name RETURNING id");
    for (const r of db.query("SELECT id, name FROM metric_names").all() as { id: number; name: string }[]) this.names.set(r.name, r.id);
  }

  addTraffic(s: TrafficSample): void {
    const t = Math.floor(s.t);
    const v = TRAFFIC_SERIES.map((k) => (Number.isFinite(s[k]) ? s[k] : 0));
    this.db.transaction(() => {
      this.trafficS.run(t, ...v);
      this.trafficM.run(Math.floor(t / 60) * 60, ...v);
    })();
  }

  private nameId(name: string): number {
    let id = this.names.get(name);
    if (id === undefined) {
      id = (this.addName.get(name) as { id: number }).id;
      this.names.set(name, id);
    }
    return id;
  }

  addMetrics(tSec: number, values: Record<string, number>): void {
    const t = Math.floor(tSec);
    this.db.transaction(() => {
      for (const [name, v] of Object.entries(values)) {
        if (typeof v !== "number" || !Number.isFinite(v)) continue;
        const id = this.nameId(name);
        this.metricS.run(t, id, v);
        this.metricM.run(Math.floor(t / 60) * 60, id, v);
      }
    })();
  }

  /** Deletes rows past retention, at most `max` per table. Returns rows deleted. */
  prune(nowSec: number, max = 5000): number {
    let n = 0;
    const del = (table: string, keep: number, key: string) => {
      n += this.db.run(`DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE t < ? LIMIT ${max})`,
        [Math.floor(nowSec - keep)]).changes;
    };
    del("traffic_s", FINE_SEC, "t");
    del("traffic_m", COARSE_SEC, "t");
    n += this.db.run(`DELETE FROM metrics_s WHERE (t, name) IN (SELECT t, name FROM metrics_s WHERE t < ? LIMIT ${max})`,
      [Math.floor(nowSec - FINE_SEC)]).changes;
    n += this.db.run(`DELETE FROM metrics_m WHERE (t, name) IN (SELECT t, name FROM metrics_m WHERE t < ? LIMIT ${max})`,
      [Math.floor(nowSec - COARSE_SEC)]).changes;
    return n;
  }

  trafficHistory(fromSec: number, toSec: number, maxPoints: number, nowSec: number): SeriesRange {
    const fine = useFine(fromSec, toSec, nowSec);
    const g = grid(fromSec, toSec, maxPoints, fine ? 1 : 60);
    const out = emptyRange(g, TRAFFIC_SERIES);
    if (!g) return out;
    const sums = TRAFFIC_SERIES.map((c) => `sum(${c})`).join(", ");
    const rows = this.db.prepare(
      `SELECT t / ?1 AS b, sum(n), ${sums} FROM ${fine ? "traffic_s" : "traffic_m"} WHERE t >= ?2 AND t < ?3 GROUP BY b`,
    ).values(g.step, g.firstB * g.step, (g.lastB + 1) * g.step) as number[][];
    for (const r of rows) {
      const k = r[0]! - g.firstB;
      if (k < 0 || k >= out.t.length || !(r[1]! > 0)) continue;
      TRAFFIC_SERIES.forEach((name, j) => (out.series[name]![k] = r[j + 2]! / r[1]!));
    }
    return out;
  }

  metricsHistory(fromSec: number, toSec: number, maxPoints: number, nowSec: number): SeriesRange {
    const fine = useFine(fromSec, toSec, nowSec);
    const g = grid(fromSec, toSec, maxPoints, fine ? 1 : 60);
    const rows = g ? this.db.prepare(
      `SELECT t / ?1 AS b, m.name, sum(sum), sum(n) FROM ${fine ? "metrics_s" : "metrics_m"} s
       JOIN metric_names m ON m.id = s.name WHERE t >= ?2 AND t < ?3 GROUP BY b, s.name ORDER BY m.name`,
    ).values(g.step, g.firstB * g.step, (g.lastB + 1) * g.step) as [number, string, number, number][] : [];
    const names = [...new Set(rows.map((r) => r[1]))];
    const out = emptyRange(g, names);
    if (!g) return out;
    for (const [b, name, sum, n] of rows) {
      const k = b - g.firstB;
      if (k >= 0 && k < out.t.length && n > 0) out.series[name]![k] = sum / n;
    }
    return out;
  }
}

/** Per-second rows answer when the whole range lies within the last hour. */
function useFine(fromSec: number, toSec: number, nowSec: number): boolean {
  return fromSec >= nowSec - FINE_SEC && toSec - fromSec <= FINE_SEC;
}

interface Grid {
  step: number;
  firstB: number;
  lastB: number;
}

/** Buckets of base × f seconds (aligned on multiples of the step) covering [from, to), ≤ maxPoints. */
function grid(fromSec: number, toSec: number, maxPoints: number, base: number): Grid | null {
  if (!Number.isFinite(fromSec) || !Number.isFinite(toSec) || toSec <= fromSec) return null;
  const first = Math.floor(fromSec / base);
  const last = Math.ceil(toSec / base) - 1;
  const maxP = Math.max(1, Math.floor(maxPoints) || 1);
  const f = Math.max(1, Math.ceil((last - first + 1) / maxP));
  const step = base * f;
  const lastB = Math.floor((last * base) / step);
  const firstB = Math.max(Math.floor((first * base) / step), lastB - maxP + 1);
  return { step, firstB, lastB };
}

function emptyRange(g: Grid | null, names: readonly string[]): SeriesRange {
  const out: SeriesRange = { step: g?.step ?? 1, t: [], series: {} };
  const len = g ? g.lastB - g.firstB + 1 : 0;
  for (let k = 0; k < len; k++) out.t.push((g!.firstB + k) * g!.step);
  for (const n of names) out.series[n] = new Array<number | null>(len).fill(null);
  return out;
}
