/**
 * The store Worker: owns the FlowStore (bun:sqlite connection, retention timer) so that writes
 * and history queries never run on the packet loop's or the HTTP server's thread. A thin adapter:
 * messages in store-protocol.ts, handlers typed by StoreCalls. Messages on the main port are
 * handled in order, so a "stop" comes after every insert posted before it.
 *
 * Ended flows normally arrive on a sink port ("sink"): a MessagePort whose other end is the engine
 * Worker's PortSink, so batches go engine → store without the main thread. Each batch is written,
 * then acknowledged; the PortSink admits at most its bound of unacknowledged batches, so a store
 * that falls behind makes the engine's sink drop and count (never the capture). A "stop" first waits
 * for the sink's end (PortSink.close posts null after its last batch), since the engine's final
 * flush comes on that port, not in order with the main port.
 */
import { FlowColumns } from "../flows/table/columns.ts";
import type { EndedBatch } from "../flows/sinks.ts";
import { FlowStore } from "./flow-store.ts";
import type { FromStoreWorker, StoreHandlers, StoreMethod, ToStoreWorker } from "./store-protocol.ts";

declare const self: Worker;

/** At stop, wait at most this long for the current sink port's end marker. */
const SINK_DRAIN_MS = 3000;

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

interface Sink {
  port: MessagePort;
  /** The newest port (of the running engine Worker): the one stop waits for. */
  current: boolean;
  used: boolean;
  ended: boolean;
}
const sinks: Sink[] = [];
/** Highest flow id received on a sink port (stored or not): ids up to it were handed out. */
let maxSeenId = 0;
let stopping = false;

function attachSink(port: MessagePort): void {
  for (const s of sinks) s.current = false;
  const s: Sink = { port, current: true, used: false, ended: false };
  sinks.push(s);
  port.onmessage = (ev: MessageEvent<EndedBatch | null>) => {
    const b = ev.data;
    if (b === null) {
      s.ended = true;
      return;
    }
    s.used = true;
    if (b.count > 0) {
      const c = FlowColumns.wrap(b.key, b.rec);
      for (let i = 0; i < b.count; i++) if (c.id(i) > maxSeenId) maxSeenId = c.id(i);
    }
    store?.insertBatch(b.key, b.rec, b.count, b.side);
    port.postMessage(0); // acknowledge: the engine may send another batch
  };
}

/** Calls `done` once no current sink port that carried batches is still open, or after SINK_DRAIN_MS. */
function drainSinks(done: () => void): void {
  const until = performance.now() + SINK_DRAIN_MS;
  const check = () => {
    if (sinks.some((s) => s.current && s.used && !s.ended) && performance.now() < until) setTimeout(check, 10);
    else done();
  };
  check();
}

function stop(reserveFlowIds: number | undefined): void {
  if (store && reserveFlowIds !== undefined) store.reserveFlowIds(Math.max(reserveFlowIds, maxSeenId));
  store?.stop();
  store = null;
  table = null;
  for (const s of sinks.splice(0)) s.port.close();
  post({ type: "stopped" });
}

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
    case "sink":
      attachSink(m.port);
      break;
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
      if (stopping) break;
      stopping = true;
      drainSinks(() => stop(m.reserveFlowIds));
      break;
  }
};
