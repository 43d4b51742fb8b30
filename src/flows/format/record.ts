/**
 * The flow record: the one JSON shape used by the CLI, the API, CSV and the views.
 * Field names are snake_case and stable; `src` is the initiator.
 */
import ipaddr from "ipaddr.js";
import { END_REASON_NAMES, type FlowColumns } from "../table/columns.ts";
import { flagLetters, flowState, type FlowState } from "../table/state.ts";
import { protoName } from "../table/protocols.ts";
import { communityId } from "../table/community-id.ts";
import { extrasOf, type FlowExtras } from "../table/extras.ts";
import { originFields } from "../../collect/origins.ts";

export interface FlowRecord {
  id: number;
  proto: string;
  proto_num: number;
  ip_version: 4 | 6;
  vlan: number | null;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  packets: number;
  bytes: number;
  src_packets: number;
  src_bytes: number;
  dst_packets: number;
  dst_bytes: number;
  first_seen: string;
  last_seen: string;
  duration_ms: number;
  tcp_flags: string;
  src_tcp_flags: string;
  dst_tcp_flags: string;
  state: FlowState;
  /** bits/s over the last one-second tick (0 for ended flows and offline reads without ticks). */
  bps: number;
  /** true while the flow is in the live table. */
  active: boolean;
  /** why the flow ended: idle, active_timeout, tcp_close, evicted, end_of_capture; null while active. */
  end_reason: string | null;
  /** Community ID v1, seed 0 (community-id.ts). */
  community_id: string;
  /** Application protocol (src/l7): from the payload, or the port as a labelled fallback. */
  app: string | null;
  app_source: "payload" | "port" | null;
  /** TLS/QUIC SNI, HTTP Host, DNS query name. */
  server_name: string | null;
  /** Passive-DNS names of the two ends. */
  src_name: string | null;
  dst_name: string | null;
  /** ISO country code, or the special-range label (private, loopback, …). */
  src_country: string | null;
  dst_country: string | null;
  src_asn: number | null;
  dst_asn: number | null;
  src_as_name: string | null;
  dst_as_name: string | null;
  /** capture, or netflow (a NetFlow/IPFIX exporter's record). */
  source: "capture" | "netflow";
  exporter: string | null;
  exporter_domain: number | null;
}

/** Address at word offset `off` of `key` as text (IPv6 in RFC 5952 form). */
export function addrText(key: Int32Array, off: number, v6: boolean): string {
  const w0 = key[off]!;
  if (!v6) return `${w0 >>> 24}.${(w0 >>> 16) & 255}.${(w0 >>> 8) & 255}.${w0 & 255}`;
  const parts: number[] = [];
  for (let k = 0; k < 4; k++) {
    const w = key[off + k]!;
    parts.push(w >>> 16, w & 0xffff);
  }
  return new ipaddr.IPv6(parts).toRFC5952String();
}

/**
 * ISO 8601 text of a time in seconds. Never throws and never says "Invalid Date": the readers hand
 * on only times a Date can hold (see MAX_TS in capture/pcap-reader.ts); should anything else get
 * here, a time beyond ±8.64e15 ms is clamped to that limit and a non-finite one reads as the epoch.
 */
export function isoTime(sec: number): string {
  let ms = Math.round(sec * 1000);
  if (!(ms <= 8.64e15)) ms = ms > 0 ? 8.64e15 : 0; // +Infinity → the limit, NaN → 0
  else if (ms < -8.64e15) ms = -8.64e15;
  return new Date(ms).toISOString();
}

/** The record of slot i; its extras (app, names, country, AS) from this thread's resolver unless given. */
export function toRecord(c: FlowColumns, i: number, x: FlowExtras = extrasOf(c, i)): FlowRecord {
  const v6 = c.ipVersion(i) === 6;
  const vlan = c.vlan(i);
  const f0 = c.dirFlags(i, 0);
  const f1 = c.dirFlags(i, 1);
  const tcp = c.proto(i) === 6;
  const reason = c.endReason(i);
  return {
    id: c.id(i),
    proto: protoName(c.proto(i)),
    proto_num: c.proto(i),
    ip_version: v6 ? 6 : 4,
    vlan: vlan < 0 ? null : vlan,
    src_ip: addrText(c.key, c.srcAddrOff(i), v6),
    src_port: c.srcPort(i),
    dst_ip: addrText(c.key, c.dstAddrOff(i), v6),
    dst_port: c.dstPort(i),
    packets: c.packets(i),
    bytes: c.totalBytes(i),
    src_packets: c.dirPackets(i, 0),
    src_bytes: c.dirBytes(i, 0),
    dst_packets: c.dirPackets(i, 1),
    dst_bytes: c.dirBytes(i, 1),
    first_seen: isoTime(c.first(i)),
    last_seen: isoTime(c.last(i)),
    duration_ms: c.durationMs(i),
    tcp_flags: tcp ? flagLetters(f0 | f1) : "",
    src_tcp_flags: tcp ? flagLetters(f0) : "",
    dst_tcp_flags: tcp ? flagLetters(f1) : "",
    state: flowState(c, i),
    bps: c.bps(i),
    active: reason === 0,
    end_reason: reason === 0 ? null : END_REASON_NAMES[reason]!,
    community_id: communityId(c, i),
    app: x.app,
    app_source: x.app_source,
    server_name: x.server_name,
    src_name: x.src_name,
    dst_name: x.dst_name,
    src_country: x.src_country,
    dst_country: x.dst_country,
    src_asn: x.src_asn,
    dst_asn: x.dst_asn,
    src_as_name: x.src_as_name,
    dst_as_name: x.dst_as_name,
    ...originFields(c.origin(i)),
  };
}
