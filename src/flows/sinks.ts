/**
 * Ended-flow sinks: the one seam through which history stores and exporters receive flows.
 *
 * The engine copies every flow that leaves the table (idle, active-timeout segment, TCP close,
 * eviction, end of capture, shutdown) into a batch in the table's own layout (FlowColumns: 40 B of
 * key + 64 B of record per flow, end reason in the meta bits) and hands full batches — and the
 * partial one at every flush (each engine tick, and at stop) — to every sink. A batch is
 * `{ count, key, rec }`; `FlowColumns.wrap(key, rec)` reads it and `toRecord` makes FlowRecords.
 *
 * Bounded, drop-and-count, never blocking: `offer()` must return at once. A sink that cannot take a
 * batch (its queue is full) returns false; the batch is dropped for that sink only and counted
 * (`dropped_batches`, `dropped_flows`, visible in health and /metrics). Other sinks, the
 * recently-ended list and the packet loop are not affected. `QueuedSink` gives any async consumer
 * (a Worker, a socket, a disk) that behaviour with a queue of at most `maxBatches`.
 *
 * Ownership: each sink gets its own batch (the last sink the original, the others a copy), so a
 * sink may transfer the buffers to a Worker (the history store's port). A sink done with them (the
 * IPFIX exporter, which copies each batch into its shared ring during offer()) hands them back to
 * the batcher (`setRecycler`), which fills them again instead of allocating ~850 KB per batch
 * (fresh memory: page faults on the capture thread; reused memory is also still in its cache). Cost per ended flow: one 104-byte copy into the batch, plus one copy per additional
 * sink; nothing when no sink is configured.
 *
 * Extras: a sink declares what it reads (`extras`: "all", the default — the history store; or
 * "names" — the IPFIX exporter, which sends only application and server name). When no sink reads
 * more than the names, the batch carries an application id (1 byte) and a server name per flow
 * (`names`, read during offer() only: the arrays are reused, never copied) instead of the 10
 * strings and 3 numbers of `side`; the id costs no string on the capture thread and no look-up
 * on the way to the exporter (measured there: ~25 ms per 200 k ended flows for the names as two
 * strings each, interned by a Map look-up per flow).
 */
import { FlowColumns, KEY_WORDS, REC_F64 } from "./table/columns.ts";
import { FlowSide, type FlowExtras, type FlowSideData } from "./table/extras.ts";
import { originDomain, originExporter } from "../collect/origins.ts";
import { appIdOf } from "../l7/apps.ts";

export interface EndedBatch {
  count: number;
  /** count × KEY_WORDS words (the buffer may be longer than needed: read `count` slots only). */
  key: Int32Array;
  /** count × 64 bytes of records (same rule). */
  rec: ArrayBuffer;
  /** The flows' extras (app, names, country, AS: extras.ts), when the engine runs an annotator and a sink wants them all. */
  side?: FlowSideData;
  /**
   * Instead of `side` when every sink wants only the names (`EndedFlowSink.extras === "names"`):
   * the application id and server name of each flow (the arrays may be longer: read `count` only).
   * Valid during offer() only: the batcher refills the same arrays for the next batch (a "names"
   * sink that keeps them copies them; the IPFIX sink copies the ids and interns the names at once).
   */
  names?: BatchNames;
}

/** Application and server name of each flow of a batch, for sinks that read only those. */
export interface BatchNames {
  /** Application of flow j: its index in APP_NAMES (l7/apps.ts; 0 = none). */
  app: Uint8Array;
  /** Server name of flow j (null: none). */
  server: (string | null)[];
}

/**
 * Writes the application id and server name of slot i of `src` into `out` at j: the annotator's
 * cheap path for names-only batches (no country/AS/DNS look-ups, no application string).
 */
export type NamesInto = (src: FlowColumns, i: number, out: BatchNames, j: number) => void;

/** The extras a sink reads: "all" (the default: `side`) or only application and server name (`names`). */
export type SinkExtras = "all" | "names";

export interface EndedFlowSink {
  readonly name: string;
  /** Takes the batch (and its buffers) or returns false at once when it cannot (counted as dropped). */
  offer(batch: EndedBatch): boolean;
  /** Which extras the sink reads (default "all"); the batcher fetches only what some sink reads. */
  readonly extras?: SinkExtras;
  /**
   * For a sink that can give the batch buffers back once done with them (e.g. a Worker that
   * transfers them back): the batcher passes the function to call with them, and refills batches
   * from those instead of allocating ~850 KB per batch.
   */
  setRecycler?(recycle: (key: Int32Array, rec: ArrayBuffer) => void): void;
  /** Called at stop after the last offer; resolves when what was accepted is done. */
  close?(): Promise<void>;
}

export interface SinkStats {
  name: string;
  batches: number;
  flows: number;
  dropped_batches: number;
  dropped_flows: number;
  /** offer() threw (counted as dropped too). */
  errors: number;
}

/** Flows per batch (≈ 850 KiB): large enough that per-batch costs vanish, small enough to flush every tick. */
export const BATCH_FLOWS = 8192;
/** Batch buffers a batcher keeps for reuse (given back by sinks, see setRecycler), at most. */
export const MAX_SPARE_BATCHES = 8;

export class EndedFlowBatcher {
  private cols: FlowColumns;
  private count = 0;
  private readonly stats: SinkStats[];
  /** Batch columns given back by a sink (setRecycler), reused before allocating. */
  private readonly spare: FlowColumns[] = [];
  /** Every sink reads only the names (app, server name): fetch and carry only those. */
  private readonly namesOnly: boolean;

  constructor(private readonly sinks: readonly EndedFlowSink[], private readonly batchFlows = BATCH_FLOWS) {
    this.cols = new FlowColumns(batchFlows);
    this.stats = sinks.map((s) => ({ name: s.name, batches: 0, flows: 0, dropped_batches: 0, dropped_flows: 0, errors: 0 }));
    this.namesOnly = sinks.length > 0 && sinks.every((s) => s.extras === "names");
    const recycle = (key: Int32Array, rec: ArrayBuffer) => this.recycle(key, rec);
    for (const s of sinks) s.setRecycler?.(recycle);
  }

  get active(): boolean {
    return this.sinks.length > 0;
  }

  private side: FlowSide | null = null;
  private names: BatchNames | null = null;
  private extrasOf: ((src: FlowColumns, i: number) => FlowExtras) | null = null;
  private namesInto: NamesInto | null = null;

  /**
   * Carry each flow's extras in the batch: EndedBatch.side from `fn`, or, when no sink reads more,
   * EndedBatch.names from `names` (without it, from `fn`: an application name outside APP_NAMES
   * is then carried as none).
   */
  keepExtras(fn: (src: FlowColumns, i: number) => FlowExtras, names?: NamesInto): void {
    if (this.namesOnly) {
      this.names ??= { app: new Uint8Array(this.batchFlows), server: new Array<string | null>(this.batchFlows).fill(null) };
      this.namesInto = names ?? ((src, i, out, j) => {
        const x = fn(src, i);
        out.app[j] = appIdOf(x.app);
        out.server[j] = x.server_name;
      });
    } else {
      this.side ??= new FlowSide(this.batchFlows);
      this.extrasOf = fn;
    }
  }

  /** The ended-flow listener: copy slot i of `src` (still intact while listeners run). */
  push(src: FlowColumns, i: number): void {
    const j = this.count;
    this.cols.copyFrom(src, i, j);
    if (this.namesInto !== null) this.namesInto(src, i, this.names!, j);
    else if (this.extrasOf !== null) {
      const x = this.extrasOf(src, i);
      const o = src.origin(i);
      this.side!.put(j, x, o === 0 ? null : originExporter(o), o === 0 ? null : originDomain(o));
    }
    if (++this.count === this.batchFlows) this.flush();
  }

  /** Batch columns a sink is done with (only whole batches of this batcher's size are kept, at most MAX_SPARE_BATCHES). */
  recycle(key: Int32Array, rec: ArrayBuffer): void {
    if (this.spare.length >= MAX_SPARE_BATCHES || key.length !== this.batchFlows * KEY_WORDS || rec.byteLength !== this.batchFlows * REC_F64 * 8) return;
    this.spare.push(FlowColumns.wrap(key, rec));
  }

  /** Hand the partial batch to the sinks (called every engine tick and at stop). */
  flush(): void {
    const n = this.count;
    if (n === 0) return;
    const full = this.cols;
    this.count = 0;
    // Plain data (copied: the side arrays are reused for the next batch); strings are shared, never changed.
    const side = this.side !== null ? this.side.data(n) : undefined;
    // Names: the batcher's own arrays, not a copy (EndedBatch.names: read during offer() only).
    const names = this.names !== null ? this.names : undefined;
    for (let s = 0; s < this.sinks.length; s++) {
      // The last sink takes the original buffers; the others get exact-size copies.
      const own = s === this.sinks.length - 1;
      const key = own ? full.key : full.key.slice(0, n * KEY_WORDS);
      const rec = (own ? full.f64.buffer : full.f64.buffer.slice(0, n * REC_F64 * 8)) as ArrayBuffer;
      const st = this.stats[s]!;
      let ok = false, threw = false;
      try {
        const b: EndedBatch = side !== undefined
          ? { count: n, key, rec, side: own ? side : { count: n, asn: side.asn.slice(), strs: side.strs } }
          : names !== undefined ? { count: n, key, rec, names } : { count: n, key, rec };
        ok = this.sinks[s]!.offer(b);
      } catch {
        st.errors++;
        threw = true;
      }
      if (ok) {
        st.batches++;
        st.flows += n;
      } else {
        st.dropped_batches++;
        st.dropped_flows += n;
        // A refused batch's own buffers are free again (not after a throw: the sink may hold them).
        if (own && !threw) this.recycle(key, rec);
      }
    }
    // The next batch's columns, taken after the offers: buffers a sink gave back meanwhile (the
    // IPFIX sink takes back what its Worker has sent at each offer, a refused batch its own) are
    // refilled instead of new ones (fresh memory: ~60 ns per flow of page faults on this thread).
    // Reused columns hold old flows beyond `count`: readers read `count` slots only (EndedBatch).
    this.cols = this.spare.pop() ?? new FlowColumns(this.batchFlows);
  }

  /** Flush, then let every sink finish what it accepted. */
  async close(): Promise<void> {
    this.flush();
    await Promise.all(this.sinks.map((s) => s.close?.().catch(() => {})));
  }

  sinkStats(): SinkStats[] {
    return this.stats.map((s) => ({ ...s }));
  }
}

/**
 * A sink around an async consumer: batches queue up to `maxBatches` (default 8); while the queue is
 * full, offers are refused (dropped and counted by the batcher). `write` runs one batch at a time;
 * a write that rejects is counted in `errors` and the queue goes on.
 */
export class QueuedSink implements EndedFlowSink {
  private readonly queue: EndedBatch[] = [];
  private running: Promise<void> | null = null;
  errors = 0;
  lastError: Error | null = null;

  constructor(
    readonly name: string,
    private readonly write: (batch: EndedBatch) => Promise<void> | void,
    private readonly maxBatches = 8,
  ) {}

  offer(batch: EndedBatch): boolean {
    if (this.queue.length >= this.maxBatches) return false;
    this.queue.push(batch);
    this.running ??= this.drain();
    return true;
  }

  get pending(): number {
    return this.queue.length;
  }

  private async drain(): Promise<void> {
    await Promise.resolve();
    while (this.queue.length > 0) {
      const b = this.queue[0]!;
      try {
        await this.write(b);
      } catch (e) {
        this.errors++;
        this.lastError = e instanceof Error ? e : new Error(String(e));
      }
      this.queue.shift();
    }
    this.running = null;
  }

  async close(): Promise<void> {
    while (this.running) await this.running;
  }
}
