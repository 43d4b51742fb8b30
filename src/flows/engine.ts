/**
 * FlowEngine: the packet sink that turns packets into flows. Decodes each packet into one reused
 * DecodedPacket, joins non-first fragments to their first fragment, accounts the packet in the
 * flow table, counts non-IP and malformed packets by reason, and runs the one-second clock
 * (rates, per-second totals, expiry).
 *
 * Clock: packet time. Offline this replays the capture's own time; live, the owner also calls
 * `advance(Date.now() / 1000)` from a timer so flows expire while no packets arrive. A served
 * replay (capture/replay-source.ts) hands it stamps that never run ahead of the wall clock, and
 * the Worker advances it with the replay's clock() between packets, so the charts (totals) and
 * talkers, which read this clock, stay on the replay's timeline.
 */
import { decode, decodeEthIpv4 } from "../capture/decode.ts";
import { FragmentTracker } from "../capture/fragments.ts";
import { DecodedPacket, DecodeResult, MALFORMED_NAMES, type PacketSink } from "../capture/packet.ts";
import type { FlowColumns } from "./table/columns.ts";
import type { FlowExtras } from "./table/extras.ts";
import { EndedRing } from "./table/ended.ts";
import { EndReason } from "./table/columns.ts";
import { EndedFlowBatcher, type EndedFlowSink, type NamesInto, type SinkStats } from "./sinks.ts";
import { FlowTable, type FlowTableConfig } from "./table/table.ts";
import { Talkers } from "./stats/talkers.ts";
import { Totals } from "./stats/totals.ts";

export interface FlowEngineConfig extends FlowTableConfig {
  /** Ended flows kept for queries (default 100,000). */
  recentEnded?: number;
  /** Keep per-second top-talker snapshots (the server does; the `flows` CLI does not need them). */
  talkers?: boolean;
  /** Per-flow rates (bps) at each one-second tick (default true; the `flows` CLI turns them off). */
  rates?: boolean;
  /**
   * Run the per-second work over the table (rates, talkers, expiry) in slices of TICK_SLICE slots,
   * each scheduled with this function (e.g. setImmediate), so a Worker answers queries between
   * slices. Without it the whole tick runs at once.
   */
  schedule?: (fn: () => void) => void;
  /**
   * Seconds of clock between expiry sweeps (default 1). A packet that arrives after its flow
   * timed out always starts a new flow (the table checks on arrival), so a longer interval only
   * delays when ended flows are reported; the `flows` CLI sweeps every 10 s and once at the end.
   */
  sweepEvery?: number;
  /** Receivers of every ended flow, in batches (history store, exporters): see sinks.ts. */
  sinks?: readonly EndedFlowSink[];
  /**
   * Per-packet flow hook (application-layer inspection, src/l7/inspector.ts): called after each IP
   * packet is accounted, with its flow slot. It must return at once for flows it has decided.
   */
  hook?: FlowPacketHook;
}

/** See FlowEngineConfig.hook. */
export interface FlowPacketHook {
  onPacket(slot: number, p: DecodedPacket, buf: Uint8Array, off: number, caplen: number, ts: number): void;
  /** Bytes the hook holds for the table's flows (counted into EngineStats.table_bytes). */
  byteSize?(): number;
}

/**
 * Flow slots per step of the tick job; a scheduled slice runs steps until TICK_SLICE_MS has passed
 * (a step over slots whose flows carried packets is ≈ 0.5-2 ms at 1 M flows under a 200 kpps
 * capture, bench/tick-work.ts; 8,192-slot steps overran to 7-12 ms), so a query
 * waits behind one slice for at most about TICK_SLICE_MS plus a step.
 */
export const TICK_SLICE = 2_048;
export const TICK_SLICE_MS = 2;

interface TickJob {
  /** The second being closed, its length, and the clock at the tick. */
  sec: number;
  dt: number;
  now: number;
  /** Next slot of the pass (rates and, when `sweep`, expiry: FlowTable.rateTickSweep); done once past the last. */
  cursor: number;
  done: boolean;
  /** Whether this tick sweeps (see sweepEvery). */
  sweep: boolean;
}

export interface EngineStats {
  packets: number;
  bytes: number;
  ip_packets: number;
  ip_bytes: number;
  non_ip_packets: number;
  malformed: Record<string, number>;
  malformed_packets: number;
  flows: number;
  active_flows: number;
  ended_flows: number;
  evicted: number;
  /**
   * Bytes of the flow table's typed arrays plus what the packet hook holds for its flows
   * (application inspection: per-slot state, names, inspection records), and the table's slots.
   */
  table_bytes: number;
  /** Of table_bytes, the packet hook's share (absent without a hook). */
  hook_bytes?: number;
  table_slots: number;
  linktypes: Record<string, number>;
}

export class FlowEngine implements PacketSink {
  readonly table: FlowTable;
  readonly recent: EndedRing;
  readonly totals = new Totals();
  readonly talkers: Talkers | undefined;
  private readonly visitTalker: ((c: FlowColumns, i: number) => void) | undefined;
  private readonly pkt = new DecodedPacket();
  private readonly frags = new FragmentTracker();
  /** Packets and bytes seen (from the totals: counted once per packet, there). */
  get packets(): number {
    return this.totals.count(0);
  }
  get bytes(): number {
    return this.totals.count(1);
  }
  nonIp = 0;
  /** Bytes of packets not keyed into a flow (non-IP and malformed). */
  notIpBytes = 0;
  /** Packets not keyed into a flow because they did not validate (index = DecodeResult code). */
  readonly malformed = new Float64Array(MALFORMED_NAMES.length);
  /** Reasons noted on packets that were still keyed (e.g. truncated transport). */
  readonly notes = new Float64Array(MALFORMED_NAMES.length);
  private lastLinktype = -1;
  private linktypeRunStart = 0;
  private readonly linktypeCounts = new Map<number, number>();
  /** Engine clock (seconds): the latest packet time or advance() time. */
  now = 0;
  private nextTick = 0;
  private lastTick = 0;
  private readonly rates: boolean;
  private schedule: ((fn: () => void) => void) | undefined;
  private job: TickJob | null = null;
  private readonly sweepEvery: number;
  private nextSweep = 0;
  private readonly batcher: EndedFlowBatcher | null;
  /** Set once (setHook) before packets flow; null when no inspection runs. */
  private hook: FlowPacketHook | null = null;

  constructor(config: FlowEngineConfig = {}) {
    this.table = new FlowTable({ ...config, ticks: config.rates ?? true });
    this.recent = new EndedRing(config.recentEnded ?? 100_000);
    this.table.onEnded((cols, i) => this.recent.push(cols, i));
    const batcher = config.sinks?.length ? new EndedFlowBatcher(config.sinks) : null;
    if (batcher) this.table.onEnded((cols, i) => batcher.push(cols, i));
    this.batcher = batcher;
    this.hook = config.hook ?? null;
    this.rates = config.rates ?? true;
    this.schedule = config.schedule;
    this.sweepEvery = Math.max(1, config.sweepEvery ?? 1);
    if (config.talkers) {
      const talkers = new Talkers();
      this.talkers = talkers;
      this.visitTalker = (c, i) => talkers.visit(c, i);
    }
  }

  /** Install the per-packet flow hook (it needs the table, so it is made after the engine). */
  setHook(hook: FlowPacketHook | null): void {
    this.hook = hook;
  }

  /**
   * Keep each ended flow's extras (app, names, country, AS: flows/table/extras.ts) with it in the
   * recently-ended list (when `ring`) and in the batches the sinks receive. `fn` runs while the
   * ended slot is intact, before any onEnded listener. `names`: a cheaper function writing only
   * the application id and server name, used for the batches when every sink reads only those
   * (EndedFlowSink.extras "names": the IPFIX exporter) instead of `fn`'s country/AS/DNS lookups.
   */
  keepExtras(fn: (cols: FlowColumns, i: number) => FlowExtras, ring = true, names?: NamesInto): void {
    if (ring) this.recent.keepExtras(fn);
    this.batcher?.keepExtras(fn, names);
  }

  /** Subscribe to the ended-flow stream (the seam for stores and exporters). */
  onEnded(fn: (cols: FlowColumns, i: number, reason: number) => void): void {
    this.table.onEnded(fn);
  }

  packet(buf: Uint8Array, off: number, caplen: number, wirelen: number, ts: number, linktype: number): void {
    if (linktype !== this.lastLinktype) this.switchLinktype(linktype);
    if (ts >= this.nextTick) this.advance(ts);
    const p = this.pkt;
    let r = linktype === 1 ? decodeEthIpv4(buf, off, caplen, p) : -1;
    if (r < 0) r = decode(buf, off, caplen, linktype, p);
    if (p.note !== 0) this.notes[p.note]!++;
    if (r !== DecodeResult.OK) {
      if (r === DecodeResult.NON_IP) this.nonIp++;
      else this.malformed[r]!++;
      this.notIpBytes += wirelen;
      this.totals.packet(wirelen, -1);
      return;
    }
    if (p.isFragment) this.frags.resolve(p, ts);
    const slot = this.table.add(p, ts, wirelen);
    if (this.hook !== null) this.hook.onPacket(slot, p, buf, off, caplen, ts);
    this.totals.packet(wirelen, p.proto);
  }

  /** Packets per link type are counted in runs: at each change, not per packet. */
  private switchLinktype(lt: number): void {
    if (this.lastLinktype >= 0) {
      const run = this.packets - this.linktypeRunStart;
      this.linktypeCounts.set(this.lastLinktype, (this.linktypeCounts.get(this.lastLinktype) ?? 0) + run);
    }
    this.lastLinktype = lt;
    this.linktypeRunStart = this.packets;
  }

  /**
   * Move the clock to `now` (seconds). Once per second of clock time: per-flow rates, the
   * per-second totals, and expiry. A clock that goes backwards is ignored.
   */
  advance(now: number): void {
    if (now < this.now) return;
    this.now = now;
    if (now < this.nextTick) return;
    if (this.nextTick === 0) {
      this.lastTick = Math.floor(now);
      this.nextTick = this.lastTick + 1;
      return;
    }
    if (this.job) this.finishJob();
    this.batcher?.flush();
    this.totals.flush(this.lastTick, this.table.count);
    const sweep = now >= this.nextSweep;
    if (sweep) this.nextSweep = now + this.sweepEvery - 0.5;
    this.job = { sec: this.lastTick, dt: Math.max(1, now - this.lastTick), now, cursor: 0, done: false, sweep };
    if (this.schedule === undefined) this.finishJob();
    else this.pump();
    this.lastTick = Math.floor(now);
    this.nextTick = this.lastTick + 1;
  }

  /**
   * One slice of the tick job: rates (and talker folding) and expiry in one pass, steps of
   * TICK_SLICE slots until TICK_SLICE_MS has passed; schedules the next slice, or closes the
   * talker second when done.
   */
  private pump = (): void => {
    const job = this.job;
    if (!job) return;
    const t0 = this.schedule === undefined ? Infinity : performance.now();
    const t = this.table;
    while (!job.done) {
      const to = Math.min(t.hwm, job.cursor + TICK_SLICE);
      // Rates and expiry in one pass when both are due (each record read once), else the one due.
      if (this.rates && job.sweep) t.rateTickSweep(job.dt, job.now, this.visitTalker, job.cursor, to);
      else if (this.rates) t.rateTick(job.dt, this.visitTalker, job.cursor, to);
      else if (job.sweep) t.sweep(job.now, job.cursor, to);
      job.cursor = to;
      if (to >= t.hwm) job.done = true;
      if (performance.now() - t0 >= TICK_SLICE_MS) break;
    }
    if (!job.done) {
      this.schedule!(this.pump);
      return;
    }
    // Close the talker second in steps of this slice's time (at once when finishing the job).
    if (this.talkers !== undefined && !this.talkers.commitStep(job.sec, t0 + TICK_SLICE_MS)) {
      this.schedule!(this.pump);
      return;
    }
    this.job = null;
    // Flows the sweep just ended go to the sinks now, not at the next tick: a replay that has
    // finished (its clock stopped) would otherwise hold them until shutdown.
    this.batcher?.flush();
  };

  /** Complete a pending tick job at once (before the next tick, at the end of input). */
  private finishJob(): void {
    const schedule = this.schedule;
    this.schedule = undefined;
    this.pump();
    this.schedule = schedule;
  }

  /** End of input: flush the partial second and end every live flow (reason end_of_capture). */
  finish(): void {
    if (this.job) this.finishJob();
    this.table.sweep(this.now);
    this.totals.flush(this.lastTick, this.table.count);
    this.table.flushAll();
    this.batcher?.flush();
  }

  /** The monitor stops: end every live flow (reason shutdown) and hand everything to the sinks. */
  async shutdown(): Promise<void> {
    if (this.job) this.finishJob();
    this.table.flushAll(EndReason.shutdown);
    await this.closeSinks();
  }

  /** Hand the last batch to the sinks and wait until they finished what they accepted (after finish()). */
  async closeSinks(): Promise<void> {
    await this.batcher?.close();
  }

  /** Delivered and dropped batches per sink ([] without sinks). */
  sinkStats(): SinkStats[] {
    return this.batcher?.sinkStats() ?? [];
  }

  stats(): EngineStats {
    const malformed: Record<string, number> = {};
    let malformedPackets = 0;
    for (let r = 2; r < MALFORMED_NAMES.length; r++) {
      const n = this.malformed[r]! + this.notes[r]!;
      if (n > 0) malformed[MALFORMED_NAMES[r]!] = n;
      malformedPackets += this.malformed[r]!;
    }
    const linktypes: Record<string, number> = {};
    for (const [lt, n] of this.linktypeCounts) linktypes[String(lt)] = n;
    if (this.lastLinktype >= 0) {
      linktypes[String(this.lastLinktype)] = (linktypes[String(this.lastLinktype)] ?? 0) + (this.packets - this.linktypeRunStart);
    }
    const t = this.table;
    const hookBytes = this.hook?.byteSize?.();
    return {
      packets: this.packets,
      bytes: this.bytes,
      ip_packets: this.packets - this.nonIp - malformedPackets,
      ip_bytes: this.bytes - this.notIpBytes,
      non_ip_packets: this.nonIp,
      malformed,
      malformed_packets: malformedPackets,
      flows: t.created,
      active_flows: t.count,
      ended_flows: t.ended,
      evicted: t.evicted,
      table_bytes: t.byteSize() + (hookBytes ?? 0),
      ...(hookBytes !== undefined ? { hook_bytes: hookBytes } : {}),
      table_slots: t.cols.capacity,
      linktypes,
    };
  }
}
