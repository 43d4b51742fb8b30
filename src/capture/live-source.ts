/**
 * Live capture from a network interface through libpcap, read in batches by the C shim.
 *
 * The handle is switched to non-blocking mode and the shim waits in poll() on its selectable fd
 * for at most `timeoutMs`, so an idle capture sleeps in the kernel (no busy polling) and the
 * loop returns to the event loop at least every `timeoutMs` — the Worker running it can still
 * receive messages (stop, queries). Packets reach the sink cut to `snap` bytes (default 256).
 *
 * Under load the loop does not wake for every kernel block (TPACKET_V3 retires a 256 KiB block
 * every few ms at 200 kpps): after a drain that delivered at least BUSY_PACKETS packets it
 * sleeps `drainIntervalMs` (default 20) on a timer — the event loop stays free meanwhile — and
 * then drains whatever blocks completed, without waiting. Fewer wake-ups and FFI crossings, and
 * bigger batches; the cost is at most `drainIntervalMs` more latency under load (a quiet link is
 * still bound by the kernel's block timeout, `timeoutMs`). The kernel buffer (32 MiB) holds far
 * more than one interval, and the loop never pauses while the ring still has data (a full
 * batch is followed by the next read at once).
 *
 * Limits: one linktype per handle (pcap_datalink). Where libpcap has no selectable fd the
 * handle stays blocking and stop() takes effect only after the next packet or buffer timeout.
 * On `lo`, pcap_stats' ps_recv counts each packet twice (libpcap drops the outgoing copy in
 * user space). A capture error (e.g. the interface went down) rejects start() with PcapError;
 * re-opening is the caller's job.
 */
import { deliverBatch } from "./batch.ts";
import { CapturePermissionError } from "./capture-permission-error.ts";
import { listInterfaces } from "./interfaces.ts";
import { applyFilter, bufText, cstr, errbuf, libpcap, PCAP, type PcapHandle } from "./libpcap.ts";
import type { CaptureStats, PacketSink, PacketSource } from "./packet.ts";
import { PcapError } from "./pcap-error.ts";
import { createBatch, loadShim, readBatch, ShimStatus } from "./shim.ts";

export interface LiveSourceConfig {
  interface: string;
  /**
   * Bytes libpcap captures per packet (default: `snap`, since the sink never sees more; the
   * kernel then copies no more than that into the ring, and wirelen stays the real length).
   */
  snaplen?: number;
  /** Promiscuous mode (default true). */
  promisc?: boolean;
  /** Kernel buffer in MiB (default 32). */
  bufferSizeMiB?: number;
  /** Buffer timeout, and the longest the loop stays away from the event loop (default 100 ms). */
  timeoutMs?: number;
  /** Deliver each packet at once instead of per kernel buffer block (more wake-ups). */
  immediate?: boolean;
  /** BPF filter expression (tcpdump syntax). */
  filter?: string;
  /** Called once the handle is activated (and the filter set): the capture is really running. */
  onOpen?: () => void;
  /** Bytes kept per packet for the sink (default 256). */
  snap?: number;
  /** Batch buffer size in bytes (default 4 MiB). */
  batchBytes?: number;
  /** Pause between drains while packets keep coming, ms (default 20; 0: wake per kernel block). */
  drainIntervalMs?: number;
}

/** A drain that delivered at least this many packets counts as busy (see drainIntervalMs). */
export const BUSY_PACKETS = 256;

/** Warnings libpcap gave at activation (pcap_activate > 0), e.g. promiscuous mode not supported. */
export type ActivationWarning = string;

export class LiveSource implements PacketSource {
  private readonly config: LiveSourceConfig;
  private handle: PcapHandle | null = null;
  private stopped = false;
  private packets = 0;
  private linktype = -1;
  private last = { received: 0, dropped: 0, ifDropped: 0 };
  private readonly statBuf = new Uint32Array(4);
  /** Activation warnings of the current/last handle. */
  readonly warnings: ActivationWarning[] = [];

  constructor(config: LiveSourceConfig) {
    this.config = config;
  }

  /**
   * Opens the interface and delivers packets until stop(). Rejects with CapturePermissionError,
   * PcapError (no such device — the message lists the available interfaces —, bad filter,
   * activation or capture error) or LibpcapMissingError.
   */
  async start(sink: PacketSink): Promise<void> {
    this.stopped = false;
    await loadShim();
    // A stop() while the shim loaded (a shutdown during start-up) ends the capture before it opens.
    if (this.stopped) return;
    const handle = this.open();
    this.handle = handle;
    this.config.onOpen?.();
    const s = libpcap().symbols;
    const nano = s.pcap_get_tstamp_precision(handle) === PCAP.TSTAMP_PRECISION_NANO;
    const timeoutMs = this.config.timeoutMs ?? 100;
    const batch = createBatch(this.config.batchBytes, this.config.snap);
    const err = errbuf();
    const fd = s.pcap_setnonblock(handle, 1, err) === 0 ? s.pcap_get_selectable_fd(handle) : -1;
    if (fd < 0) s.pcap_setnonblock(handle, 0, err);
    const pause = fd >= 0 ? (this.config.drainIntervalMs ?? 20) : 0;
    let wait = timeoutMs;
    try {
      while (!this.stopped) {
        const n = readBatch(handle, batch, fd, wait, false);
        this.packets += deliverBatch(batch, n, nano, this.linktype, sink);
        const st = batch.status[0];
        if (st === ShimStatus.ERROR) {
          throw new PcapError(`capture on "${this.config.interface}" failed: ${String(s.pcap_geterr(handle))}`);
        }
        if (st === ShimStatus.BREAK) break;
        if (st !== ShimStatus.FULL && pause > 0 && n >= BUSY_PACKETS) {
          // Busy: let the kernel fill a few blocks, then take them in one drain (no poll wait).
          await Bun.sleep(pause);
          wait = 0;
        } else {
          await new Promise<void>((r) => setImmediate(r));
          wait = st === ShimStatus.FULL ? 0 : timeoutMs;
        }
      }
    } finally {
      this.readStats();
      this.handle = null;
      s.pcap_close(handle);
    }
  }

  stop(): void {
    this.stopped = true;
  }

  /** Packets delivered, plus pcap_stats of the open handle (or the last values before close). */
  stats(): CaptureStats {
    this.readStats();
    return { packets: this.packets, ...this.last };
  }

  linktypes(): number[] {
    return this.linktype < 0 ? [] : [this.linktype];
  }

  private readStats(): void {
    if (!this.handle) return;
    if (libpcap().symbols.pcap_stats(this.handle, this.statBuf) === 0) {
      const [received, dropped, ifDropped] = this.statBuf;
      this.last = { received: received!, dropped: dropped!, ifDropped: ifDropped! };
    }
  }

  /** pcap_create + options + activate (+ filter); closes the handle on any failure. */
  private open(): PcapHandle {
    const s = libpcap().symbols;
    const c = this.config;
    const name = c.interface;
    const err = errbuf();
    const handle = s.pcap_create(cstr(name), err);
    if (!handle) throw new PcapError(`cannot open "${name}": ${bufText(err)}`);
    try {
      s.pcap_set_snaplen(handle, c.snaplen ?? Math.max(4, ((c.snap ?? 256) + 3) & ~3));
      s.pcap_set_promisc(handle, c.promisc === false ? 0 : 1);
      s.pcap_set_timeout(handle, c.timeoutMs ?? 100);
      if (c.immediate) s.pcap_set_immediate_mode(handle, 1);
      s.pcap_set_buffer_size(handle, (c.bufferSizeMiB ?? 32) * 1024 * 1024);
      s.pcap_set_tstamp_precision(handle, PCAP.TSTAMP_PRECISION_NANO); // falls back to µs if refused
      const rc = s.pcap_activate(handle);
      this.warnings.length = 0;
      if (rc < 0) throw activationError(name, rc, String(s.pcap_geterr(handle)), String(s.pcap_statustostr(rc)));
      if (rc > 0) this.warnings.push(`${String(s.pcap_statustostr(rc))}: ${String(s.pcap_geterr(handle))}`);
      this.linktype = s.pcap_datalink(handle);
      if (c.filter !== undefined && c.filter !== "") applyFilter(handle, c.filter);
      return handle;
    } catch (e) {
      s.pcap_close(handle);
      throw e;
    }
  }
}

function activationError(iface: string, rc: number, detail: string, status: string): Error {
  const text = detail && detail !== "" ? detail : status;
  if (rc === PCAP.ERROR_PERM_DENIED || rc === PCAP.ERROR_PROMISC_PERM_DENIED) {
    return new CapturePermissionError(iface, text);
  }
  if (rc === PCAP.ERROR_NO_SUCH_DEVICE) {
    let names = "";
    try {
      names = listInterfaces().map((i) => i.name).join(", ");
    } catch {
      names = "(could not list interfaces)";
    }
    return new PcapError(`no such interface "${iface}" (${text}). Available interfaces: ${names}`, rc);
  }
  if (rc === PCAP.ERROR_IFACE_NOT_UP) return new PcapError(`interface "${iface}" is not up (${text})`, rc);
  return new PcapError(`cannot capture on "${iface}": ${status}${detail ? `: ${detail}` : ""}`, rc);
}
