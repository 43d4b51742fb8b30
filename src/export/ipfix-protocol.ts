/**
 * What passes between the IPFIX sink (ipfix-sink.ts, on the capture thread) and the exporter
 * Worker (ipfix-worker.ts): the init message, the batches on the sink's MessagePort, the Worker's
 * replies, and the counters both threads see in one SharedArrayBuffer.
 *
 * Batches: the table's own layout (EndedBatch key + rec, buffers transferred, no copy) and only the
 * two strings per flow the exporter sends (application, server name) as a flat array — cloning all
 * ten extras strings per flow cost ~1.5 ms per 8,192-flow batch on the capture thread; the pairs
 * cost ~0.4 ms.
 *
 * Counters (written by the Worker only, after each batch; read by the sink at any time): Float64
 * slots below, and one Int32 (`C_DONE_BATCHES`, Atomics) that the Worker bumps and notifies after
 * every batch, so a sink that must not drop (`flows --read`) can wait for room with Atomics.wait —
 * even while its own thread is busy in a synchronous read loop and takes no messages.
 */
import type { IpfixExportConfig } from "./ipfix-sink.ts";
import type { FlowNameSource } from "./ipfix-encoder.ts";

/** A batch on the port: `names` holds 2 × count strings (app, server name of flow j at 2j, 2j+1). */
export interface ExportBatch {
  count: number;
  key: Int32Array;
  rec: ArrayBuffer;
  names: (string | null)[] | null;
}

/** To the Worker (on the Worker itself): the collector, the counters, the port batches come on. */
export interface ExporterInit {
  type: "init";
  config: IpfixExportConfig;
  counters: SharedArrayBuffer;
  port: MessagePort;
}

/**
 * From the Worker: "ready" (socket open), "failed" (the name did not resolve or the socket did not
 * open: nothing will be sent), "error" (a new last-error text; sent when the text changes, not per
 * error), "closed" (after the end marker: every batch sent, socket closed).
 */
export type FromExporter =
  | { type: "ready" }
  | { type: "failed"; message: string }
  | { type: "error"; message: string }
  | { type: "closed"; lastError: string | null };

// Float64 slots of the counters.
export const C_FLOWS = 0;
export const C_MESSAGES = 1;
export const C_TEMPLATE_MESSAGES = 2;
export const C_BYTES = 3;
export const C_SEND_ERRORS = 4;
/** Flows taken off the port (sent or not): offered − this = flows still queued. */
export const C_PROCESSED = 5;
const F64_SLOTS = 6;
/** Byte offset of the Int32 batch counter (after the Float64 slots). */
export const DONE_OFFSET = F64_SLOTS * 8;
export const COUNTERS_BYTES = DONE_OFFSET + 8;

export function counterViews(sab: SharedArrayBuffer): { f64: Float64Array; done: Int32Array } {
  return { f64: new Float64Array(sab, 0, F64_SLOTS), done: new Int32Array(sab, DONE_OFFSET, 1) };
}

/** FlowNameSource over a batch's flat `names` (null: no names, empty fields). */
export class FlowNames implements FlowNameSource {
  constructor(private readonly names: (string | null)[]) {}
  app(j: number): string | null {
    return this.names[2 * j] ?? null;
  }
  serverName(j: number): string | null {
    return this.names[2 * j + 1] ?? null;
  }
}
