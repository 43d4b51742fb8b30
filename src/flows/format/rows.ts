/**
 * Flow rows straight from the flow columns into bytes: the JSON object of a FlowRecord (json,
 * ndjson), its CSV line and its `--format table` line, with no FlowRecord and no string per field.
 * The output is byte for byte what the record path gives (toRecord, then JSON.stringify, csvLine,
 * formatTableRow); src/flows/format/rows.test.ts compares them on every shared capture.
 *
 * A row takes at most MAX_COLUMN_ROW bytes (scratch included): a writer with that much room left
 * can call a row function without further checks.
 */
import {
  END_REASON_NAMES, F_BYTES, F_FIRST, F_ID, F_LAST, KEY_WORDS, KW_PORTS, KW_PROTO, META_INIT_B, PW_ORIGIN_MASK, PW_ORIGIN_SHIFT, PW_PROTO,
  PW_V6, PW_VLAN, PW_VLAN_SHIFT, REC_F64, REC_U32, U_FLAGS, U_PKTS, U_RATE, type FlowColumns,
} from "../table/columns.ts";
import { noFTL } from "bun:jsc";
import { protoName } from "../table/protocols.ts";
import { putCommunityId } from "../table/community-id.ts";
import { extrasOf, type FlowExtras } from "../table/extras.ts";
import { originDomain, originExporter } from "../../collect/origins.ts";
import { flagLetters, STATES, tcpState } from "../table/state.ts";
import {
  bytesOf, decimalLength, dvIPv4, dvIsoTime, dvJsonNumber, dvNumber, dvUint, fragment, numberLength, putBytes, putCsvField,
  dvSpaces, putIPv6, putJsonString, putText, viewOf,
} from "./bytes.ts";

/** Upper bound of one row's bytes in any format, scratch bytes included. */
export const MAX_COLUMN_ROW = 8192;

// ---- small tables, built once ----

/** Index in STATES of tcpState(init, resp), for init << 8 | resp. */
const TCP_STATE = new Uint8Array(65536);
for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b++) TCP_STATE[(a << 8) | b] = STATES.indexOf(tcpState(a, b));
const ONEWAY = STATES.indexOf("oneway");
const BIDIRECTIONAL = STATES.indexOf("bidirectional");

/** A scratch buffer for building the constant fragments through the same put* functions. */
const scratch = new Uint8Array(4096);
function jsonStr(s: string): Uint8Array {
  return scratch.slice(0, putJsonString(scratch, 0, s));
}
function csvStr(s: string): Uint8Array {
  return scratch.slice(0, putCsvField(scratch, 0, s));
}

const FLAG_TEXT = Array.from({ length: 256 }, (_, f) => flagLetters(f));
/** Flag letters as bytes (no quotes: they never need escaping, which jsonStr checks below). */
const FLAGS = FLAG_TEXT.map((s) => bytesOf(s));
const STATE_JSON = STATES.map((s) => jsonStr(s));
const STATE_CSV = STATES.map((s) => csvStr(s));
const STATE_TEXT = STATES.map((s) => bytesOf(s));
for (const s of FLAG_TEXT) {
  if (jsonStr(s).length !== s.length + 2 || csvStr(s).length !== s.length) throw new Error(`flag letters need quoting: ${s}`);
}

/** The protocol name as a JSON string, per proto. */
const PROTO_JSON: Uint8Array[] = [];
/** `,tcp,6,4,` per proto | v6 << 8. */
const PROTO_CSV: Uint8Array[] = [];
/** The protocol name padded to 7 (padEnd), per proto. */
const PROTO_TABLE: Uint8Array[] = [];
for (let v = 0; v < 2; v++) {
  for (let proto = 0; proto < 256; proto++) {
    const name = protoName(proto);
    PROTO_CSV.push(concat(bytesOf(","), csvStr(name), bytesOf(`,${proto},${v ? 6 : 4},`)));
    if (v === 0) {
      PROTO_JSON.push(jsonStr(name));
      PROTO_TABLE.push(bytesOf(name.padEnd(7)));
    }
  }
}

const REASON_JSON = END_REASON_NAMES.map((s) => jsonStr(s));
const REASON_CSV = END_REASON_NAMES.map((s) => csvStr(s));

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let p = 0;
  for (const x of parts) {
    out.set(x, p);
    p += x.length;
  }
  return out;
}

const J_ID = fragment('{"id":');
const J_PROTO = fragment(',"proto":');
const J_PROTO_NUM = fragment(',"proto_num":');
const J_V4_VLAN = fragment(',"ip_version":4,"vlan":');
const J_V6_VLAN = fragment(',"ip_version":6,"vlan":');
const J_NULL = fragment("null");
const J_SRC_IP = fragment(',"src_ip":"');
const J_SRC_PORT = fragment('","src_port":');
const J_DST_IP = fragment(',"dst_ip":"');
const J_DST_PORT = fragment('","dst_port":');
const J_PACKETS = fragment(',"packets":');
const J_BYTES = fragment(',"bytes":');
const J_SRC_PACKETS = fragment(',"src_packets":');
const J_SRC_BYTES = fragment(',"src_bytes":');
const J_DST_PACKETS = fragment(',"dst_packets":');
const J_DST_BYTES = fragment(',"dst_bytes":');
const J_FIRST = fragment(',"first_seen":"');
const J_LAST = fragment('","last_seen":"');
const J_DURATION = fragment('","duration_ms":');
const J_FLAGS = fragment(',"tcp_flags":"');
const J_SRC_FLAGS = fragment('","src_tcp_flags":"');
const J_DST_FLAGS = fragment('","dst_tcp_flags":"');
const J_NO_FLAGS = fragment(',"tcp_flags":"","src_tcp_flags":"","dst_tcp_flags":"');
const J_STATE = fragment('","state":');
const J_BPS = fragment(',"bps":');
const J_ACTIVE = fragment(',"active":');
const J_STILL_ACTIVE = fragment('true,"end_reason":null');
const J_ENDED = fragment('false,"end_reason":');
const J_UNNAMED_END = fragment("false");
const C_TRUE_EMPTY = fragment("true,");
const C_FALSE = fragment("false,");
const C_END = fragment("\r\n");
// The appended fields: each key as two fragments, with null and with what follows (quote or nothing).
const J_CID = fragment(',"community_id":"');
const J_APP = fragment(',"app":'), J_APP_NULL = fragment(',"app":null');
const J_APP_SOURCE = fragment(',"app_source":'), J_APP_SOURCE_NULL = fragment(',"app_source":null');
const J_SERVER_NAME = fragment(',"server_name":'), J_SERVER_NAME_NULL = fragment(',"server_name":null');
const J_SRC_NAME = fragment(',"src_name":'), J_SRC_NAME_NULL = fragment(',"src_name":null');
const J_DST_NAME = fragment(',"dst_name":'), J_DST_NAME_NULL = fragment(',"dst_name":null');
const J_SRC_COUNTRY = fragment(',"src_country":'), J_SRC_COUNTRY_NULL = fragment(',"src_country":null');
const J_DST_COUNTRY = fragment(',"dst_country":'), J_DST_COUNTRY_NULL = fragment(',"dst_country":null');
const J_SRC_ASN = fragment(',"src_asn":'), J_SRC_ASN_NULL = fragment(',"src_asn":null');
const J_DST_ASN = fragment(',"dst_asn":'), J_DST_ASN_NULL = fragment(',"dst_asn":null');
const J_SRC_AS_NAME = fragment(',"src_as_name":'), J_SRC_AS_NAME_NULL = fragment(',"src_as_name":null');
const J_DST_AS_NAME = fragment(',"dst_as_name":'), J_DST_AS_NAME_NULL = fragment(',"dst_as_name":null');
const J_CAPTURE = fragment(',"source":"capture","exporter":null,"exporter_domain":null}');
const J_NETFLOW = fragment(',"source":"netflow","exporter":');
const J_DOMAIN = fragment(',"exporter_domain":');
const C_CAPTURE = fragment("capture,,");

/**
 * Extras are bounded by whoever sets them (src/l7/annotate.ts: names ≤ 253 characters, AS names ≤ 128),
 * so a row with every extra stays far below MAX_COLUMN_ROW. Strings are escaped as they are written
 * (one pass over the characters). Measured on the scan capture (bench/format-rows.ts): a cache of
 * the last encoded string per field saved ≈ 40 ns per JSON row once the writer runs in JSC's top
 * tier, and nothing measurable in `flows` itself on 200 k rows, where the row writers stay in the DFG
 * tier (limitRowTier below), so it is not kept.
 */
function putJsonStrOrNull(buf: Uint8Array, p: number, dv: DataView, s: string | null): number {
  return s === null ? J_NULL(dv, p) : putJsonString(buf, p, s);
}
function putJsonNumOrNull(buf: Uint8Array, p: number, dv: DataView, n: number | null): number {
  return n === null ? J_NULL(dv, p) : dvJsonNumber(buf, dv, p, n);
}
/** A CSV field and its comma (nothing but the comma for null). */
function putCsvStr(buf: Uint8Array, p: number, s: string | null): number {
  if (s !== null) p = putCsvField(buf, p, s);
  buf[p] = 44;
  return p + 1;
}
function putCsvNum(buf: Uint8Array, p: number, dv: DataView, n: number | null): number {
  if (n !== null) p = dvNumber(buf, dv, p, n);
  buf[p] = 44;
  return p + 1;
}

/** The appended JSON fields after community_id (app … exporter_domain) and the closing brace. */
function putJsonExtras(buf: Uint8Array, p: number, dv: DataView, pw: number, x: FlowExtras): number {
  let v: string | null;
  let n: number | null;
  v = x.app; p = v === null ? J_APP_NULL(dv, p) : putJsonString(buf, J_APP(dv, p), v);
  v = x.app_source; p = v === null ? J_APP_SOURCE_NULL(dv, p) : putJsonString(buf, J_APP_SOURCE(dv, p), v);
  v = x.server_name; p = v === null ? J_SERVER_NAME_NULL(dv, p) : putJsonString(buf, J_SERVER_NAME(dv, p), v);
  v = x.src_name; p = v === null ? J_SRC_NAME_NULL(dv, p) : putJsonString(buf, J_SRC_NAME(dv, p), v);
  v = x.dst_name; p = v === null ? J_DST_NAME_NULL(dv, p) : putJsonString(buf, J_DST_NAME(dv, p), v);
  v = x.src_country; p = v === null ? J_SRC_COUNTRY_NULL(dv, p) : putJsonString(buf, J_SRC_COUNTRY(dv, p), v);
  v = x.dst_country; p = v === null ? J_DST_COUNTRY_NULL(dv, p) : putJsonString(buf, J_DST_COUNTRY(dv, p), v);
  n = x.src_asn; p = n === null ? J_SRC_ASN_NULL(dv, p) : dvJsonNumber(buf, dv, J_SRC_ASN(dv, p), n);
  n = x.dst_asn; p = n === null ? J_DST_ASN_NULL(dv, p) : dvJsonNumber(buf, dv, J_DST_ASN(dv, p), n);
  v = x.src_as_name; p = v === null ? J_SRC_AS_NAME_NULL(dv, p) : putJsonString(buf, J_SRC_AS_NAME(dv, p), v);
  v = x.dst_as_name; p = v === null ? J_DST_AS_NAME_NULL(dv, p) : putJsonString(buf, J_DST_AS_NAME(dv, p), v);
  const origin = (pw >>> PW_ORIGIN_SHIFT) & PW_ORIGIN_MASK;
  if (origin === 0) return J_CAPTURE(dv, p);
  p = J_NETFLOW(dv, p);
  p = putJsonStrOrNull(buf, p, dv, originExporter(origin));
  p = J_DOMAIN(dv, p);
  p = putJsonNumOrNull(buf, p, dv, originDomain(origin));
  buf[p] = 125;
  return p + 1;
}

/** The appended CSV columns after community_id (app … exporter_domain), without the line end. */
function putCsvExtras(buf: Uint8Array, p: number, dv: DataView, pw: number, x: FlowExtras): number {
  p = putCsvStr(buf, p, x.app);
  p = putCsvStr(buf, p, x.app_source);
  p = putCsvStr(buf, p, x.server_name);
  p = putCsvStr(buf, p, x.src_name);
  p = putCsvStr(buf, p, x.dst_name);
  p = putCsvStr(buf, p, x.src_country);
  p = putCsvStr(buf, p, x.dst_country);
  p = putCsvNum(buf, p, dv, x.src_asn);
  p = putCsvNum(buf, p, dv, x.dst_asn);
  p = putCsvStr(buf, p, x.src_as_name);
  p = putCsvStr(buf, p, x.dst_as_name);
  const origin = (pw >>> PW_ORIGIN_SHIFT) & PW_ORIGIN_MASK;
  if (origin === 0) return C_CAPTURE(dv, p);
  p = putCsvStr(buf, p, "netflow");
  p = putCsvStr(buf, p, originExporter(origin));
  const d = originDomain(origin);
  return d === null ? p : dvNumber(buf, dv, p, d);
}
const T_VLAN = fragment(" vlan ");

/** What every row needs from a slot, read once (the oriented view of toRecord). */
class Slot {
  pw = 0;
  v6 = false;
  tcp = false;
  srcOff = 0;
  dstOff = 0;
  srcPort = 0;
  dstPort = 0;
  srcPackets = 0;
  dstPackets = 0;
  srcBytes = 0;
  dstBytes = 0;
  packets = 0;
  bytes = 0;
  f0 = 0;
  f1 = 0;
  state = 0;
  reason = 0;

  read(c: FlowColumns, i: number): void {
    const key = c.key;
    const f64 = c.f64;
    const u32 = c.u32;
    const ko = i * KEY_WORDS;
    const fo = i * REC_F64;
    const uo = i * REC_U32;
    const pw = key[ko + KW_PROTO]!;
    const fl = u32[uo + U_FLAGS]!;
    const meta = fl >>> 16;
    const initB = (meta & META_INIT_B) !== 0;
    const ports = key[ko + KW_PORTS]!;
    const pA = u32[uo + U_PKTS]!;
    const pB = u32[uo + U_PKTS + 1]!;
    const bA = f64[fo + F_BYTES]!;
    const bB = f64[fo + F_BYTES + 1]!;
    const fA = fl & 0xff;
    const fB = (fl >>> 8) & 0xff;
    this.pw = pw;
    this.v6 = (pw & PW_V6) !== 0;
    this.tcp = (pw & PW_PROTO) === 6;
    this.reason = meta >>> 4;
    this.packets = pA + pB;
    this.bytes = bA + bB;
    if (initB) {
      this.srcOff = ko + 4;
      this.dstOff = ko;
      this.srcPort = ports & 0xffff;
      this.dstPort = ports >>> 16;
      this.srcPackets = pB;
      this.dstPackets = pA;
      this.srcBytes = bB;
      this.dstBytes = bA;
      this.f0 = fB;
      this.f1 = fA;
    } else {
      this.srcOff = ko;
      this.dstOff = ko + 4;
      this.srcPort = ports >>> 16;
      this.dstPort = ports & 0xffff;
      this.srcPackets = pA;
      this.dstPackets = pB;
      this.srcBytes = bA;
      this.dstBytes = bB;
      this.f0 = fA;
      this.f1 = fB;
    }
    this.state = this.tcp ? TCP_STATE[(this.f0 << 8) | this.f1]! : this.dstPackets > 0 ? BIDIRECTIONAL : ONEWAY;
  }
}

const slot = new Slot();

/** The FlowRecord of slot i as JSON.stringify(toRecord(c, i)) prints it (no newline). */
export function putJsonRow(c: FlowColumns, i: number, buf: Uint8Array, p: number, x: FlowExtras = extrasOf(c, i)): number {
  const s = slot;
  s.read(c, i);
  const dv = viewOf(buf);
  const f64 = c.f64;
  const fo = i * REC_F64;
  const key = c.key;
  const pw = s.pw;
  p = J_ID(dv, p);
  p = dvJsonNumber(buf, dv, p, f64[fo + F_ID]!);
  p = J_PROTO(dv, p);
  p = putBytes(buf, p, PROTO_JSON[pw & PW_PROTO]!);
  p = J_PROTO_NUM(dv, p);
  p = dvUint(dv, p, pw & PW_PROTO);
  p = s.v6 ? J_V6_VLAN(dv, p) : J_V4_VLAN(dv, p);
  p = pw & PW_VLAN ? dvUint(dv, p, pw >>> PW_VLAN_SHIFT) : J_NULL(dv, p);
  p = J_SRC_IP(dv, p);
  p = putAddr(buf, dv, p, key, s.srcOff, s.v6);
  p = J_SRC_PORT(dv, p);
  p = dvUint(dv, p, s.srcPort);
  p = J_DST_IP(dv, p);
  p = putAddr(buf, dv, p, key, s.dstOff, s.v6);
  p = J_DST_PORT(dv, p);
  p = dvUint(dv, p, s.dstPort);
  p = J_PACKETS(dv, p);
  p = dvUint(dv, p, s.packets);
  p = J_BYTES(dv, p);
  p = dvJsonNumber(buf, dv, p, s.bytes);
  p = J_SRC_PACKETS(dv, p);
  p = dvUint(dv, p, s.srcPackets);
  p = J_SRC_BYTES(dv, p);
  p = dvJsonNumber(buf, dv, p, s.srcBytes);
  p = J_DST_PACKETS(dv, p);
  p = dvUint(dv, p, s.dstPackets);
  p = J_DST_BYTES(dv, p);
  p = dvJsonNumber(buf, dv, p, s.dstBytes);
  const first = f64[fo + F_FIRST]!;
  const last = f64[fo + F_LAST]!;
  p = J_FIRST(dv, p);
  p = dvIsoTime(buf, dv, p, first);
  p = J_LAST(dv, p);
  p = dvIsoTime(buf, dv, p, last);
  p = J_DURATION(dv, p);
  p = dvJsonNumber(buf, dv, p, Math.round((last - first) * 1000));
  if (s.tcp) {
    p = J_FLAGS(dv, p);
    p = putBytes(buf, p, FLAGS[s.f0 | s.f1]!);
    p = J_SRC_FLAGS(dv, p);
    p = putBytes(buf, p, FLAGS[s.f0]!);
    p = J_DST_FLAGS(dv, p);
    p = putBytes(buf, p, FLAGS[s.f1]!);
  } else {
    p = J_NO_FLAGS(dv, p);
  }
  p = J_STATE(dv, p);
  p = putBytes(buf, p, STATE_JSON[s.state]!);
  p = J_BPS(dv, p);
  const reason = s.reason;
  p = dvUint(dv, p, reason === 0 ? c.u32[i * REC_U32 + U_RATE]! * 8 : 0);
  p = J_ACTIVE(dv, p);
  if (reason === 0) p = J_STILL_ACTIVE(dv, p);
  else {
    const r = REASON_JSON[reason];
    // An end reason without a name: JSON.stringify leaves out an undefined field.
    p = r !== undefined ? putBytes(buf, J_ENDED(dv, p), r) : J_UNNAMED_END(dv, p);
  }
  p = J_CID(dv, p);
  p = putCommunityId(c, i, buf, p);
  buf[p++] = 34;
  return putJsonExtras(buf, p, dv, pw, x);
}

/** csvLine(toRecord(c, i)) as bytes: the 41 columns of CSV_COLUMNS (suspicious empty), CRLF. */
export function putCsvRow(c: FlowColumns, i: number, buf: Uint8Array, p: number, x: FlowExtras = extrasOf(c, i)): number {
  const s = slot;
  s.read(c, i);
  const dv = viewOf(buf);
  const f64 = c.f64;
  const fo = i * REC_F64;
  const key = c.key;
  const pw = s.pw;
  p = dvNumber(buf, dv, p, f64[fo + F_ID]!);
  p = putBytes(buf, p, PROTO_CSV[pw & 0x1ff]!);
  if (pw & PW_VLAN) p = dvUint(dv, p, pw >>> PW_VLAN_SHIFT);
  buf[p++] = 44;
  p = putAddr(buf, dv, p, key, s.srcOff, s.v6);
  buf[p++] = 44;
  p = dvUint(dv, p, s.srcPort);
  buf[p++] = 44;
  p = putAddr(buf, dv, p, key, s.dstOff, s.v6);
  buf[p++] = 44;
  p = dvUint(dv, p, s.dstPort);
  buf[p++] = 44;
  p = dvUint(dv, p, s.packets);
  buf[p++] = 44;
  p = dvNumber(buf, dv, p, s.bytes);
  buf[p++] = 44;
  p = dvUint(dv, p, s.srcPackets);
  buf[p++] = 44;
  p = dvNumber(buf, dv, p, s.srcBytes);
  buf[p++] = 44;
  p = dvUint(dv, p, s.dstPackets);
  buf[p++] = 44;
  p = dvNumber(buf, dv, p, s.dstBytes);
  buf[p++] = 44;
  const first = f64[fo + F_FIRST]!;
  const last = f64[fo + F_LAST]!;
  p = dvIsoTime(buf, dv, p, first);
  buf[p++] = 44;
  p = dvIsoTime(buf, dv, p, last);
  buf[p++] = 44;
  p = dvNumber(buf, dv, p, Math.round((last - first) * 1000));
  buf[p++] = 44;
  if (s.tcp) {
    p = putBytes(buf, p, FLAGS[s.f0 | s.f1]!);
    buf[p++] = 44;
    p = putBytes(buf, p, FLAGS[s.f0]!);
    buf[p++] = 44;
    p = putBytes(buf, p, FLAGS[s.f1]!);
  } else {
    buf[p++] = 44;
    buf[p++] = 44;
  }
  buf[p++] = 44;
  p = putBytes(buf, p, STATE_CSV[s.state]!);
  buf[p++] = 44;
  const reason = s.reason;
  p = dvUint(dv, p, reason === 0 ? c.u32[i * REC_U32 + U_RATE]! * 8 : 0);
  buf[p++] = 44;
  if (reason === 0) p = C_TRUE_EMPTY(dv, p);
  else {
    p = C_FALSE(dv, p);
    const r = REASON_CSV[reason];
    if (r !== undefined) p = putBytes(buf, p, r);
  }
  buf[p++] = 44; // suspicious: empty
  buf[p++] = 44;
  p = putCommunityId(c, i, buf, p);
  buf[p++] = 44;
  return C_END(dv, putCsvExtras(buf, p, dv, pw, x));
}

/** formatTableRow(toRecord(c, i)) as bytes. */
export function putTableRow(c: FlowColumns, i: number, buf: Uint8Array, p: number): number {
  const s = slot;
  s.read(c, i);
  const dv = viewOf(buf);
  const f64 = c.f64;
  const fo = i * REC_F64;
  const key = c.key;
  const pw = s.pw;
  p = putBytes(buf, p, PROTO_TABLE[pw & PW_PROTO]!);
  p = putEndpoint(buf, dv, p, key, s.srcOff, s.v6, s.srcPort);
  p = putEndpoint(buf, dv, p, key, s.dstOff, s.v6, s.dstPort);
  p = dvSpaces(dv, p, 9 - decimalLength(s.packets));
  p = dvUint(dv, p, s.packets);
  p = dvSpaces(dv, p, 13 - numberLength(s.bytes));
  p = dvNumber(buf, dv, p, s.bytes);
  const ms = Math.round((f64[fo + F_LAST]! - f64[fo + F_FIRST]!) * 1000);
  if (ms >= 0 && ms < 1e15) {
    // (ms / 1000).toFixed(3) of an integer ms is its decimal digits with the point 3 from the end
    // (exact while the quotient's error is far below 0.0005).
    const whole = Math.floor(ms / 1000);
    const frac = ms - whole * 1000;
    p = dvSpaces(dv, p, 11 - decimalLength(whole) - 5);
    p = dvUint(dv, p, whole);
    buf[p++] = 46;
    buf[p++] = 48 + ((frac / 100) | 0);
    buf[p++] = 48 + (((frac / 10) | 0) % 10);
    buf[p++] = 48 + (frac % 10);
    buf[p++] = 115;
  } else {
    const d = `${(ms / 1000).toFixed(3)}s`;
    p = dvSpaces(dv, p, 11 - d.length);
    p = putText(buf, p, d);
  }
  buf[p++] = 32;
  buf[p++] = 32;
  p = putBytes(buf, p, STATE_TEXT[s.state]!);
  if (pw & PW_VLAN) {
    p = T_VLAN(dv, p);
    p = dvUint(dv, p, pw >>> PW_VLAN_SHIFT);
  }
  buf[p++] = 10;
  return p;
}

/** `ip:port` or `[ip]:port`, padded to 46 (padEnd). */
function putEndpoint(buf: Uint8Array, dv: DataView, p: number, key: Int32Array, off: number, v6: boolean, port: number): number {
  const start = p;
  if (v6) {
    buf[p++] = 91;
    p = putIPv6(buf, p, key, off);
    buf[p++] = 93;
  } else {
    p = dvIPv4(dv, p, key[off]!);
  }
  buf[p++] = 58;
  p = dvUint(dv, p, port);
  return dvSpaces(dv, p, 46 - (p - start));
}

/** Address text at key words `off` (bytes.ts putAddr with the row's DataView). Room needed: 41. */
function putAddr(buf: Uint8Array, dv: DataView, p: number, key: Int32Array, off: number, v6: boolean): number {
  return v6 ? putIPv6(buf, p, key, off) : dvIPv4(dv, p, key[off]!);
}

export type ColumnRowWriter = (c: FlowColumns, i: number, buf: Uint8Array, p: number) => number;

/**
 * Below this many rows in one run, `flows` keeps the row writers in JSC's DFG tier (noFTL).
 *
 * The trade: FTL, JSC's top tier, writes a row about twice as fast once it has compiled the
 * writers (bench/format-rows.ts on the scan's 950 k flows, steady state, 2 × AMD EPYC, 2026-12-02:
 * JSON 1,403 → 619 ns/row, CSV 1,212 → 628), but compiling these large functions with everything
 * they inline costs the JIT threads ≈ 0.3 s of CPU, and on 200 k rows it is done too late to pay
 * for itself. `flows --read … | cat > /dev/null`, alternated, medians (setsid bench/prioritised.sh):
 * - snaplen 128, 200 k JSON rows (3 runs each): DFG 1.61 s wall / 2.24 s CPU, FTL 1.68 s / 2.53 s;
 * - the scan, 950 k rows (5 runs each), always DFG before → this choice: JSON 2.45 → 2.03 s wall,
 *   2.89 → 2.53 s CPU; NDJSON 2.73 → 2.17 s, 3.03 → 2.67 s; CSV and table unchanged within the
 *   noise (CSV 1.93 → 1.86 s wall, 2.30 → 2.38 s CPU).
 * On the 2 × Xeon of earlier measurements FTL rows were only ≈ 0.1 µs faster and the scan a wash
 * (JSON 2.19 s CPU in DFG, 2.13 in FTL), so there the choice changes little either way.
 * The threshold sits between the two measured sizes. The server never calls limitRowTier: a
 * long-running process compiles the writers once and exports with them for its whole life.
 */
export const ROWS_FOR_FTL = 500_000;

let tierLimited = false;

/**
 * Called by a one-shot run (`flows`) once it knows how many rows it prints in all: under
 * ROWS_FOR_FTL the writers stay in the DFG tier for the rest of the process. Returns whether they
 * do. Has no effect on a writer FTL compiled already (JSC keeps that code).
 */
export function limitRowTier(rows: number): boolean {
  if (rows >= ROWS_FOR_FTL) return tierLimited;
  if (!tierLimited) {
    noFTL(putJsonRow); noFTL(putCsvRow); noFTL(putTableRow); noFTL(putJsonExtras); noFTL(putCsvExtras);
    tierLimited = true;
  }
  return true;
}
