/**
 * Replays a capture file as if it were live: packet times are shifted so the first packet is
 * "now" (the dashboard shows current times), paced at `speed` × real time (or as fast as possible
 * with "max"), optionally looping (each pass continues the clock where the previous one ended).
 *
 * Pacing granularity: one packet for speed ≤ 10, batches of 16 packets above; a packet is handed
 * over at most one batch early. With a BPF filter the file is read by libpcap (PcapOfflineSource)
 * and replayed unpaced, as with `--speed max`.
 */
import { FileSource } from "./file-source.ts";
import type { CaptureStats, PacketSink, PacketSource } from "./packet.ts";
import { PcapOfflineSource } from "./pcap-offline-source.ts";

export interface ReplayConfig {
  path: string;
  /** Multiple of real time, or "max" (default 1). */
  speed?: number | "max";
  /** Start again at the end of the file (default false). */
  loop?: boolean;
  filter?: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const yieldNow = () => new Promise<void>((r) => setImmediate(r));

export class ReplaySource implements PacketSource {
  private readonly config: ReplayConfig;
  private current: FileSource | PcapOfflineSource | null = null;
  private stopped = false;
  private packets = 0;
  private types: number[] = [];
  /** ts' = ts + offset; set at the first packet of each pass. */
  private offset = NaN;
  private lastOut = 0;
  private passWall = 0;
  private passFirst = 0;

  constructor(config: ReplayConfig) {
    this.config = config;
  }

  async start(sink: PacketSink): Promise<void> {
    this.stopped = false;
    const speed = this.config.speed ?? 1;
    const rebase: PacketSink = {
      packet: (buf, off, caplen, wirelen, ts, linktype) => {
        if (Number.isNaN(this.offset)) {
          const start = Math.max(Date.now() / 1000, this.lastOut + 0.001);
          this.offset = start - ts;
          this.passFirst = ts;
          this.passWall = performance.now();
        }
        const t = ts + this.offset;
        if (t > this.lastOut) this.lastOut = t;
        this.packets++;
        sink.packet(buf, off, caplen, wirelen, t, linktype);
      },
    };
    const between = async () => {
      if (this.stopped) return;
      if (speed === "max" || Number.isNaN(this.offset)) return yieldNow();
      const due = this.passWall + ((this.lastOut - this.offset - this.passFirst) * 1000) / speed;
      let wait = due - performance.now();
      if (wait <= 1) return yieldNow();
      // Sleep in short steps so stop() is honoured promptly.
      while (wait > 1 && !this.stopped) {
        await sleep(Math.min(wait, 250));
        wait = due - performance.now();
      }
    };
    do {
      this.offset = NaN;
      const src = this.config.filter
        ? new PcapOfflineSource({ path: this.config.path, filter: this.config.filter })
        : new FileSource({ path: this.config.path, batch: speed === "max" ? 512 : speed <= 10 ? 1 : 16, between });
      this.current = src;
      await src.start(rebase);
      this.types = src.linktypes();
      if (this.packets === 0) break; // an empty file would loop forever
    } while (this.config.loop && !this.stopped);
  }

  /**
   * The replay's clock (rebased seconds) for paced replays: where packet time stands now, also
   * between packets, so rates and expiry move on through quiet stretches of the capture as they
   * do live. null for "max" or before the first packet.
   */
  clock(): number | null {
    const speed = this.config.speed ?? 1;
    if (speed === "max" || Number.isNaN(this.offset) || this.stopped) return null;
    return this.offset + this.passFirst + ((performance.now() - this.passWall) / 1000) * speed;
  }

  stop(): void {
    this.stopped = true;
    this.current?.stop();
  }

  stats(): CaptureStats {
    return { packets: this.packets, received: 0, dropped: 0, ifDropped: 0 };
  }

  linktypes(): number[] {
    return this.current ? this.current.linktypes() : this.types;
  }
}
