/**
 * The engine's call map: every call the server can make to the engine, with its parameters and
 * its result, in one type that both sides use. The client's `call(method, params)` is typed from
 * it and the host's handlers must implement exactly it (EngineHandlers), so adding a call is one
 * entry here plus its handler, and a handler returning the wrong type fails tsc.
 */
import type { EngineStats } from "../flows/engine.ts";
import type { FlowQuery } from "../flows/query/flow-query.ts";
import type { FlowRecord } from "../flows/format/record.ts";
import type { ExportBatch } from "../flows/query/export-cursor.ts";
import type { Selection } from "../flows/query/select.ts";
import type { SinkStats } from "../flows/sinks.ts";
import type { Talker, TalkerBy } from "../flows/stats/talkers.ts";
import type { CaptureStatus } from "../capture/capture-runner.ts";
import type { SeriesPayload } from "./protocol.ts";
import type { IpfixExportStats } from "../export/ipfix-sink.ts";
import type { CollectorStats } from "../collect/collector.ts";
import type { Span } from "./call-trace.ts";

/** The engine as health and /metrics see it, from one call. */
export interface EngineStatus {
  capture: CaptureStatus;
  stats: EngineStats;
  /** Flow table capacity (--max-flows). */
  capacity: number;
  /** Engine clock, seconds. */
  now: number;
  /** Ended-flow sinks: delivered and dropped batches. */
  sinks: SinkStats[];
  /** Exports open now, and waiting for a slot. */
  exports: { open: number; queued: number };
  /** Flow exporters (IPFIX): records, messages, send errors; absent or [] without --export-ipfix. */
  exporters?: IpfixExportStats[];
  /** The NetFlow/IPFIX collector (--collect-netflow): its exporters and counters; absent or null without one. */
  collector?: CollectorStats | null;
}

/** A consistent export: the matching flows' slots are fixed when it opens; rows are read as they stand. */
export interface ExportOpen {
  query: FlowQuery;
}
export interface ExportCursor {
  cursor: number;
  /** Rows the export will yield (at most query.limit). */
  total: number;
}
export interface ExportPage {
  /** The page's flows (at most min(max, EXPORT_PAGE_MAX)) as raw rows and extras; records are made on the server thread (ExportBatchReader). */
  rows: ExportBatch;
  /** No rows left; the cursor is closed. */
  done: boolean;
}

export interface EngineCalls {
  flows: { params: FlowQuery; result: Selection };
  flow: { params: { id: number }; result: FlowRecord | null };
  talkers: { params: { by: TalkerBy; window: number; limit: number }; result: Talker[] };
  bandwidth: { params: { duration: number; maxPoints?: number }; result: SeriesPayload };
  status: { params: Record<string, never>; result: EngineStatus };
  exportOpen: { params: ExportOpen; result: ExportCursor };
  exportNext: { params: { cursor: number; max: number }; result: ExportPage };
  exportClose: { params: { cursor: number }; result: boolean };
  /** The engine side's trace spans since the last call (call-trace.ts; [] unless FLOWMATRIX_CALL_TRACE=1). */
  trace: { params: Record<string, never>; result: Span[] };
}

export type CallName = keyof EngineCalls;
export type CallParams<K extends CallName> = EngineCalls[K]["params"];
export type CallResult<K extends CallName> = EngineCalls[K]["result"];

/** What the engine side implements: one handler per call, exactly typed (bulk work may answer later). */
export type EngineHandlers = { [K in CallName]: (params: CallParams<K>) => CallResult<K> | Promise<CallResult<K>> };

/** A call on the wire (one of the map's entries). */
export type CallMessage = { [K in CallName]: { type: "call"; id: number; method: K; params: CallParams<K> } }[CallName];
