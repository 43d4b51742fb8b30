/**
 * NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011, RFC 7012 elements, RFC 5103 biflow)
 * datagram decoder. One call per datagram; each flow record is decoded into one reused
 * CollectedFlow and handed to the handler (no object per record), with its counters already
 * multiplied by the sampling rate in effect.
 *
 * Never throws on input: a datagram, set or record that does not validate is counted by reason on
 * its exporter (exporters.ts COLLECT_ERRORS) and the rest of the datagram is decoded when its
 * framing still holds (a bad set length stops the datagram; an unknown template skips only its set;
 * a record that overruns its set stops that set).
 *
 * Templates (v9 sets 0/1, IPFIX sets 2/3) are compiled into a kind per field, so a data record is
 * one pass over its fields with a switch on small integers. Elements used (IANA ids; v9 shares them):
 *   addresses 8, 12 (IPv4), 27, 28 (IPv6); ports 7, 11; protocol 4; TCP flags 6; VLAN 58 (or 243)
 *   octets 1 (or 85 total, 231 initiatorOctets), packets 2 (or 86, 298 initiatorPackets)
 *   reverse (RFC 5103, PEN 29305) octets 1/85, packets 2/86, TCP flags 6; 232/299 responder counters
 *   times: 21/22 uptime ms (v9: against the header's sysUpTime; IPFIX: against
 *   systemInitTimeMilliseconds 160, from the record or an options record), 150/151 s, 152/153 ms,
 *   154-157 NTP micro/nanoseconds, 158/159 delta microseconds before the export time
 *   biflowDirection 239 (1: source is the initiator, 2: destination is)
 *   sampling: samplingInterval 34, v9 FLOW_SAMPLER_RANDOM_INTERVAL 50 (1 in N), or
 *   samplingPacketInterval 305 + samplingPacketSpace 306 (rate (interval + space) / interval), in
 *   a data record (that record) or an options record (the domain, until announced again); v5: the
 *   header's sampling_interval (low 14 bits).
 * Other elements are skipped by their length. ICMP records keep ports 0 (the type/code some
 * exporters put in the destination port is not a port: our ICMP flows other than echo have none).
 */
import { CollectedFlow } from "./flow-record.ts";
import type { DomainState, ExporterRegistry, ExporterState, Template } from "./exporters.ts";

export type FlowHandler = (f: CollectedFlow, exporter: ExporterState, domain: DomainState) => void;

const K_SKIP = 0, K_SRC4 = 1, K_DST4 = 2, K_SRC6 = 3, K_DST6 = 4, K_SPORT = 5, K_DPORT = 6, K_PROTO = 7;
const K_FLAGS = 8, K_VLAN = 9, K_BYTES = 10, K_PKTS = 11, K_RBYTES = 12, K_RPKTS = 13, K_RFLAGS = 14;
const K_FIRST_UP = 15, K_LAST_UP = 16, K_FIRST_S = 17, K_LAST_S = 18, K_FIRST_MS = 19, K_LAST_MS = 20;
const K_FIRST_NTP = 21, K_LAST_NTP = 22, K_FIRST_DUS = 23, K_LAST_DUS = 24, K_BIDIR = 25, K_SAMPLING = 26;
const K_SEL_INTERVAL = 27, K_SEL_SPACE = 28, K_SYSINIT = 29, K_DOT1Q = 30;

const REVERSE_PEN = 29305;
const VARLEN = 0xffff;
/** Seconds between the NTP era (1900) and the Unix epoch. */
const NTP_EPOCH = 2208988800;

/** Decoding kind of element `id` (enterprise `pen`, 0 for IANA) of length `len`. */
function kindOf(id: number, pen: number, len: number): number {
  const num = len >= 1 && len <= 8;
  if (pen === REVERSE_PEN) {
    if ((id === 1 || id === 85) && num) return K_RBYTES;
    if ((id === 2 || id === 86) && num) return K_RPKTS;
    if (id === 6 && num) return K_RFLAGS;
    return K_SKIP;
  }
  if (pen !== 0) return K_SKIP;
  switch (id) {
    case 8: return len === 4 ? K_SRC4 : K_SKIP;
    case 12: return len === 4 ? K_DST4 : K_SKIP;
    case 27: return len === 16 ? K_SRC6 : K_SKIP;
    case 28: return len === 16 ? K_DST6 : K_SKIP;
    case 7: return len === 2 ? K_SPORT : K_SKIP;
    case 11: return len === 2 ? K_DPORT : K_SKIP;
    case 4: return len === 1 ? K_PROTO : K_SKIP;
    case 6: return num ? K_FLAGS : K_SKIP;
    case 58: return len === 2 ? K_VLAN : K_SKIP;
    case 243: return len === 2 ? K_DOT1Q : K_SKIP;
    case 1: case 85: case 231: return num ? K_BYTES : K_SKIP;
    case 2: case 86: case 298: return num ? K_PKTS : K_SKIP;
    case 232: return num ? K_RBYTES : K_SKIP;
    case 299: return num ? K_RPKTS : K_SKIP;
    case 22: return len === 4 ? K_FIRST_UP : K_SKIP;
    case 21: return len === 4 ? K_LAST_UP : K_SKIP;
    case 150: return len === 4 ? K_FIRST_S : K_SKIP;
    case 151: return len === 4 ? K_LAST_S : K_SKIP;
    case 152: return len === 8 ? K_FIRST_MS : K_SKIP;
    case 153: return len === 8 ? K_LAST_MS : K_SKIP;
    case 154: case 156: return len === 8 ? K_FIRST_NTP : K_SKIP;
    case 155: case 157: return len === 8 ? K_LAST_NTP : K_SKIP;
    case 158: return len === 4 ? K_FIRST_DUS : K_SKIP;
    case 159: return len === 4 ? K_LAST_DUS : K_SKIP;
    case 160: return len === 8 ? K_SYSINIT : K_SKIP;
    case 239: return len === 1 ? K_BIDIR : K_SKIP;
    case 34: case 50: return num ? K_SAMPLING : K_SKIP;
    case 305: return num ? K_SEL_INTERVAL : K_SKIP;
    case 306: return num ? K_SEL_SPACE : K_SKIP;
    default: return K_SKIP;
  }
}

function u16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}
function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}
function i32(b: Uint8Array, p: number): number {
  return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
}
/** Unsigned big-endian integer of 1..8 bytes (exact below 2^53). */
function uint(b: Uint8Array, p: number, len: number): number {
  let v = 0;
  for (let i = 0; i < len; i++) v = v * 256 + b[p + i]!;
  return v;
}

export interface DecoderCounters {
  datagrams: number;
  records: number;
}

export class NetflowDecoder {
  private readonly f = new CollectedFlow();
  // Per-record scratch (instance fields keep the record loop monomorphic).
  private firstUp = NaN;
  private lastUp = NaN;
  private firstMs = NaN;
  private lastMs = NaN;
  private sampling = 0;
  private selInterval = 0;
  private selSpace = 0;
  private sysInit = NaN;
  private hasSrc = 0;
  private hasDst = 0;
  // Per-message context.
  private exportMs = 0;
  /** v5/v9 header sysUpTime (ms); NaN for IPFIX. */
  private sysUptime = NaN;
  private dataRecords = 0;

  constructor(
    private readonly registry: ExporterRegistry,
    private readonly onFlow: FlowHandler,
  ) {}

  /** Decode one datagram from `address`:`port`, received at wall-clock `now` (seconds). */
  datagram(b: Uint8Array, address: string, port: number, now: number): void {
    const e = this.registry.exporter(address);
    if (e === null) return; // beyond the exporter limit: counted by the registry
    e.packets++;
    e.lastSeen = now;
    if (b.length < 4) return e.error("short_header");
    const version = u16(b, 0);
    if (version === 5) this.v5(b, e, now);
    else if (version === 9) this.v9(b, e, port, now);
    else if (version === 10) this.ipfix(b, e, port, now);
    else e.error("bad_version");
  }

  // ---- NetFlow v5 ----

  private v5(b: Uint8Array, e: ExporterState, now: number): void {
    if (b.length < 24) return e.error("short_header");
    const count = u16(b, 2);
    if (24 + count * 48 > b.length) return e.error("bad_length");
    e.versions.add(5);
    const uptime = u32(b, 4);
    const exportMs = u32(b, 8) * 1000 + Math.floor(u32(b, 12) / 1e6);
    const seq = u32(b, 16);
    const d = e.domain((b[20]! << 8) | b[21]!, now);
    if (d === null) return e.error("domain_limit");
    const si = u16(b, 22) & 0x3fff;
    d.sampling = si > 1 ? si : 1;
    this.sequence(d, seq, count);
    const f = this.f;
    for (let r = 0, p = 24; r < count; r++, p += 48) {
      f.reset();
      f.src[0] = i32(b, p);
      f.dst[0] = i32(b, p + 4);
      const pkts = u32(b, p + 16), bytes = u32(b, p + 20);
      f.first = (exportMs - ((uptime - u32(b, p + 24)) | 0)) / 1000;
      f.last = (exportMs - ((uptime - u32(b, p + 28)) | 0)) / 1000;
      f.proto = b[p + 38]!;
      if (f.proto === 6 || f.proto === 17 || f.proto === 132) {
        f.sport = u16(b, p + 32);
        f.dport = u16(b, p + 34);
      }
      f.flags = f.proto === 6 ? b[p + 37]! : 0;
      f.sampling = d.sampling;
      f.packets = pkts * f.sampling;
      f.bytes = bytes * f.sampling;
      this.emit(e, d);
    }
  }

  // ---- NetFlow v9 ----

  private v9(b: Uint8Array, e: ExporterState, port: number, now: number): void {
    if (b.length < 20) return e.error("short_header");
    e.versions.add(9);
    this.sysUptime = u32(b, 4);
    this.exportMs = u32(b, 8) * 1000;
    const seq = u32(b, 12);
    const d = e.domain(u32(b, 16), now);
    if (d === null) return e.error("domain_limit");
    if (!Number.isNaN(d.nextSeq)) {
      const gap = (seq - d.nextSeq) >>> 0;
      if (gap > 0 && gap < 0x10000) d.lost += gap;
    }
    d.nextSeq = (seq + 1) >>> 0;
    let p = 20;
    while (p < b.length) {
      if (b.length - p < 4) return e.error("bad_set_length");
      const id = u16(b, p), len = u16(b, p + 2);
      if (len < 4 || p + len > b.length) return e.error("bad_set_length");
      const end = p + len;
      if (id === 0) this.templates(b, p + 4, end, e, d, port, now, false, false);
      else if (id === 1) this.templates(b, p + 4, end, e, d, port, now, true, false);
      else if (id >= 256) this.dataSet(b, p + 4, end, id, e, d, port, now);
      else e.error("bad_set_id");
      p = end;
    }
  }

  // ---- IPFIX ----

  private ipfix(b: Uint8Array, e: ExporterState, port: number, now: number): void {
    if (b.length < 16) return e.error("short_header");
    const len = u16(b, 2);
    if (len < 16 || len > b.length) return e.error("bad_length");
    e.versions.add(10);
    this.sysUptime = NaN;
    this.exportMs = u32(b, 4) * 1000;
    const seq = u32(b, 8);
    const d = e.domain(u32(b, 12), now);
    if (d === null) return e.error("domain_limit");
    this.dataRecords = 0;
    let p = 16;
    while (p < len) {
      if (len - p < 4) {
        e.error("bad_set_length");
        break;
      }
      const id = u16(b, p), sl = u16(b, p + 2);
      if (sl < 4 || p + sl > len) {
        e.error("bad_set_length");
        break;
      }
      const end = p + sl;
      if (id === 2) this.templates(b, p + 4, end, e, d, port, now, false, true);
      else if (id === 3) this.templates(b, p + 4, end, e, d, port, now, true, true);
      else if (id >= 256) this.dataSet(b, p + 4, end, id, e, d, port, now);
      else e.error("bad_set_id");
      p = end;
    }
    this.sequence(d, seq, this.dataRecords);
  }

  /** v5 and IPFIX: the sequence number counts data records sent before this message in the domain. */
  private sequence(d: DomainState, seq: number, records: number): void {
    if (!Number.isNaN(d.nextSeq)) {
      const gap = (seq - d.nextSeq) >>> 0;
      if (gap > 0 && gap < 0x80000000) d.lost += gap;
    }
    d.nextSeq = (seq + records) >>> 0;
  }

  /**
   * A template set: v9 (ids 0/1: no enterprise bit; options give scope and option lengths in bytes,
   * scope types are not elements) or IPFIX (ids 2/3: enterprise numbers; options give the scope
   * field count; a field count of 0 withdraws a template).
   */
  private templates(
    b: Uint8Array, p: number, end: number, e: ExporterState, d: DomainState, port: number, now: number,
    options: boolean, ipfix: boolean,
  ): void {
    const minHeader = options ? 6 : 4;
    while (end - p >= minHeader) {
      const tid = u16(b, p);
      let count: number, scope: number;
      if (!ipfix && options) {
        const scopeLen = u16(b, p + 2), optLen = u16(b, p + 4);
        if (tid === 0 && scopeLen === 0 && optLen === 0) return; // padding
        if (scopeLen % 4 !== 0 || optLen % 4 !== 0) return e.error("bad_template");
        scope = scopeLen / 4;
        count = scope + optLen / 4;
        p += 6;
      } else {
        count = u16(b, p + 2);
        if (tid === 0 && count === 0) return; // padding
        if (ipfix && count === 0) {
          // Withdrawal (RFC 7011 §8.1): the template, or every template of this kind when tid is the set id.
          const key = port * 65536 + tid;
          if (tid === 2 || tid === 3) {
            for (const [k, t] of d.templates) if (Math.floor(k / 65536) === port && t.options === (tid === 3)) d.templates.delete(k);
          } else d.templates.delete(key);
          p += 4;
          continue;
        }
        if (options) {
          if (end - p < 6) return e.error("bad_template");
          scope = u16(b, p + 4);
          if (scope === 0 || scope > count) return e.error("bad_template");
          p += 6;
        } else {
          scope = 0;
          p += 4;
        }
      }
      if (tid < 256 || count === 0) return e.error("bad_template");
      const kinds = new Int32Array(count), lens = new Int32Array(count);
      let minLen = 0;
      for (let i = 0; i < count; i++) {
        if (end - p < 4) return e.error("bad_template");
        let id = u16(b, p);
        const len = u16(b, p + 2);
        p += 4;
        let pen = 0;
        if (ipfix && id & 0x8000) {
          if (end - p < 4) return e.error("bad_template");
          pen = u32(b, p);
          p += 4;
          id &= 0x7fff;
        }
        if (!ipfix && len === VARLEN) return e.error("bad_template");
        kinds[i] = i < scope ? K_SKIP : kindOf(id, pen, len);
        lens[i] = len;
        minLen += len === VARLEN ? 1 : len;
      }
      if (minLen === 0) return e.error("bad_template");
      const key = port * 65536 + tid;
      if (d.templates.size >= this.registry.maxTemplates && !d.templates.has(key)) return e.error("template_limit");
      d.templates.set(key, { id: tid, kinds, lens, minLen, options, seen: now });
    }
  }

  private dataSet(b: Uint8Array, p: number, end: number, tid: number, e: ExporterState, d: DomainState, port: number, now: number): void {
    const key = port * 65536 + tid;
    const t = d.templates.get(key);
    if (t === undefined) return e.error("unknown_template");
    if (now - t.seen > this.registry.templateTimeout) {
      d.templates.delete(key);
      return e.error("template_expired");
    }
    while (end - p >= t.minLen) {
      const q = this.record(b, p, end, t);
      if (q < 0) return e.error("bad_record");
      p = q;
      if (t.options) this.applyOptions(d);
      else {
        this.dataRecords++;
        this.finish(e, d);
      }
    }
  }

  /** Decode one data record of template `t` at `p` into this.f and the scratch fields; returns the next offset, or -1. */
  private record(b: Uint8Array, p: number, end: number, t: Template): number {
    const f = this.f;
    f.reset();
    this.firstUp = this.lastUp = this.firstMs = this.lastMs = this.sysInit = NaN;
    this.sampling = this.selInterval = this.selSpace = 0;
    this.hasSrc = this.hasDst = 0;
    const kinds = t.kinds, lens = t.lens, n = kinds.length;
    for (let i = 0; i < n; i++) {
      let len = lens[i]!;
      if (len === VARLEN) {
        if (p >= end) return -1;
        len = b[p++]!;
        if (len === 255) {
          if (end - p < 2) return -1;
          len = u16(b, p);
          p += 2;
        }
      }
      if (end - p < len) return -1;
      switch (kinds[i]) {
        case K_SKIP: break;
        case K_SRC4: f.src[0] = i32(b, p); this.hasSrc = 4; break;
        case K_DST4: f.dst[0] = i32(b, p); this.hasDst = 4; break;
        case K_SRC6: for (let w = 0; w < 4; w++) f.src[w] = i32(b, p + w * 4); this.hasSrc = 6; break;
        case K_DST6: for (let w = 0; w < 4; w++) f.dst[w] = i32(b, p + w * 4); this.hasDst = 6; break;
        case K_SPORT: f.sport = u16(b, p); break;
        case K_DPORT: f.dport = u16(b, p); break;
        case K_PROTO: f.proto = b[p]!; break;
        case K_FLAGS: f.flags = b[p + len - 1]!; break;
        case K_RFLAGS: f.rflags = b[p + len - 1]!; break;
        case K_VLAN: f.vlan = u16(b, p) & 0xfff; break;
        case K_DOT1Q: if (f.vlan <= 0) f.vlan = u16(b, p) & 0xfff; break;
        case K_BYTES: f.bytes = uint(b, p, len); break;
        case K_PKTS: f.packets = uint(b, p, len); break;
        case K_RBYTES: f.rbytes = uint(b, p, len); break;
        case K_RPKTS: f.rpackets = uint(b, p, len); break;
        case K_FIRST_UP: this.firstUp = u32(b, p); break;
        case K_LAST_UP: this.lastUp = u32(b, p); break;
        case K_FIRST_S: this.firstMs = u32(b, p) * 1000; break;
        case K_LAST_S: this.lastMs = u32(b, p) * 1000; break;
        case K_FIRST_MS: this.firstMs = uint(b, p, 8); break;
        case K_LAST_MS: this.lastMs = uint(b, p, 8); break;
        case K_FIRST_NTP: this.firstMs = (u32(b, p) - NTP_EPOCH) * 1000 + (u32(b, p + 4) / 4294967296) * 1000; break;
        case K_LAST_NTP: this.lastMs = (u32(b, p) - NTP_EPOCH) * 1000 + (u32(b, p + 4) / 4294967296) * 1000; break;
        case K_FIRST_DUS: this.firstMs = this.exportMs - u32(b, p) / 1000; break;
        case K_LAST_DUS: this.lastMs = this.exportMs - u32(b, p) / 1000; break;
        case K_SYSINIT: this.sysInit = uint(b, p, 8); break;
        case K_BIDIR: { const v = b[p]!; f.initiator = v === 1 || v === 2 ? v : 0; break; }
        case K_SAMPLING: this.sampling = uint(b, p, len); break;
        case K_SEL_INTERVAL: this.selInterval = uint(b, p, len); break;
        case K_SEL_SPACE: this.selSpace = uint(b, p, len); break;
      }
      p += len;
    }
    return p;
  }

  /** Sampling rate the scratch fields announce, or 0 when they announce none. */
  private announcedRate(): number {
    if (this.sampling >= 1) return this.sampling;
    if (this.selInterval >= 1) return (this.selInterval + this.selSpace) / this.selInterval;
    return 0;
  }

  /** An options record: the domain's sampling rate and the IPFIX time base. */
  private applyOptions(d: DomainState): void {
    const rate = this.announcedRate();
    if (rate > 0) d.sampling = rate;
    if (!Number.isNaN(this.sysInit)) d.systemInitMs = this.sysInit;
  }

  /** A flow data record: times, sampling, then the handler (records without addresses are skipped). */
  private finish(e: ExporterState, d: DomainState): void {
    const f = this.f;
    if (this.hasSrc === 0 || this.hasSrc !== this.hasDst) {
      e.skipped++;
      return;
    }
    f.ipVersion = this.hasSrc === 6 ? 6 : 4;
    if (f.proto !== 6 && f.proto !== 17 && f.proto !== 132) f.sport = f.dport = 0;
    if (f.proto !== 6) f.flags = f.rflags = 0;
    if (f.vlan === 0) f.vlan = -1; // IPFIX exporters (ours too) send vlanId 0 for untagged traffic
    let first = this.firstMs, last = this.lastMs;
    if (Number.isNaN(first) || Number.isNaN(last)) {
      let base = NaN;
      if (!Number.isNaN(this.sysUptime)) base = this.exportMs - this.sysUptime;
      else if (!Number.isNaN(this.sysInit)) base = this.sysInit;
      else if (!Number.isNaN(d.systemInitMs)) base = d.systemInitMs;
      const up = !Number.isNaN(this.firstUp) || !Number.isNaN(this.lastUp);
      if (up && Number.isNaN(base)) e.error("no_time_base");
      if (!Number.isNaN(base)) {
        // v9: ages against sysUpTime, as signed 32-bit differences (uptime wraps after 49.7 days).
        if (Number.isNaN(first) && !Number.isNaN(this.firstUp)) {
          first = Number.isNaN(this.sysUptime) ? this.sinceInit(base, this.firstUp) : this.exportMs - ((this.sysUptime - this.firstUp) | 0);
        }
        if (Number.isNaN(last) && !Number.isNaN(this.lastUp)) {
          last = Number.isNaN(this.sysUptime) ? this.sinceInit(base, this.lastUp) : this.exportMs - ((this.sysUptime - this.lastUp) | 0);
        }
      }
      if (Number.isNaN(first)) first = Number.isNaN(last) ? this.exportMs : last;
      if (Number.isNaN(last)) last = first;
    }
    if (last < first) {
      const x = first;
      first = last;
      last = x;
    }
    f.first = first / 1000;
    f.last = last / 1000;
    const rate = this.announcedRate() || d.sampling;
    f.sampling = rate;
    if (rate !== 1) {
      f.bytes *= rate;
      f.packets *= rate;
      f.rbytes *= rate;
      f.rpackets *= rate;
    }
    this.emit(e, d);
  }

  /**
   * IPFIX uptime field (u32 ms, wraps every 49.7 days) after systemInitTimeMilliseconds `base`: the
   * wrap count is the one that puts the time at most one wrap before the export time (a flow
   * cannot end after its export).
   */
  private sinceInit(base: number, up: number): number {
    const t = base + up;
    const behind = this.exportMs - t;
    return behind >= 4294967296 ? t + Math.floor(behind / 4294967296) * 4294967296 : t;
  }

  private emit(e: ExporterState, d: DomainState): void {
    const f = this.f;
    e.records++;
    e.flowPackets += f.packets + f.rpackets;
    e.flowBytes += f.bytes + f.rbytes;
    this.onFlow(f, e, d);
  }
}
