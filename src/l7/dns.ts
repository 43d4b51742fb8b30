/**
 * DNS messages (RFC 1035 §4.1; mDNS RFC 6762 and LLMNR RFC 4795 share the format): header checks,
 * the first question's name, and the address records of a response for passive DNS.
 *
 * Names: labels ≤ 63 bytes, name ≤ 255 bytes, compression pointers followed at most 32 times and
 * only backwards (RFC 1035 §4.1.4), so a hostile message can neither loop nor read out of bounds.
 * Never throws.
 */
import { cleanName } from "./text.ts";

const nameBuf = new Uint8Array(256);
let nameLen = 0;
/** End of the name in the message (after the first pointer), set by readName. */
let nameNext = 0;

/** Reads the name at m[p]; message is m[base, end). Returns false when malformed. */
function readName(m: Uint8Array, base: number, p: number, end: number): boolean {
  nameLen = 0;
  nameNext = -1;
  let jumps = 0;
  for (;;) {
    if (p >= end) return false;
    const l = m[p]!;
    if (l === 0) {
      if (nameNext < 0) nameNext = p + 1;
      return true;
    }
    if ((l & 0xc0) === 0xc0) {
      if (p + 1 >= end || ++jumps > 32) return false;
      const target = base + (((l & 0x3f) << 8) | m[p + 1]!);
      if (nameNext < 0) nameNext = p + 2;
      if (target >= p) return false; // pointers go backwards only
      p = target;
      continue;
    }
    if (l > 63 || p + 1 + l > end) return false;
    if (nameLen + l + 1 > 255) return false;
    if (nameLen > 0) nameBuf[nameLen++] = 0x2e;
    nameBuf.set(m.subarray(p + 1, p + 1 + l), nameLen);
    nameLen += l;
    p += 1 + l;
  }
}

export class DnsInfo {
  id = 0;
  response = false;
  opcode = 0;
  rcode = 0;
  qdcount = 0;
  ancount = 0;
  /** First question's name (cleaned), type; null when none. */
  qname: string | null = null;
  qtype = 0;
}

/**
 * Parses the header and the first question of a DNS message at m[off, off+len). Returns false when
 * it is not a plausible DNS message: opcode 0-6 (not 3), Z bit 0 for queries (RFC 1035), at most
 * 16 questions, a well-formed first question whose type and class are sane.
 */
export function parseDns(m: Uint8Array, off: number, len: number, out: DnsInfo): boolean {
  out.qname = null;
  if (len < 12) return false;
  const end = off + len;
  const flags = (m[off + 2]! << 8) | m[off + 3]!;
  out.id = (m[off]! << 8) | m[off + 1]!;
  out.response = (flags & 0x8000) !== 0;
  out.opcode = (flags >> 11) & 15;
  out.rcode = flags & 15;
  out.qdcount = (m[off + 4]! << 8) | m[off + 5]!;
  out.ancount = (m[off + 6]! << 8) | m[off + 7]!;
  const ns = (m[off + 8]! << 8) | m[off + 9]!;
  const ar = (m[off + 10]! << 8) | m[off + 11]!;
  if (out.opcode > 6 || out.opcode === 3) return false;
  if (out.qdcount > 16 || out.ancount > 256 || ns > 256 || ar > 256) return false;
  if (out.qdcount === 0) return out.response ? out.ancount > 0 || ns > 0 : out.opcode === 5 ? false : ar > 0 && ar < 4;
  if (!out.response && out.rcode !== 0) return false;
  if (!readName(m, off, off + 12, end)) return false;
  const q = nameNext;
  if (q + 4 > end) return false;
  out.qtype = (m[q]! << 8) | m[q + 1]!;
  const qclass = ((m[q + 2]! << 8) | m[q + 3]!) & 0x7fff; // mDNS: top bit = unicast-response
  if (out.qtype === 0 || (qclass !== 1 && qclass !== 3 && qclass !== 4 && qclass !== 255 && qclass !== 254)) return false;
  if (nameLen > 0) {
    // Host names are letters, digits, hyphen (RFC 1123 §2.1) and underscore (SRV/DKIM labels);
    // any other byte of a query name ("*", spaces, controls, HTML) becomes "_", as nDPI does.
    for (let i = 0; i < nameLen; i++) {
      const c = nameBuf[i]! | 0x20;
      const ok = (c >= 0x61 && c <= 0x7a) || (nameBuf[i]! >= 0x30 && nameBuf[i]! <= 0x39) || nameBuf[i] === 0x2d || nameBuf[i] === 0x2e || nameBuf[i] === 0x5f;
      if (!ok) nameBuf[i] = 0x5f;
    }
  }
  out.qname = nameLen > 0 ? cleanName(nameBuf, 0, nameLen) : ".";
  return true;
}

/** One address learned from a response: called with the question's name (what the client asked). */
export type AnswerSink = (name: string, addr: Uint8Array, ttl: number) => void;

const addrScratch4 = new Uint8Array(4);
const addrScratch16 = new Uint8Array(16);

/**
 * Walks the answer section of a response (rcode 0) and reports each A / AAAA record, labelled with
 * the first question's name (so a CNAME chain still labels the final addresses with the name the
 * client asked for). Returns the number of addresses reported.
 */
export function dnsAnswers(m: Uint8Array, off: number, len: number, info: DnsInfo, sink: AnswerSink): number {
  if (!info.response || info.rcode !== 0 || info.ancount === 0 || info.qname === null) return 0;
  const end = off + len;
  let p = off + 12;
  for (let i = 0; i < info.qdcount; i++) {
    if (!readName(m, off, p, end)) return 0;
    p = nameNext + 4;
  }
  let n = 0;
  for (let i = 0; i < info.ancount; i++) {
    if (!readName(m, off, p, end)) return n;
    p = nameNext;
    if (p + 10 > end) return n;
    const type = (m[p]! << 8) | m[p + 1]!;
    const ttl = ((m[p + 4]! << 24) | (m[p + 5]! << 16) | (m[p + 6]! << 8) | m[p + 7]!) >>> 0;
    const rdlen = (m[p + 8]! << 8) | m[p + 9]!;
    p += 10;
    if (p + rdlen > end) return n;
    if (type === 1 && rdlen === 4) {
      addrScratch4.set(m.subarray(p, p + 4));
      sink(info.qname, addrScratch4, ttl);
      n++;
    } else if (type === 28 && rdlen === 16) {
      addrScratch16.set(m.subarray(p, p + 16));
      sink(info.qname, addrScratch16, ttl);
      n++;
    }
    p += rdlen;
  }
  return n;
}
