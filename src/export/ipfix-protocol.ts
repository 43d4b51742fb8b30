/**
 * What passes between the IPFIX sink (ipfix-sink.ts, on the capture thread) and the exporter
 * Worker (ipfix-worker.ts): the init message, the batches on the sink's MessagePort, the Worker's
 * replies, and the counters both threads see in one SharedArrayBuffer.
 *
 * Batches travel through a shared ring of flows (ExporterInit.ring: SharedArrayBuffers in the
 * table's own layout, `capacity` flows = maxQueuedFlows, made once at open): the sink copies a
 * batch in at the ring's head (a memcpy, ~0.1 ms per 8,192 flows; a batch that reaches the ring's
 * end goes in two messages) and posts only where it lies, with the names; the Worker encodes
 * straight from the ring. Nothing is transferred: transferring (detaching) each batch's buffers
 * and taking them back cost the capture thread ~15-20 ms per 200 k flows more than this copy
 * (measured, 2 M packets with flows ending during the read). The Worker takes batches in order,
 * so the ring has room for `capacity − (flows posted − C_PROCESSED)` more flows.
 *
 * Names: the application as its id (APP_NAMES index, one byte, the same table on both sides) and
 * the server name interned (an Int32Array of ids, and the strings not sent before). Cloning the
 * strings themselves with every batch cost the capture thread ~4-9 ms per 8,192 flows (~0.5-1 µs
 * per flow: more than the read loop's own per-flow work on short flows); an id costs a Map
 * look-up per named flow.
 *
 * Counters (written by the Worker only, after each batch; read by the sink at any time): Float64
 * slots below, and one Int32 (`C_DONE_BATCHES`, Atomics) that the Worker bumps and notifies after
 * every batch, so a sink that must not drop (`flows --read`) can wait for room with Atomics.wait —
 * even while its own thread is busy in a synchronous read loop and takes no messages.
 */
import { SIDE_STRS, type FlowSideData } from "../flows/table/extras.ts";
import type { BatchNames } from "../flows/sinks.ts";
import { appIdOf, appName } from "../l7/apps.ts";
import type { IpfixExportConfig } from "./ipfix-sink.ts";
import type { FlowNameSource } from "./ipfix-encoder.ts";

/**
 * A batch on the port: `count` flows at ring position `at` (never past the ring's end). `apps`: count application ids
 * (APP_NAMES, 0 = none), or null when no flow has one. `names`: count server-name ids (0 = none)
 * into the Worker's string table, or null when no flow has one. `strings`: the table's next
 * entries (ids continue from its end); `reset`: the table is emptied first (the sink's bound on
 * distinct names, MAX_NAMES, was reached).
 */
export interface ExportBatch {
  count: number;
  at: number;
  apps: Uint8Array | null;
  names: Int32Array | null;
  strings: string[];
  reset: boolean;
}

/** The shared ring batches travel in: `key` capacity × KEY_WORDS int32, `rec` capacity × 64 bytes. */
export interface FlowRing {
  key: SharedArrayBuffer;
  rec: SharedArrayBuffer;
  capacity: number;
}

/** Distinct names kept in the table at most (it starts again before a batch that could pass it): ~2-5 MB per side. */
export const MAX_NAMES = 65_536;

/** To the Worker (on the Worker itself): the collector, the counters, the port batches come on. */
export interface ExporterInit {
  type: "init";
  config: IpfixExportConfig;
  counters: SharedArrayBuffer;
  port: MessagePort;
  /** The ring the batches come in (made by the sink; see the header). */
  ring: FlowRing;
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

/** The capture side of the string table: ids for names, new strings collected for the next batch. */
export class NameInterner {
  private ids = new Map<string, number>();
  private added: string[] = [];
  private reset = false;

  /**
   * The application ids and server-name ids of a batch's `names` (names-only batches) or `side`
   * (when another sink reads all extras): each null when no flow has one.
   */
  intern(batch: { side?: FlowSideData; names?: BatchNames }, count: number): { apps: Uint8Array | null; names: Int32Array | null } {
    // side: SIDE_STRS strings per flow, app at 0 and server name at 2.
    const b = batch.names, s = batch.side?.strs;
    if (b === undefined && s === undefined) return { apps: null, names: null };
    // The table restarts between batches only (the ids of one batch all name one table).
    if (this.ids.size + count > MAX_NAMES) this.restart();
    let apps: Uint8Array | null = null;
    if (b !== undefined) {
      // Already ids: copied when any is set (the batcher reuses its array).
      if (b.app.subarray(0, count).some((x) => x !== 0)) apps = b.app.slice(0, count);
    } else {
      let lastApp = "", lastAppId = 0;
      for (let j = 0; j < count; j++) {
        const app = s![j * SIDE_STRS];
        if (!app) continue;
        if (app !== lastApp) {
          lastApp = app;
          lastAppId = appIdOf(app);
        }
        if (lastAppId !== 0) (apps ??= new Uint8Array(count))[j] = lastAppId;
      }
    }
    // Server names: the previous flow's name and id, so runs of one name skip the Map.
    let names: Int32Array | null = null;
    let lastName = "", lastNameId = 0;
    for (let j = 0; j < count; j++) {
      const name = b !== undefined ? b.server[j] : s![j * SIDE_STRS + 2];
      if (!name) continue;
      if (name !== lastName) {
        lastName = name;
        lastNameId = this.id(name);
      }
      (names ??= new Int32Array(count))[j] = lastNameId;
    }
    return { apps, names };
  }

  private id(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.ids.size + 1;
      this.ids.set(s, id);
      this.added.push(s);
    }
    return id;
  }

  /** The next batch restarts the table (a batch with new strings was lost on its way). */
  restart(): void {
    this.ids = new Map();
    this.added = [];
    this.reset = true;
  }

  /** The strings added since the last call, and whether the table restarted before them. */
  take(): { strings: string[]; reset: boolean } {
    const r = { strings: this.added, reset: this.reset };
    this.added = [];
    this.reset = false;
    return r;
  }
}

/** The Worker side of the string table (index 0: no name). */
export class NameTable {
  private table: (string | null)[] = [null];

  /** Takes a batch's new strings; returns the FlowNameSource of its ids (null: no names). */
  update(b: ExportBatch): FlowNameSource | null {
    if (b.reset) this.table = [null];
    for (const s of b.strings) this.table.push(s);
    return b.apps === null && b.names === null ? null : new FlowNames(b.apps, b.names, this.table, b.at);
  }
}

/** The names of a batch's flows by their slot in the ring (`at` + index in the batch). */
class FlowNames implements FlowNameSource {
  constructor(
    private readonly apps: Uint8Array | null, private readonly ids: Int32Array | null,
    private readonly table: (string | null)[], private readonly at: number,
  ) {}
  app(i: number): string | null {
    return this.apps === null ? null : appName(this.apps[i - this.at]!);
  }
  serverName(i: number): string | null {
    return this.ids === null ? null : this.table[this.ids[i - this.at]!] ?? null;
  }
}
