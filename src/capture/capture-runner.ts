/**
 * CaptureRunner: runs one packet source into a sink and keeps its status — a live interface
 * re-opened with backoff when it fails (interface down or deleted), or a file replay (paced or at
 * full speed, once or looping).
 *
 * Start: the first open decides. `onStart()` is called once: with no argument when the capture is
 * open (live) or the file and filter are usable (replay), with the error otherwise (a
 * configuration error: no such interface, bad filter, unreadable file, no permission). An
 * interface that exists but is down (not up yet at boot, or taken down) is not a configuration
 * error: the start is reported good, the capture state is "down" and it is re-opened with backoff
 * until the interface comes up. After a
 * good start a failing live capture is re-opened with backoff (0.5 s doubling to 5 s, back to
 * 0.5 s after 10 s of good capture); a failing replay, or a permission / libpcap / file error, is
 * fatal (`onFatal`). An exception that is not a capture error is also reported to `onFault`.
 *
 * Status: packets and pcap_stats counters (received, dropped, if_dropped) are summed over every
 * handle opened, so totals survive a re-open; `refresh()` updates them and the drops of the last
 * call (`dropped_last`, the engine calls it once a second).
 *
 * Shape shared by every component: a config, start(), stop(). Cost: none per packet (the source
 * calls the sink directly); a handful of field updates per refresh().
 */
import { LiveSource } from "./live-source.ts";
import { PCAP } from "./libpcap.ts";
import type { PacketSink, PacketSource } from "./packet.ts";
import { preflightFile } from "./preflight.ts";
import { ReplaySource, type ReplayPosition } from "./replay-source.ts";

/** Where packets come from: a live interface, a capture file replayed, or nothing (serve --no-capture). */
export type CaptureSourceConfig =
  | { kind: "none" }
  | {
      kind: "live"; interface: string;
      /** Bytes libpcap captures per packet (serve --snaplen; default: what the decoder keeps, 256). */
      snaplen?: number;
      /** Kernel capture buffer, MiB (serve --buffer-size; default 32). */
      bufferSizeMiB?: number;
    }
  | {
      kind: "file"; path: string; speed: number | "max"; loop: boolean;
      /** Longest wait between two packets of a paced replay, in seconds (serve --max-gap). */
      maxGap?: number;
    };

export type CaptureState = "starting" | "active" | "down" | "stopped" | "finished";

export interface CaptureStatus {
  interface: string;
  source: "live" | "file" | "none";
  state: CaptureState;
  /** Last capture error (interface down, permission…), null when none. */
  error: string | null;
  linktype: number | null;
  packets: number;
  /** pcap_stats: received (lo counts twice), dropped by the kernel, dropped by the interface. */
  received: number;
  dropped: number;
  if_dropped: number;
  /** dropped / (received + dropped) over the whole run (0..1). */
  drop_rate: number;
  /** Drops since the previous refresh() (the last second). */
  dropped_last: number;
  /** Capture restarts after an error. */
  reopens: number;
}

export interface CaptureRunnerConfig {
  source: CaptureSourceConfig;
  filter?: string;
  sink: PacketSink;
  /**
   * A capture started again (the engine Worker was restarted): the start is reported good at once,
   * and failures are handled as while running (re-open, or fatal).
   */
  restart?: boolean;
  onStart?: (err?: Error) => void;
  onFatal?: (err: Error) => void;
  onFault?: (where: string, err: unknown) => void;
  /** Called when a file replay reached its end (not looping). */
  onFinished?: () => void;
}

/** Errors that end the capture for good (no re-open helps). */
const FATAL = new Set(["CapturePermissionError", "LibpcapMissingError", "FileSourceError"]);
/** Errors the capture itself raises; any other exception out of the packet path is a fault. */
const CAPTURE_ERRORS = new Set([...FATAL, "PcapError"]);

/** libpcap's "interface is not up" (PCAP_ERROR_IFACE_NOT_UP). */
function isNotUp(e: Error): boolean {
  return e.name === "PcapError" && (e as { code?: unknown }).code === PCAP.ERROR_IFACE_NOT_UP;
}

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 5000;

export class CaptureRunner {
  readonly status: CaptureStatus;
  private source: PacketSource | null = null;
  private stopping = false;
  private startReported: boolean;
  private lastDropped = 0;
  /** Counters of earlier (failed) capture handles, so totals survive a re-open. */
  private readonly base = { received: 0, dropped: 0, ifDropped: 0, packets: 0 };

  constructor(private readonly config: CaptureRunnerConfig) {
    const s = config.source;
    this.startReported = false;
    this.status = {
      interface: s.kind === "live" ? s.interface : s.kind === "file" ? s.path : "", source: s.kind, state: s.kind === "none" ? "stopped" : "starting", error: null,
      linktype: null, packets: 0, received: 0, dropped: 0, if_dropped: 0, drop_rate: 0, dropped_last: 0, reopens: 0,
    };
  }

  /** Runs the capture; resolves when it ends (file finished, stopped, or fatal). Never rejects. */
  async start(): Promise<void> {
    const c = this.config;
    if (c.source.kind === "none") {
      this.reportStart();
      return;
    }
    if (c.source.kind === "file") {
      try {
        preflightFile(c.source.path, c.filter);
      } catch (err) {
        if (!c.restart) {
          this.status.state = "down";
          this.status.error = (err as Error).message;
          this.reportStart(err as Error);
          return;
        }
      }
      this.reportStart();
    } else if (c.restart) {
      this.reportStart();
    }
    await this.run();
  }

  stop(): void {
    this.stopping = true;
    this.source?.stop();
    this.status.state = "stopped";
  }

  /** Update the counters from the source; drops since the previous call go to `dropped_last`. */
  refresh(): CaptureStatus {
    const st = this.status;
    if (this.source) {
      const s = this.source.stats();
      st.packets = this.base.packets + s.packets;
      st.received = this.base.received + s.received;
      st.dropped = this.base.dropped + s.dropped;
      st.if_dropped = this.base.ifDropped + s.ifDropped;
      const lt = this.source.linktypes();
      if (lt.length > 0) st.linktype = lt[0]!;
    }
    st.drop_rate = st.received > 0 ? st.dropped / (st.received + st.dropped) : 0;
    return st;
  }

  /** Once a second: refresh() and the drops of the interval. */
  tick(): CaptureStatus {
    const st = this.refresh();
    st.dropped_last = st.dropped - this.lastDropped;
    this.lastDropped = st.dropped;
    return st;
  }

  /** A replay's clock between packets (see ReplaySource.clock); null for live capture. */
  replayClock(): number | null {
    return this.source instanceof ReplaySource ? this.source.clock() : null;
  }

  /** A replay's position in its file; null for live capture. */
  replayPosition(): ReplayPosition | null {
    return this.source instanceof ReplaySource ? this.source.position() : null;
  }

  private reportStart(err?: Error): void {
    if (this.startReported) return;
    this.startReported = true;
    this.config.onStart?.(err);
  }

  private opened(): void {
    this.status.state = "active";
    this.status.error = null;
  }

  private retire(s: PacketSource): void {
    const st = s.stats();
    this.base.packets += st.packets;
    this.base.received += st.received;
    this.base.dropped += st.dropped;
    this.base.ifDropped += st.ifDropped;
  }

  private async run(): Promise<void> {
    const c = this.config;
    let backoff = BACKOFF_MIN_MS;
    for (;;) {
      if (this.stopping) return;
      const onOpen = () => {
        this.opened();
        this.reportStart();
      };
      if (c.source.kind === "none") return;
      const src: PacketSource = c.source.kind === "live"
        ? new LiveSource({ interface: c.source.interface, filter: c.filter, onOpen, snaplen: c.source.snaplen, bufferSizeMiB: c.source.bufferSizeMiB })
        : new ReplaySource({ path: c.source.path, speed: c.source.speed, loop: c.source.loop, filter: c.filter, maxGap: c.source.maxGap });
      this.source = src;
      const started = Date.now();
      try {
        if (c.source.kind === "live") this.status.state = "starting";
        else this.opened();
        await src.start(c.sink);
        this.refresh();
        this.status.state = this.stopping || c.source.kind === "live" ? "stopped" : "finished";
        if (c.source.kind === "file" && !this.stopping) c.onFinished?.();
        return;
      } catch (err) {
        const e = err as Error;
        this.refresh();
        this.retire(src);
        this.source = null;
        this.status.error = e.message;
        if (this.stopping) return;
        this.status.state = "down";
        if (!this.startReported) {
          if (!isNotUp(e)) {
            this.reportStart(e);
            return;
          }
          this.reportStart(); // the interface exists: wait for it to come up
        }
        if (!CAPTURE_ERRORS.has(e.name)) c.onFault?.("capture", e);
        if (FATAL.has(e.name) || c.source.kind === "file") {
          c.onFatal?.(e);
          return;
        }
        if (Date.now() - started > 10_000) backoff = BACKOFF_MIN_MS;
        await Bun.sleep(backoff);
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
        this.status.reopens++;
      }
    }
  }
}
