/**
 * Ended flows written straight into the flow table's column layout, for the store's tests and
 * benches (not used by the product): `putFlow` stores one flow given in initiator terms in
 * canonical key order (as the table does); `SyntheticFlows` fills batches with a realistic mix
 * (mostly small flows, a heavy tail of large ones; 10/8, 192.168/16, public IPv4 and IPv6).
 */
import ipaddr from "ipaddr.js";
import {
  F_BYTES, F_FIRST, F_ID, F_LAST, FlowColumns, KEY_WORDS, KW_PORTS, KW_PROTO, META_INIT_B, PW_V6, PW_VLAN, PW_VLAN_SHIFT,
  REC_F64, REC_U32, U_FLAGS, U_PKTS,
} from "../flows/table/columns.ts";

export interface FlowSpec {
  id: number;
  src: string; sport: number; dst: string; dport: number; proto: number; vlan?: number;
  /** Initiator → responder and back: packets, bytes, TCP flags. */
  fwd: [pkts: number, bytes: number, flags: number];
  rev: [pkts: number, bytes: number, flags: number];
  /** Seconds since the epoch. */
  first: number; last: number;
  /** EndReason (default idle = 1). */
  reason?: number;
}

function words(addr: string): number[] {
  const b = ipaddr.parse(addr).toByteArray();
  const w = [0, 0, 0, 0];
  for (let k = 0; k * 4 < b.length; k++) w[k] = ((b[k * 4]! << 24) | (b[k * 4 + 1]! << 16) | (b[k * 4 + 2]! << 8) | b[k * 4 + 3]!) | 0;
  return w;
}

function put(c: FlowColumns, i: number, sw: number[], dw: number[], v6: boolean, s: Omit<FlowSpec, "src" | "dst">): void {
  let cmp = 0;
  for (let k = 0; k < 4 && cmp === 0; k++) cmp = Math.sign((sw[k]! >>> 0) - (dw[k]! >>> 0));
  if (cmp === 0) cmp = Math.sign(s.sport - s.dport);
  const initB = cmp > 0;
  const [a, b, pa, pb] = initB ? [dw, sw, s.dport, s.sport] : [sw, dw, s.sport, s.dport];
  const o = i * KEY_WORDS;
  for (let k = 0; k < 4; k++) {
    c.key[o + k] = a[k]!;
    c.key[o + 4 + k] = b[k]!;
  }
  c.key[o + KW_PORTS] = (pa << 16) | pb;
  c.key[o + KW_PROTO] = s.proto | (v6 ? PW_V6 : 0) | (s.vlan !== undefined ? PW_VLAN | (s.vlan << PW_VLAN_SHIFT) : 0);
  const [dA, dB] = initB ? [s.rev, s.fwd] : [s.fwd, s.rev];
  const fo = i * REC_F64, uo = i * REC_U32;
  c.u32[uo + U_PKTS] = dA[0];
  c.u32[uo + U_PKTS + 1] = dB[0];
  c.f64[fo + F_BYTES] = dA[1];
  c.f64[fo + F_BYTES + 1] = dB[1];
  c.f64[fo + F_FIRST] = s.first;
  c.f64[fo + F_LAST] = s.last;
  c.f64[fo + F_ID] = s.id;
  c.u32[uo + U_FLAGS] = (dA[2] | (dB[2] << 8) | (((initB ? META_INIT_B : 0) | ((s.reason ?? 1) << 4)) << 16)) >>> 0;
}

/** Stores one ended flow (given in initiator terms) in slot i. */
export function putFlow(c: FlowColumns, i: number, s: FlowSpec): void {
  const v6 = s.src.includes(":");
  put(c, i, words(s.src), words(s.dst), v6, s);
}

/** Columns holding `specs` in order. */
export function columnsOf(specs: FlowSpec[]): FlowColumns {
  const c = new FlowColumns(specs.length);
  specs.forEach((s, i) => putFlow(c, i, s));
  return c;
}

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Fills batches of synthetic ended flows quickly (no strings): ids ascending from `firstId`, end
 * times from `startSec` advancing by `spacingSec` per flow. Address mix: 60 % 10/8, 20 %
 * 192.168/16, 15 % public IPv4, 5 % IPv6; protocols 70 % TCP, 25 % UDP, 5 % ICMP; bytes: 97 %
 * between 60 B and 1 MB (median ≈ 670 B), 3 % between 1 MB and 1 GB (log-uniform).
 */
export class SyntheticFlows {
  private readonly r: () => number;
  private id: number;
  private t: number;
  private readonly sw = [0, 0, 0, 0];
  private readonly dw = [0, 0, 0, 0];

  constructor(seed: number, firstId: number, private startSec: number, private readonly spacingSec: number) {
    this.r = rng(seed);
    this.id = firstId;
    this.t = startSec;
  }

  private addr(w: number[]): boolean {
    const x = this.r();
    const rnd = () => (this.r() * 4294967296) | 0;
    w[1] = w[2] = w[3] = 0;
    if (x < 0.6) w[0] = (0x0a000000 | (rnd() & 0xffffff)) | 0;
    else if (x < 0.8) w[0] = (0xc0a80000 | (rnd() & 0xffff)) | 0;
    else if (x < 0.95) w[0] = rnd();
    else {
      w[0] = 0x20010db8 | 0; w[1] = rnd() & 0xff; w[2] = 0; w[3] = rnd();
      return true;
    }
    return false;
  }

  /** Inserts `batches` batches of `perBatch` flows into `store` (one insertColumns each); returns the rows stored. */
  insertInto(store: { insertColumns(c: FlowColumns, count: number): number }, batches: number, perBatch: number): number {
    const c = new FlowColumns(perBatch);
    let stored = 0;
    for (let k = 0; k < batches; k++) {
      this.fill(c, perBatch);
      stored += store.insertColumns(c, perBatch);
    }
    return stored;
  }

  /** Fills slots [0, count) of `c`. */
  fill(c: FlowColumns, count: number): void {
    const r = this.r;
    for (let i = 0; i < count; i++) {
      const v6 = this.addr(this.sw);
      if (v6) {
        this.dw[0] = 0x20010db8 | 0; this.dw[1] = 0x100; this.dw[2] = 0; this.dw[3] = (r() * 65536) | 0;
      } else {
        if (this.addr(this.dw)) this.dw[0] = 0x08080808; // an IPv6 draw for an IPv4 flow
        this.dw[1] = this.dw[2] = this.dw[3] = 0;
      }
      const p = r();
      const proto = p < 0.7 ? 6 : p < 0.95 ? 17 : v6 ? 58 : 1;
      const ports = proto === 6 || proto === 17;
      const big = r() < 0.03;
      const bytes = Math.round(big ? 1e6 * Math.pow(10, r() * 3) : 60 * Math.pow(10, Math.pow(r(), 2) * 4.2));
      const pkts = Math.max(1, Math.round(bytes / 700));
      const back = r() < 0.8;
      const dur = r() < 0.3 ? r() * 0.01 : r() * 120;
      this.t += this.spacingSec;
      const syn = 2, ack = 16, fin = 1;
      put(c, i, this.sw, this.dw, v6, {
        id: this.id++,
        sport: ports ? 1024 + ((r() * 64000) | 0) : 0,
        dport: ports ? [443, 80, 53, 22, 8080, 123][(r() * 6) | 0]! : 0,
        proto,
        vlan: r() < 0.1 ? 100 : undefined,
        fwd: [back ? Math.ceil(pkts / 2) : pkts, back ? Math.round(bytes / 3) : bytes, proto === 6 ? syn | ack | (r() < 0.5 ? fin : 0) : 0],
        rev: back ? [Math.floor(pkts / 2) + 1, bytes - Math.round(bytes / 3), proto === 6 ? syn | ack | fin : 0] : [0, 0, 0],
        first: this.t - dur,
        last: this.t,
        reason: 1 + ((r() * 5) | 0),
      });
    }
  }

  get nextId(): number {
    return this.id;
  }
}
