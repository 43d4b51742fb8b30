/**
 * The IPFIX exporter: an ended-flow sink (flows/sinks.ts) that sends every ended flow — idle,
 * active-timeout segment, TCP close, eviction, end of capture, shutdown — as IPFIX biflow records
 * over UDP to one collector (`--export-ipfix HOST:PORT`).
 *
 * Off the capture thread: encoding and sends run in an exporter Worker of their own
 * (ipfix-worker.ts: IpfixSender = encoder + socket). offer() copies the batch into a shared ring
 * of flows (ipfix-protocol.ts: ~0.1 ms per 8,192 flows), posts where it lies with each
 * flow's application id and server-name id (a string table the Worker keeps), hands the batch's
 * own buffers straight back to the batcher (setRecycler: it refills the same, cache-warm memory)
 * and returns. Also on the capture thread, and for any sink: the batcher's copy of each ended flow
 * and its names (flows/sinks.ts; the sink reads only application and server name, `extras =
 * "names"`, so the batcher fetches no more).
 * Measured (2 M packets, 200 k flows ending during the read with --idle-timeout 2, the read loop's
 * own CPU from /proc/thread-self/schedstat, alternating runs, prioritised): a Worker that takes the
 * batches and neither encodes nor sends them costs the read loop ~15 ms (+5 %) against no export;
 * posting transferred buffers instead (the previous design: each batch's buffers detached, sent,
 * given back) cost ~15 ms more. The rest of the export's cost on this 2-vCPU VM is the encoder's
 * Worker competing for the cores: the read loop's involuntary context switches double.
 *
 * Bounded queue: at most `maxQueuedFlows` flows (default 65,536: the ring, 6.8 MB shared) posted
 * and not yet taken by the Worker. Beyond that, two modes:
 * - bounded (serve, in the engine Worker): offers are refused — the batcher drops and counts them
 *   (health `sinks[].dropped_flows`), the capture never waits. Exception: the final flush at stop
 *   (flows ended with reason shutdown: at most the table, once) waits for room, at most
 *   closeTimeoutMs in all; what still finds none is refused and counted.
 * - lossless (`flows --read`, an offline file whose every flow must reach the collector): offer()
 *   waits, Atomics.wait on the Worker's batch counter (shared memory: the read loop is synchronous
 *   and takes no messages), until the Worker has made room. The read loop only waits when the
 *   exporter is behind by the whole ring. Flows that end at the end of the file (all of them, in a
 *   capture shorter than the idle timeout) are handed over once the read loop is done: close()
 *   then waits for the Worker to send them, the one part of the export that adds to the wall time
 *   on an idle machine (≈ 0.6-1 µs per flow). A Worker that makes no progress for STALL_MS is given
 *   up on (that offer and every later one refused and counted).
 *
 * Counters (health, /metrics): flows, messages, template messages, bytes sent, send errors (the
 * Worker's, read from shared memory at any time) and the last error text (posted by the Worker
 * when it changes). open() starts the Worker (and resolves the name) before the first offer.
 */
import { EndReason, FlowColumns, KEY_WORDS, REC_F64 } from "../flows/table/columns.ts";
import type { EndedBatch, EndedFlowSink } from "../flows/sinks.ts";
import { C_BYTES, C_FLOWS, C_MESSAGES, C_PROCESSED, C_SEND_ERRORS, C_TEMPLATE_MESSAGES, COUNTERS_BYTES, counterViews, NameInterner, type ExportBatch, type ExporterInit, type FromExporter, type FlowRing } from "./ipfix-protocol.ts";

export interface IpfixExportConfig {
  /** Collector address (IPv4, IPv6 or a name) and UDP port. */
  host: string;
  port: number;
  /** Observation domain id (--ipfix-domain; default 1). */
  domainId: number;
  templateRefreshSec?: number;
  maxMessage?: number;
  /** Flows posted to the exporter Worker and not yet taken, at most: the shared ring's size (default 65,536 ≈ 6.8 MB). */
  maxQueuedFlows?: number;
  /** close(): how long a bounded sink waits for the Worker to send what it holds (default 5,000 ms). */
  closeTimeoutMs?: number;
}

export interface IpfixExportStats {
  name: string;
  target: string;
  domain_id: number;
  /** Flows encoded and handed to the socket. */
  flows: number;
  messages: number;
  template_messages: number;
  bytes: number;
  /** Datagrams the socket refused or failed to send (their records are lost). */
  send_errors: number;
  last_error: string | null;
  /** Flows posted to the exporter Worker and not yet sent. */
  queued: number;
}

/** Lossless mode: a Worker that takes no batch for this long is given up on (ms). */
export const STALL_MS = 10_000;
/** The ring's size at most, in flows (a larger maxQueuedFlows is not honoured: ~55 MB). */
const MAX_RING = 1 << 19;

/** Parses `HOST:PORT` (`[v6]:PORT` for an IPv6 literal); throws a RangeError naming the problem. */
export function parseHostPort(s: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:\s]+):(\d+)$/.exec(s);
  if (!m) throw new RangeError(`must be HOST:PORT (or [IPv6]:PORT), got "${s}"`);
  const port = Number(m[2]);
  if (!(port >= 1 && port <= 65535)) throw new RangeError(`port must be 1-65535, got "${m[2]}"`);
  return { host: m[1]!, port };
}

export class IpfixSink implements EndedFlowSink {
  readonly name = "ipfix";
  /** Only the application and server name are sent: the batcher fetches no other extras for this sink. */
  readonly extras = "names";
  private worker: Worker | null = null;
  private port: MessagePort | null = null;
  private recycle: ((key: Int32Array, rec: ArrayBuffer) => void) | null = null;
  private readonly counters = new SharedArrayBuffer(COUNTERS_BYTES);
  private readonly f64: Float64Array;
  private readonly done: Int32Array;
  /** Flows posted to the Worker (C_PROCESSED of them taken so far). */
  private offered = 0;
  /** The shared ring of flows, and views to copy batches into it. */
  private readonly ring: FlowRing;
  private readonly ringKey: Int32Array;
  private readonly ringRec: Uint8Array;
  private dead: string | null = null;
  private lastError: string | null = null;
  private closed: (() => void) | null = null;
  private readonly names = new NameInterner();

  /** `lossless`: never drop, wait for room instead (flows --read; see the header). */
  constructor(readonly config: IpfixExportConfig, private readonly lossless = false) {
    ({ f64: this.f64, done: this.done } = counterViews(this.counters));
    const capacity = Math.min(MAX_RING, Math.max(1024, config.maxQueuedFlows ?? 65_536));
    this.ring = { key: new SharedArrayBuffer(capacity * KEY_WORDS * 4), rec: new SharedArrayBuffer(capacity * REC_F64 * 8), capacity };
    this.ringKey = new Int32Array(this.ring.key);
    this.ringRec = new Uint8Array(this.ring.rec);
  }

  /**
   * Starts the exporter Worker; resolves once its socket is open, rejects when the name does not
   * resolve or the Worker cannot start (offers are then refused and counted as dropped).
   */
  open(): Promise<this> {
    // In the compiled binary the Worker is its own entry point (see package.json's build script).
    const compiled = import.meta.url.includes("$bunfs");
    const w = new Worker(compiled ? "./export/ipfix-worker.ts" : new URL("./ipfix-worker.ts", import.meta.url).href);
    const { port1, port2 } = new MessageChannel();
    this.worker = w;
    this.port = port1;
    return new Promise<this>((resolve, reject) => {
      const fail = (message: string) => {
        this.dead ??= message;
        this.lastError ??= message;
        reject(new Error(message));
      };
      w.addEventListener("error", (ev) => fail(`exporter worker failed: ${ev.message}`));
      w.addEventListener("close", () => {
        this.dead ??= "exporter worker ended";
        this.closed?.();
      });
      w.onmessage = (ev: MessageEvent<FromExporter>) => {
        const m = ev.data;
        if (m.type === "ready") resolve(this);
        else if (m.type === "failed") fail(m.message);
        else if (m.type === "error") this.lastError = m.message;
        else if (m.type === "closed") {
          this.lastError = m.lastError ?? this.lastError;
          this.closed?.();
        }
      };
      w.postMessage({ type: "init", config: this.config, counters: this.counters, port: port2, ring: this.ring } satisfies ExporterInit, [port2]);
    });
  }

  /** Flows posted and not yet taken by the Worker. */
  private queued(): number {
    return this.offered - this.f64[C_PROCESSED]!;
  }

  /** Room in the ring: flows that can be posted now. */
  private room(): number {
    return this.ring.capacity - this.queued();
  }

  setRecycler(recycle: (key: Int32Array, rec: ArrayBuffer) => void): void {
    this.recycle = recycle;
  }

  offer(batch: EndedBatch): boolean {
    const port = this.port;
    if (port === null || this.dead !== null) return false;
    const cap = this.ring.capacity;
    // Bounded mode refuses when the ring has no room for the batch, except the final flush at stop
    // (it waits, within closeTimeoutMs); lossless mode waits (a batch larger than the ring goes in parts).
    if (this.room() < Math.min(batch.count, cap) && !this.waitForRoom(batch, Math.min(batch.count, cap))) return false;
    const { apps, names } = this.names.intern(batch, batch.count);
    const taken = this.names.take();
    try {
      let from = 0;
      do {
        // Up to the ring's end (the rest of the batch wraps to its start in the next message).
        const at = this.offered % cap;
        const n = Math.min(batch.count - from, cap - at);
        if (from > 0 && this.room() < n && !this.waitForRoom(batch, n)) return false; // an oversized batch's rest
        this.ringKey.set(batch.key.subarray(from * KEY_WORDS, (from + n) * KEY_WORDS), at * KEY_WORDS);
        this.ringRec.set(new Uint8Array(batch.rec, from * REC_F64 * 8, n * REC_F64 * 8), at * REC_F64 * 8);
        const whole = from === 0 && n === batch.count;
        const msg: ExportBatch = {
          count: n, at,
          apps: apps === null ? null : whole ? apps : apps.slice(from, from + n),
          names: names === null ? null : whole ? names : names.slice(from, from + n),
          strings: from === 0 ? taken.strings : [], reset: from === 0 && taken.reset,
        };
        port.postMessage(msg);
        this.offered += n;
        from += n;
      } while (from < batch.count);
    } catch (e) {
      this.names.restart(); // the strings just taken may not have reached the Worker
      throw e;
    }
    // The batch's own buffers are free at once: the batcher refills them (never transferred).
    this.recycle?.(batch.key, batch.rec);
    return true;
  }

  /** Waits for room for `n` flows of `batch` where the mode allows it (see the header): false when there is none. */
  private waitForRoom(batch: EndedBatch, n: number): boolean {
    if (this.lossless) return this.waitFor(n, STALL_MS, true);
    if (!isShutdownFlush(batch)) return false;
    this.shutdownDeadline ??= performance.now() + (this.config.closeTimeoutMs ?? 5000);
    return this.waitFor(n, this.shutdownDeadline - performance.now(), false);
  }

  private shutdownDeadline: number | null = null;

  /**
   * Blocks this thread until the ring has room for `n` flows. `stall`: false once the Worker has
   * made no progress for `ms` (then given up on for good: later offers are refused at once instead
   * of each waiting); else false once `ms` have passed.
   */
  private waitFor(n: number, ms: number, stall: boolean): boolean {
    const start = performance.now();
    let last = start;
    let seen = Atomics.load(this.done, 0);
    while (this.room() < n) {
      const left = stall ? 1000 : ms - (performance.now() - start);
      if (left <= 0) return false;
      Atomics.wait(this.done, 0, seen, Math.min(1000, left));
      const now = Atomics.load(this.done, 0);
      if (now !== seen) {
        seen = now;
        last = performance.now();
      } else if (stall && performance.now() - last > ms) {
        this.dead = this.lastError = `exporter worker stalled (nothing sent for ${STALL_MS} ms)`;
        return false;
      }
    }
    return true;
  }

  /**
   * Sends the end marker after the last batch and waits until the Worker has sent everything
   * (lossless: as long as it makes progress — given up after STALL_MS without any; bounded: at
   * most closeTimeoutMs), then ends the Worker.
   */
  async close(): Promise<void> {
    const w = this.worker, port = this.port;
    if (w === null || port === null) return;
    this.port = null;
    if (this.dead === null) {
      await new Promise<void>((resolve) => {
        let seen = Atomics.load(this.done, 0), last = performance.now();
        const t = this.lossless
          ? setInterval(() => {
            const now = Atomics.load(this.done, 0);
            if (now !== seen) [seen, last] = [now, performance.now()];
            else if (performance.now() - last > STALL_MS) {
              this.lastError = `exporter worker stalled (nothing sent for ${STALL_MS} ms)`;
              this.closed?.();
            }
          }, 500)
          : setTimeout(resolve, this.config.closeTimeoutMs ?? 5000);
        this.closed = () => {
          clearInterval(t);
          clearTimeout(t);
          resolve();
        };
        port.postMessage(null);
      });
    }
    this.closed = null;
    port.close();
    w.terminate();
    this.worker = null;
  }

  stats(): IpfixExportStats {
    const f = this.f64;
    return {
      name: this.name,
      target: `${this.config.host.includes(":") ? `[${this.config.host}]` : this.config.host}:${this.config.port}`,
      domain_id: this.config.domainId,
      flows: f[C_FLOWS]!,
      messages: f[C_MESSAGES]!,
      template_messages: f[C_TEMPLATE_MESSAGES]!,
      bytes: f[C_BYTES]!,
      send_errors: f[C_SEND_ERRORS]!,
      last_error: this.lastError,
      queued: this.queued(),
    };
  }
}

/** A batch of the final flush at stop (its last flow ended with reason shutdown). */
function isShutdownFlush(b: EndedBatch): boolean {
  return b.count > 0 && FlowColumns.wrap(b.key, b.rec).endReason(b.count - 1) === EndReason.shutdown;
}
