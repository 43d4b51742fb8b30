/**
 * Reads a capture file through libpcap (pcap and pcapng, any linktype libpcap knows) with an
 * optional BPF filter, in batches via the C shim.
 *
 * Limits: libpcap 1.10 refuses pcapng files whose interfaces have different linktypes (the
 * pure-TS FileSource reads those); linktypes() reports the single linktype libpcap gives for
 * the whole file; packets reach the sink cut to `snap` bytes (default 256). Times come through the
 * shim as u32 seconds + fraction, so they are always finite and within a Date's range; a pcapng time
 * beyond 2^32 s (which the pure-TS reader replaces, see MAX_TS) arrives wrapped modulo 2^32 s.
 */
import { deliverBatch } from "./batch.ts";
import { applyFilter, bufText, cstr, errbuf, libpcap, PCAP, type PcapHandle } from "./libpcap.ts";
import type { CaptureStats, PacketSink, PacketSource } from "./packet.ts";
import { PcapError } from "./pcap-error.ts";
import { createBatch, loadShim, loadShimSync, readBatch, ShimStatus, type Batch } from "./shim.ts";

export interface PcapOfflineConfig {
  path: string;
  /** BPF filter expression (tcpdump syntax). */
  filter?: string;
  /** Bytes kept per packet for the sink (default 256: headers are all we decode). */
  snap?: number;
  /** Batch buffer size in bytes (default 4 MiB). */
  batchBytes?: number;
}

export class PcapOfflineSource implements PacketSource {
  private readonly config: PcapOfflineConfig;
  private stopped = false;
  private packets = 0;
  private linktype = -1;

  constructor(config: PcapOfflineConfig) {
    this.config = config;
  }

  /** Reads the whole file, yielding to the event loop between batches. Rejects with PcapError. */
  async start(sink: PacketSink): Promise<void> {
    this.stopped = false;
    await loadShim();
    if (this.stopped) return; // stopped while the shim loaded
    await this.run(sink, true);
  }

  /** Reads the whole file synchronously (no yielding). Throws PcapError. */
  readSync(sink: PacketSink): void {
    this.stopped = false;
    loadShimSync();
    void this.run(sink, false);
  }

  stop(): void {
    this.stopped = true;
  }

  stats(): CaptureStats {
    return { packets: this.packets, received: 0, dropped: 0, ifDropped: 0 };
  }

  linktypes(): number[] {
    return this.linktype < 0 ? [] : [this.linktype];
  }

  /** With yieldBetween=false the returned promise is already settled when run() returns. */
  private run(sink: PacketSink, yieldBetween: boolean): Promise<void> | void {
    const s = libpcap().symbols;
    const err = errbuf();
    const handle = s.pcap_open_offline_with_tstamp_precision(cstr(this.config.path), PCAP.TSTAMP_PRECISION_NANO, err);
    if (!handle) throw new PcapError(`cannot read ${this.config.path}: ${bufText(err)}`);
    const nano = s.pcap_get_tstamp_precision(handle) === PCAP.TSTAMP_PRECISION_NANO;
    this.linktype = s.pcap_datalink(handle);
    const batch = createBatch(this.config.batchBytes, this.config.snap);
    try {
      if (this.config.filter !== undefined && this.config.filter !== "") applyFilter(handle, this.config.filter);
    } catch (e) {
      s.pcap_close(handle);
      throw e;
    }
    if (!yieldBetween) {
      try {
        while (this.step(handle, batch, nano, sink));
      } finally {
        s.pcap_close(handle);
      }
      return;
    }
    return (async () => {
      try {
        while (this.step(handle, batch, nano, sink)) await new Promise<void>((r) => setImmediate(r));
      } finally {
        s.pcap_close(handle);
      }
    })();
  }

  /** Reads and delivers one batch; false at EOF or after stop(). */
  private step(handle: PcapHandle, batch: Batch, nano: boolean, sink: PacketSink): boolean {
    if (this.stopped) return false;
    const n = readBatch(handle, batch, -1, 0, true);
    this.packets += deliverBatch(batch, n, nano, this.linktype, sink);
    const st = batch.status[0];
    if (st === ShimStatus.ERROR) {
      throw new PcapError(`error reading ${this.config.path}: ${String(libpcap().symbols.pcap_geterr(handle))}`);
    }
    return st === ShimStatus.FULL;
  }
}
