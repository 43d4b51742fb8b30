/**
 * The IPFIX exporter: an ended-flow sink (flows/sinks.ts) that sends every ended flow — idle,
 * active-timeout segment, TCP close, eviction, end of capture, shutdown — as IPFIX biflow records
 * over UDP to one collector (`--export-ipfix HOST:PORT`).
 *
 * Never blocks capture: UDP sends are non-blocking (a datagram the kernel will not take is counted
 * in `send_errors`, never waited for). Two modes:
 * - queued (serve, inside the engine Worker): offer() only queues the batch (at most
 *   `maxQueuedFlows` flows, default 65,536; beyond that offers are refused and the batcher drops
 *   and counts them: health `sinks[].dropped_flows`); the queue is
 *   encoded and sent in slices of SLICE_FLOWS flows, each in its own setImmediate, so the packet
 *   loop and queries run between slices.
 * - sync (`flows --read`, which reads the whole file without yielding): offer() encodes and sends
 *   at once, so no batch is ever dropped for want of a turn of the event loop.
 *
 * Counters (health, /metrics): flows, records, messages, template messages, bytes sent, send errors
 * and the last error text. The socket is opened by `open()` before the first offer.
 */
import { lookup } from "node:dns/promises";
import { FlowColumns } from "../flows/table/columns.ts";
import { FlowSide } from "../flows/table/extras.ts";
import type { EndedBatch, EndedFlowSink } from "../flows/sinks.ts";
import { IpfixEncoder } from "./ipfix-encoder.ts";

export interface IpfixExportConfig {
  /** Collector address (IPv4, IPv6 or a name) and UDP port. */
  host: string;
  port: number;
  /** Observation domain id (--ipfix-domain; default 1). */
  domainId: number;
  templateRefreshSec?: number;
  maxMessage?: number;
  /** Queued mode: flows waiting at most (default 65,536 ≈ 6.8 MB); beyond, offers are refused. */
  maxQueuedFlows?: number;
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
  /** Flows waiting in the queue now. */
  queued: number;
}

/** Flows encoded per slice in queued mode (≈ 0.3-1 ms). */
export const SLICE_FLOWS = 1024;

/** Parses `HOST:PORT` (`[v6]:PORT` for an IPv6 literal); throws a RangeError naming the problem. */
export function parseHostPort(s: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:\s]+):(\d+)$/.exec(s);
  if (!m) throw new RangeError(`must be HOST:PORT (or [IPv6]:PORT), got "${s}"`);
  const port = Number(m[2]);
  if (!(port >= 1 && port <= 65535)) throw new RangeError(`port must be 1-65535, got "${m[2]}"`);
  return { host: m[1]!, port };
}

type UdpSock = { send(data: Uint8Array): boolean; close(): void };

export class IpfixSink implements EndedFlowSink {
  readonly name = "ipfix";
  private sock: UdpSock | null = null;
  private readonly encoder: IpfixEncoder;
  private readonly queue: { cols: FlowColumns; side: FlowSide | null; count: number; next: number }[] = [];
  private running = false;
  private queuedFlows = 0;
  /** Settles when open() has finished (or failed: sends are then counted as errors). */
  private ready: Promise<unknown> = Promise.resolve();
  private idle: (() => void) | null = null;
  private flows = 0;
  private bytes = 0;
  private sendErrors = 0;
  private lastError: string | null = null;
  private readonly emit = (msg: Uint8Array): void => this.send(msg);

  constructor(readonly config: IpfixExportConfig, private readonly sync = false) {
    this.encoder = new IpfixEncoder({ domainId: config.domainId, maxMessage: config.maxMessage, templateRefreshSec: config.templateRefreshSec });
  }

  /**
   * Opens a UDP socket connected to the collector (a name is resolved once, here): any local port,
   * the family of the collector's address. A connected socket also learns of ICMP port-unreachable
   * (no collector listening): reported to the error handler and counted in `send_errors`.
   */
  open(): Promise<this> {
    const p = this.connect();
    this.ready = p.catch(() => {});
    return p.then(() => this);
  }

  private async connect(): Promise<void> {
    const { address, family } = await lookup(this.config.host);
    this.sock = await Bun.udpSocket({
      hostname: family === 6 ? "::" : "0.0.0.0",
      connect: { hostname: address, port: this.config.port },
      socket: {
        error: (...args: unknown[]) => {
          const e = args.find((a) => a instanceof Error) as Error | undefined;
          this.sendErrors++;
          this.lastError = e?.message ?? "socket error";
        },
      },
    });
  }

  offer(batch: EndedBatch): boolean {
    const cols = FlowColumns.wrap(batch.key, batch.rec);
    const side = batch.side ? FlowSide.fromData(batch.side) : null;
    if (this.sync) {
      this.encoder.encode(cols, 0, batch.count, this.emit, side);
      this.flows += batch.count;
      return true;
    }
    // Bounded by flows, not batches: a fast replay flushes many small batches (one per second of
    // packet time) faster than a turn of the event loop comes.
    if (this.queue.length > 0 && this.queuedFlows + batch.count > (this.config.maxQueuedFlows ?? 65_536)) return false;
    this.queue.push({ cols, side, count: batch.count, next: 0 });
    this.queuedFlows += batch.count;
    if (!this.running) {
      this.running = true;
      void this.ready.then(() => setImmediate(this.slice));
    }
    return true;
  }

  private readonly slice = (): void => {
    const job = this.queue[0];
    if (!job) {
      this.running = false;
      this.idle?.();
      return;
    }
    const to = Math.min(job.count, job.next + SLICE_FLOWS);
    try {
      this.encoder.encode(job.cols, job.next, to, this.emit, job.side);
    } catch (e) {
      this.sendErrors++;
      this.lastError = (e as Error).message;
    }
    this.flows += to - job.next;
    this.queuedFlows -= to - job.next;
    job.next = to;
    if (to >= job.count) this.queue.shift();
    setImmediate(this.slice);
  };

  private send(msg: Uint8Array): void {
    const s = this.sock;
    if (!s) {
      this.sendErrors++;
      this.lastError = "socket not open";
      return;
    }
    try {
      if (s.send(msg)) this.bytes += msg.length;
      else {
        this.sendErrors++;
        this.lastError = "socket buffer full (datagram dropped)";
      }
    } catch (e) {
      this.sendErrors++;
      this.lastError = (e as Error).message;
    }
  }

  /** Waits until the queue is sent, then closes the socket. */
  async close(): Promise<void> {
    if (this.running) await new Promise<void>((resolve) => (this.idle = resolve));
    this.sock?.close();
    this.sock = null;
  }

  stats(): IpfixExportStats {
    const e = this.encoder;
    return {
      name: this.name,
      target: `${this.config.host.includes(":") ? `[${this.config.host}]` : this.config.host}:${this.config.port}`,
      domain_id: this.config.domainId,
      flows: this.flows,
      messages: e.messages,
      template_messages: e.templateMessages,
      bytes: this.bytes,
      send_errors: this.sendErrors,
      last_error: this.lastError,
      queued: this.queuedFlows,
    };
  }
}
