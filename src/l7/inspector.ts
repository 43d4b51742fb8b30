/**
 * FlowInspector: the per-flow application-protocol (`app`, `app_source`) and server-name
 * (`server_name`) decision, driven from the packet loop by flow slot.
 *
 * Cost model (the packet loop must not slow down for decided flows):
 * - A decided flow costs one call, a new-flow check (two loads of the slot's packet counters,
 *   already in cache: the table just wrote them) and one byte load: `st[slot] === DONE`.
 * - A flow is inspected only on packets that carry payload, at most PER_DIR (8) payload packets in
 *   each direction; a flow that never carries payload (SYN scans) never takes an inspection record.
 * - At most `maxInspected` flows are under inspection at once (default 65,536); a flow that finds
 *   the pool full is decided by port at once (`app_source: "port"`) and counted (`overflow`).
 * - DNS flows stay "tapped": their responses feed passive DNS (one parse per DNS packet).
 *
 * Memory: per flow slot one 32-bit word (state, port-fallback flag, has-name flag, app id and the
 * inspection record's index, packed: one load per packet) and one bit "word not 0" (a bitset that
 * stays in cache: a flow that never carries payload never touches its word) = 4.125 bytes per
 * slot next to the table's 112. Server names live in a Map by slot, only for flows that have one
 * (≈ 64 bytes + the name each). Per inspection record 13 bytes in typed arrays (packet counts,
 * tentative app, the signatures' hint, free list), 65,536 records by default (832 KiB); a
 * ClientHello or QUIC CRYPTO stream longer than one packet borrows a reassembly buffer (≤ 16 KiB,
 * at most MAX_STREAMS = 256 at once).
 *
 * Lifetime: a slot's result stays readable after its flow ended (the table's onEnded listeners run
 * while the slot is intact, in any order relative to release()) until the slot is reused by a new
 * flow, which the inspector notices on that flow's first packet (packet count 1) and resets.
 */
import { noFTL } from "bun:jsc";
import type { DecodedPacket } from "../capture/packet.ts";
import { KEY_WORDS, KW_PORTS, KW_PROTO, META_INIT_B, PW_PROTO, PW_V6, REC_U32, U_PKTS } from "../flows/table/columns.ts";
import type { FlowTable } from "../flows/table/table.ts";
import { APP, appByPort, appName, type AppSource } from "./apps.ts";
import { DnsInfo, dnsAnswers, parseDns } from "./dns.ts";
import { httpHost, httpKind } from "./http.ts";
import { Payload, locatePayload } from "./locate.ts";
import { PassiveDns } from "./passive-dns.ts";
import { CryptoStream, gquicChlo, isQuicVersion, QUIC_DONE, QUIC_MORE, QUIC_NOT, quicClientPacket } from "./quic.ts";
import { Hint, matchPayload, type SigContext } from "./signatures.ts";
import { DONE as TLS_DONE, HelloInfo, NEED_MORE, parseClientHelloStream, tlsRecordKind, TLS_CLIENT_HELLO } from "./tls.ts";

export interface L7Result {
  app: string | null;
  app_source: AppSource | null;
  server_name: string | null;
}

export interface FlowInspectorConfig {
  /** Flows under inspection at once (default 65,536). */
  maxInspected?: number;
  /** Payload packets inspected per direction (default 8). */
  perDirection?: number;
  /** Passive DNS cache fed by DNS answers (default: a new one with its defaults). */
  passiveDns?: PassiveDns;
}

// The per-slot word (Int32Array `w`, kept below 2^31 so JSC keeps it an unboxed int32):
//   bits 0-1   state: FRESH (no payload seen yet), INSPECTING, DONE, DNS_TAP (decided: dns, its
//              responses still feed passive DNS)
//   bit  2     SRC_PORT: decided by the well-known-port fallback
//   bit  3     NAMED: the slot has a server name in `names`
//   bits 4-11  app id (apps.ts)
//   bits 12-30 inspection record index (while INSPECTING)
// A new flow in a slot starts from 0 (FRESH, no app, no name).
const FRESH = 0, INSPECTING = 1, DONE = 2, DNS_TAP = 3;
const STATE = 3, SRC_PORT = 4, NAMED = 8;
const APP_SHIFT = 4, APP_MASK = 0xff, REC_SHIFT = 12;
/** Largest pool the word's record field can index (2^19 records). */
const MAX_RECORDS = 1 << 19;
/** Estimated bytes of one server name held in `names` besides its characters (Map entry, string header). */
const NAME_ENTRY_BYTES = 64;
const MAX_STREAMS = 256;
const MAX_TLS = 16384 + 64;

class TlsStream {
  buf: Uint8Array;
  len = 0;
  nextSeq = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }
}

export interface InspectorStats {
  inspecting: number;
  max_inspected: number;
  overflow: number;
  decided_payload: number;
  decided_port: number;
  undecided: number;
  streams: number;
  inspected_packets: number;
  passive_dns_entries: number;
}

export class FlowInspector {
  readonly passiveDns: PassiveDns;
  readonly maxInspected: number;
  readonly perDirection: number;
  private cap = 0;
  private w = new Int32Array(0);
  /**
   * One bit per slot: its word is not 0. 1 M slots = 128 KiB (stays in cache where the 4 MiB of
   * words do not): a flow that never carries payload (a SYN scan) is checked and released
   * without touching its word.
   */
  private nz = new Int32Array(0);
  /** Server names by slot (only slots with the NAMED bit). */
  private readonly names = new Map<number, string>();
  private nameBytes = 0;
  // Inspection records (typed arrays, no object per record).
  private readonly rCnt: Uint8Array;
  private readonly rApp: Uint8Array;
  private readonly hApp: Uint8Array;
  private readonly hWord: Int32Array;
  private readonly hCount: Uint8Array;
  private readonly free: Int32Array;
  private freeTop: number;
  private readonly streams = new Map<number, TlsStream | CryptoStream>();
  private readonly pl = new Payload();
  private readonly hello = new HelloInfo();
  private readonly dns = new DnsInfo();
  private readonly hint = new Hint();
  private readonly ctx: SigContext = { b: new Uint8Array(0), p: 0, n: 0, proto: 0, fromInit: true, initPort: 0, respPort: 0, hint: this.hint };
  private now = 0;
  private readonly learn = (name: string, addr: Uint8Array, ttl: number) => this.passiveDns.learn(name, addr, ttl, this.now);
  // Counters.
  overflow = 0;
  decidedPayload = 0;
  decidedPort = 0;
  undecided = 0;
  inspectedPackets = 0;

  constructor(private readonly table: FlowTable, config: FlowInspectorConfig = {}) {
    this.passiveDns = config.passiveDns ?? new PassiveDns();
    this.maxInspected = Math.min(MAX_RECORDS, Math.max(16, Math.floor(config.maxInspected ?? 65_536)));
    this.perDirection = Math.max(1, Math.min(255, Math.floor(config.perDirection ?? 8)));
    const m = this.maxInspected;
    this.rCnt = new Uint8Array(m * 2);
    this.rApp = new Uint8Array(m);
    this.hApp = new Uint8Array(m);
    this.hWord = new Int32Array(m);
    this.hCount = new Uint8Array(m);
    this.free = new Int32Array(m);
    for (let i = 0; i < m; i++) this.free[i] = m - 1 - i;
    this.freeTop = m;
    this.grow(table.cols.capacity);
  }

  /** Bytes per flow slot the inspector adds to the table's figure (the packed word and its bit; names apart). */
  static readonly bytesPerSlot = 4 + 1 / 8;
  /** Bytes per inspection record (packet counts 2, tentative app 1, hint 6, free list 4). */
  static readonly bytesPerRecord = 2 + 1 + 1 + 4 + 1 + 4;

  /** Bytes held: the per-slot words, the server names, the record pool, reassembly buffers in use. */
  byteSize(): number {
    // Per-slot words of the slots used so far (beyond, zero pages never written).
    let s = Math.min(this.cap, this.table.slotsUsed) * FlowInspector.bytesPerSlot + this.nameBytes + this.maxInspected * FlowInspector.bytesPerRecord;
    for (const v of this.streams.values()) s += v instanceof TlsStream ? v.buf.length : 2 * 8192;
    return s;
  }

  private grow(min: number): void {
    let c = Math.max(16, this.cap);
    while (c < min) c *= 2;
    if (c === this.cap) return;
    const w = new Int32Array(c); w.set(this.w); this.w = w;
    const nz = new Int32Array((c + 31) >>> 5); nz.set(this.nz); this.nz = nz;
    this.cap = c;
  }

  /**
   * One packet of flow `slot` (right after FlowTable.add accounted it). Cheap no-op for decided flows.
   */
  onPacket(slot: number, p: DecodedPacket, buf: Uint8Array, off: number, caplen: number, ts: number): void {
    if (slot >= this.cap) this.grow(slot + 1);
    const u = this.table.cols.u32;
    const o = slot * REC_U32 + U_PKTS;
    const held = (this.nz[slot >>> 5]! >>> (slot & 31)) & 1;
    let w = 0;
    if (u[o]! + u[o + 1]! === 1) {
      if (held !== 0) this.reset(slot, this.w[slot]!);
    } else if (held !== 0) {
      w = this.w[slot]!;
      if ((w & STATE) === DONE) return;
    }
    this.inspect(slot, w, p, buf, off, caplen, ts);
  }

  /** The flow in `slot` left the table: free its inspection record (its result stays readable). */
  release(slot: number): void {
    if (slot >= this.cap) return;
    if (((this.nz[slot >>> 5]! >>> (slot & 31)) & 1) === 0) {
      // Never carried payload: nothing held, and the word (0, FRESH) already reads as the port
      // fallback; counted only.
      if ((slot === this.guessSlot ? this.guessId : this.portGuess(slot)) !== 0) this.decidedPort++;
      else this.undecided++;
      this.guessSlot = -1;
      return;
    }
    const s = this.w[slot]! & STATE;
    if (s === INSPECTING) this.giveUp(slot);
    else if (s === FRESH) this.decidePort(slot);
  }

  /**
   * A new flow in `slot` continues a flow that ended by active timeout (the same key): take over its
   * decision instead of inspecting again (annotate.ts keeps it between the segments).
   */
  adopt(slot: number, appId: number, byPort: boolean, name: string | null): void {
    if (slot >= this.cap) this.grow(slot + 1);
    const w = this.w[slot]!;
    if (w !== 0) this.reset(slot, w);
    this.put(slot, ((appId & APP_MASK) << APP_SHIFT) | (appId === APP.dns && !byPort ? DNS_TAP : byPort ? DONE | SRC_PORT : DONE));
    this.setName(slot, name);
  }

  /** After appId(): the id it returned was decided by port (the fallback or a port-only rule), not by payload. */
  appByPort = false;

  /**
   * The application id that resultInto reports for `slot` (an index into APP_NAMES, 0: none; how
   * it was decided in `appByPort`): the decision, else the tentative one, else the port guess.
   * No allocation, no string: the exporter's batches carry this id (flows/sinks.ts BatchNames).
   */
  appId(slot: number): number {
    if (slot >= this.cap) {
      this.appByPort = true;
      return this.portGuess(slot);
    }
    const w = this.w[slot]!;
    const st = w & STATE;
    let id = (w >>> APP_SHIFT) & APP_MASK;
    this.appByPort = (w & SRC_PORT) !== 0;
    if (id === 0 && st !== DONE && st !== DNS_TAP) {
      // Still undecided (no payload yet, or inspecting): the tentative app, else the port fallback, labelled.
      const rid = st === INSPECTING ? this.rApp[w >>> REC_SHIFT]! : 0;
      if (rid !== 0) id = rid;
      else {
        id = this.portGuess(slot);
        this.appByPort = true;
        // Kept for release(), which counts the same flow's guess when it ends (the ended flow's
        // extras are read just before): the guess is computed once per ended flow, not twice.
        this.guessSlot = slot;
        this.guessId = id;
      }
    }
    return id;
  }

  /** result(slot) written into `out` (no allocation: the record and row writers call it per flow). */
  resultInto(slot: number, out: L7Result): void {
    const id = this.appId(slot);
    out.app = appName(id);
    out.app_source = id === 0 ? null : this.appByPort ? "port" : "payload";
    out.server_name = this.serverName(slot);
  }

  /** app, app_source, server_name of the flow in `slot` (valid while the slot holds that flow). */
  result(slot: number): L7Result {
    const r: L7Result = { app: null, app_source: null, server_name: null };
    this.resultInto(slot, r);
    return r;
  }

  serverName(slot: number): string | null {
    return slot < this.cap && (this.w[slot]! & NAMED) !== 0 ? this.names.get(slot) ?? null : null;
  }

  stats(): InspectorStats {
    return {
      inspecting: this.maxInspected - this.freeTop,
      max_inspected: this.maxInspected,
      overflow: this.overflow,
      decided_payload: this.decidedPayload,
      decided_port: this.decidedPort,
      undecided: this.undecided,
      streams: this.streams.size,
      inspected_packets: this.inspectedPackets,
      passive_dns_entries: this.passiveDns.size,
    };
  }

  // ---------------------------------------------------------------------------------------------

  /** Write the slot's word and its "not 0" bit. */
  private put(slot: number, v: number): void {
    this.w[slot] = v;
    const i = slot >>> 5, m = 1 << (slot & 31);
    if (v !== 0) this.nz[i]! |= m;
    else this.nz[i]! &= ~m;
  }

  private reset(slot: number, w: number): void {
    if ((w & STATE) === INSPECTING) this.freeRecord(slot, w);
    if (w & NAMED) this.dropName(slot);
    this.put(slot, 0);
  }

  private setName(slot: number, name: string | null | undefined): void {
    if (name === null || name === undefined) return;
    const old = this.names.get(slot);
    if (old !== undefined) this.nameBytes -= NAME_ENTRY_BYTES + old.length;
    this.names.set(slot, name);
    this.nameBytes += NAME_ENTRY_BYTES + name.length;
    this.put(slot, this.w[slot]! | NAMED);
  }

  private dropName(slot: number): void {
    const old = this.names.get(slot);
    if (old !== undefined) {
      this.nameBytes -= NAME_ENTRY_BYTES + old.length;
      this.names.delete(slot);
    }
  }

  /** Return the slot's inspection record to the pool (the word keeps the state bits: the caller sets them). */
  private freeRecord(slot: number, w: number): void {
    const r = w >>> REC_SHIFT;
    this.streams.delete(r);
    this.free[this.freeTop++] = r;
    this.put(slot, w & ((1 << REC_SHIFT) - 1));
  }

  /** The last port guess resultInto() computed, for that slot (-1: none). */
  private guessSlot = -1;
  private guessId = 0;

  private portGuess(slot: number): number {
    const k = this.table.cols.key;
    const o = slot * KEY_WORDS;
    const pw = k[o + KW_PORTS]!;
    const initB = (this.table.cols.meta(slot) & META_INIT_B) !== 0;
    const pa = pw >>> 16, pb = pw & 0xffff;
    return appByPort(k[o + KW_PROTO]! & PW_PROTO, initB ? pa : pb, initB ? pb : pa);
  }

  /** Decided by payload: the record goes back to the pool, a DNS flow stays tapped for passive DNS. */
  private decide(slot: number, id: number): void {
    const w = this.w[slot]!;
    if ((w & STATE) === INSPECTING) this.freeRecord(slot, w);
    this.put(slot, (this.w[slot]! & NAMED) | (id << APP_SHIFT) | (id === APP.dns ? DNS_TAP : DONE));
    this.decidedPayload++;
  }

  private decidePort(slot: number): void {
    const w = this.w[slot]!;
    if ((w & STATE) === INSPECTING) this.freeRecord(slot, w);
    const id = this.portGuess(slot);
    this.put(slot, (this.w[slot]! & NAMED) | (id << APP_SHIFT) | DONE | SRC_PORT);
    if (id !== 0) this.decidedPort++;
    else this.undecided++;
  }

  /** Inspection ends without a payload match: a tentative app if the flow had one, else the port. */
  private giveUp(slot: number): void {
    const w = this.w[slot]!;
    const id = (w & STATE) === INSPECTING ? this.rApp[w >>> REC_SHIFT]! : 0;
    if (id !== 0) this.decide(slot, id);
    else this.decidePort(slot);
  }

  /** A packet of an undecided (or DNS-tapped) flow; `w` is the slot's word (0 for a new flow). */
  private inspect(slot: number, w: number, p: DecodedPacket, buf: Uint8Array, off: number, caplen: number, ts: number): void {
    const proto = p.proto;
    if (proto !== 6 && proto !== 17) {
      if (proto === 50 || proto === 51) this.decide(slot, APP.ipsec);
      else { this.put(slot, (w & NAMED) | DONE); this.undecided++; }
      return;
    }
    // Headers only (a SYN, a pure ACK, an empty datagram): nothing to find, and no need to look
    // for the headers. The IP length counts every header, so at or below the smallest headers
    // there is no payload (0 = unknown length, e.g. segmentation offload: look).
    const ipLen = p.ipLen;
    if (ipLen !== 0 && ipLen <= (p.ipVersion === 4 ? 20 : 40) + (proto === 6 ? 20 : 8)) return;
    const pl = this.pl;
    if (!locatePayload(buf, off, caplen, p, pl)) return;
    const b = buf, q = pl.off, n = pl.len;
    const state = w & STATE;
    if (state === DNS_TAP) {
      const d = this.dns;
      if (parseDns(b, q, n, d) && d.response) { this.now = ts; dnsAnswers(b, q, n, d, this.learn); }
      return;
    }
    if (state === FRESH && this.freeTop === 0) {
      // Pool full: decided by port at once (no record, so no signature either).
      this.overflow++;
      this.decidePort(slot);
      return;
    }
    // Orientation: is this packet from the initiator?
    const cols = this.table.cols;
    const k = cols.key;
    const ko = slot * KEY_WORDS;
    const v6 = (k[ko + KW_PROTO]! & PW_V6) !== 0;
    const pw = k[ko + KW_PORTS]!;
    const pa = pw >>> 16, pb = pw & 0xffff;
    let fromA = p.src[0] === k[ko] && p.sport === pa;
    if (fromA && v6) fromA = p.src[1] === k[ko + 1] && p.src[2] === k[ko + 2] && p.src[3] === k[ko + 3];
    if (fromA && p.dst[0] === k[ko] && pa === pb) fromA = true; // both ends equal: either will do
    const initB = (cols.meta(slot) & META_INIT_B) !== 0;
    const fromInit = fromA !== initB;
    const initPort = initB ? pb : pa, respPort = initB ? pa : pb;
    let r: number;
    if (state === FRESH) {
      r = this.free[--this.freeTop]!;
      this.rCnt[r * 2] = 0;
      this.rCnt[r * 2 + 1] = 0;
      this.rApp[r] = 0;
      this.hApp[r] = 0;
      this.hWord[r] = 0;
      this.hCount[r] = 0;
      this.put(slot, (w & ~STATE) | (r << REC_SHIFT) | INSPECTING);
    } else r = w >>> REC_SHIFT;
    const ci = r * 2 + (fromInit ? 0 : 1);
    const per = this.perDirection;
    this.rCnt[ci]!++;
    this.inspectedPackets++;
    this.now = ts;
    const pending = this.rApp[r]!;
    if (pending !== 0) this.continueName(slot, r, pending, b, q, n, fromInit, pl.seq);
    else this.first(slot, r, proto, b, q, n, fromInit, initPort, respPort, pl.seq);
    if ((this.w[slot]! & STATE) !== INSPECTING) return;
    const c0 = this.rCnt[r * 2]!, c1 = this.rCnt[r * 2 + 1]!;
    if (c0 >= per || c1 >= per) this.giveUp(slot);
  }

  /** No app yet: run the dissectors that also find names, then the signatures. */
  private first(slot: number, r: number, proto: number, b: Uint8Array, q: number, n: number, fromInit: boolean, initPort: number, respPort: number, seq: number): void {
    const x0 = b[q]!;
    if (proto === 17 && n >= 7) {
      // IETF QUIC long header / gQUIC
      if ((x0 & 0x80) !== 0) {
        const v = ((b[q + 1]! << 24) | (b[q + 2]! << 16) | (b[q + 3]! << 8) | b[q + 4]!) >>> 0;
        if (isQuicVersion(v) && (x0 & 0x40) !== 0 || (v >>> 24 === 0x51 && isQuicVersion(v))) {
          this.rApp[r] = APP.quic;
          if (fromInit) this.quic(slot, r, b, q, n);
          return;
        }
      } else if ((x0 & 0x01) !== 0 && n > 13 && (x0 & 0x08) !== 0) {
        // gQUIC ≤ Q043 public header: flags (version 0x01, 8-byte CID 0x08), CID, version "Q0xx".
        const v = ((b[q + 9]! << 24) | (b[q + 10]! << 16) | (b[q + 11]! << 8) | b[q + 12]!) >>> 0;
        if (v >>> 24 === 0x51 && isQuicVersion(v)) {
          const h = this.hello;
          h.sni = null;
          gquicChlo(b, q, q + n, h);
          this.setName(slot, h.sni);
          this.decide(slot, APP.quic);
          return;
        }
      }
    }
    const c = this.ctx;
    c.b = b; c.p = q; c.n = n; c.proto = proto; c.fromInit = fromInit; c.initPort = initPort; c.respPort = respPort;
    // The record's hint through the one scratch Hint: loaded before, stored after.
    const h = this.hint;
    h.app = this.hApp[r]!; h.word = this.hWord[r]!; h.count = this.hCount[r]!;
    const id = matchPayload(c);
    this.hApp[r] = h.app; this.hWord[r] = h.word; this.hCount[r] = h.count;
    if (id === 0) return;
    switch (id) {
      case APP.tls:
        if (fromInit && tlsRecordKind(b, q, n) === TLS_CLIENT_HELLO) {
          this.rApp[r] = APP.tls;
          this.tls(slot, r, b, q, n, seq, true);
        } else {
          // ServerHello first (the ClientHello was not captured): TLS without a name.
          this.decide(slot, APP.tls);
        }
        return;
      case APP.http: {
        if (httpKind(b, q, n) === 1) {
          const host = httpHost(b, q, n);
          if (host !== null) { this.setName(slot, host); this.decide(slot, APP.http); }
          else this.rApp[r] = APP.http; // Host in a later segment
        } else this.decide(slot, APP.http);
        return;
      }
      case APP.dns: case APP.mdns: case APP.llmnr: {
        const d = this.dns;
        if (parseDns(b, q, n, d)) {
          if (d.qname !== null && d.qname !== ".") this.setName(slot, d.qname);
          if (d.response) dnsAnswers(b, q, n, d, this.learn);
        }
        this.decide(slot, id);
        return;
      }
      default:
        this.decide(slot, id);
    }
  }

  /** App known (tls/quic/http), name still to come. */
  private continueName(slot: number, r: number, app: number, b: Uint8Array, q: number, n: number, fromInit: boolean, seq: number): void {
    if (!fromInit) return;
    if (app === APP.tls) this.tls(slot, r, b, q, n, seq, false);
    else if (app === APP.quic) this.quic(slot, r, b, q, n);
    else if (app === APP.http) {
      const host = httpHostContinued(b, q, n);
      if (host !== null) { this.setName(slot, host); this.decide(slot, APP.http); }
    }
  }

  private tls(slot: number, r: number, b: Uint8Array, q: number, n: number, seq: number, first: boolean): void {
    const h = this.hello;
    let s = this.streams.get(r);
    if (first || s === undefined) {
      const res = parseClientHelloStream(b, q, n, h);
      if (res === TLS_DONE) { this.setName(slot, h.sni); this.decide(slot, APP.tls); return; }
      if (res !== NEED_MORE || this.streams.size >= MAX_STREAMS || !first) { this.decide(slot, APP.tls); return; }
      // ClientHello longer than this segment: keep the bytes, in sequence order, until it is whole.
      const t = new TlsStream(Math.min(MAX_TLS, Math.max(h.need, n)));
      t.buf.set(b.subarray(q, q + Math.min(n, t.buf.length)));
      t.len = Math.min(n, t.buf.length);
      t.nextSeq = (seq + n) >>> 0;
      this.streams.set(r, t);
      return;
    }
    if (!(s instanceof TlsStream)) { this.decide(slot, APP.tls); return; }
    if (seq !== s.nextSeq) return; // retransmission or out of order: wait for the expected segment
    const take = Math.min(n, s.buf.length - s.len);
    s.buf.set(b.subarray(q, q + take), s.len);
    s.len += take;
    s.nextSeq = (seq + n) >>> 0;
    const res = parseClientHelloStream(s.buf, 0, s.len, h);
    if (res === NEED_MORE && s.len < s.buf.length) return;
    if (res === TLS_DONE) this.setName(slot, h.sni);
    this.decide(slot, APP.tls);
  }

  private quic(slot: number, r: number, b: Uint8Array, q: number, n: number): void {
    const prev = this.streams.get(r);
    const stream = prev instanceof CryptoStream ? prev : null;
    if (stream === null && this.streams.size >= MAX_STREAMS) {
      // No room to gather: try this packet alone.
    }
    const res = quicClientPacket(b, q, n, stream, this.hello);
    if (res.status === QUIC_DONE) {
      this.setName(slot, this.hello.sni);
      this.decide(slot, APP.quic);
      return;
    }
    if (res.status === QUIC_NOT && stream === null) return;
    if (res.status === QUIC_MORE && res.stream !== null && stream === null && this.streams.size < MAX_STREAMS) this.streams.set(r, res.stream);
  }
}

// JIT tier: the inspection path of undecided flows stays in DFG, as the matchers (signatures.ts:
// FTL's compile costs more than it saves in one `flows` run; measured there).
noFTL(FlowInspector.prototype["inspect"]);
noFTL(FlowInspector.prototype["first"]);

/** Host header in a continuation segment of a request's header block. */
function httpHostContinued(b: Uint8Array, q: number, n: number): string | null {
  // Prefix a fake request line so httpHost's line skipping starts at this segment's first line.
  const tmp = new Uint8Array(Math.min(n, 4096) + 2);
  tmp[0] = 0x0a;
  tmp[1] = 0x0a; // placeholder; replaced below
  tmp.set(b.subarray(q, q + tmp.length - 2), 1);
  tmp[tmp.length - 1] = 0x0a;
  return httpHost(tmp, 0, tmp.length);
}

void QUIC_MORE;
