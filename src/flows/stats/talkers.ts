/**
 * Top talkers over a sliding window. Each one-second tick the engine hands over the flows that
 * carried packets in that second (their tick counters); we fold them per host (sent and received
 * separately) and keep a compact per-second snapshot.
 *
 * Limits: snapshots for the last `windowMax` seconds (default 300); each keeps the 2,000 hosts
 * with the most bytes in that second — a host outside that second's top 2,000 is not counted for
 * that second (it could not reach a top-N list anyway unless the traffic is extremely flat).
 */
import { KEY_WORDS, KW_PROTO, PW_V6, type FlowColumns } from "../table/columns.ts";
import { addrText } from "../format/record.ts";
import { HostIndex, type HostId } from "../table/host-index.ts";

export type TalkerBy = "src" | "dst" | "host";

export interface Talker {
  host: string;
  bytes: number;
  packets: number;
  flows: number;
  bps: number;
}


interface Acc {
  host: HostId;
  sentB: number;
  recvB: number;
  sentP: number;
  recvP: number;
  flowsOut: number;
  flowsIn: number;
}

/** A talker being summed: the host still as an id (text is made for returned rows only). */
interface Row {
  host: HostId;
  bytes: number;
  packets: number;
  flows: number;
}

interface Snapshot {
  sec: number;
  hosts: Acc[];
}

const PER_SECOND_CAP = 2000;

/** The window kept as a running sum (what the dashboard asks for every second). */
export const LIVE_WINDOW = 60;

/**
 * Per-host sums of the current second in typed arrays (no object per host), six values per row
 * (sent bytes, received bytes, sent packets, received packets, flows out, flows in). Rows come
 * from a HostIndex that persists across seconds, so a flow can keep its hosts' rows (Talkers caches
 * them per flow slot) and the fold needs no hash lookup for a flow it saw before. A row's sums
 * are zeroed when the second first touches it; `touched` lists those rows in first-touch order.
 * The index is renumbered (`epoch` bumped, every cached row stale) when it holds far more hosts
 * than a second touches, so hosts that went away do not pile up.
 */
class SecondSums {
  private readonly index = new HostIndex();
  v = new Float64Array(6 * 4096);
  /** Per row: the second stamp of its last touch. */
  private seen = new Int32Array(4096);
  private stamp = 1;
  /** Rows touched this second, first-touch order; `n` of them. */
  touched = new Int32Array(4096);
  n = 0;
  /** Bumped when the rows were renumbered: rows cached before are stale. */
  epoch = 0;

  /** Row of `id` (stable until the epoch changes). */
  rowOf(id: HostId): number {
    const j = this.index.row(id);
    if (j >= this.seen.length) {
      const seen = new Int32Array(this.seen.length * 2);
      seen.set(this.seen);
      this.seen = seen;
      const v = new Float64Array(seen.length * 6);
      v.set(this.v);
      this.v = v;
    }
    return j;
  }

  /** Offset in `v` of row j for this second (zeroed and listed on its first touch). */
  open(j: number): number {
    const o = j * 6;
    if (this.seen[j] !== this.stamp) {
      this.seen[j] = this.stamp;
      if (this.n === this.touched.length) {
        const t = new Int32Array(this.touched.length * 2);
        t.set(this.touched);
        this.touched = t;
      }
      this.touched[this.n++] = j;
      const v = this.v;
      v[o] = 0; v[o + 1] = 0; v[o + 2] = 0; v[o + 3] = 0; v[o + 4] = 0; v[o + 5] = 0;
    }
    return o;
  }

  id(j: number): HostId {
    return this.index.ids[j]!;
  }

  /**
   * Close the second; renumber when the index holds more than 4× the hosts of this second (≥ 64 k).
   * O(1): the stamp only grows (one a second: 2^31 s before it wraps), so a renumbered row's old
   * stamp is never the current one and `seen` needs no fill (it was 4 MiB+ at 1 M hosts).
   */
  clear(): void {
    const touched = this.n;
    this.n = 0;
    this.stamp++;
    if (this.index.size > 4 * Math.max(touched, 16_384)) {
      this.index.clear();
      this.epoch++;
    }
  }
}

/** Rows per chunk of a stepped commit (a chunk is well under 0.5 ms at 1 M flows). */
const COMMIT_CHUNK = 4096;

/** A second being closed in steps (Talkers.commitStep): what is done so far. */
interface Closing {
  sec: number;
  /** 0: finding the cut (the PER_SECOND_CAP-th largest total); 1: keeping the rows at or above it; 2: publishing them. */
  phase: 0 | 1 | 2;
  /** Next touched row (index into SecondSums.touched). */
  k: number;
  /** Min-heap of the largest totals seen so far (phase 0), `hn` of them. */
  hn: number;
  cut: number;
  hosts: Acc[];
}

export class Talkers {
  private readonly snaps: Snapshot[] = [];
  private readonly cur = new SecondSums();
  /** Running sums over the last LIVE_WINDOW seconds: snapshots are added on commit, subtracted on expiry. */
  private readonly live = new Map<HostId, Acc>();
  private liveFrom = 0;
  constructor(readonly windowMax = 300) {}

  /**
   * Per flow slot: the id of the flow whose host rows are cached (0: none) and the rows. 16 bytes
   * per slot used; a slot taken by a new flow has another id, so its rows are looked up again.
   */
  private fId = new Float64Array(0);
  private fSrc = new Int32Array(0);
  private fDst = new Int32Array(0);
  private epoch = 0;
  /** Min-heap of the PER_SECOND_CAP largest totals while a second is closed (phase 0). */
  private readonly heap = new Float64Array(PER_SECOND_CAP);
  /** The second being closed by commitStep (null: none); nothing of it is visible until it is done. */
  private closing: Closing | null = null;
  /** Chunks (of COMMIT_CHUNK rows) per commitStep call at most, besides its deadline (tests set 1). */
  stepChunks = Infinity;
  /** Rows per chunk (tests make it small, to close a small second in many steps). */
  commitChunk = COMMIT_CHUNK;

  /** Add flow i's last-second counters (called from FlowTable.rateTick's visitor). */
  visit(c: FlowColumns, i: number): void {
    const bytes = c.tickBytes(i);
    const pkts = c.tickPkts(i);
    // Split the second's traffic by direction in proportion to the flow's per-direction totals.
    const tot = c.totalBytes(i) || 1;
    const share0 = c.dirBytes(i, 0) / tot;
    const cur = this.cur;
    if (cur.epoch !== this.epoch) {
      this.fId.fill(0);
      this.epoch = cur.epoch;
    }
    if (i >= this.fId.length) this.growCache(i + 1);
    const id = c.id(i);
    let rs: number, rd: number;
    if (this.fId[i] === id) {
      rs = this.fSrc[i]!;
      rd = this.fDst[i]!;
    } else {
      rs = cur.rowOf(hostId(c, c.srcAddrOff(i)));
      rd = cur.rowOf(hostId(c, c.dstAddrOff(i)));
      this.fId[i] = id;
      this.fSrc[i] = rs;
      this.fDst[i] = rd;
    }
    this.add(cur.open(rs), 4, bytes * share0, bytes * (1 - share0), pkts * share0, pkts * (1 - share0));
    this.add(cur.open(rd), 5, bytes * (1 - share0), bytes * share0, pkts * (1 - share0), pkts * share0);
  }

  /** Room for slot `min - 1`: doubles (from 4,096), so it follows the slots in use, not the capacity. */
  private growCache(min: number): void {
    let n = Math.max(4096, this.fId.length);
    while (n < min) n *= 2;
    const fId = new Float64Array(n), fSrc = new Int32Array(n), fDst = new Int32Array(n);
    fId.set(this.fId);
    fSrc.set(this.fSrc);
    fDst.set(this.fDst);
    this.fId = fId;
    this.fSrc = fSrc;
    this.fDst = fDst;
  }

  private add(r: number, flowCol: 4 | 5, sentB: number, recvB: number, sentP: number, recvP: number) {
    const v = this.cur.v;
    v[r]! += sentB;
    v[r + 1]! += recvB;
    v[r + 2]! += sentP;
    v[r + 3]! += recvP;
    v[r + flowCol]!++;
  }

  /** Close second `sec` at once: keep its PER_SECOND_CAP biggest hosts as the snapshot. */
  commit(sec: number): void {
    while (!this.commitStep(sec, Infinity));
  }

  /**
   * Close second `sec` in steps: runs chunks of `commitChunk` rows until `deadline`
   * (performance.now() ms) has passed, at least one (Infinity: all at once, whatever
   * `stepChunks` says); true once the second is closed. The snapshot
   * and the running window change only in the last step (a top() between steps sees the state
   * before), and equal what one commit() makes: the cut is the PER_SECOND_CAP-th largest total
   * (a min-heap of the largest, streamed in chunks, instead of a quickselect over all rows at
   * once) and the rows are kept in first-touch order. No visit() may run until it returns true
   * (the engine closes the second before the next tick job folds flows).
   */
  commitStep(sec: number, deadline: number): boolean {
    const cur = this.cur;
    const n = cur.n;
    let c = this.closing;
    if (c === null || c.sec !== sec) {
      c = { sec, phase: n > PER_SECOND_CAP ? 0 : 1, k: 0, hn: 0, cut: -Infinity, hosts: [] };
      this.closing = c;
    }
    const v = cur.v;
    const rows = cur.touched;
    const chunk = Math.max(1, this.commitChunk);
    for (let chunks = 1; ; chunks++) {
      if (c.phase === 0) {
        const heap = this.heap;
        const end = Math.min(n, c.k + chunk);
        let hn = c.hn;
        for (let k = c.k; k < end; k++) {
          const o = rows[k]! * 6;
          const x = v[o]! + v[o + 1]!;
          if (hn < PER_SECOND_CAP) {
            // Sift up.
            let i = hn++;
            while (i > 0) {
              const p = (i - 1) >> 1;
              if (heap[p]! <= x) break;
              heap[i] = heap[p]!;
              i = p;
            }
            heap[i] = x;
          } else if (x > heap[0]!) {
            // Replace the smallest, sift down.
            let i = 0;
            for (;;) {
              let m = 2 * i + 1;
              if (m >= hn) break;
              if (m + 1 < hn && heap[m + 1]! < heap[m]!) m++;
              if (heap[m]! >= x) break;
              heap[i] = heap[m]!;
              i = m;
            }
            heap[i] = x;
          }
        }
        c.hn = hn;
        c.k = end;
        if (end >= n) {
          c.cut = heap[0]!;
          c.phase = 1;
          c.k = 0;
        }
      } else if (c.phase === 1) {
        const hosts = c.hosts;
        const cut = c.cut;
        const end = Math.min(n, c.k + chunk);
        let k = c.k;
        for (; k < end && hosts.length < PER_SECOND_CAP; k++) {
          const j = rows[k]!;
          const o = j * 6;
          if (v[o]! + v[o + 1]! < cut) continue;
          hosts.push({ host: cur.id(j), sentB: v[o]!, recvB: v[o + 1]!, sentP: v[o + 2]!, recvP: v[o + 3]!, flowsOut: v[o + 4]!, flowsIn: v[o + 5]! });
        }
        c.k = k;
        // Published in a step of its own (folding 2 × 2,000 hosts into the running sums: ~0.2-1 ms).
        if (k >= n || hosts.length >= PER_SECOND_CAP) c.phase = 2;
      } else {
        this.closing = null;
        this.publish(sec, c.hosts);
        return true;
      }
      if (deadline !== Infinity && (chunks >= this.stepChunks || performance.now() >= deadline)) return false;
    }
  }

  /** The closed second's snapshot joins the window; seconds that left it leave the running sums. */
  private publish(sec: number, hosts: Acc[]): void {
    this.cur.clear();
    this.snaps.push({ sec, hosts });
    this.fold(hosts, 1);
    // Snapshots leave the running window in order; liveFrom indexes the oldest still inside.
    while (this.liveFrom < this.snaps.length && this.snaps[this.liveFrom]!.sec <= sec - LIVE_WINDOW) {
      this.fold(this.snaps[this.liveFrom]!.hosts, -1);
      this.liveFrom++;
    }
    while (this.snaps.length > 0 && this.snaps[0]!.sec <= sec - this.windowMax) {
      this.snaps.shift();
      this.liveFrom = Math.max(0, this.liveFrom - 1);
    }
  }

  private fold(hosts: Acc[], sign: 1 | -1): void {
    for (const a of hosts) {
      let w = this.live.get(a.host);
      if (!w) {
        w = { host: a.host, sentB: 0, recvB: 0, sentP: 0, recvP: 0, flowsOut: 0, flowsIn: 0 };
        this.live.set(a.host, w);
      }
      w.sentB += sign * a.sentB;
      w.recvB += sign * a.recvB;
      w.sentP += sign * a.sentP;
      w.recvP += sign * a.recvP;
      // flows: the peak per-second count is not subtractable; keep the last second's count.
      if (sign > 0) {
        w.flowsOut = a.flowsOut;
        w.flowsIn = a.flowsIn;
      }
      if (w.sentB + w.recvB < 0.5) this.live.delete(a.host);
    }
  }

  /** Top hosts over the last LIVE_WINDOW seconds from the running sums: O(hosts), no merge. */
  private topLive(by: TalkerBy, limit: number): Row[] {
    const best: Row[] = [];
    for (const a of this.live.values()) {
      const bytes = by === "src" ? a.sentB : by === "dst" ? a.recvB : a.sentB + a.recvB;
      if (bytes < 0.5) continue;
      if (best.length === limit && bytes <= best[best.length - 1]!.bytes) continue;
      const packets = by === "src" ? a.sentP : by === "dst" ? a.recvP : a.sentP + a.recvP;
      const flows = by === "src" ? a.flowsOut : by === "dst" ? a.flowsIn : a.flowsOut + a.flowsIn;
      const t = { host: a.host, bytes, packets, flows };
      let j = best.length < limit ? best.length : limit - 1;
      while (j > 0 && best[j - 1]!.bytes < bytes) {
        if (j < limit) best[j] = best[j - 1]!;
        j--;
      }
      best[j] = t;
    }
    return best;
  }

  /**
   * Top `limit` hosts by bytes over the last `window` seconds ending at `now`: by=src counts what
   * a host sent, dst what it received, host both. `flows` = flows active in the window
   * (summed per second, so a flow seen in several seconds is counted once per host per second —
   * reported as the peak per-second count instead, which is the number of concurrent flows).
   */
  top(by: TalkerBy, window: number, limit: number, now: number): Talker[] {
    const w = Math.min(Math.max(1, window), this.windowMax);
    if (w === LIVE_WINDOW && this.snaps.length > 0 && this.snaps[this.snaps.length - 1]!.sec >= Math.floor(now) - 2) {
      return this.finish(this.topLive(by, limit), w);
    }
    const since = now - w;
    const m = new Map<HostId, Row>();
    for (const s of this.snaps) {
      if (s.sec < since) continue;
      for (const a of s.hosts) {
        const bytes = by === "src" ? a.sentB : by === "dst" ? a.recvB : a.sentB + a.recvB;
        const packets = by === "src" ? a.sentP : by === "dst" ? a.recvP : a.sentP + a.recvP;
        const flows = by === "src" ? a.flowsOut : by === "dst" ? a.flowsIn : a.flowsOut + a.flowsIn;
        if (bytes <= 0) continue;
        let t = m.get(a.host);
        if (t === undefined) {
          t = { host: a.host, bytes: 0, packets: 0, flows: 0 };
          m.set(a.host, t);
        }
        t.bytes += bytes;
        t.packets += packets;
        t.flows = Math.max(t.flows, flows);
      }
    }
    return this.finish([...m.values()].sort((x, y) => y.bytes - x.bytes).slice(0, limit), w);
  }

  /** Round the sums and turn host ids into text (only for the rows returned). */
  private finish(list: Row[], w: number): Talker[] {
    return list.map((t) => {
      const bytes = Math.round(t.bytes);
      return { host: hostText(t.host), bytes, packets: Math.round(t.packets), flows: t.flows, bps: Math.round((bytes * 8) / w) };
    });
  }
}

/** The host id of the address at key offset `off` (IPv4: the word; IPv6: the four words as text). */
function hostId(c: FlowColumns, off: number): HostId {
  const k = c.key;
  const v6 = (k[off - (off % KEY_WORDS) + KW_PROTO]! & PW_V6) !== 0;
  return v6 ? `${k[off]}:${k[off + 1]}:${k[off + 2]}:${k[off + 3]}` : k[off]!;
}

const words = new Int32Array(4);

function hostText(id: HostId): string {
  if (typeof id === "number") {
    words[0] = id;
    return addrText(words, 0, false);
  }
  const w = id.split(":");
  for (let n = 0; n < 4; n++) words[n] = Number(w[n]);
  return addrText(words, 0, true);
}
