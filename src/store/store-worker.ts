/**
 * The store Worker: owns the FlowStore (bun:sqlite connection, retention timer) so that writes
 * and history queries never run on the packet loop's or the HTTP server's thread. A thin adapter:
 * messages in store-protocol.ts, handlers typed by StoreCalls. Messages are handled in order, so
 * a "stop" comes after every insert posted before it.
 */
import { FlowStore } from "./flow-store.ts";
import type { FromStoreWorker, StoreHandlers, StoreMethod, ToStoreWorker } from "./store-protocol.ts";

declare const self: Worker;

const post = (m: FromStoreWorker) => self.postMessage(m);
let store: FlowStore | null = null;

function handlers(s: FlowStore): StoreHandlers {
  return {
    queryFlows: (p) => s.queryFlows(p),
    findFlow: (p) => s.findFlow(p.id),
    maxFlowId: () => s.maxFlowId(),
    reserveFlowIds: (p) => s.reserveFlowIds(p.upTo),
    trafficHistory: (p) => s.trafficHistory(p.fromSec, p.toSec, p.maxPoints),
    metricsHistory: (p) => s.metricsHistory(p.fromSec, p.toSec, p.maxPoints),
    alerts: (p) => s.alerts(p),
    status: () => s.status(),
    addTraffic: (p) => (s.addTraffic(p), null),
    addMetrics: (p) => (s.addMetrics(p.t, p.values), null),
    addAlertEvent: (p) => (s.addAlertEvent(p.event, p.alert, p.atMs), null),
    pruneStep: () => s.pruneStep(),
  };
}
let table: StoreHandlers | null = null;

self.onmessage = (ev: MessageEvent<ToStoreWorker>) => {
  const m = ev.data;
  switch (m.type) {
    case "init":
      store = new FlowStore(m.config);
      store.start();
      table = handlers(store);
      post({ type: "ready", status: store.status() });
      break;
    case "insert": {
      const stored = store ? store.insertBatch(m.key, m.rec, m.count) : 0;
      post({ type: "inserted", count: m.count, stored });
      break;
    }
    case "call":
      try {
        if (!table) throw new Error("store not initialised");
        const fn = table[m.method as StoreMethod] as (p: unknown) => unknown;
        post({ type: "reply", id: m.id, result: fn(m.params) });
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        post({ type: "reply", id: m.id, error: { name: err.name, message: err.message } });
      }
      break;
    case "stop":
      store?.stop();
      store = null;
      table = null;
      post({ type: "stopped" });
      break;
  }
};
