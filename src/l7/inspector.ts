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
 * Memory: per flow slot 6 bytes of typed arrays (state 1, app 1, record index 4) plus an 8-byte
 * reference in the server-name array (the name string itself, ~20–60 bytes, only for flows that
 * have one): 14 bytes per slot next to the table's 112. Per flow under inspection 4 more bytes of
 * typed arrays + a 32-byte hint object (created once per record index); a ClientHello or QUIC
 * CRYPTO stream longer than one packet borrows a reassembly buffer (≤ 16 KiB, at most
 * MAX_STREAMS = 256 at once).
 *
 * Lifetime: a slot's result stays readable after its flow ended (the table's onEnded listeners run
 * while the slot is intact, in any order relative to release()) until the slot is reused by a new
 * flow, which the inspector notices on that flow's first packet (packet count 1) and resets.
 */
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

const FRESH = 0, INSPECTING = 1, DONE = 2, DNS_TAP = 3;
const STATE = 7, SRC_PORT = 0x10;
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
  private st = new Uint8Array(0);
  private app = new Uint8Array(0);
  private rec = new Int32Array(0);
  private names: (string | undefined)[] = [];
  // Inspection records.
  private readonly rCnt: Uint8Array;
  private readonly rApp: Uint8Array;
  private readonly rSlot: Int32Array;
  private readonly hints: (Hint | undefined)[] = [];
  private readonly free: Int32Array;
  private freeTop: number;
  private readonly streams = new Map<number, TlsStream | CryptoStream>();
  private readonly pl = new Payload();
  private readonly hello = new HelloInfo();
  private readonly dns = new DnsInfo();
  private readonly ctx: SigContext = { b: new Uint8Array(0), p: 0, n: 0, proto: 0, fromInit: true, initPort: 0, respPort: 0, hint: new Hint() };
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
    this.maxInspected = Math.max(16, Math.floor(config.maxInspected ?? 65_536));
    this.perDirection = Math.max(1, Math.min(255, Math.floor(config.perDirection ?? 8)));
    const m = this.maxInspected;
    this.rCnt = new Uint8Array(m * 2);
    this.rApp = new Uint8Array(m);
    this.rSlot = new Int32Array(m);
    this.free = new Int32Array(m);
    for (let i = 0; i < m; i++) this.free[i] = m - 1 - i;
    this.freeTop = m;
    this.grow(table.cols.capacity);
  }

  /** Bytes per flow slot the inspector adds to the table's figure (typed arrays + name reference). */
  static readonly bytesPerSlot = 1 + 1 + 4 + 8;

  /** Bytes held: per-slot arrays, the record pool, reassembly buffers in use. */
  byteSize(): number {
    let s = this.cap * FlowInspector.bytesPerSlot + this.maxInspected * (2 + 1 + 4 + 4);
    for (const v of this.streams.values()) s += v instanceof TlsStream ? v.buf.length : 2 * 8192;
    return s;
  }

  private grow(min: number): void {
    let c = Math.max(16, this.cap);
    while (c < min) c *= 2;
    if (c === this.cap) return;
    const st = new Uint8Array(c); st.set(this.st); this.st = st;
    const app = new Uint8Array(c); app.set(this.app); this.app = app;
    const rec = new Int32Array(c).fill(-1); rec.set(this.rec); this.rec = rec;
    // Dense from the start: a holey array written at scattered slots falls into JSC's sparse
    // storage (measured: +420 MB RSS and 2 s more on a 1 M-flow scan).
    const names = new Array<string | undefined>(c).fill(undefined);
    for (let k = 0; k < this.names.length; k++) names[k] = this.names[k];
    this.names = names;
    this.cap = c;
  }

  /**
   * One packet of flow `slot` (right after FlowTable.add accounted it). Cheap no-op for decided flows.
   */
  onPacket(slot: number, p: DecodedPacket, buf: Uint8Array, off: number, caplen: number, ts: number): void {
    if (slot >= this.cap) this.grow(slot + 1);
    const u = this.table.cols.u32;
    const o = slot * REC_U32 + U_PKTS;
    let s = this.st[slot]!;
    if (u[o]! + u[o + 1]! === 1) {
      if (s !== FRESH || this.app[slot] !== 0) this.reset(slot);
      s = FRESH;
    } else if (s === DONE || s === (DONE | SRC_PORT)) return;
    this.inspect(slot, s & STATE, p, buf, off, caplen, ts);
  }

  /** The flow in `slot` left the table: free its inspection record (its result stays readable). */
  release(slot: number): void {
    if (slot >= this.cap) return;
    if ((this.st[slot]! & STATE) === INSPECTING) this.giveUp(slot);
    else if ((this.st[slot]! & STATE) === FRESH) this.decidePort(slot);
  }

  /**
   * A new flow in `slot` continues a flow that ended by active timeout (the same key): take over its
   * decision instead of inspecting again (annotate.ts keeps it between the segments).
   */
  adopt(slot: number, appId: number, byPort: boolean, name: string | null): void {
    if (slot >= this.cap) this.grow(slot + 1);
    if ((this.st[slot]! & STATE) === INSPECTING) this.freeRecord(slot);
    this.app[slot] = appId;
    this.st[slot] = appId === APP.dns && !byPort ? DNS_TAP : byPort ? DONE | SRC_PORT : DONE;
    this.names[slot] = name ?? undefined;
  }

  appId(slot: number): number {
    return slot < this.cap ? this.app[slot]! : 0;
  }

  /** result(slot) written into `out` (no allocation: the record and row writers call it per flow). */
  resultInto(slot: number, out: L7Result): void {
    if (slot >= this.cap) {
      const id = this.portGuess(slot);
      out.app = appName(id); out.app_source = id === 0 ? null : "port"; out.server_name = null;
      return;
    }
    const st = this.st[slot]!;
    let id = this.app[slot]!;
    let src: AppSource = st & SRC_PORT ? "port" : "payload";
    if (id === 0 && (st & STATE) !== DONE && (st & STATE) !== DNS_TAP) {
      const rid = (st & STATE) === INSPECTING ? this.rApp[this.rec[slot]!]! : 0;
      if (rid !== 0) id = rid;
      else { id = this.portGuess(slot); src = "port"; }
    }
    out.app = appName(id);
    out.app_source = id === 0 ? null : src;
    out.server_name = this.names[slot] ?? null;
  }

  /** app, app_source, server_name of the flow in `slot` (valid while the slot holds that flow). */
  result(slot: number): L7Result {
    if (slot >= this.cap) return { app: this.portGuessName(slot), app_source: this.portGuessName(slot) ? "port" : null, server_name: null };
    const st = this.st[slot]!;
    let id = this.app[slot]!;
    let src: AppSource | null = st & SRC_PORT ? "port" : "payload";
    if (id === 0 && (st & STATE) !== DONE && (st & STATE) !== DNS_TAP) {
      // Still undecided (no payload yet, or inspecting): the port fallback, labelled.
      const rid = (st & STATE) === INSPECTING ? this.rApp[this.rec[slot]!]! : 0;
      if (rid !== 0) id = rid;
      else { id = this.portGuess(slot); src = "port"; }
    }
    return { app: appName(id), app_source: id === 0 ? null : src, server_name: this.names[slot] ?? null };
  }

  serverName(slot: number): string | null {
    return this.names[slot] ?? null;
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

  private reset(slot: number): void {
    if ((this.st[slot]! & STATE) === INSPECTING) this.freeRecord(slot);
    this.st[slot] = FRESH;
    this.app[slot] = 0;
    this.names[slot] = undefined;
  }

  private freeRecord(slot: number): void {
    const r = this.rec[slot]!;
    if (r < 0) return;
    this.streams.delete(r);
    this.rec[slot] = -1;
    this.free[this.freeTop++] = r;
  }

  private portGuess(slot: number): number {
    const k = this.table.cols.key;
    const o = slot * KEY_WORDS;
    const pw = k[o + KW_PORTS]!;
    const initB = (this.table.cols.meta(slot) & META_INIT_B) !== 0;
    const pa = pw >>> 16, pb = pw & 0xffff;
    return appByPort(k[o + KW_PROTO]! & PW_PROTO, initB ? pa : pb, initB ? pb : pa);
  }

  private portGuessName(slot: number): string | null {
    return appName(this.portGuess(slot));
  }

  private decide(slot: number, id: number): void {
    if ((this.st[slot]! & STATE) === INSPECTING) this.freeRecord(slot);
    this.app[slot] = id;
    this.st[slot] = id === APP.dns ? DNS_TAP : DONE;
    this.decidedPayload++;
  }

  private decidePort(slot: number): void {
    if ((this.st[slot]! & STATE) === INSPECTING) this.freeRecord(slot);
    const id = this.portGuess(slot);
    this.app[slot] = id;
    this.st[slot] = DONE | SRC_PORT;
    if (id !== 0) this.decidedPort++;
    else this.undecided++;
  }

  /** Inspection ends without a payload match: a tentative app if the flow had one, else the port. */
  private giveUp(slot: number): void {
    const r = this.rec[slot]!;
    const id = r >= 0 ? this.rApp[r]! : 0;
    if (id !== 0) this.decide(slot, id);
    else this.decidePort(slot);
  }

  private inspect(slot: number, state: number, p: DecodedPacket, buf: Uint8Array, off: number, caplen: number, ts: number): void {
    const proto = p.proto;
    if (proto !== 6 && proto !== 17) {
      if (proto === 50 || proto === 51) this.decide(slot, APP.ipsec);
      else { this.st[slot] = DONE; this.undecided++; }
      return;
    }
    const pl = this.pl;
    if (!locatePayload(buf, off, caplen, p, pl)) return;
    const b = buf, q = pl.off, n = pl.len;
    if (state === DNS_TAP) {
      const d = this.dns;
      if (parseDns(b, q, n, d) && d.response) { this.now = ts; dnsAnswers(b, q, n, d, this.learn); }
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
      if (this.freeTop === 0) {
        this.overflow++;
        this.decidePort(slot);
        return;
      }
      r = this.free[--this.freeTop]!;
      this.rec[slot] = r;
      this.rSlot[r] = slot;
      this.rCnt[r * 2] = 0;
      this.rCnt[r * 2 + 1] = 0;
      this.rApp[r] = 0;
      let h = this.hints[r];
      if (h === undefined) { h = new Hint(); this.hints[r] = h; }
      h.app = 0; h.word = 0; h.count = 0;
      this.st[slot] = INSPECTING;
    } else r = this.rec[slot]!;
    const ci = r * 2 + (fromInit ? 0 : 1);
    const per = this.perDirection;
    this.rCnt[ci]!++;
    this.inspectedPackets++;
    this.now = ts;
    const pending = this.rApp[r]!;
    if (pending !== 0) this.continueName(slot, r, pending, b, q, n, fromInit, pl.seq);
    else this.first(slot, r, proto, b, q, n, fromInit, initPort, respPort, pl.seq);
    if ((this.st[slot]! & STATE) !== INSPECTING) return;
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
          this.names[slot] = h.sni ?? undefined;
          this.decide(slot, APP.quic);
          return;
        }
      }
    }
    const c = this.ctx;
    c.b = b; c.p = q; c.n = n; c.proto = proto; c.fromInit = fromInit; c.initPort = initPort; c.respPort = respPort;
    c.hint = this.hints[r]!;
    const id = matchPayload(c);
    if (id === 0) {
      return;
    }
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
          if (host !== null) { this.names[slot] = host; this.decide(slot, APP.http); }
          else this.rApp[r] = APP.http; // Host in a later segment
        } else this.decide(slot, APP.http);
        return;
      }
      case APP.dns: case APP.mdns: case APP.llmnr: {
        const d = this.dns;
        if (parseDns(b, q, n, d)) {
          if (d.qname !== null && d.qname !== ".") this.names[slot] = d.qname;
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
      if (host !== null) { this.names[slot] = host; this.decide(slot, APP.http); }
    }
  }

  private tls(slot: number, r: number, b: Uint8Array, q: number, n: number, seq: number, first: boolean): void {
    const h = this.hello;
    let s = this.streams.get(r);
    if (first || s === undefined) {
      const res = parseClientHelloStream(b, q, n, h);
      if (res === TLS_DONE) { this.names[slot] = h.sni ?? undefined; this.decide(slot, APP.tls); return; }
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
    this.names[slot] = res === TLS_DONE ? h.sni ?? undefined : undefined;
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
      this.names[slot] = this.hello.sni ?? undefined;
      this.decide(slot, APP.quic);
      return;
    }
    if (res.status === QUIC_NOT && stream === null) return;
    if (res.status === QUIC_MORE && res.stream !== null && stream === null && this.streams.size < MAX_STREAMS) this.streams.set(r, res.stream);
  }
}

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
