/**
 * History: the server's side of the embedded store (src/store, bun:sqlite in its own Worker).
 *
 * Feeds: ended flows go from the engine Worker straight to the store Worker through one
 * MessageChannel per engine Worker (a PortSink on one end, the store Worker on the other: the
 * batch buffers are transferred, never copied, and the main thread never sees them); the store
 * acknowledges a batch once written, so when it is behind the PortSink's bounds (`sinkBatches`,
 * and SINK_MAX_AGE_MS of waiting) hold and the engine's sink drops and counts (health:
 * sinks[].dropped_flows). Every engine tick
 * adds the seconds of traffic that completed since the previous one; every system sample adds its
 * series; every alert raised or cleared is logged. Reads (flows over time, traffic, metrics,
 * alerts) go to the store Worker.
 *
 * Before, batches went PortSink → this thread → StoreClient.insert → store Worker: this thread
 * acknowledged at once, so the sink's bound never held and the store client dropped beyond its
 * own 32 batches (counted as store drops, with no bound on how old a queued batch could get).
 * Rates and drops measured both ways: src/store/index.ts.
 *
 * Flow ids never repeat across restarts, a kill -9 included: start() reads the highest id stored
 * or reserved, the engine continues after it, and a reservation ID_BLOCK ids ahead of the engine
 * is kept in the store (renewed from the ticks when less than half of it is left), so ids the
 * engine handed out but never stored (live flows lost in a crash) are never handed out again: after
 * a crash the ids jump past the reservation. A clean stop lowers the reservation to the highest id
 * actually used, so the next run continues right after it. A new engine Worker (after a restart)
 * also starts after the reservation.
 *
 * Shutdown: the engine's final flush (every live flow, reason shutdown) arrives as a burst of
 * batches that the PortSink never refuses; its close() then posts an end marker, and the store
 * Worker's stop waits for that marker (at most 3 s) before it closes, so the flush is written.
 *
 * Shape shared by every component: a config, start(), stop().
 */
import type { AlertEngine } from "../alerts/alert-engine.ts";
import { sampleSeries, type SystemMetricsCollector } from "../metrics/system-collector.ts";
import { StoreClient } from "../store/store-client.ts";
import type { StoreStatus } from "../store/flow-store.ts";
import { TRAFFIC_SERIES, type TrafficSample } from "../store/series.ts";
import type { EngineClient } from "../worker/engine-client.ts";
import type { PortSinkConfig } from "../worker/port-sink.ts";
import type { TickSummary } from "../worker/protocol.ts";

export interface HistoryConfig {
  /** Database file. */
  path: string;
  retentionDays?: number;
  retentionBytes?: number;
  /**
   * Batches between the engine and the store Worker, unacknowledged (not yet written), at most
   * (default 128 of up to 8192 flows ≈ 110 MiB: a burst of ~1 M ended flows while the store writes).
   */
  sinkBatches?: number;
  /** No batch waits for the store longer than this: beyond it the sink drops (default SINK_MAX_AGE_MS). */
  sinkMaxAgeMs?: number;
}

/**
 * What waits for the store is what a kill -9 loses: the sink refuses batches while the oldest one
 * not yet written was handed over more than this long ago, so the queue holds about half a second
 * of the store's own write rate (fast or slow disk alike) and a kill -9 loses under a second.
 */
export const SINK_MAX_AGE_MS = 500;

/** Flow ids reserved ahead of the engine (see the header). */
export const ID_BLOCK = 10_000_000;

export class History {
  readonly store: StoreClient;
  private lastTrafficSec = 0;
  private readonly unsubscribe: (() => void)[] = [];
  private engine: EngineClient | null = null;
  /** First id of the running engine Worker, ids it has handed out (from its ticks), the reservation. */
  private genFirst = 1;
  private assigned = 0;
  private reserved = 0;
  private spawned = 0;

  constructor(readonly config: HistoryConfig) {
    this.store = new StoreClient({ path: config.path, retentionDays: config.retentionDays, retentionBytes: config.retentionBytes });
  }

  /** Opens the store; resolves with the first flow id the engine should use (and reserves ahead of it). */
  async start(): Promise<number> {
    await this.store.start();
    const max = await this.store.maxFlowId().catch(() => 0);
    this.genFirst = max + 1;
    this.assigned = max;
    this.reserved = max + ID_BLOCK;
    await this.store.reserveFlowIds(this.reserved).catch(() => false);
    return this.genFirst;
  }

  /** A fresh port for a new engine Worker's store sink (EngineClient calls this for each Worker). */
  sinkPorts = (): PortSinkConfig[] => {
    if (this.spawned++ > 0 && this.engine) {
      // A restarted engine Worker: its ids start after everything the previous one may have used.
      this.genFirst = this.reserved + 1;
      this.engine.config.firstFlowId = this.genFirst;
      this.assigned = this.reserved;
      this.reserve(this.genFirst - 1 + ID_BLOCK);
    }
    const ch = new MessageChannel();
    this.store.attachSink(ch.port2);
    return [{ name: "history", port: ch.port1, maxBatches: this.config.sinkBatches ?? 128, maxAgeMs: this.config.sinkMaxAgeMs ?? SINK_MAX_AGE_MS }];
  };

  private reserve(upTo: number): void {
    this.reserved = upTo;
    void this.store.reserveFlowIds(upTo).catch(() => false);
  }

  /** Subscribes to the engine's ticks, the system samples and the alerts. */
  attach(engine: EngineClient | null, metrics: SystemMetricsCollector, alerts: AlertEngine): void {
    this.engine = engine;
    engine?.onTick((s) => this.onTick(s));
    this.unsubscribe.push(metrics.onSample((s) => this.store.addMetrics(s.ts / 1000, sampleSeries(s))));
    this.unsubscribe.push(alerts.onChange((e) => this.store.addAlertEvent(e.type, e.alert)));
  }

  /** The seconds of traffic completed since the previous tick (a fast replay completes many per tick). */
  private onTick(s: TickSummary): void {
    this.assigned = Math.max(this.assigned, this.genFirst + s.stats.flows - 1);
    if (this.reserved - this.assigned < ID_BLOCK / 2) this.reserve(this.assigned + ID_BLOCK);
    const { t, series } = s.last60;
    for (let k = 0; k < t.length - 1; k++) {
      const sec = t[k]!;
      if (sec <= this.lastTrafficSec) continue;
      const sample = { t: sec } as TrafficSample;
      for (const name of TRAFFIC_SERIES) sample[name] = series[name]?.[k] ?? 0;
      this.store.addTraffic(sample);
      this.lastTrafficSec = sec;
    }
  }

  status(): Promise<StoreStatus> {
    return this.store.status();
  }

  /** Call after the engine stopped (its final flush has arrived): the next run continues after the ids used. */
  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    // The store Worker raises this to the highest id its sink ports carried (the final flush included).
    await this.store.stop({ reserveFlowIds: Math.max(this.assigned, this.genFirst - 1) });
  }
}
