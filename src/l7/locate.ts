/**
 * Where the transport payload of a decoded packet starts. The decoder (capture/decode.ts) keys the
 * packet but does not hand out offsets (its hot path has no room for them); the inspector only
 * needs them for flows still undecided, so it finds them here, after the fact:
 * the outer IP header is the first offset (within the first MAX_LINK bytes) whose version nibble
 * and addresses equal the decoded ones — the same header the decoder keyed, behind whatever link
 * header, VLAN tags, MPLS labels or PPP framing it walked. From there: IPv4 IHL or the IPv6
 * extension chain, then the TCP data offset or the UDP header. Bounded, allocation-free, never
 * reads past `off + caplen`.
 */
import type { DecodedPacket } from "../capture/packet.ts";

/** Link header + tags/labels the search covers (Ethernet 14 + 8 tags + 8 labels + PPPoE, SLL2…). */
const MAX_LINK = 160;

export class Payload {
  /** Payload start and length in the buffer (len 0: no payload). */
  off = 0;
  len = 0;
  /** TCP sequence number (unsigned); 0 for UDP. */
  seq = 0;
  /** Offset of the outer IP header (set whenever it was found, even without payload). */
  ip = -1;
}

function ipAt(buf: Uint8Array, q: number, p: DecodedPacket): boolean {
  if (p.ipVersion === 4) {
    if (buf[q]! >> 4 !== 4) return false;
    const s = p.src[0]!, d = p.dst[0]!;
    return ((buf[q + 12]! << 24) | (buf[q + 13]! << 16) | (buf[q + 14]! << 8) | buf[q + 15]!) === s &&
      ((buf[q + 16]! << 24) | (buf[q + 17]! << 16) | (buf[q + 18]! << 8) | buf[q + 19]!) === d;
  }
  if (buf[q]! >> 4 !== 6) return false;
  for (let i = 0; i < 4; i++) {
    const a = q + 8 + i * 4, b = a + 16;
    if (((buf[a]! << 24) | (buf[a + 1]! << 16) | (buf[a + 2]! << 8) | buf[a + 3]!) !== p.src[i]) return false;
    if (((buf[b]! << 24) | (buf[b + 1]! << 16) | (buf[b + 2]! << 8) | buf[b + 3]!) !== p.dst[i]) return false;
  }
  return true;
}

/** 802.1Q (0x8100), 802.1ad (0x88a8) or the old QinQ 0x9100 tag protocol id at b[q]. */
function isTpid(b: Uint8Array, q: number): boolean {
  const t = (b[q]! << 8) | b[q + 1]!;
  return t === 0x8100 || t === 0x88a8 || t === 0x9100;
}

/** Offset of the outer IP header of the decoded packet `p` in buf[off, off+caplen), or -1. */
export function findIpHeader(buf: Uint8Array, off: number, caplen: number, p: DecodedPacket): number {
  let end = off + caplen;
  if (end > buf.length) end = buf.length;
  const hdr = p.ipVersion === 4 ? 20 : 40;
  // Common cases first: untagged Ethernet, then one or two 802.1Q/802.1ad tags (by their TPID).
  if (off + 14 + hdr <= end && ipAt(buf, off + 14, p)) return off + 14;
  if (p.vlan >= 0 && off + 18 + hdr <= end && isTpid(buf, off + 12)) {
    if (ipAt(buf, off + 18, p)) return off + 18;
    if (off + 22 + hdr <= end && isTpid(buf, off + 16) && ipAt(buf, off + 22, p)) return off + 22;
  }
  const last = Math.min(end - hdr, off + MAX_LINK);
  for (let i = off; i <= last; i++) if (ipAt(buf, i, p)) return i;
  return -1;
}

/**
 * Fills `out` with the TCP/UDP payload of the packet `p` decoded from buf[off, off+caplen).
 * Returns false (len 0) when there is none: not TCP/UDP, a non-first fragment, cut headers.
 */
export function locatePayload(buf: Uint8Array, off: number, caplen: number, p: DecodedPacket, out: Payload): boolean {
  out.len = 0;
  out.seq = 0;
  out.ip = -1;
  const proto = p.proto;
  if ((proto !== 6 && proto !== 17) || (p.isFragment && p.fragOffset !== 0)) return false;
  let end = off + caplen;
  if (end > buf.length) end = buf.length;
  const q = findIpHeader(buf, off, caplen, p);
  if (q < 0) return false;
  out.ip = q;
  let tp: number;
  if (p.ipVersion === 4) {
    const ihl = (buf[q]! & 15) << 2;
    const total = (buf[q + 2]! << 8) | buf[q + 3]!;
    if (total !== 0 && q + total < end) end = q + total;
    tp = q + ihl;
  } else {
    const plen = (buf[q + 4]! << 8) | buf[q + 5]!;
    if (plen !== 0 && q + 40 + plen < end) end = q + 40 + plen;
    let nh = buf[q + 6]!;
    tp = q + 40;
    for (let n = 0; n < 64 && nh !== proto; n++) {
      if (end - tp < 8) return false;
      if (nh === 44) { nh = buf[tp]!; tp += 8; }
      else if (nh === 0 || nh === 43 || nh === 60) { const next = buf[tp]!; tp += (buf[tp + 1]! + 1) << 3; nh = next; }
      else return false;
    }
    if (nh !== proto) return false;
  }
  if (proto === 6) {
    if (end - tp < 20) return false;
    const doff = (buf[tp + 12]! >> 4) << 2;
    if (doff < 20 || tp + doff > end) return false;
    out.seq = ((buf[tp + 4]! << 24) | (buf[tp + 5]! << 16) | (buf[tp + 6]! << 8) | buf[tp + 7]!) >>> 0;
    out.off = tp + doff;
  } else {
    if (end - tp < 8) return false;
    out.off = tp + 8;
  }
  out.len = end - out.off;
  if (out.len < 0) out.len = 0;
  return out.len > 0;
}
