/**
 * Between the flow table's column layout and a stored row: `rowValues` reads slot i of a batch
 * (FlowColumns.wrap of an ended-flow batch) straight into the segment columns (schema.ts), with no
 * FlowRecord and no strings; `rowToRecord` rebuilds the FlowRecord that toRecord() gives for the
 * same slot, except that a stored flow is never active: bps 0, active false.
 */
import ipaddr from "ipaddr.js";
import { END_REASON_NAMES, type FlowColumns } from "../flows/table/columns.ts";
import { flowStateIndex } from "../flows/query/query-compile.ts";
import type { FlowRecord } from "../flows/format/record.ts";
import { protoName } from "../flows/table/protocols.ts";
import { NO_EXTRAS, type FlowExtras } from "../flows/table/extras.ts";
import { communityIdOfRecord } from "../flows/table/community-id.ts";
import { flagLetters, STATES } from "../flows/table/state.ts";

/** Value bound to src/dst: an IPv4 key word (signed int32) or 16 bytes of IPv6. */
export type AddrValue = number | Uint8Array;

/** The 4 key words at `off` as 16 big-endian bytes. */
export function v6Bytes(key: Int32Array, off: number): Uint8Array {
  const b = new Uint8Array(16);
  for (let w = 0; w < 4; w++) {
    const x = key[off + w]!;
    b[w * 4] = x >>> 24;
    b[w * 4 + 1] = (x >>> 16) & 255;
    b[w * 4 + 2] = (x >>> 8) & 255;
    b[w * 4 + 3] = x & 255;
  }
  return b;
}

/**
 * Fills `out` (SEGMENT_FIELDS order, the first 17: x, cid and exp are set by the caller) with slot i of `c`. Returns last_ms (for the
 * segment's time range). Allocates only for IPv6 addresses.
 */
export function rowValues(c: FlowColumns, i: number, out: (number | Uint8Array)[]): number {
  const v6 = c.ipVersion(i) === 6;
  const so = c.srcAddrOff(i), dOff = c.dstAddrOff(i);
  const first = c.first(i), last = c.last(i);
  const firstMs = Math.round(first * 1000);
  const lastMs = Math.round(last * 1000);
  const dur = Math.round((last - first) * 1000);
  out[0] = c.id(i);
  out[1] = firstMs;
  out[2] = dur;
  out[3] = lastMs - firstMs - dur;
  out[4] = v6 ? v6Bytes(c.key, so) : c.key[so]!;
  out[5] = v6 ? v6Bytes(c.key, dOff) : c.key[dOff]!;
  out[6] = c.srcPort(i);
  out[7] = c.dstPort(i);
  out[8] = c.proto(i);
  out[9] = c.vlan(i);
  out[10] = flowStateIndex(c, i);
  out[11] = c.endReason(i);
  out[12] = c.dirFlags(i, 0) | (c.dirFlags(i, 1) << 8);
  out[13] = c.packets(i);
  out[14] = c.dirPackets(i, 1);
  out[15] = c.totalBytes(i);
  out[16] = c.dirBytes(i, 1);
  return lastMs;
}

/** Columns read back, in this order, by every flow SELECT. */
export const SELECT_LIST =
  "id, first_ms, dur_ms, last_adj, src, dst, sport, dport, proto, vlan, state, reason, flags, packets, dst_packets, bytes, dst_bytes, x, exp";

export type StoredRow = [
  id: number, firstMs: number, durMs: number, lastAdj: number, src: AddrValue, dst: AddrValue,
  sport: number, dport: number, proto: number, vlan: number, state: number, reason: number, flags: number,
  packets: number, dstPackets: number, bytes: number, dstBytes: number, x: number, exp: number,
];

/** How stored extras and exporters are read back (store/flow-extras.ts ExtrasTable). */
export interface StoredExtras {
  extras(id: number): FlowExtras;
  origin(id: number): { source: "capture" | "netflow"; exporter: string | null; exporter_domain: number | null };
}
const NONE: StoredExtras = { extras: () => NO_EXTRAS, origin: () => ({ source: "capture", exporter: null, exporter_domain: null }) };

export function addrFromValue(v: AddrValue): string {
  if (typeof v === "number") return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  const parts: number[] = [];
  for (let k = 0; k < 8; k++) parts.push((v[k * 2]! << 8) | v[k * 2 + 1]!);
  return new ipaddr.IPv6(parts).toRFC5952String();
}

export function rowToRecord(r: StoredRow, xs: StoredExtras = NONE): FlowRecord {
  const [id, firstMs, durMs, lastAdj, src, dst, sport, dport, proto, vlan, state, reason, flags, packets, dstPackets, bytes, dstBytes, x, exp] = r;
  const e = xs.extras(x ?? 0);
  const tcp = proto === 6;
  const f0 = flags & 0xff, f1 = (flags >>> 8) & 0xff;
  return {
    id,
    proto: protoName(proto),
    proto_num: proto,
    ip_version: typeof src === "number" ? 4 : 6,
    vlan: vlan < 0 ? null : vlan,
    src_ip: addrFromValue(src),
    src_port: sport,
    dst_ip: addrFromValue(dst),
    dst_port: dport,
    packets,
    bytes,
    src_packets: packets - dstPackets,
    src_bytes: bytes - dstBytes,
    dst_packets: dstPackets,
    dst_bytes: dstBytes,
    first_seen: new Date(firstMs).toISOString(),
    last_seen: new Date(firstMs + durMs + lastAdj).toISOString(),
    duration_ms: durMs,
    tcp_flags: tcp ? flagLetters(f0 | f1) : "",
    src_tcp_flags: tcp ? flagLetters(f0) : "",
    dst_tcp_flags: tcp ? flagLetters(f1) : "",
    state: STATES[state]!,
    bps: 0,
    active: false,
    end_reason: reason === 0 ? null : (END_REASON_NAMES[reason] ?? String(reason)),
    community_id: communityIdOfRecord({ proto_num: proto, src_ip: addrFromValue(src), dst_ip: addrFromValue(dst), src_port: sport, dst_port: dport }),
    app: e.app,
    app_source: e.app_source,
    server_name: e.server_name,
    src_name: e.src_name,
    dst_name: e.dst_name,
    src_country: e.src_country,
    dst_country: e.dst_country,
    src_asn: e.src_asn,
    dst_asn: e.dst_asn,
    src_as_name: e.src_as_name,
    dst_as_name: e.dst_as_name,
    ...xs.origin(exp ?? 0),
  };
}
