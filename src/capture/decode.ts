/**
 * Packet decoder: link header → OUTERMOST IP header → transport ports, into a reused DecodedPacket.
 * Hot path: no allocation, no closures, no try/catch, no DataView; every loop over a header chain
 * is bounded; reads never go past `off + caplen` (nor past `buf.length`).
 *
 * Link types: 0 NULL (AF in either byte order; values > 1500 taken as an Ethertype), 108 LOOP,
 * 1 Ethernet, 9 PPP, 50 PPP_HDLC, 51 PPP_ETHER (PPPoE), 204 PPP_WITH_DIR, 12/14/101 raw IP (by
 * version nibble), 228 IPv4, 229 IPv6, 113 Linux SLL, 276 Linux SLL2. Ethernet payloads: 802.1Q /
 * 802.1ad / 0x9100 tags (≤ MAX_TAGS; `vlan` = outermost id), MPLS label stacks (≤ MAX_LABELS;
 * payload IPv4/IPv6 by first nibble, anything else NON_IP), PPPoE session, 802.3 + LLC/SNAP
 * carrying IP; any other Ethertype or an 802.3 frame → NON_IP.
 *
 * Acceptance follows tshark 4.0 (see shared/pcaps/SOURCES.md blind spots 8, 9):
 * - Ethertype 0x0800, AF_INET, LINKTYPE_IPV4, PPP 0x21 dispatch on the version nibble (6 → IPv6);
 *   0x86DD / LINKTYPE_IPV6 / AF_INET6 / PPP 0x57 accept only version 6 (else BAD_IP_VERSION).
 * - PPP (9, 50, 204): first byte 0xff = address/control (2 bytes skipped), 0x0f/0x8f = Cisco HDLC
 *   (Ethertype 0x0800, 0x86dd, MPLS), else the protocol field; a protocol whose first byte is odd
 *   is 1 byte (protocol-field compression). PPP 0x21 IPv4, 0x57 IPv6, 0x281/0x283 MPLS; other PPP
 *   protocols (LCP, IPCP, multilink, BCP, compressed) → NON_IP. PPPoE (Ethertype 0x8864 behind any
 *   tags, or linktype 51): PPP without address/control, cut at the PPPoE length.
 * - IPv4 header length < 20 or total length (non-zero) < header length → BAD_IP_HEADER_LENGTH.
 *   Total length 0 (TSO) is accepted. The transport is read only inside the total length.
 * - IPv6 extension headers 0, 43, 44, 60 are walked to the end of the chain, however long (each is
 *   ≥ 8 bytes: the walk is bounded by the packet); anything else (AH, ESP, …) is the final
 *   protocol. An atomic fragment header (offset 0, M = 0) is not a fragment.
 * - Ports for TCP/UDP/SCTP when their 4 bytes were captured (note TRUNCATED_TRANSPORT when the
 *   minimal transport header — for TCP including the options its data offset announces — is cut);
 *   ICMP echo 8/0 and ICMPv6 echo 128/129: both ports = echo id; other ICMP: ports 0;
 *   non-first fragments: ports 0 (see FragmentTracker).
 * - A cut IPv4 options field or IPv6 extension header still keys the packet (note TRUNCATED_IP,
 *   ports 0; the protocol is the last next-header value read). Tunnels (GRE, 6in4, Teredo, VXLAN)
 *   and ICMP errors: only the outer header is decoded.
 * - MPLS: a first payload nibble other than 4/6 (e.g. a pseudowire control word) is NON_IP.
 * Differences from tshark: SCTP ports and ICMP echo ids are filled (tshark has ports 0); a VLAN or
 * MPLS stack deeper than the bound is rejected; an IPv6 chain too deep for tshark's dissector
 * (~490 headers: a failed assertion on its protocol-layer depth) is walked to its end here.
 */
import { DecodeResult, type DecodedPacket } from "./packet.ts";

const OK = DecodeResult.OK;
const NON_IP = DecodeResult.NON_IP;
const UNKNOWN_LINKTYPE = DecodeResult.UNKNOWN_LINKTYPE;
const TRUNCATED_LINK = DecodeResult.TRUNCATED_LINK;
const BAD_IP_VERSION = DecodeResult.BAD_IP_VERSION;
const BAD_IP_HEADER_LENGTH = DecodeResult.BAD_IP_HEADER_LENGTH;
const TRUNCATED_IP = DecodeResult.TRUNCATED_IP;
const TRUNCATED_TRANSPORT = DecodeResult.TRUNCATED_TRANSPORT;
const HEADER_CHAIN_TOO_LONG = DecodeResult.HEADER_CHAIN_TOO_LONG;

/**
 * Most VLAN tags / MPLS labels walked before giving up (HEADER_CHAIN_TOO_LONG). IPv6 extension
 * headers have no count bound: each is at least 8 bytes, so the walk is bounded by the packet
 * (at most caplen / 8 steps) and goes to the end of any chain, as tshark's does.
 */
export const MAX_TAGS = 8;
export const MAX_LABELS = 8;

/** Decodes one packet; returns a DecodeResult code. `out` is valid when the result is OK. */
export function decode(buf: Uint8Array, off: number, caplen: number, linktype: number, out: DecodedPacket): number {
  // Reset what a successful decode may leave unset; ipVersion, addresses, proto and ipLen are
  // always written on the way to OK, fragId/fragOffset are only read when isFragment.
  out.sport = 0;
  out.dport = 0;
  out.vlan = -1;
  out.tcpFlags = 0;
  out.isFragment = false;
  out.note = 0;
  let end = off + caplen;
  if (end > buf.length) end = buf.length;
  if (off < 0 || end <= off) return TRUNCATED_LINK;
  switch (linktype) {
    case 1: // Ethernet
      if (end - off < 14) return TRUNCATED_LINK;
      return etherPayload(buf, (buf[off + 12]! << 8) | buf[off + 13]!, off + 14, end, out);
    case 113: // Linux SLL
      if (end - off < 16) return TRUNCATED_LINK;
      if (((buf[off + 2]! << 8) | buf[off + 3]!) === 824) return NON_IP; // ARPHRD_NETLINK
      return etherPayload(buf, (buf[off + 14]! << 8) | buf[off + 15]!, off + 16, end, out);
    case 276: // Linux SLL2
      if (end - off < 20) return TRUNCATED_LINK;
      if (((buf[off + 8]! << 8) | buf[off + 9]!) === 824) return NON_IP;
      return etherPayload(buf, (buf[off]! << 8) | buf[off + 1]!, off + 20, end, out);
    case 12:
    case 14:
    case 101: // raw IP
    case 228: // IPv4 (tshark also decodes version 6 here)
      return ipByVersion(buf, off, end, out);
    case 229:
      return ipv6(buf, off, end, out);
    case 0: {
      if (end - off < 4) return TRUNCATED_LINK;
      let af = (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
      if ((af & 0xffff) === 0) af = ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
      if (af > 1500 && af <= 0xffff) return etherPayload(buf, af, off + 4, end, out);
      return nullFamily(buf, af, off + 4, end, out);
    }
    case 108: {
      if (end - off < 4) return TRUNCATED_LINK;
      const af = ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
      return nullFamily(buf, af, off + 4, end, out);
    }
    case 9: // PPP
    case 50: // PPP_HDLC
      return pppHdlc(buf, off, end, out);
    case 204: // PPP_WITH_DIR: a direction byte, then as PPP
      return pppHdlc(buf, off + 1, end, out);
    case 51: // PPP_ETHER: a PPPoE header, no Ethernet
      return pppoeSession(buf, off, end, out);
    default:
      return UNKNOWN_LINKTYPE;
  }
}

function nullFamily(buf: Uint8Array, af: number, p: number, end: number, out: DecodedPacket): number {
  if (af === 2) return ipByVersion(buf, p, end, out);
  if (af === 24 || af === 28 || af === 30) return ipv6(buf, p, end, out);
  return NON_IP;
}

/**
 * PPP as tshark reads linktypes 9, 50 and 204: a first byte 0xff is the HDLC address (address and
 * control skipped, whatever the control byte), 0x0f / 0x8f starts a Cisco HDLC frame, anything else
 * is the PPP protocol field itself (RFC 1661/1662).
 */
function pppHdlc(buf: Uint8Array, p: number, end: number, out: DecodedPacket): number {
  if (end - p < 1) return TRUNCATED_LINK;
  const b0 = buf[p]!;
  if (b0 === 0x0f || b0 === 0x8f) {
    // Cisco HDLC: address, control, Ethertype; only IPv4, IPv6 and MPLS are IP (as tshark).
    if (end - p < 4) return TRUNCATED_LINK;
    const type = (buf[p + 2]! << 8) | buf[p + 3]!;
    if (type === 0x0800) return ipByVersion(buf, p + 4, end, out);
    if (type === 0x86dd) return ipv6(buf, p + 4, end, out);
    if (type === 0x8847 || type === 0x8848) return mplsPayload(buf, p + 4, end, out);
    return NON_IP;
  }
  return pppFrame(buf, b0 === 0xff ? p + 2 : p, end, out);
}

/**
 * A PPP protocol field and its payload. Protocol-field compression: a first byte with the low bit
 * set is the whole (1-byte) protocol. 0x0021 IPv4 (by version nibble), 0x0057 IPv6, 0x0281 / 0x0283
 * MPLS unicast / multicast; anything else (LCP, IPCP, compressed, multilink, bridged…) is NON_IP.
 */
function pppFrame(buf: Uint8Array, p: number, end: number, out: DecodedPacket): number {
  if (end - p < 1) return TRUNCATED_LINK;
  let proto = buf[p]!;
  if (proto & 1) p += 1;
  else {
    if (end - p < 2) return TRUNCATED_LINK;
    proto = (proto << 8) | buf[p + 1]!;
    p += 2;
  }
  if (proto === 0x0021) return ipByVersion(buf, p, end, out);
  if (proto === 0x0057) return ipv6(buf, p, end, out);
  if (proto === 0x0281 || proto === 0x0283) return mplsPayload(buf, p, end, out);
  return NON_IP;
}

/** PPPoE session header (ver/type, code, session id, payload length), then PPP without framing. */
function pppoeSession(buf: Uint8Array, p: number, end: number, out: DecodedPacket): number {
  if (end - p < 6) return TRUNCATED_LINK;
  // The payload ends at the PPPoE length (an Ethernet trailer or padding is not PPP), as tshark.
  const len = (buf[p + 4]! << 8) | buf[p + 5]!;
  if (p + 6 + len < end) end = p + 6 + len;
  return pppFrame(buf, p + 6, end, out);
}

/** Ethertype dispatch with VLAN tags, MPLS, PPPoE and LLC/SNAP. `p` = first byte after the type. */
function etherPayload(buf: Uint8Array, type: number, p: number, end: number, out: DecodedPacket): number {
  for (let tags = 0; ; tags++) {
    if (type === 0x0800) return ipByVersion(buf, p, end, out);
    if (type === 0x86dd) return ipv6(buf, p, end, out);
    if (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
      if (tags >= MAX_TAGS) return HEADER_CHAIN_TOO_LONG;
      if (end - p < 4) return TRUNCATED_LINK;
      if (out.vlan < 0) out.vlan = ((buf[p]! & 0x0f) << 8) | buf[p + 1]!;
      type = (buf[p + 2]! << 8) | buf[p + 3]!;
      p += 4;
      continue;
    }
    if (type === 0x8847 || type === 0x8848) return mplsPayload(buf, p, end, out);
    if (type === 0x8864) return pppoeSession(buf, p, end, out);
    if (type <= 1500) {
      // 802.3 length field: only LLC/SNAP with OUI 0 carries an Ethertype.
      if (end - p >= 8 && buf[p] === 0xaa && buf[p + 1] === 0xaa && buf[p + 2] === 0x03 &&
        buf[p + 3] === 0 && buf[p + 4] === 0 && buf[p + 5] === 0 && tags < MAX_TAGS) {
        type = (buf[p + 6]! << 8) | buf[p + 7]!;
        p += 8;
        if (type <= 1500) return NON_IP;
        continue;
      }
      return NON_IP;
    }
    return NON_IP;
  }
}

function mplsPayload(buf: Uint8Array, p: number, end: number, out: DecodedPacket): number {
  for (let i = 0; ; i++) {
    if (i >= MAX_LABELS) return HEADER_CHAIN_TOO_LONG;
    if (end - p < 4) return TRUNCATED_LINK;
    const bos = buf[p + 2]! & 1;
    p += 4;
    if (bos) break;
  }
  if (end - p < 1) return TRUNCATED_IP;
  const v = buf[p]! >> 4;
  if (v === 4) return ipv4(buf, p, end, out);
  if (v === 6) return ipv6(buf, p, end, out);
  return NON_IP;
}

function ipByVersion(buf: Uint8Array, p: number, end: number, out: DecodedPacket): number {
  if (end - p < 1) return TRUNCATED_IP;
  const v = buf[p]! >> 4;
  if (v === 4) return ipv4(buf, p, end, out);
  if (v === 6) return ipv6(buf, p, end, out);
  return BAD_IP_VERSION;
}

function ipv4(buf: Uint8Array, p: number, end: number, out: DecodedPacket): number {
  if (end - p < 20) return TRUNCATED_IP;
  if (buf[p]! >> 4 !== 4) return BAD_IP_VERSION;
  const ihl = (buf[p]! & 0x0f) << 2;
  if (ihl < 20) return BAD_IP_HEADER_LENGTH;
  const total = (buf[p + 2]! << 8) | buf[p + 3]!;
  if (total !== 0) {
    if (total < ihl) return BAD_IP_HEADER_LENGTH;
    if (p + total < end) end = p + total;
  }
  out.ipVersion = 4;
  out.ipLen = total;
  const src = out.src;
  const dst = out.dst;
  src[0] = ((buf[p + 12]! << 24) | (buf[p + 13]! << 16) | (buf[p + 14]! << 8) | buf[p + 15]!) | 0;
  src[1] = 0;
  src[2] = 0;
  src[3] = 0;
  dst[0] = ((buf[p + 16]! << 24) | (buf[p + 17]! << 16) | (buf[p + 18]! << 8) | buf[p + 19]!) | 0;
  dst[1] = 0;
  dst[2] = 0;
  dst[3] = 0;
  const proto = buf[p + 9]!;
  out.proto = proto;
  const frag = (buf[p + 6]! << 8) | buf[p + 7]!;
  if ((frag & 0x3fff) !== 0) {
    out.isFragment = true;
    out.fragId = (buf[p + 4]! << 8) | buf[p + 5]!;
    out.fragOffset = frag & 0x1fff;
    if (out.fragOffset !== 0) return OK;
  }
  if (p + ihl > end) {
    out.note = TRUNCATED_IP; // options cut: keyed, no ports
    return OK;
  }
  return transport(buf, p + ihl, end, proto, out);
}

function ipv6(buf: Uint8Array, p: number, end: number, out: DecodedPacket): number {
  if (end - p < 40) return TRUNCATED_IP;
  if (buf[p]! >> 4 !== 6) return BAD_IP_VERSION;
  const plen = (buf[p + 4]! << 8) | buf[p + 5]!;
  if (plen !== 0 && p + 40 + plen < end) end = p + 40 + plen;
  out.ipVersion = 6;
  out.ipLen = plen + 40;
  const src = out.src;
  const dst = out.dst;
  for (let i = 0; i < 4; i++) {
    const a = p + 8 + i * 4;
    src[i] = ((buf[a]! << 24) | (buf[a + 1]! << 16) | (buf[a + 2]! << 8) | buf[a + 3]!) | 0;
    const b = a + 16;
    dst[i] = ((buf[b]! << 24) | (buf[b + 1]! << 16) | (buf[b + 2]! << 8) | buf[b + 3]!) | 0;
  }
  let nh = buf[p + 6]!;
  let q = p + 40;
  // Every step moves q forward by 8 bytes or more, or returns: bounded by the packet length.
  while (nh === 0 || nh === 43 || nh === 44 || nh === 60) {
    if (nh === 44) {
      if (end - q < 8) {
        out.proto = nh;
        out.note = TRUNCATED_IP;
        return OK;
      }
      const fo = (buf[q + 2]! << 8) | buf[q + 3]!;
      nh = buf[q]!;
      if ((fo & 0xfff9) !== 0) {
        out.isFragment = true;
        out.fragId = ((buf[q + 4]! << 24) | (buf[q + 5]! << 16) | (buf[q + 6]! << 8) | buf[q + 7]!) >>> 0;
        out.fragOffset = fo >> 3;
        if (out.fragOffset !== 0) {
          out.proto = nh;
          return OK;
        }
      }
      q += 8;
    } else {
      if (end - q < 2) {
        out.proto = nh;
        out.note = TRUNCATED_IP;
        return OK;
      }
      const next = buf[q]!;
      q += (buf[q + 1]! + 1) << 3;
      nh = next;
    }
  }
  out.proto = nh;
  return transport(buf, q, end, nh, out);
}

/** Ports / flags / echo id of the transport header at `tp`. Always returns OK (problems → note). */
function transport(buf: Uint8Array, tp: number, end: number, proto: number, out: DecodedPacket): number {
  const avail = end - tp;
  if (proto === 6 || proto === 17 || proto === 132) {
    if (avail >= 4) {
      out.sport = (buf[tp]! << 8) | buf[tp + 1]!;
      out.dport = (buf[tp + 2]! << 8) | buf[tp + 3]!;
    }
    if (proto === 6) {
      if (avail >= 14) out.tcpFlags = buf[tp + 13]!;
      // Cut inside the fixed header or inside the options the data offset announces.
      if (avail < 20 || avail < (buf[tp + 12]! >> 4) << 2) out.note = TRUNCATED_TRANSPORT;
    } else if (avail < (proto === 17 ? 8 : 12)) {
      out.note = TRUNCATED_TRANSPORT;
    }
  } else if (proto === 1 || proto === 58) {
    if (avail >= 6) {
      const t = buf[tp]!;
      if (proto === 1 ? t === 8 || t === 0 : t === 128 || t === 129) {
        const id = (buf[tp + 4]! << 8) | buf[tp + 5]!;
        out.sport = id;
        out.dport = id;
      }
    }
    if (avail < 8) out.note = TRUNCATED_TRANSPORT;
  }
  return OK;
}

/**
 * Fast path for the most common packet: Ethernet, untagged, IPv4 without options, not a
 * fragment, TCP or UDP with the 4 port bytes captured. Returns OK with `out` filled exactly as
 * decode() would, or -1 for anything else (the caller then runs decode()). Small enough for the
 * JIT to inline into the per-packet loop.
 */
export function decodeEthIpv4(buf: Uint8Array, off: number, caplen: number, out: DecodedPacket): number {
  let end = off + caplen;
  if (end > buf.length) end = buf.length;
  const p = off + 14;
  if (end - p < 24 || buf[off + 12] !== 8 || buf[off + 13] !== 0 || buf[p] !== 0x45) return -1;
  const proto = buf[p + 9]!;
  if (proto !== 6 && proto !== 17) return -1;
  const total = (buf[p + 2]! << 8) | buf[p + 3]!;
  if (total < 20 || ((buf[p + 6]! << 8) | buf[p + 7]!) & 0x3fff) return -1;
  if (p + total < end) end = p + total;
  const tp = p + 20;
  const avail = end - tp;
  if (avail < 4) return -1;
  out.ipVersion = 4;
  out.ipLen = total;
  out.proto = proto;
  out.vlan = -1;
  out.isFragment = false;
  const src = out.src, dst = out.dst;
  src[0] = (buf[p + 12]! << 24) | (buf[p + 13]! << 16) | (buf[p + 14]! << 8) | buf[p + 15]!;
  src[1] = 0; src[2] = 0; src[3] = 0;
  dst[0] = (buf[p + 16]! << 24) | (buf[p + 17]! << 16) | (buf[p + 18]! << 8) | buf[p + 19]!;
  dst[1] = 0; dst[2] = 0; dst[3] = 0;
  out.sport = (buf[tp]! << 8) | buf[tp + 1]!;
  out.dport = (buf[tp + 2]! << 8) | buf[tp + 3]!;
  out.note = 0;
  if (proto === 6) {
    out.tcpFlags = avail >= 14 ? buf[tp + 13]! : 0;
    if (avail < 20 || avail < (buf[tp + 12]! >> 4) << 2) out.note = TRUNCATED_TRANSPORT;
  } else {
    out.tcpFlags = 0;
    if (avail < 8) out.note = TRUNCATED_TRANSPORT;
  }
  return OK;
}
