/**
 * Top talkers over a sliding window. Each one-second tick the engine hands over the flows that
 * carried packets in that second (their tick counters); we fold them per host (sent and received
 * separately) and keep a compact per-second snapshot.
 *
 * Limits: snapshots for the last `windowMax` seconds (default 300); each keeps the 2,000 hosts
 * with the most bytes in that second — a host outside that second's top 2,000 is not counted for
 * that second (it could not reach a top-N list anyway unless the traffic is extremely flat).
 */
import type { FlowColumns } from "./columns.ts";
import { addrText } from "./record.ts";

export type TalkerBy = "src" | "dst" | "host";

export interface Talker {
  host: string;
  bytes: number;
  packets: number;
  flows: number;
  bps: number;
}

interface Acc {
  host: string;
  sentB: number;
  recvB: number;
  sentP: number;
  recvP: number;
  flowsOut: number;
  flowsIn: number;
}

interface Snapshot {
  sec: number;
  hosts: Acc[];
}

const PER_SECOND_CAP = 2000;

export class Talkers {
  private readonly snaps: Snapshot[] = [];
  private cur = new Map<string | number, Acc>();
  constructor(readonly windowMax = 300) {}

  /** Add flow i's last-second counters (called from FlowTable.rateTick's visitor). */
  visit(c: FlowColumns, i: number): void {
    const bytes = c.tickBytes(i);
    const pkts = c.tickPkts(i);
    // Split the second's traffic by direction in proportion to the flow's per-direction totals.
    const tot = c.totalBytes(i) || 1;
    const share0 = c.dirBytes(i, 0) / tot;
    this.add(c, c.srcAddrOff(i), true, bytes * share0, bytes * (1 - share0), pkts * share0, pkts * (1 - share0));
    this.add(c, c.dstAddrOff(i), false, bytes * (1 - share0), bytes * share0, pkts * (1 - share0), pkts * share0);
  }

  private add(c: FlowColumns, off: number, initiator: boolean, sentB: number, recvB: number, sentP: number, recvP: number) {
    const v6 = (c.key[off - (off % 10) + 9]! & 0x100) !== 0;
    const k = c.key;
    const id: string | number = v6 ? `${k[off]}:${k[off + 1]}:${k[off + 2]}:${k[off + 3]}` : k[off]!;
    let a = this.cur.get(id);
    if (a === undefined) {
      a = { host: addrText(k, off, v6), sentB: 0, recvB: 0, sentP: 0, recvP: 0, flowsOut: 0, flowsIn: 0 };
      this.cur.set(id, a);
    }
    a.sentB += sentB;
    a.recvB += recvB;
    a.sentP += sentP;
    a.recvP += recvP;
    if (initiator) a.flowsOut++;
    else a.flowsIn++;
  }

  /** Close second `sec`. */
  commit(sec: number): void {
    let hosts = [...this.cur.values()];
    if (hosts.length > PER_SECOND_CAP) {
      hosts.sort((x, y) => y.sentB + y.recvB - (x.sentB + x.recvB));
      hosts = hosts.slice(0, PER_SECOND_CAP);
    }
    this.snaps.push({ sec, hosts });
    while (this.snaps.length > 0 && this.snaps[0]!.sec <= sec - this.windowMax) this.snaps.shift();
    this.cur = new Map();
  }

  /**
   * Top `limit` hosts by bytes over the last `window` seconds ending at `now`: by=src counts what
   * a host sent, dst what it received, host both. `flows` = flows active in the window
   * (summed per second, so a flow seen in several seconds is counted once per host per second —
   * reported as the peak per-second count instead, which is the number of concurrent flows).
   */
  top(by: TalkerBy, window: number, limit: number, now: number): Talker[] {
    const w = Math.min(Math.max(1, window), this.windowMax);
    const since = now - w;
    const m = new Map<string, Talker>();
    for (const s of this.snaps) {
      if (s.sec < since) continue;
      for (const a of s.hosts) {
        const bytes = by === "src" ? a.sentB : by === "dst" ? a.recvB : a.sentB + a.recvB;
        const packets = by === "src" ? a.sentP : by === "dst" ? a.recvP : a.sentP + a.recvP;
        const flows = by === "src" ? a.flowsOut : by === "dst" ? a.flowsIn : a.flowsOut + a.flowsIn;
        if (bytes <= 0) continue;
        let t = m.get(a.host);
        if (t === undefined) {
          t = { host: a.host, bytes: 0, packets: 0, flows: 0, bps: 0 };
          m.set(a.host, t);
        }
        t.bytes += bytes;
        t.packets += packets;
        t.flows = Math.max(t.flows, flows);
      }
    }
    const list = [...m.values()].sort((x, y) => y.bytes - x.bytes || (x.host < y.host ? -1 : 1)).slice(0, limit);
    for (const t of list) {
      t.bytes = Math.round(t.bytes);
      t.packets = Math.round(t.packets);
      t.bps = Math.round((t.bytes * 8) / w);
    }
    return list;
  }
}
