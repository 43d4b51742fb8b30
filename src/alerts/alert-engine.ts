/**
 * AlertEngine: evaluates the registered alert rules (registry.ts) on every engine tick (1 s) and every system
 * sample (~5 s), with hysteresis and a cool-down, and keeps the active alerts plus a bounded list
 * of recent ones.
 *
 * Hysteresis: an alert is raised once its value stays at or above the threshold for `raiseAfter`
 * seconds (bandwidthSeconds for rates, systemSeconds for CPU/memory, at once for drops, scans
 * and interface down) and cleared once it stays below threshold × clearFraction (default 0.8) for
 * `clearAfter` seconds. Cool-down: after an alert clears, the same rule+key is not raised again
 * for coolDownSec (default 60 s) — except critical alerts (interface down), which always raise.
 *
 * Time is wall-clock (TickSummary.wall, SystemSample.ts); a sample counts as covering its own
 * step (1 s for ticks, the gap since the previous system sample for system rules).
 *
 * Limits: recent() keeps the last `recentMax` (default 200) raised alerts, active or cleared,
 * newest first. Alerts whose rule has no flows in the summary (scan) get their flows filled
 * asynchronously through `flowLookup` when one is set (the API sets it to a query on the engine).
 * Lookups run one at a time: each is a full-table query on the engine thread, and a burst of them
 * after an alert storm (37 at once after a scan replay) held interactive API queries up to 130 ms
 * behind them; queued one by one, a query waits for one lookup at most. At most LOOKUP_QUEUE wait;
 * beyond that an alert keeps no example flows (its query link still finds them; `lookupsSkipped`).
 */
import type { FlowRecord } from "../flows/format/record.ts";
import type { SystemSample } from "../metrics/system-collector.ts";
import type { TickSummary } from "../worker/protocol.ts";
import type { Alert } from "./alert.ts";
import { ALERT_RULES, resolveAlertConfig, type AlertConfig, type ResolvedAlertConfig } from "./registry.ts";
import type { Feed, Observation, RuleInput } from "./rule.ts";

export type { Alert, Severity } from "./alert.ts";
export type { AlertConfig } from "./registry.ts";

export interface AlertEvent {
  type: "raised" | "cleared";
  alert: Alert;
}

interface RuleState {
  highSince: number | null;
  lowSince: number | null;
  alert: Alert | null;
  clearedAt: number | null;
}

/** Rule ids evaluated by each feed (a keyed alert is cleared only by the feed that evaluates its rule). */
/** Flow lookups waiting their turn at most (see the header). */
export const LOOKUP_QUEUE = 64;

const FEED_RULES: Record<Feed, ReadonlySet<string>> = {
  tick: new Set(ALERT_RULES.filter((r) => r.feeds.includes("tick")).map((r) => r.id)),
  system: new Set(ALERT_RULES.filter((r) => r.feeds.includes("system")).map((r) => r.id)),
};

export class AlertEngine {
  readonly config: ResolvedAlertConfig;
  /** Fetches up to 5 flows for a query (set by the API); used for alerts raised without flows. */
  flowLookup: ((q: string) => Promise<FlowRecord[]>) | null = null;
  /** Alerts raised while LOOKUP_QUEUE lookups were already waiting (no example flows looked up). */
  lookupsSkipped = 0;
  private lookupChain: Promise<void> = Promise.resolve();
  private lookupsWaiting = 0;
  private readonly states = new Map<string, RuleState>();
  private readonly recentList: Alert[] = [];
  private readonly listeners: ((e: AlertEvent) => void)[] = [];
  private nextId = 1;
  /** Rule evaluations that threw (logged; the other rules still ran). */
  ruleErrors = 0;
  private captureDown = false;
  private linkDown = false;
  private lastSystemTs = 0;
  private lastTick: TickSummary | null = null;

  constructor(config: AlertConfig = {}) {
    this.config = resolveAlertConfig(config);
  }

  start(): void {}
  stop(): void {}

  /** Called once per second with the engine summary. */
  onTick(s: TickSummary): void {
    this.lastTick = s;
    this.captureDown = s.capture.state === "down";
    this.evaluate(this.observe("tick", s, null), FEED_RULES.tick, s.wall, 1);
  }

  /** Called with each system metrics sample. */
  onSystem(x: SystemSample): void {
    const now = x.ts / 1000;
    const step = this.lastSystemTs > 0 ? Math.min(60, Math.max(0.05, now - this.lastSystemTs)) : 0.05;
    this.lastSystemTs = now;
    this.linkDown = x.iface?.link === "down";
    this.evaluate(this.observe("system", null, x), FEED_RULES.system, now, step);
  }

  /** Observations of every registered rule that this feed evaluates (a rule that throws is skipped). */
  private observe(feed: Feed, tick: TickSummary | null, system: SystemSample | null): Observation[] {
    const input: RuleInput = { tick, system, lastTick: this.lastTick, captureDown: this.captureDown, linkDown: this.linkDown };
    const out: Observation[] = [];
    for (const rule of ALERT_RULES) {
      if (!rule.feeds.includes(feed)) continue;
      try {
        out.push(...rule.evaluate(input, this.config));
      } catch (e) {
        this.ruleErrors++;
        console.error(`flowmatrix: alert rule ${rule.id} failed: ${(e as Error).message}`);
      }
    }
    return out;
  }

  /** Active alerts, most severe first, then oldest first. */
  active(): Alert[] {
    const rank = { critical: 0, error: 1, warning: 2 } as const;
    const list: Alert[] = [];
    for (const st of this.states.values()) if (st.alert) list.push(st.alert);
    return list.sort((a, b) => rank[a.severity] - rank[b.severity] || (a.since < b.since ? -1 : 1));
  }

  /** Recently raised alerts (active or cleared), newest first. */
  recent(): Alert[] {
    return [...this.recentList].reverse();
  }

  /** Subscribes to raised/cleared events; returns an unsubscribe function. */
  onChange(fn: (e: AlertEvent) => void): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  private evaluate(obs: Observation[], rules: ReadonlySet<string>, now: number, step: number): void {
    const seen = new Set<string>();
    for (const o of obs) {
      const id = `${o.rule}|${o.key}`;
      seen.add(id);
      this.apply(id, o, now, step);
    }
    // Keyed rules of this source that were not observed: treat as low for that key.
    for (const [id, st] of this.states) {
      if (seen.has(id)) continue;
      const rule = id.slice(0, id.indexOf("|"));
      if (!rules.has(rule)) continue;
      if (!st.alert) {
        st.highSince = null;
        if (st.clearedAt === null || now - st.clearedAt >= this.config.coolDownSec) this.states.delete(id);
        continue;
      }
      st.highSince = null;
      st.lowSince ??= now - step;
      if (now - st.lowSince >= this.config.recoverSeconds) this.clear(st, now);
    }
  }

  private apply(id: string, o: Observation, now: number, step: number): void {
    let st = this.states.get(id);
    if (!st) {
      if (o.level !== "high") return;
      st = { highSince: null, lowSince: null, alert: null, clearedAt: null };
      this.states.set(id, st);
    }
    if (o.level === "high") {
      st.lowSince = null;
      st.highSince ??= now - step;
      if (st.alert) {
        st.alert.value = o.value;
        st.alert.message = o.message;
        if (o.flows.length > 0) st.alert.flows = o.flows.slice(0, 5);
        return;
      }
      const cooling = st.clearedAt !== null && now - st.clearedAt < this.config.coolDownSec && o.severity !== "critical";
      if (!cooling && now - st.highSince >= o.raiseAfter) this.raise(st, o);
    } else if (o.level === "low") {
      st.highSince = null;
      st.lowSince ??= now - step;
      if (st.alert && now - st.lowSince >= o.clearAfter) this.clear(st, now);
    } else {
      st.highSince = null;
      st.lowSince = null;
    }
  }

  private raise(st: RuleState, o: Observation): void {
    const alert: Alert = {
      id: `a${this.nextId++}`, rule: o.rule, key: o.key, severity: o.severity,
      since: new Date(st.highSince! * 1000).toISOString(), cleared: null,
      message: o.message, value: o.value, flows: o.flows.slice(0, 5), q: o.q,
    };
    st.alert = alert;
    this.recentList.push(alert);
    while (this.recentList.length > this.config.recentMax) this.recentList.shift();
    if (alert.flows.length === 0 && alert.q !== "" && this.flowLookup) this.queueLookup(alert, this.flowLookup);
    this.emit({ type: "raised", alert });
  }

  /** Looks up example flows for `alert` after the lookups already queued (one at a time, bounded). */
  private queueLookup(alert: Alert, lookup: (q: string) => Promise<FlowRecord[]>): void {
    if (this.lookupsWaiting >= LOOKUP_QUEUE) {
      this.lookupsSkipped++;
      return;
    }
    this.lookupsWaiting++;
    this.lookupChain = this.lookupChain.then(async () => {
      try {
        const flows = await lookup(alert.q);
        if (alert.flows.length === 0) alert.flows = flows.slice(0, 5);
      } catch {
        // The engine was busy or restarting: the alert keeps no example flows (its link still works).
      } finally {
        this.lookupsWaiting--;
      }
    });
  }

  private clear(st: RuleState, now: number): void {
    const alert = st.alert!;
    alert.cleared = new Date(now * 1000).toISOString();
    st.alert = null;
    st.clearedAt = now;
    st.lowSince = null;
    this.emit({ type: "cleared", alert });
  }

  private emit(e: AlertEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch {
        // a listener's failure must not stop alerting
      }
    }
  }
}
