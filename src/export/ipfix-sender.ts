/**
 * IpfixSender: the IPFIX encoder (ipfix-encoder.ts) and one UDP socket connected to the collector —
 * the part of the exporter that runs in the exporter Worker (ipfix-worker.ts), off the capture
 * thread. Config: IpfixExportConfig; open() (start), sendBatch(), close() (stop).
 *
 * Sends never wait: a batch's messages go out in groups of SEND_GROUP datagrams with one
 * `sendMany` (sendmmsg) call each. A datagram the kernel did not take is counted in `sendErrors`
 * (its records are lost), never retried. A connected socket also learns of ICMP port-unreachable
 * (no collector listening): the kernel then refuses the next datagram with ECONNREFUSED (so about
 * every other datagram fails while nobody listens). When sendMany stops short, the next datagram
 * is sent alone once to learn the error text (at most one exception per group: cheap).
 *
 * Cost (bench/ipfix-export.ts, this 2-core VM at load 7-10): ≈ 0.45-0.6 µs per flow to encode (the
 * Community ID's SHA-1 ≈ 0.25 of it), ≈ 2-5 µs per datagram of ~1,350 bytes (12-13 flows) to send
 * on loopback: ≈ 0.6-1.2 µs per flow in all.
 */
import { lookup } from "node:dns/promises";
import type { FlowColumns } from "../flows/table/columns.ts";
import { IpfixEncoder } from "./ipfix-encoder.ts";
import { NameTable, type ExportBatch } from "./ipfix-protocol.ts";
import type { IpfixExportConfig } from "./ipfix-sink.ts";

/** Datagrams per sendMany call. */
export const SEND_GROUP = 32;

type UdpSock = { send(data: Uint8Array): boolean; sendMany(packets: readonly Uint8Array[]): number; close(): void };

export class IpfixSender {
  readonly encoder: IpfixEncoder;
  private sock: UdpSock | null = null;
  private readonly group: Uint8Array[] = [];
  private readonly names = new NameTable();
  /** Flows encoded and handed to the socket; bytes the socket took; datagrams it did not. */
  flows = 0;
  bytes = 0;
  sendErrors = 0;
  lastError: string | null = null;
  private readonly emit = (msg: Uint8Array): void => {
    this.group.push(msg);
    if (this.group.length >= SEND_GROUP) this.flush();
  };

  constructor(readonly config: IpfixExportConfig) {
    this.encoder = new IpfixEncoder({ domainId: config.domainId, maxMessage: config.maxMessage, templateRefreshSec: config.templateRefreshSec });
  }

  /** Resolves the collector's name (once, here) and opens a socket of its family, connected to it. */
  async open(): Promise<this> {
    const { address, family } = await lookup(this.config.host);
    this.sock = (await Bun.udpSocket({
      hostname: family === 6 ? "::" : "0.0.0.0",
      connect: { hostname: address, port: this.config.port },
      socket: {
        error: (...args: unknown[]) => {
          const e = args.find((a) => a instanceof Error) as Error | undefined;
          this.fail(e?.message ?? "socket error", 1);
        },
      },
    })) as unknown as UdpSock;
    return this;
  }

  /** Encodes and sends the batch's flows, slots [b.at, b.at + b.count) of `cols` (an exception in the encoder is counted, the batch lost). */
  sendBatch(b: ExportBatch, cols: FlowColumns): void {
    const names = this.names.update(b);
    if (b.count === 0) return;
    try {
      this.encoder.encode(cols, b.at, b.at + b.count, this.emit, names);
    } catch (e) {
      this.fail((e as Error).message, 1);
    }
    this.flows += b.count;
    this.flush();
  }

  private flush(): void {
    const g = this.group;
    if (g.length === 0) return;
    const s = this.sock;
    if (s === null) {
      this.fail("socket not open", g.length);
      g.length = 0;
      return;
    }
    let at = 0;
    while (at < g.length) {
      let n = 0;
      try {
        n = s.sendMany(at === 0 ? g : g.slice(at));
      } catch (e) {
        this.fail((e as Error).message, 1);
        at++;
        continue;
      }
      for (let k = at; k < at + n; k++) this.bytes += g[k]!.length;
      at += n;
      if (at >= g.length) break;
      // Stopped short: send the next one alone to learn why (it throws, or the kernel takes it now).
      const m = g[at++]!;
      try {
        if (s.send(m)) this.bytes += m.length;
        else this.fail("socket buffer full (datagram dropped)", 1);
      } catch (e) {
        this.fail((e as Error).message, 1);
      }
    }
    g.length = 0;
  }

  private fail(message: string, datagrams: number): void {
    this.sendErrors += datagrams;
    this.lastError = message;
  }

  close(): void {
    this.flush();
    this.sock?.close();
    this.sock = null;
  }
}
