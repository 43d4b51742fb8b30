/**
 * History: the server's side of the embedded store (src/store, bun:sqlite in its own Worker).
 *
 * Feeds: ended flows arrive from the engine Worker through one MessagePort per engine Worker (a
 * PortSink there; the batch buffers are transferred, not copied) and go to StoreClient.insert,
 * which drops and counts when the store is behind; every engine tick adds the seconds of traffic
 * that completed since the previous one; every system sample adds its series; every alert raised
 * or cleared is logged. Reads (flows over time, traffic, metrics, alerts) go to the store Worker.
 *
 * Flow ids: start() reads the largest stored id so the engine continues after it (ids never
 * repeat across restarts).
 *
 * Shape shared by every component: a config, start(), stop().
 */
import type { AlertEngine } from "../alerts/alert-engine.ts";
import type { EndedBatch } from "../flows/sinks.ts";
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
  /** Batches between the engine and this thread, unacknowledged, at most (default 16). */
  sinkBatches?: number;
}

export class History {
  readonly store: StoreClient;
  private readonly ports: MessagePort[] = [];
  private lastTrafficSec = 0;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(readonly config: HistoryConfig) {
    this.store = new StoreClient({ path: config.path, retentionDays: config.retentionDays, retentionBytes: config.retentionBytes });
  }

  /** Opens the store; resolves with the first flow id the engine should use. */
  async start(): Promise<number> {
    await this.store.start();
    const max = await this.store.maxFlowId().catch(() => 0);
    return max + 1;
  }

  /** A fresh port for a new engine Worker's store sink (EngineClient calls this for each Worker). */
  sinkPorts = (): PortSinkConfig[] => {
    const ch = new MessageChannel();
    const mine = ch.port2;
    mine.onmessage = (ev: MessageEvent<EndedBatch>) => {
      const b = ev.data;
      this.store.insert(b.key, b.rec, b.count);
      mine.postMessage(0); // acknowledge: the engine may send the next batch
    };
    this.ports.push(mine);
    return [{ name: "history", port: ch.port1, maxBatches: this.config.sinkBatches ?? 16 }];
  };

  /** Subscribes to the engine's ticks, the system samples and the alerts. */
  attach(engine: EngineClient | null, metrics: SystemMetricsCollector, alerts: AlertEngine): void {
    engine?.onTick((s) => this.onTick(s));
    this.unsubscribe.push(metrics.onSample((s) => this.store.addMetrics(s.ts / 1000, sampleSeries(s))));
    this.unsubscribe.push(alerts.onChange((e) => this.store.addAlertEvent(e.type, e.alert)));
  }

  /** The seconds of traffic completed since the previous tick (a fast replay completes many per tick). */
  private onTick(s: TickSummary): void {
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

  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    await this.store.stop();
    for (const p of this.ports.splice(0)) p.close();
  }
}
