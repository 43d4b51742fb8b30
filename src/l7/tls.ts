/**
 * TLS ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2) and the server_name extension (RFC 6066 §3).
 *
 * - `tlsRecordKind` recognises the first bytes of a TLS stream: a handshake record (content type 22,
 *   record version 3.0–3.4, length ≤ 2^14 + 2048) whose first message is a ClientHello (1) or a
 *   ServerHello (2).
 * - `parseClientHelloStream` reads the handshake records at the start of a client stream (a
 *   ClientHello may span several records and several TCP segments) and the ClientHello in them.
 *   It answers DONE (sni set or null: a ClientHello without SNI, e.g. an IP-address server),
 *   NEED_MORE (the ClientHello is longer than the bytes given: `need` = stream bytes needed) or
 *   NOT_TLS.
 * - `parseClientHelloBody` parses a ClientHello body (after the 4-byte handshake header); QUIC uses
 *   it on the CRYPTO stream.
 * Every read is bounds-checked; malformed input returns NOT_TLS, never throws.
 */
import { cleanName } from "./text.ts";

export const NOT_TLS = 0;
export const NEED_MORE = 1;
export const DONE = 2;

export const TLS_CLIENT_HELLO = 1;
export const TLS_SERVER_HELLO = 2;

export class HelloInfo {
  sni: string | null = null;
  /** Stream bytes needed for the whole ClientHello (valid with NEED_MORE). */
  need = 0;
  /** The ClientHello carried an encrypted_client_hello extension (0xfe0d). */
  ech = false;
}

/** 0 = not a TLS handshake start; TLS_CLIENT_HELLO / TLS_SERVER_HELLO otherwise. */
export function tlsRecordKind(b: Uint8Array, off: number, len: number): number {
  if (len < 6 || b[off] !== 22 || b[off + 1] !== 3 || b[off + 2]! > 4) return 0;
  const rl = (b[off + 3]! << 8) | b[off + 4]!;
  if (rl < 4 || rl > 18432) return 0;
  const t = b[off + 5]!;
  if (t !== 1 && t !== 2) return 0;
  if (len >= 9) {
    const hl = (b[off + 6]! << 16) | (b[off + 7]! << 8) | b[off + 8]!;
    if (hl < 38 || hl > 0xffff) return 0;
    if (len >= 10 && b[off + 9] !== 3) return 0; // legacy_version 3.x
  }
  return t;
}

// Handshake bytes gathered from several records (a ClientHello is at most 64 KiB; we stop at 16 KiB).
const MAX_HELLO = 16384;
const scratch = new Uint8Array(MAX_HELLO + 4);

export function parseClientHelloStream(b: Uint8Array, off: number, len: number, out: HelloInfo): number {
  out.sni = null;
  out.need = 0;
  out.ech = false;
  if (tlsRecordKind(b, off, len) !== TLS_CLIENT_HELLO) return NOT_TLS;
  const end = off + len;
  let p = off, got = 0, hsLen = -1;
  // Walk records, copying handshake fragments until the ClientHello is whole.
  while (p + 5 <= end) {
    if (b[p] !== 22 || b[p + 1] !== 3) return NOT_TLS;
    const rl = (b[p + 3]! << 8) | b[p + 4]!;
    const avail = Math.min(rl, end - (p + 5));
    const take = Math.min(avail, scratch.length - got);
    scratch.set(b.subarray(p + 5, p + 5 + take), got);
    got += take;
    if (hsLen < 0 && got >= 4) hsLen = (scratch[1]! << 16) | (scratch[2]! << 8) | scratch[3]!;
    if (hsLen >= 0 && got >= hsLen + 4) break;
    if (avail < rl) { // record cut by the segment end
      if (hsLen >= 0 && hsLen + 4 > MAX_HELLO) return parseBody(scratch, 4, got, out, true) ? DONE : NOT_TLS;
      out.need = needFor(hsLen);
      return NEED_MORE;
    }
    p += 5 + rl;
  }
  if (hsLen < 0 || got < hsLen + 4) {
    if (hsLen >= 0 && hsLen + 4 > MAX_HELLO) return parseBody(scratch, 4, got, out, true) ? DONE : NOT_TLS;
    out.need = needFor(hsLen);
    return NEED_MORE;
  }
  return parseBody(scratch, 4, 4 + hsLen, out, false) ? DONE : NOT_TLS;
}

/** Stream bytes that hold a ClientHello of `hsLen` body bytes (records of at most 16 KiB). */
function needFor(hsLen: number): number {
  return hsLen < 0 ? 16384 : hsLen + 4 + 5 * (1 + ((hsLen + 4) >> 14));
}

/** ClientHello body at b[start, end). False when it does not parse. */
export function parseClientHelloBody(b: Uint8Array, start: number, end: number, out: HelloInfo): boolean {
  out.sni = null;
  out.ech = false;
  return parseBody(b, start, end, out, false);
}

/** `partial`: the body was cut (over MAX_HELLO); the extensions present are still read. */
function parseBody(b: Uint8Array, p: number, end: number, out: HelloInfo, partial: boolean): boolean {
  if (end > b.length) end = b.length;
  if (end - p < 38 || b[p] !== 3) return false;
  p += 34; // legacy_version + random
  const sid = b[p]!;
  if (sid > 32) return false;
  p += 1 + sid;
  if (p + 2 > end) return false;
  const cs = (b[p]! << 8) | b[p + 1]!;
  if (cs < 2 || cs & 1) return false;
  p += 2 + cs;
  if (p + 1 > end) return false;
  const comp = b[p]!;
  if (comp < 1) return false;
  p += 1 + comp;
  if (p === end) return true; // no extensions (TLS 1.0 era)
  if (p + 2 > end) return false;
  let extEnd = p + 2 + ((b[p]! << 8) | b[p + 1]!);
  p += 2;
  if (extEnd > end) {
    if (!partial) return false;
    extEnd = end;
  }
  while (p + 4 <= extEnd) {
    const type = (b[p]! << 8) | b[p + 1]!;
    const elen = (b[p + 2]! << 8) | b[p + 3]!;
    const e = p + 4;
    if (e + elen > extEnd) return partial;
    if (type === 0 && elen >= 5) {
      // server_name: list length, then entries (type 0 = host_name, 2-byte length, name).
      const listEnd = Math.min(e + 2 + ((b[e]! << 8) | b[e + 1]!), e + elen);
      let q = e + 2;
      while (q + 3 <= listEnd) {
        const nt = b[q]!, nl = (b[q + 1]! << 8) | b[q + 2]!;
        if (q + 3 + nl > listEnd) break;
        if (nt === 0 && nl > 0 && out.sni === null) out.sni = cleanName(b, q + 3, q + 3 + nl);
        q += 3 + nl;
      }
    } else if (type === 0xfe0d) {
      out.ech = true;
    }
    p = e + elen;
  }
  return true;
}
