/**
 * Payload signatures, Zeek-DPD style: each looks at the first bytes of one payload (TCP segment or
 * UDP datagram) of a flow still undecided and answers an app id, 0 (not this one) or, through
 * `Hint`, a tentative answer that a later packet must confirm (weak signatures: RTP, uTP, UDP
 * OpenVPN, banner protocols that differ only by the client's first command).
 *
 * Built from the protocols' specifications (RFC or vendor documents named at each check), not
 * from captures. Every read is bounds-checked against `end`.
 */
import { noFTL } from "bun:jsc";
import { APP } from "./apps.ts";
import { DnsInfo, parseDns } from "./dns.ts";
import { httpKind } from "./http.ts";
import { tlsRecordKind } from "./tls.ts";

/** Per-flow scratch a signature may keep between packets (part of the inspection record). */
export class Hint {
  /** Tentative app waiting for confirmation (0 none). */
  app = 0;
  /** Signature-specific word (RTP SSRC, uTP connection id, …) and small counter. */
  word = 0;
  count = 0;
}

const dns = new DnsInfo();

function asciiAt(b: Uint8Array, p: number, end: number, s: string): boolean {
  if (p + s.length > end) return false;
  for (let i = 0; i < s.length; i++) if (b[p + i] !== s.charCodeAt(i)) return false;
  return true;
}
function asciiAtCI(b: Uint8Array, p: number, end: number, s: string): boolean {
  if (p + s.length > end) return false;
  for (let i = 0; i < s.length; i++) {
    let c = b[p + i]!;
    if (c >= 0x61 && c <= 0x7a) c -= 32;
    if (c !== s.charCodeAt(i)) return false;
  }
  return true;
}
/**
 * Does b[p, min(end, p+lim)) contain `s` (case-insensitive, s upper case)? Cost: one byte compare
 * per position (the first character), the whole pattern only where that matches.
 */
function containsCI(b: Uint8Array, p: number, end: number, s: string, lim = 256): boolean {
  const e = Math.min(end, p + lim) - s.length;
  const f = s.charCodeAt(0);
  for (let i = p; i <= e; i++) {
    let c = b[i]!;
    if (c >= 0x61 && c <= 0x7a) c -= 32;
    if (c === f && asciiAtCI(b, i, end, s)) return true;
  }
  return false;
}
/** An ASCII letter, either case (text commands and banners start with one). */
const isLetter = (c: number) => ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
const u16 = (b: Uint8Array, p: number) => (b[p]! << 8) | b[p + 1]!;
const u32 = (b: Uint8Array, p: number) => ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;

/** BER length at b[p]: value, and the header size in `berHdr` (-1 when malformed / too long). */
let berHdr = 0;
function berLen(b: Uint8Array, p: number, end: number): number {
  if (p >= end) return -1;
  const l = b[p]!;
  if (l < 0x80) { berHdr = 1; return l; }
  const n = l & 0x7f;
  if (n === 0 || n > 3 || p + 1 + n > end) return -1;
  let v = 0;
  for (let i = 1; i <= n; i++) v = v * 256 + b[p + i]!;
  berHdr = 1 + n;
  return v;
}

const SIP_METHODS = ["INVITE ", "REGISTER ", "OPTIONS ", "ACK ", "BYE ", "CANCEL ", "SUBSCRIBE ", "NOTIFY ", "MESSAGE ",
  "INFO ", "PRACK ", "UPDATE ", "REFER ", "PUBLISH "];

/** SIP request line "METHOD sip:…" / "sips:" / "tel:", or "SIP/2.0 " status line (RFC 3261 §7). */
function isSip(b: Uint8Array, p: number, end: number): boolean {
  // Methods and the status line are upper case (method names are case-sensitive: RFC 3261 §7.1).
  const x0 = b[p];
  if (x0 === undefined || x0 < 0x41 || x0 > 0x5a) return false;
  if (asciiAt(b, p, end, "SIP/2.0 ")) return true;
  for (let k = 0; k < SIP_METHODS.length; k++) {
    const m = SIP_METHODS[k]!;
    if (asciiAt(b, p, end, m)) {
      const t = p + m.length;
      return asciiAtCI(b, t, end, "SIP:") || asciiAtCI(b, t, end, "SIPS:") || asciiAtCI(b, t, end, "TEL:");
    }
  }
  return false;
}

/** STUN (RFC 5389 §6): type top bits 00, length = payload − 20, multiple of 4, magic cookie; or classic RFC 3489 binding on 3478. */
function isStun(b: Uint8Array, p: number, n: number, port3478: boolean): boolean {
  if (n < 20 || (b[p]! & 0xc0) !== 0) return false;
  const len = u16(b, p + 2);
  if (len & 3 || len + 20 !== n) return false;
  if (u32(b, p + 4) === 0x2112a442) return true;
  const t = u16(b, p);
  return port3478 && (t === 0x0001 || t === 0x0101 || t === 0x0111);
}

/** Kerberos (RFC 4120 §5.10): APPLICATION [10] AS-REQ, [11] AS-REP, [12] TGS-REQ, [13] TGS-REP, [30] KRB-ERROR, then SEQUENCE with pvno 5. */
function isKerberos(b: Uint8Array, p: number, end: number): boolean {
  const t = b[p];
  if (t !== 0x6a && t !== 0x6b && t !== 0x6c && t !== 0x6d && t !== 0x7e) return false;
  const l = berLen(b, p + 1, end);
  if (l < 0) return false;
  let q = p + 1 + berHdr;
  if (b[q] !== 0x30 || berLen(b, q + 1, end) < 0) return false;
  q += 1 + berHdr;
  // pvno [0] (KDC-REP, KRB-ERROR) or [1] (KDC-REQ): a0|a1 03 02 01 05
  return (b[q] === 0xa0 || b[q] === 0xa1) && b[q + 1] === 3 && b[q + 2] === 2 && b[q + 3] === 1 && b[q + 4] === 5;
}

/** LDAP (RFC 4511 §4.1.1): SEQUENCE { messageID INTEGER, protocolOp [APPLICATION n] … }, length consistent with the payload. */
function isLdap(b: Uint8Array, p: number, n: number): boolean {
  const end = p + n;
  if (n < 7 || b[p] !== 0x30) return false;
  const l = berLen(b, p + 1, end);
  if (l < 0 || 1 + berHdr + l > n) return false;
  let q = p + 1 + berHdr;
  if (b[q] !== 0x02) return false;
  const il = b[q + 1]!;
  if (il < 1 || il > 4) return false;
  q += 2 + il;
  const op = b[q];
  if (op === undefined) return false;
  // Constructed [APPLICATION 0..25] operations, or the primitive UnbindRequest [2], DelRequest [10], AbandonRequest [16].
  const ok = (op >= 0x60 && op <= 0x79) || op === 0x42 || op === 0x4a || op === 0x50;
  return ok && berLen(b, q + 1, end) >= 0;
}

/** SNMP (RFC 3416/3412): SEQUENCE, INTEGER version 0/1/3, then community OCTET STRING + PDU [0..8] (v1/v2c) or msgGlobalData SEQUENCE (v3). */
function isSnmp(b: Uint8Array, p: number, n: number): boolean {
  const end = p + n;
  if (n < 12 || b[p] !== 0x30) return false;
  const l = berLen(b, p + 1, end);
  if (l < 0 || 1 + berHdr + l !== n) return false;
  let q = p + 1 + berHdr;
  if (b[q] !== 0x02 || b[q + 1] !== 1) return false;
  const v = b[q + 2];
  q += 3;
  if (v === 0 || v === 1) {
    if (b[q] !== 0x04) return false;
    const cl = berLen(b, q + 1, end);
    if (cl < 0) return false;
    q += 1 + berHdr + cl;
    const pdu = b[q];
    return pdu !== undefined && pdu >= 0xa0 && pdu <= 0xa8;
  }
  return v === 3 && b[q] === 0x30;
}

/** NetBIOS name service (RFC 1002 §4.2): DNS-like header, first question an encoded name (32 bytes 'A'..'P'). */
function isNbns(b: Uint8Array, p: number, n: number): boolean {
  if (n < 12 + 34) return false;
  const qd = u16(b, p + 4), an = u16(b, p + 6);
  if (qd + an === 0 || qd > 1 || an > 1) return false;
  if (b[p + 12] !== 32) return false;
  for (let i = 0; i < 32; i++) { const c = b[p + 13 + i]!; if (c < 0x41 || c > 0x50) return false; }
  return true;
}

/** NetBIOS datagram service (RFC 1002 §4.4): type 0x10-0x16, source port field 138 for direct datagrams. */
function isNbds(b: Uint8Array, p: number, n: number): boolean {
  if (n < 14) return false;
  const t = b[p]!;
  if (t < 0x10 || t > 0x16) return false;
  return t <= 0x12 ? u16(b, p + 8) === 138 && u16(b, p + 10) <= n : true;
}

/** DHCP (RFC 2131 §2): op 1/2, htype, hlen ≤ 16, magic cookie 99.130.83.99 at 236. */
function isDhcp(b: Uint8Array, p: number, n: number): boolean {
  return n >= 240 && (b[p] === 1 || b[p] === 2) && b[p + 2]! <= 16 && u32(b, p + 236) === 0x63825363;
}

/** NTP (RFC 5905 §7.3): 48-byte header (+ extensions/MAC), version 1-4, mode 1-5; or a mode-6/7 control message. */
function isNtp(b: Uint8Array, p: number, n: number): boolean {
  const v = (b[p]! >> 3) & 7, mode = b[p]! & 7;
  if (v < 1 || v > 4) return false;
  if (mode >= 1 && mode <= 5) return n >= 48 && (n === 48 || n === 68 || n === 72 || n >= 48 + 16);
  return mode === 6 || mode === 7 ? n >= 8 : false;
}

/** Syslog (RFC 5424 §6 / RFC 3164 §4.1): "<PRI>" with PRI 0..191, then a version digit or a timestamp / text. */
function isSyslog(b: Uint8Array, p: number, end: number): boolean {
  if (b[p] !== 0x3c) return false;
  let q = p + 1, pri = 0, d = 0;
  while (q < end && d < 3 && b[q]! >= 0x30 && b[q]! <= 0x39) { pri = pri * 10 + b[q]! - 0x30; q++; d++; }
  if (d === 0 || pri > 191 || b[q] !== 0x3e) return false;
  const c = b[q + 1];
  return c !== undefined && c >= 0x20 && c < 0x7f;
}

/** RADIUS (RFC 2865 §3): code 1-5, 11-13, 40-45; length = payload length, ≥ 20. */
function isRadius(b: Uint8Array, p: number, n: number): boolean {
  const c = b[p]!;
  if (!((c >= 1 && c <= 13) || (c >= 40 && c <= 45))) return false;
  const l = u16(b, p + 2);
  return n >= 20 && l === n;
}

/** IKE (RFC 7296 §3.1 / RFC 2408 §3.1): header with version 1.0 or 2.0, known exchange type, length = payload. */
function isIke(b: Uint8Array, p: number, n: number): boolean {
  if (n < 28) return false;
  const ver = b[p + 17]!, ex = b[p + 18]!;
  if (ver !== 0x10 && ver !== 0x20) return false;
  if (ver === 0x20 ? ex < 34 || ex > 53 : ex > 6 && ex !== 32 && ex !== 33) return false;
  return u32(b, p + 24) === n;
}

/** WireGuard (whitepaper §5.4): type 1 (148 bytes), 2 (92), 3 (64), 4 (≥ 32, multiple of 16), three zero bytes. */
function isWireguard(b: Uint8Array, p: number, n: number): boolean {
  const t = b[p]!;
  if (b[p + 1] !== 0 || b[p + 2] !== 0 || b[p + 3] !== 0) return false;
  return (t === 1 && n === 148) || (t === 2 && n === 92) || (t === 3 && n === 64) || (t === 4 && n >= 32 && (n & 15) === 0);
}

/** MySQL initial handshake (protocol 10): 3-byte LE length = rest, seq 0, 0x0a, printable version, NUL. */
function isMysqlGreeting(b: Uint8Array, p: number, n: number): boolean {
  if (n < 20) return false;
  const l = b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16);
  if (l + 4 !== n || b[p + 3] !== 0 || b[p + 4] !== 10) return false;
  let q = p + 5;
  const d = b[q]!;
  if (d < 0x30 || d > 0x39) return false;
  for (; q < p + n && q < p + 5 + 64; q++) {
    const c = b[q]!;
    if (c === 0) return q > p + 6;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return false;
}

/** PostgreSQL (protocol 3.0, "Message Formats"): StartupMessage 196608, SSLRequest 80877103, GSSENCRequest 80877104, CancelRequest 80877102. */
function isPgsql(b: Uint8Array, p: number, n: number): boolean {
  if (n < 8) return false;
  const l = u32(b, p), code = u32(b, p + 4);
  if (l !== n) return false;
  if (code === 80877103 || code === 80877104) return l === 8;
  if (code === 80877102) return l === 16;
  return code === 0x00030000 && n > 8 && b[p + n - 1] === 0;
}

/** MongoDB wire protocol: 16-byte header, messageLength (LE) = payload (first segment: ≥), known opCode. */
function isMongo(b: Uint8Array, p: number, n: number): boolean {
  if (n < 21) return false;
  const l = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  const op = (b[p + 12]! | (b[p + 13]! << 8) | (b[p + 14]! << 16) | (b[p + 15]! << 24)) >>> 0;
  if (l < 21 || l > 48_000_000 || l < n) return false;
  if (l !== n && n < 1400) return false;
  return op === 2013 || op === 2004 || op === 1 || op === 2012 || op === 2001 || op === 2002 || op === 2005 || op === 2006 || op === 2007;
}

/** Redis RESP (redis.io protocol spec): a client command is an array of bulk strings "*N\r\n$M\r\n". */
function isResp(b: Uint8Array, p: number, end: number): boolean {
  if (b[p] !== 0x2a) return false;
  let q = p + 1, d = 0;
  while (q < end && b[q]! >= 0x30 && b[q]! <= 0x39 && d < 4) { q++; d++; }
  if (d === 0 || b[q] !== 0x0d || b[q + 1] !== 0x0a || b[q + 2] !== 0x24) return false;
  q += 3; d = 0;
  while (q < end && b[q]! >= 0x30 && b[q]! <= 0x39 && d < 6) { q++; d++; }
  return d > 0 && b[q] === 0x0d && b[q + 1] === 0x0a;
}

/** TPKT (RFC 1006) + X.224 Connection Request with an RDP cookie or RDP_NEG_REQ ([MS-RDPBCGR] 2.2.1.1). */
function isRdp(b: Uint8Array, p: number, n: number, port3389: boolean): boolean {
  if (n < 11 || b[p] !== 3 || b[p + 1] !== 0 || u16(b, p + 2) !== n) return false;
  const li = b[p + 4]!;
  if (li + 5 !== n || (b[p + 5]! & 0xf0) !== 0xe0) return false;
  if (asciiAt(b, p + 11, p + n, "Cookie: mstshash=") || asciiAt(b, p + 11, p + n, "Cookie: msts=")) return true;
  // RDP_NEG_REQ: type 1, flags, length 8 at the end of the TPDU
  return (n >= 19 && b[p + n - 8] === 1 && b[p + n - 6] === 8 && b[p + n - 5] === 0) || port3389;
}

/** SMB over TCP (MS-SMB2 2.1): NetBIOS session message (0x00, 3-byte length) then \xffSMB / \xfeSMB / \xfdSMB. */
function isSmb(b: Uint8Array, p: number, n: number): boolean {
  if (n < 8 || b[p] !== 0) return false;
  const t = b[p + 4]!;
  return (t === 0xff || t === 0xfe || t === 0xfd) && b[p + 5] === 0x53 && b[p + 6] === 0x4d && b[p + 7] === 0x42;
}

/** OpenVPN opcodes (openvpn/ssl_pkt.h): HARD_RESET_CLIENT_V1 1, V2 7, V3 10 (client), SERVER_V1 2, V2 8. */
function ovpnOp(x: number): number {
  return x >> 3;
}

/**
 * OpenVPN hard-reset packets, exact layout (openvpn ssl_pkt.h / reliable.c): opcode|key-id 0,
 * session id (8), [tls-auth HMAC (16/20/32/64) + packet id (4) + time (4)], ack count, [acked ids
 * (4 each) + remote session id (8)], message packet id (4). Client reset (op 1/7/10): no acks;
 * server reset (op 2/8): one ack.
 */
const OVPN_AUTH = [0, 24, 28, 40, 72];
function isOpenvpnReset(b: Uint8Array, p: number, n: number): boolean {
  const x = b[p]!;
  if ((x & 7) !== 0) return false;
  const op = x >> 3;
  const client = op === 1 || op === 7 || op === 10, server = op === 2 || op === 8;
  if (!client && !server) return false;
  for (let k = 0; k < OVPN_AUTH.length; k++) {
    const hl = OVPN_AUTH[k]!;
    if (client && n === 14 + hl && b[p + 9 + hl] === 0) return true;
    if (server && n === 26 + hl && b[p + 9 + hl] === 1) return true;
  }
  return false;
}

/** RTP (RFC 3550 §5.1): version 2, payload type not an RTCP type (72-76 with marker). */
function rtpHeader(b: Uint8Array, p: number, n: number): boolean {
  if (n < 12 || (b[p]! & 0xc0) !== 0x80) return false;
  const pt = b[p + 1]! & 0x7f;
  return !(pt >= 72 && pt <= 76) && (pt <= 34 || pt >= 96);
}

/** uTP (BEP 29): version 1, type 0-4, extension 0-2 (type ST_SYN = 4 opens a connection). */
function utpHeader(b: Uint8Array, p: number, n: number): boolean {
  if (n < 20) return false;
  const t = b[p]! >> 4;
  return (b[p]! & 15) === 1 && t <= 4 && b[p + 1]! <= 2;
}

export interface SigContext {
  b: Uint8Array;
  p: number;
  n: number;
  proto: number;
  /** The packet is from the initiator (client). */
  fromInit: boolean;
  /** Initiator's and responder's ports. */
  initPort: number;
  respPort: number;
  hint: Hint;
}

/** Ports that make a DNS-shaped datagram DNS, mDNS or LLMNR. */
function dnsPortApp(a: number, b: number): number {
  if (a === 5353 || b === 5353) return APP.mdns;
  if (a === 5355 || b === 5355) return APP.llmnr;
  if (a === 53 || b === 53 || a === 5053 || b === 5053) return APP.dns;
  return 0;
}

/**
 * The signatures. Returns an app id, or 0. TLS/QUIC/HTTP/DNS name extraction is the inspector's job
 * (it calls the dissectors when this says tls/quic/http/dns).
 *
 * Split in functions by transport and by the first byte's class (text or binary) in the order of the
 * checks: a text-only group runs only when the first byte is printable ASCII. The answer is the same
 * as one long chain (each skipped group has no check that could match), but each function stays
 * small: one function holding every check costs the JIT ~1 s of compile time (JSC's FTL, measured
 * with BUN_JSC_reportCompileTimes on the bench's captures), more than the packets it inspects.
 */
export function matchPayload(c: SigContext): number {
  if (c.proto === 6) return matchTcp(c);
  if (c.proto === 17) return matchUdp(c);
  return 0;
}

/** Either end's port is `q` (a plain function, not a closure per call: the matchers run in DFG, which does not sink allocations). */
function hasPort(initPort: number, respPort: number, q: number): boolean {
  return initPort === q || respPort === q;
}

/** Printable ASCII other than space: the first byte of every text protocol's first message. */
const isText = (x: number) => x > 0x20 && x < 0x7f;

function matchTcp(c: SigContext): number {
  const { b, p, n, fromInit, initPort, respPort, hint } = c;
  const end = p + n;
  const x0 = b[p]!;
  if (tlsRecordKind(b, p, n) !== 0) return APP.tls;
  // SSL 2.0-compatible ClientHello (RFC 6101 appendix E.2): msg length, type 1, version 3.x
  if ((x0 & 0x80) && n >= 11 && b[p + 2] === 1 && b[p + 3] === 3 && b[p + 4]! <= 4 && ((x0 & 0x7f) << 8 | b[p + 1]!) + 2 === n) return APP.tls;
  if (isText(x0)) {
    const t = tcpRequestLine(b, p, n, x0);
    if (t !== 0) return t;
  }
  if (n >= 20 && x0 === 19 && asciiAt(b, p + 1, end, "BitTorrent protocol")) return APP.bittorrent;
  if (isSmb(b, p, n)) return APP.smb;
  if (x0 === 0x81 && n >= 72 && b[p + 1] === 0 && u16(b, p + 2) + 4 === n) return APP.netbios; // session request (RFC 1002 §4.3.2)
  if ((x0 === 0x82 || x0 === 0x83) && n === 4 + (b[p + 3] ?? 0) && hasPort(initPort, respPort, 139)) return APP.netbios;
  if (isRdp(b, p, n, hasPort(initPort, respPort, 3389))) return APP.rdp;
  if (isMysqlGreeting(b, p, n)) return APP.mysql;
  if (isPgsql(b, p, n)) return APP.postgresql;
  if (isResp(b, p, end)) return APP.redis;
  if (isMongo(b, p, n)) return APP.mongodb;
  if (n >= 8 && u32(b, p) + 4 === n && isKerberos(b, p + 4, end)) return APP.kerberos;
  if (n >= 8 && u32(b, p) + 4 > n && u32(b, p) < 65536 && isKerberos(b, p + 4, end) && hasPort(initPort, respPort, 88)) return APP.kerberos;
  if (isLdap(b, p, n)) return APP.ldap;
  if (asciiAt(b, p, end, "RFB 00") && n === 12) return APP.vnc;
  if (x0 === 0x10 && n >= 12 && (containsCI(b, p + 2, end, "MQTT", 8) || containsCI(b, p + 2, end, "MQIS", 8))) return APP.mqtt;
  if (asciiAt(b, p, end, "AMQP") && n === 8) return APP.amqp;
  // OpenVPN over TCP (RFC-less; openvpn's ssl_pkt.h): 2-byte length = rest, hard-reset opcode, key id 0.
  if (n >= 14 && u16(b, p) + 2 === n) {
    const op = ovpnOp(b[p + 2]!), kid = b[p + 2]! & 7;
    if (kid === 0 && ((fromInit && (op === 1 || op === 7 || op === 10)) || (!fromInit && (op === 2 || op === 8)))) return APP.openvpn;
  }
  // Telnet (RFC 854): IAC followed by WILL/WONT/DO/DONT/SB as the first byte of a stream.
  if (x0 === 0xff && n >= 3 && b[p + 1]! >= 0xfa && b[p + 1]! <= 0xfe) return APP.telnet;
  if (isText(x0)) {
    const t = tcpTextStart(b, p, n, fromInit, hint, hasPort(initPort, respPort, 21), hasPort(initPort, respPort, 25) || hasPort(initPort, respPort, 587) || hasPort(initPort, respPort, 465), hasPort(initPort, respPort, 110));
    if (t !== 0) return t;
  }
  if (isStun(b, p, n, hasPort(initPort, respPort, 3478))) return APP.stun;
  // STUN/TURN over TCP framed as RFC 4571 (2-byte length), as Skype/Teams relays do.
  if (n >= 22 && u16(b, p) + 2 === n && isStun(b, p + 2, n - 2, false)) return APP.stun;
  return 0;
}

/** TCP, first byte printable: SSH banner, SIP, RTSP, HTTP request or status lines. */
function tcpRequestLine(b: Uint8Array, p: number, n: number, x0: number): number {
  const end = p + n;
  if (asciiAt(b, p, end, "SSH-") && (asciiAt(b, p + 4, end, "2.0-") || asciiAt(b, p + 4, end, "1.99-") || asciiAt(b, p + 4, end, "1.5-"))) return APP.ssh;
  if (isSip(b, p, end)) return APP.sip;
  // RTSP status line, or a request line "Method SP URI SP RTSP/1.0 CRLF" (RFC 2326 §6.1: the method is a token).
  if (asciiAt(b, p, end, "RTSP/1.0 ") || (x0 > 0x20 && x0 < 0x7f && containsCI(b, p, end, " RTSP/1.0\r\n", 512) && !asciiAt(b, p, end, "HTTP"))) return APP.rtsp;
  const hk = httpKind(b, p, n);
  if (hk !== 0) return APP.http;
  return 0;
}

/**
 * TCP, first byte printable: the server's banner (POP3, IMAP, FTP/SMTP "220", IRC) or the client's
 * first command (SMTP, FTP, POP3, IMAP, IRC, XMPP). `hint` keeps a "220" greeting for the client's
 * command that tells FTP from SMTP.
 */
function tcpTextStart(b: Uint8Array, p: number, n: number, fromInit: boolean, hint: Hint, port21: boolean, portSmtp: boolean, port110: boolean): number {
  const end = p + n;
  const x0 = b[p]!;
  // Text banner protocols: the server speaks first.
  if (!fromInit) {
    if (asciiAt(b, p, end, "+OK")) return APP.pop3;
    if (asciiAt(b, p, end, "* OK") || asciiAt(b, p, end, "* PREAUTH") || asciiAt(b, p, end, "* BYE")) return APP.imap;
    if (asciiAt(b, p, end, "220")) {
      if (containsCI(b, p, end, "FTP")) return APP.ftp;
      if (containsCI(b, p, end, "SMTP") || containsCI(b, p, end, "MAIL")) return APP.smtp;
      hint.app = port21 ? APP.ftp : portSmtp ? APP.smtp : APP.smtp;
      hint.word = 220;
      return 0;
    }
    if (asciiAt(b, p, end, "421 ") || asciiAt(b, p, end, "554 ")) { hint.word = 220; return 0; }
    if (asciiAt(b, p, end, ":") && containsCI(b, p, end, " NOTICE ", 128)) return APP.irc;
    if (asciiAt(b, p, end, "-ERR") && port110) return APP.pop3;
  } else {
    // Client commands (keywords, case-insensitive: they start with a letter): SMTP, FTP, POP3.
    if (isLetter(x0)) {
      if (asciiAtCI(b, p, end, "EHLO ") || asciiAtCI(b, p, end, "HELO ")) return APP.smtp;
      if (hint.word === 220 && (asciiAtCI(b, p, end, "USER ") || asciiAtCI(b, p, end, "AUTH TLS") || asciiAtCI(b, p, end, "AUTH SSL") || asciiAtCI(b, p, end, "FEAT") || asciiAtCI(b, p, end, "SYST"))) return APP.ftp;
      if (hint.word === 220 && (asciiAtCI(b, p, end, "MAIL FROM") || asciiAtCI(b, p, end, "STARTTLS") || asciiAtCI(b, p, end, "QUIT"))) return hint.app || APP.smtp;
      if (asciiAtCI(b, p, end, "CAPA\r\n") || asciiAtCI(b, p, end, "STLS\r\n") || asciiAtCI(b, p, end, "APOP ")) return APP.pop3;
    }
    // IMAP command: tag SP command (RFC 9051 §2.2.1)
    let q = p, t = 0;
    while (q < end && t < 16 && b[q]! > 0x20 && b[q]! < 0x7f && b[q] !== 0x2a) { q++; t++; }
    if (t > 0 && b[q] === 0x20 && (asciiAtCI(b, q + 1, end, "CAPABILITY") || asciiAtCI(b, q + 1, end, "LOGIN ") || asciiAtCI(b, q + 1, end, "AUTHENTICATE ") || asciiAtCI(b, q + 1, end, "STARTTLS") || asciiAtCI(b, q + 1, end, "ID ("))) return APP.imap;
    if (asciiAt(b, p, end, "NICK ") || asciiAt(b, p, end, "USER ") && containsCI(b, p, end, "\r\nNICK ", 128)) return APP.irc;
    if (asciiAt(b, p, end, "<?xml") && containsCI(b, p, end, "JABBER", 256)) return APP.xmpp;
  }
  return 0;
}

/** UDP: DNS-shaped, DHCP, NTP, NetBIOS, SNMP, STUN, SIP, SSDP, IKE, …, then the weak signatures. */
function matchUdp(c: SigContext): number {
  const { b, p, n, fromInit, initPort, respPort, hint } = c;
  const end = p + n;
  const x0 = b[p]!;
  // ---- UDP ----
  const dnsApp = dnsPortApp(initPort, respPort);
  if (dnsApp !== 0 && parseDns(b, p, n, dns)) return dnsApp;
  if ((hasPort(initPort, respPort, 67) || hasPort(initPort, respPort, 68)) && isDhcp(b, p, n)) return APP.dhcp;
  if ((hasPort(initPort, respPort, 546) || hasPort(initPort, respPort, 547)) && n >= 4 && x0 >= 1 && x0 <= 13) return APP.dhcpv6;
  if (hasPort(initPort, respPort, 123) && isNtp(b, p, n)) return APP.ntp;
  if ((hasPort(initPort, respPort, 137)) && isNbns(b, p, n)) return APP.netbios;
  if (hasPort(initPort, respPort, 138) && isNbds(b, p, n)) return APP.netbios;
  if (isSnmp(b, p, n)) return APP.snmp;
  if (isStun(b, p, n, hasPort(initPort, respPort, 3478))) return APP.stun;
  if (isSip(b, p, end)) return APP.sip;
  if (hasPort(initPort, respPort, 1900) && (asciiAt(b, p, end, "M-SEARCH * HTTP/1.1") || asciiAt(b, p, end, "NOTIFY * HTTP/1.1") || asciiAt(b, p, end, "HTTP/1.1 200"))) return APP.ssdp;
  if ((hasPort(initPort, respPort, 500) || hasPort(initPort, respPort, 4500)) && (isIke(b, p, n) || (hasPort(initPort, respPort, 4500) && n >= 32 && u32(b, p) === 0 && isIke(b, p + 4, n - 4)))) return APP.ipsec;
  if (hasPort(initPort, respPort, 4500) && n === 1 && x0 === 0xff) return APP.ipsec; // NAT-keepalive (RFC 3948 §2.3)
  if (isKerberos(b, p, end)) return APP.kerberos;
  if ((hasPort(initPort, respPort, 1812) || hasPort(initPort, respPort, 1813) || hasPort(initPort, respPort, 1645) || hasPort(initPort, respPort, 1646) || hasPort(initPort, respPort, 18013) || hasPort(initPort, respPort, 3799)) && isRadius(b, p, n)) return APP.radius;
  if (isWireguard(b, p, n) && (x0 !== 4 || hasPort(initPort, respPort, 51820))) return APP.wireguard;
  if (isSyslog(b, p, end) && (hasPort(initPort, respPort, 514) || (n > 16 && fromInit))) return APP.syslog;
  if (n >= 20 && asciiAt(b, p, end, "d1:") && (asciiAt(b, p + 3, end, "ad2:id20:") || asciiAt(b, p + 3, end, "rd2:id20:") || asciiAt(b, p + 3, end, "q4:ping") || containsCI(b, p, end, "1:Y1:", 512))) return APP.bittorrent;
  if (hasPort(initPort, respPort, 389) && isLdap(b, p, n)) return APP.ldap;
  // DTLS (RFC 6347 §4.1): content type 20-23, version 0xfeff / 0xfefd, epoch 0 for the handshake.
  if (n >= 13 && x0 >= 20 && x0 <= 23 && b[p + 1] === 0xfe && (b[p + 2] === 0xff || b[p + 2] === 0xfd) && u16(b, p + 11) + 13 <= n) return APP.dtls;
  if (hasPort(initPort, respPort, 69) && n >= 4 && x0 === 0 && b[p + 1]! >= 1 && b[p + 1]! <= 6) return APP.tftp;
  // ---- weak signatures: need a second packet that agrees ----
  // OpenVPN over UDP: hard reset from the client (opcode 1/7/10), then the server's (2/8) with key id 0.
  if (isOpenvpnReset(b, p, n)) return APP.openvpn;
  {
    const op = ovpnOp(x0), kid = x0 & 7;
    if (kid === 0 && n >= 14) {
      if (fromInit && (op === 7 || op === 10 || op === 1)) { hint.app = APP.openvpn; hint.word = op; if (hasPort(initPort, respPort, 1194)) return APP.openvpn; }
      else if (!fromInit && (op === 8 || op === 2) && hint.app === APP.openvpn) return APP.openvpn;
    }
  }
  // uTP: a ST_SYN (type 4) from the initiator, answered by ST_STATE (2) with the same connection id.
  if (utpHeader(b, p, n)) {
    const t = x0 >> 4, cid = u16(b, p + 2);
    if (fromInit && t === 4) { hint.app = APP.bittorrent; hint.word = cid; }
    else if (!fromInit && t === 2 && hint.app === APP.bittorrent && cid === hint.word) return APP.bittorrent;
    else if (hint.app === APP.bittorrent && (t === 0 || t === 2) && (cid === hint.word || cid === ((hint.word + 1) & 0xffff))) {
      if (++hint.count >= 2) return APP.bittorrent;
    }
  }
  // RTP: two packets of one direction with the same SSRC and close sequence numbers.
  if (rtpHeader(b, p, n)) {
    const ssrc = u32(b, p + 8) | 0;
    if (hint.app === APP.rtp && hint.word === ssrc) {
      if (++hint.count >= 2) return APP.rtp;
    } else if (hint.app === 0 || hint.app === APP.rtp) { hint.app = APP.rtp; hint.word = ssrc; hint.count = 0; }
  }
  return 0;
}

// JIT tier: the two matchers stay in JSC's DFG tier (noFTL). They run only for payload packets of
// undecided flows, and FTL's compile of them cost more CPU than it saved in a `flows` run: CPU per
// run on the bench captures, median of 4-6 alternated runs (load ~7-9), FTL / DFG: snap128
// 1.23 / 1.13 s, scan 0.92 / 0.83 s, full 1.91 / 1.78 s (with inspect and first of inspector.ts).
noFTL(matchTcp);
noFTL(matchUdp);
