/**
 * History: the server's side of the embedded store (src/store, bun:sqlite in its own Worker).
 *
 * Feeds: ended flows arrive from the engine Worker through one MessagePort per engine Worker (a
 * PortSink there; the batch buffers are transferred, not copied) and go to StoreClient.insert,
 * which drops and counts when the store is behind; every engine tick adds the seconds of traffic
 * that completed since the previous one; every system sample adds its series; every alert raised
 * or cleared is logged. Reads (flows over time, traffic, metrics, alerts) go to the store Worker.
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
 * batches; the sink's bound (`sinkBatches`, default 128 batches of 8192 = 1 M flows) admits a full
 * table and those batches bypass the store client's in-flight bound, so none is dropped.
 *
 * Shape shared by every component: a config, start(), stop().
 */
import type { AlertEngine } from "../alerts/alert-engine.ts";
import type { EndedBatch } from "../flows/sinks.ts";
import { EndReason, FlowColumns } from "../flows/columns.ts";
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
  /** Batches between the engine and this thread, unacknowledged, at most (default 128). */
  sinkBatches?: number;
  /** Insert batches posted to the store Worker and not yet written, at most (default 32). */
  storeBatches?: number;
}

/** Flow ids reserved ahead of the engine (see the header). */
export const ID_BLOCK = 10_000_000;

export class History {
  readonly store: StoreClient;
  private readonly ports: MessagePort[] = [];
  private lastTrafficSec = 0;
  private readonly unsubscribe: (() => void)[] = [];
  private engine: EngineClient | null = null;
  /** First id of the running engine Worker, ids it has handed out (from its ticks), the reservation. */
  private genFirst = 1;
  private assigned = 0;
  private reserved = 0;
  private maxSeenId = 0;
  private spawned = 0;

  constructor(readonly config: HistoryConfig) {
    // 32 batches of up to 8192 flows (≈ 27 MiB) in flight absorb a burst of ~260 k ended flows (a
    // full-speed replay evicting, an idle sweep) while the store writes; beyond that, drop and count.
    this.store = new StoreClient({ path: config.path, retentionDays: config.retentionDays, retentionBytes: config.retentionBytes, maxInFlight: config.storeBatches ?? 32 });
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
    const mine = ch.port2;
    mine.onmessage = (ev: MessageEvent<EndedBatch>) => {
      const b = ev.data;
      let force = false;
      if (b.count > 0) {
        const c = FlowColumns.wrap(b.key, b.rec);
        for (let i = 0; i < b.count; i++) if (c.id(i) > this.maxSeenId) this.maxSeenId = c.id(i);
        // The final flush at shutdown comes as a burst: keep every batch (see the header).
        force = c.endReason(b.count - 1) === EndReason.shutdown;
      }
      this.store.insert(b.key, b.rec, b.count, force);
      mine.postMessage(0); // acknowledge: the engine may send the next batch
    };
    this.ports.push(mine);
    return [{ name: "history", port: ch.port1, maxBatches: this.config.sinkBatches ?? 128 }];
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
    const used = Math.max(this.assigned, this.maxSeenId, this.genFirst - 1);
    await this.store.reserveFlowIds(used).catch(() => false);
    await this.store.stop();
    for (const p of this.ports.splice(0)) p.close();
  }
}
