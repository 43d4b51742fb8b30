/**
 * Messages between the main thread (StoreClient) and the store Worker (store-worker.ts).
 * StoreCalls is the one call map: each method's params and result, used by the client's `call`
 * and by the Worker's handler table (a handler returning the wrong type fails tsc).
 */
import type { Alert } from "../alerts/alert.ts";
import type { FlowRecord } from "../flows/format/record.ts";
import type { SeriesRange } from "../metrics/ring.ts";
import type { AlertEvent, AlertEventKind, AlertQuery } from "./alert-log.ts";
import type { FlowPage, StoredFlowQuery } from "./flow-query.ts";
import type { FlowStoreConfig, StoreStatus } from "./flow-store.ts";
import type { PruneResult } from "./retention.ts";
import type { TrafficSample } from "./series.ts";

export interface HistoryRange {
  fromSec: number;
  toSec: number;
  maxPoints?: number;
}

export interface StoreCalls {
  queryFlows: { params: StoredFlowQuery; result: FlowPage };
  findFlow: { params: { id: number }; result: FlowRecord | null };
  maxFlowId: { params: Record<string, never>; result: number };
  reserveFlowIds: { params: { upTo: number }; result: boolean };
  trafficHistory: { params: HistoryRange; result: SeriesRange };
  metricsHistory: { params: HistoryRange; result: SeriesRange };
  alerts: { params: AlertQuery; result: AlertEvent[] };
  status: { params: Record<string, never>; result: StoreStatus };
  addTraffic: { params: TrafficSample; result: null };
  addMetrics: { params: { t: number; values: Record<string, number> }; result: null };
  addAlertEvent: { params: { event: AlertEventKind; alert: Alert; atMs?: number }; result: null };
  pruneStep: { params: Record<string, never>; result: PruneResult | null };
}

export type StoreMethod = keyof StoreCalls;
export type StoreParams<M extends StoreMethod> = StoreCalls[M]["params"];
export type StoreResult<M extends StoreMethod> = StoreCalls[M]["result"];

/** The Worker's side of the map: one handler per method. */
export type StoreHandlers = { [M in StoreMethod]: (params: StoreParams<M>) => StoreResult<M> };

/** The store's config as it crosses to the Worker (no clock function). */
export type StoreWorkerConfig = Omit<FlowStoreConfig, "now">;

export type ToStoreWorker =
  | { type: "init"; config: StoreWorkerConfig }
  | { [M in StoreMethod]: { type: "call"; id: number; method: M; params: StoreParams<M> } }[StoreMethod]
  /** Ended flows in the flow table's layout; both buffers are transferred. */
  | { type: "insert"; key: Int32Array; rec: ArrayBuffer; count: number }
  /**
   * A MessagePort whose other end is an engine Worker's PortSink: ended-flow batches arrive on it
   * straight from the engine (no main-thread hop), each acknowledged once written; `null` ends it.
   * A newer port replaces the earlier ones (a restarted engine Worker) for the wait at stop.
   */
  | { type: "sink"; port: MessagePort }
  /**
   * Waits for the current sink port's end (at most SINK_DRAIN_MS, and only when it has carried a
   * batch), lowers the flow id reservation to max(`reserveFlowIds`, the highest id received) when
   * given, closes the database.
   */
  | { type: "stop"; reserveFlowIds?: number };

export type FromStoreWorker =
  | { type: "ready"; status: StoreStatus }
  | { type: "reply"; id: number; result?: unknown; error?: { name: string; message: string } }
  /** One insert message handled: `stored` of `count` flows written. */
  | { type: "inserted"; count: number; stored: number }
  | { type: "stopped" };
