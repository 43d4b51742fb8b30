/**
 * Replays a capture file as if it were live, on a clock that never runs ahead of the wall clock:
 * every packet is stamped with a time no later than the moment it is handed to the sink, and
 * stamps never go backwards (also across loop passes).
 *
 * - Paced (`speed` N): packet i is due at passStart + pos_i / N, where pos_i is the capture time
 *   since the pass's first packet with every silence capped at `maxGap` × N capture seconds (so no
 *   wait between two packets exceeds `maxGap` wall seconds, as tcpreplay's --maxsleep; default 5;
 *   a capped gap shifts the rest of the pass). A packet is handed over (and stamped) at its due
 *   time: the replay's clock is the wall clock, so rates show N × the capture's and durations
 *   1/N of them, as a live capture of `tcpreplay --multiplier N` would. Packets read before they
 *   are due wait in a small queue (copied: the reader reuses its buffer).
 * - Unpaced (`speed` "max", or any BPF filter: libpcap reads the file then): the capture keeps its
 *   own spacing, shifted so that its last packet lies one second before the pass started (a
 *   first, timestamp-only read of the file finds it); a stamp that would still be ahead of the
 *   wall clock (or behind the previous one, e.g. a later loop pass) is clamped. maxGap does not
 *   apply (nothing waits).
 * - Loop: each pass starts where the previous one ended (paced: at the wall clock).
 *
 * clock(): the replay's time between packets, for the engine's one-second tick: the wall clock
 * while a paced replay waits for its next packet (rates and expiry move on through silences, as
 * live); null while packets drive the clock; after the end of the file the last stamp + 1 s (at
 * most the wall clock), so the last second is closed, then the clock stays there.
 * position(): pass, packets of this pass, packets in the file, capture offset, for the dashboard.
 *
 * Limits: timestamps out of [0, year 9999] are ignored when finding the file's end; stamps of
 * out-of-order packets are kept monotonic (they take the previous packet's time).
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
  /** Longest wait between two packets of a paced replay, in wall seconds (default 5). */
  maxGap?: number;
}

export const DEFAULT_MAX_GAP = 5;

/** Where a replay stands in its file. */
export interface ReplayPosition {
  /** 1-based pass over the file (> 1 once looping). */
  pass: number;
  /** Packets handed over in this pass. */
  packets: number;
  /** Packet records in the file; null when unknown (a BPF filter skips some). */
  total: number | null;
  /** Capture seconds from the file's first packet to the last one handed over. */
  offset: number;
  /** Capture seconds from the file's first packet to its last. */
  span: number;
  loop: boolean;
  /** The file has been replayed to its end (no loop). */
  done: boolean;
}

/** What the timestamp-only first read finds. */
interface FileScan {
  records: number;
  first: number;
  last: number;
}

const TS_MAX = 253_402_300_799; // 9999-12-31T23:59:59Z

function scanFile(path: string): FileScan {
  const s: FileScan = { records: 0, first: NaN, last: NaN };
  new FileSource({ path }).readSync({
    packet(_b, _o, _c, _w, ts) {
      s.records++;
      if (!(ts >= 0 && ts <= TS_MAX)) return;
      if (Number.isNaN(s.first)) s.first = ts;
      if (!(ts <= s.last)) s.last = ts;
    },
  });
  return s;
}

interface Pending {
  data: Uint8Array;
  wirelen: number;
  linktype: number;
  ts: number;
  due: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const yieldNow = () => new Promise<void>((r) => setImmediate(r));
const wallNow = () => Date.now() / 1000;

export class ReplaySource implements PacketSource {
  private readonly config: ReplayConfig;
  private current: FileSource | PcapOfflineSource | null = null;
  private stopped = false;
  private finished = false;
  private packets = 0;
  private types: number[] = [];
  private scan: FileScan | null = null;
  /** Latest stamp handed over (seconds). */
  private lastOut = 0;
  /** Pass state: number, packets, wall start, first/previous capture time, capped position. */
  private pass = 0;
  private passPackets = 0;
  private passStart = NaN;
  private prevTs = 0;
  private pos = 0;
  /** Unpaced: stamp = ts + shift (then clamped). */
  private shift = 0;
  /** Capture time of the last packet handed over. */
  private lastTs = NaN;
  private readonly pending: Pending[] = [];

  constructor(config: ReplayConfig) {
    this.config = config;
  }

  private get paced(): boolean {
    return this.config.speed !== "max" && !this.config.filter;
  }

  async start(sink: PacketSink): Promise<void> {
    this.stopped = false;
    this.finished = false;
    const paced = this.paced;
    const speed = typeof this.config.speed === "number" ? this.config.speed : 1; // paced only
    const capGap = Math.max(0, this.config.maxGap ?? DEFAULT_MAX_GAP) * speed;
    // The timestamp-only first read: the file's packet count and its last packet time. Without a
    // filter its errors are the reader's own (the same FileSourceError start() would raise).
    if (this.config.filter) {
      try {
        this.scan = scanFile(this.config.path);
      } catch {
        this.scan = null; // libpcap may still read it; stamps are then clamped to the wall clock
      }
    } else {
      this.scan = scanFile(this.config.path);
    }

    const deliver = (buf: Uint8Array, off: number, caplen: number, wirelen: number, ts: number, t: number, lt: number) => {
      if (!(t >= this.lastOut)) t = this.lastOut;
      this.lastOut = t;
      this.lastTs = ts;
      this.packets++;
      this.passPackets++;
      sink.packet(buf, off, caplen, wirelen, t, lt);
    };

    const rebase: PacketSink = {
      packet: (buf, off, caplen, wirelen, ts, linktype) => {
        if (this.stopped) return;
        const now = wallNow();
        if (Number.isNaN(this.passStart)) {
          this.passStart = Math.max(now, this.lastOut);
          this.prevTs = ts;
          this.pos = 0;
          const end = this.scan && !Number.isNaN(this.scan.last) ? this.scan.last : ts;
          this.shift = now - 1 - end;
        }
        if (!paced) {
          let t = ts + this.shift;
          if (!(t <= now)) t = now;
          deliver(buf, off, caplen, wirelen, ts, t, linktype);
          return;
        }
        let gap = ts - this.prevTs;
        this.prevTs = ts;
        if (!(gap > 0)) gap = 0;
        else if (gap > capGap) gap = capGap;
        this.pos += gap;
        const due = this.passStart + this.pos / speed;
        if (this.pending.length === 0 && due <= now) {
          deliver(buf, off, caplen, wirelen, ts, due, linktype);
          return;
        }
        this.pending.push({ data: buf.slice(off, off + caplen), wirelen, linktype, ts, due });
      },
    };

    /** Hands the queued packets over at their due times (sleeping in short steps for stop()). */
    const drain = async () => {
      let slept = false;
      while (this.pending.length > 0 && !this.stopped) {
        const p = this.pending[0]!;
        const wait = (p.due - wallNow()) * 1000;
        if (wait > 0) {
          await sleep(Math.min(Math.max(wait, 1), 250));
          slept = true;
          continue;
        }
        this.pending.shift();
        deliver(p.data, 0, p.data.length, p.wirelen, p.ts, p.due, p.linktype);
      }
      if (!slept) await yieldNow();
    };
    const between = async () => {
      if (this.stopped) return;
      if (!paced) return yieldNow();
      await drain();
    };

    do {
      this.pass++;
      this.passPackets = 0;
      this.passStart = NaN;
      const src = this.config.filter
        ? new PcapOfflineSource({ path: this.config.path, filter: this.config.filter })
        : new FileSource({ path: this.config.path, batch: !paced ? 512 : speed <= 10 ? 1 : 16, between });
      this.current = src;
      await src.start(rebase);
      if (paced) await drain();
      this.types = src.linktypes();
      if (this.packets === 0) break; // an empty file would loop forever
    } while (this.config.loop && !this.stopped);
    this.pending.length = 0;
    if (!this.stopped) this.finished = true;
  }

  /**
   * The replay's clock (stamp seconds) between packets: the wall clock while a paced replay
   * waits for its next packet; after the end of the file, one second past the last stamp (at
   * most the wall clock); null otherwise (packets drive the engine's clock).
   */
  clock(): number | null {
    if (this.stopped) return null;
    const now = wallNow();
    if (this.finished) return this.packets > 0 ? Math.min(now, this.lastOut + 1) : null;
    if (!this.paced || Number.isNaN(this.passStart)) return null;
    const next = this.pending[0];
    if (next === undefined || next.due <= now) return null;
    return Math.max(this.lastOut, now);
  }

  /** Where the replay stands in its file (null before the file was read). */
  position(): ReplayPosition | null {
    const scan = this.scan;
    if (this.pass === 0) return null;
    const first = scan && !Number.isNaN(scan.first) ? scan.first : NaN;
    const span = scan && !Number.isNaN(scan.last) ? Math.max(0, scan.last - first) : 0;
    const offset = Number.isNaN(first) || Number.isNaN(this.lastTs) ? 0 : Math.min(span, Math.max(0, this.lastTs - first));
    return {
      pass: this.pass,
      packets: this.passPackets,
      total: scan && !this.config.filter ? scan.records : null,
      offset,
      span,
      loop: this.config.loop ?? false,
      done: this.finished,
    };
  }

  stop(): void {
    this.stopped = true;
    this.pending.length = 0;
    this.current?.stop();
  }

  stats(): CaptureStats {
    return { packets: this.packets, received: 0, dropped: 0, ifDropped: 0 };
  }

  linktypes(): number[] {
    return this.current ? this.current.linktypes() : this.types;
  }
}
