/**
 * The IPFIX exporter: an ended-flow sink (flows/sinks.ts) that sends every ended flow — idle,
 * active-timeout segment, TCP close, eviction, end of capture, shutdown — as IPFIX biflow records
 * over UDP to one collector (`--export-ipfix HOST:PORT`).
 *
 * Off the capture thread: encoding and sends run in an exporter Worker of their own
 * (ipfix-worker.ts: IpfixSender = encoder + socket). offer() only posts the batch on a MessagePort
 * (key and record buffers transferred, no copy; each flow's application as its id and its server
 * name as an id into a string table the Worker keeps: ipfix-protocol.ts) and returns: 3-6 ms per
 * 200 k flows on the capture thread. Also there, and for any sink: the batcher's copy and extras per ended
 * flow (flows/sinks.ts). The sink reads only application and server name (`extras = "names"`: the
 * batcher fetches no more), and the Worker transfers each batch's buffers back once sent (a port
 * of their own, read here with receiveMessageOnPort at each offer, so the synchronous read loop of
 * `flows --read` gets them too): the batcher refills them instead of allocating new ones.
 * Measured (2 M packets, 200 k flows ending during the read with --idle-timeout 2, read loop's
 * own CPU from /proc/thread-self/schedstat, 11 alternating runs each, prioritised): export adds
 * 55-75 ms (+16-21 %). Of that, the names were ~25 ms before applications travelled as ids (now
 * ~10-15 ms), the 104-byte copy ~10 ms; a Worker that takes every batch and neither encodes nor
 * sends it still costs the read loop 20-30 ms (against the same sink refusing without posting),
 * whatever the batch size (1,024-32,768 flows), with or without the read-ahead Worker, and with
 * the exporter thread at nice +10 or SCHED_IDLE. The read loop's involuntary context switches
 * double meanwhile (77-164 → 173-274): on this 2-vCPU VM the extra threads' wake-ups preempt the
 * capture thread. Detaching each batch's buffer with no Worker at all cost ~18 ms by itself.
 *
 * Bounded queue: at most `maxQueuedFlows` flows (default 65,536 ≈ 6.8 MB) posted and not yet taken
 * by the Worker. Beyond that, two modes:
 * - bounded (serve, in the engine Worker): offers are refused — the batcher drops and counts them
 *   (health `sinks[].dropped_flows`), the capture never waits. Exception: the final flush at stop
 *   (flows ended with reason shutdown: at most the table, once) is always taken.
 * - lossless (`flows --read`, an offline file whose every flow must reach the collector): offer()
 *   waits, Atomics.wait on the Worker's batch counter (shared memory: the read loop is synchronous
 *   and takes no messages), until the Worker has made room. The read loop only waits when the
 *   exporter is behind by a full queue. Flows that end at the end of the file (all of them, in a
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
import { BATCH_FLOWS, MAX_SPARE_BATCHES, type EndedBatch, type EndedFlowSink } from "../flows/sinks.ts";
import { receiveMessageOnPort, type MessagePort as NodeMessagePort } from "node:worker_threads";
import { C_BYTES, C_FLOWS, C_MESSAGES, C_PROCESSED, C_SEND_ERRORS, C_TEMPLATE_MESSAGES, COUNTERS_BYTES, counterViews, NameInterner, type ExportBatch, type ExporterInit, type FromExporter, type ReturnedBuffers } from "./ipfix-protocol.ts";

export interface IpfixExportConfig {
  /** Collector address (IPv4, IPv6 or a name) and UDP port. */
  host: string;
  port: number;
  /** Observation domain id (--ipfix-domain; default 1). */
  domainId: number;
  templateRefreshSec?: number;
  maxMessage?: number;
  /** Flows posted to the exporter Worker and not yet taken, at most (default 65,536 ≈ 6.8 MB). */
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
  /** Where the Worker gives sent batches' buffers back (read with receiveMessageOnPort, never started). */
  private back: MessagePort | null = null;
  private recycle: ((key: Int32Array, rec: ArrayBuffer) => void) | null = null;
  private readonly counters = new SharedArrayBuffer(COUNTERS_BYTES);
  private readonly f64: Float64Array;
  private readonly done: Int32Array;
  /** Flows posted to the Worker (C_PROCESSED of them taken so far). */
  private offered = 0;
  private dead: string | null = null;
  private lastError: string | null = null;
  private closed: (() => void) | null = null;
  private readonly names = new NameInterner();

  /** `lossless`: never drop, wait for room instead (flows --read; see the header). */
  constructor(readonly config: IpfixExportConfig, private readonly lossless = false) {
    ({ f64: this.f64, done: this.done } = counterViews(this.counters));
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
    const back = new MessageChannel();
    this.worker = w;
    this.port = port1;
    this.back = back.port1;
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
      // As many batches as the queue holds, given back before the first batch (see ExporterInit.prefill).
      const prefill = {
        batches: Math.min(MAX_SPARE_BATCHES, Math.ceil((this.config.maxQueuedFlows ?? 65_536) / BATCH_FLOWS)),
        keyWords: BATCH_FLOWS * KEY_WORDS,
        recBytes: BATCH_FLOWS * REC_F64 * 8,
      };
      w.postMessage(
        { type: "init", config: this.config, counters: this.counters, port: port2, back: back.port2, prefill } satisfies ExporterInit,
        [port2, back.port2],
      );
    });
  }

  /** Flows posted and not yet taken by the Worker. */
  private queued(): number {
    return this.offered - this.f64[C_PROCESSED]!;
  }

  setRecycler(recycle: (key: Int32Array, rec: ArrayBuffer) => void): void {
    this.recycle = recycle;
  }

  /** Hands the buffers the Worker gave back to the batcher (dropped without a recycler). */
  private takeBack(): void {
    if (this.back === null) return;
    const back = this.back as unknown as NodeMessagePort; // Bun's MessagePort is the same object
    for (let m = receiveMessageOnPort(back); m !== undefined; m = receiveMessageOnPort(back)) {
      const r = m.message as ReturnedBuffers;
      this.recycle?.(r.key, r.rec);
    }
  }

  offer(batch: EndedBatch): boolean {
    const port = this.port;
    if (port === null || this.dead !== null) return false;
    this.takeBack();
    const max = this.config.maxQueuedFlows ?? 65_536;
    if (this.queued() > 0 && this.queued() + batch.count > max) {
      if (this.lossless) {
        if (!this.waitForRoom(batch.count, max)) return false;
        this.takeBack(); // what the Worker sent while we waited: the batcher refills it next
      } else if (!isShutdownFlush(batch)) return false;
    }
    const { apps, names } = this.names.intern(batch, batch.count);
    const msg: ExportBatch = { count: batch.count, key: batch.key, rec: batch.rec, apps, names, ...this.names.take() };
    const transfer: Transferable[] = [batch.rec];
    if ((batch.key.buffer as ArrayBuffer) !== batch.rec) transfer.push(batch.key.buffer as ArrayBuffer);
    if (apps !== null) transfer.push(apps.buffer as ArrayBuffer);
    if (names !== null) transfer.push(names.buffer as ArrayBuffer);
    try {
      port.postMessage(msg, transfer);
    } catch (e) {
      this.names.restart(); // the strings just taken never reached the Worker
      throw e;
    }
    this.offered += batch.count;
    return true;
  }

  /** Lossless mode: blocks this thread until `count` more flows fit (false: the Worker stalled). */
  private waitForRoom(count: number, max: number): boolean {
    let last = performance.now();
    let seen = Atomics.load(this.done, 0);
    while (this.queued() > 0 && this.queued() + count > max) {
      Atomics.wait(this.done, 0, seen, 1000);
      const now = Atomics.load(this.done, 0);
      if (now !== seen) {
        seen = now;
        last = performance.now();
      } else if (performance.now() - last > STALL_MS) {
        // Given up for good: later offers are refused at once instead of each waiting STALL_MS.
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
    this.back?.close();
    this.back = null;
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
