/**
 * HTTP/1.x (RFC 9110/9112): a request line "METHOD SP target SP HTTP/1.x" or a status line
 * "HTTP/1.x SP 3DIGIT", and the Host header field of a request (RFC 9112 §3.2; for CONNECT and
 * absolute-form targets the authority of the target, as proxies see it). Case-insensitive field
 * names, bounded scan (the first 4 KiB of the segment). Never throws.
 */
import { cleanName } from "./text.ts";

const METHODS = ["GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "CONNECT ", "PATCH ", "TRACE ",
  "PROPFIND ", "PROPPATCH ", "MKCOL ", "COPY ", "MOVE ", "LOCK ", "UNLOCK ", "REPORT ", "SEARCH ", "MKCALENDAR "];
const METHOD_BYTES = METHODS.map((m) => Uint8Array.from(m, (c) => c.charCodeAt(0)));

function startsWith(b: Uint8Array, off: number, end: number, pat: Uint8Array): boolean {
  if (off + pat.length > end) return false;
  for (let i = 0; i < pat.length; i++) if (b[off + i] !== pat[i]) return false;
  return true;
}

/** Length of the method (incl. the space) when b[off..] starts an HTTP request line, else 0. */
export function httpMethod(b: Uint8Array, off: number, len: number): number {
  const end = off + len;
  const c = b[off];
  if (c === undefined || c < 0x41 || c > 0x5a) return 0;
  for (let k = 0; k < METHOD_BYTES.length; k++) {
    const m = METHOD_BYTES[k]!;
    if (startsWith(b, off, end, m)) return m.length;
  }
  return 0;
}

const SCAN = 4096;

/**
 * 1 = HTTP request, 2 = HTTP response, 0 = neither. A request needs the method, a target and
 * "HTTP/1." (or "HTTP/2.0" prior knowledge is not HTTP/1: not matched) on the first line when the
 * line is complete in the segment; a first line longer than the segment is accepted on the method
 * and a target starting with "/", "*", "http" or an authority (CONNECT).
 */
export function httpKind(b: Uint8Array, off: number, len: number): number {
  const end = Math.min(off + len, off + SCAN);
  if (len >= 12 && b[off] === 0x48 && b[off + 1] === 0x54 && b[off + 2] === 0x54 && b[off + 3] === 0x50 &&
    b[off + 4] === 0x2f && (b[off + 5] === 0x31 || b[off + 5] === 0x30) && b[off + 6] === 0x2e && b[off + 8] === 0x20) {
    const d = b[off + 9]!;
    return d >= 0x31 && d <= 0x35 ? 2 : 0;
  }
  const ml = httpMethod(b, off, len);
  if (ml === 0) return 0;
  const t = off + ml;
  if (t >= end || b[t] === 0x20) return 0;
  // Find the end of the request line.
  for (let i = t; i < end; i++) {
    const c = b[i]!;
    if (c === 0x0a || c === 0x0d) {
      // "… HTTP/1.x" before the line end.
      const s = i - 8;
      return s > t && b[s - 1] === 0x20 && b[s] === 0x48 && b[s + 1] === 0x54 && b[s + 2] === 0x54 && b[s + 3] === 0x50 &&
        b[s + 4] === 0x2f && (b[s + 5] === 0x31 || b[s + 5] === 0x30) ? 1 : 0;
    }
    if (c < 0x20 || c > 0x7e) return 0;
  }
  return 1;
}

/**
 * Host of an HTTP request at b[off, off+len): the Host header's value (port kept: the comparison
 * and the view may cut it), else the authority of an absolute-form or CONNECT target. null when
 * the header is not in the segment.
 */
export function httpHost(b: Uint8Array, off: number, len: number): string | null {
  const end = Math.min(off + len, off + SCAN);
  let p = off;
  // skip the request line
  while (p < end && b[p] !== 0x0a) p++;
  const lineEnd = p;
  p++;
  while (p + 5 < end) {
    if (b[p] === 0x0d || b[p] === 0x0a) break; // end of the header block
    if ((b[p]! | 0x20) === 0x68 && (b[p + 1]! | 0x20) === 0x6f && (b[p + 2]! | 0x20) === 0x73 && (b[p + 3]! | 0x20) === 0x74 && b[p + 4] === 0x3a) {
      let s = p + 5;
      while (s < end && (b[s] === 0x20 || b[s] === 0x09)) s++;
      let e = s;
      while (e < end && b[e] !== 0x0d && b[e] !== 0x0a) e++;
      if (e === end && end === off + SCAN) return null;
      while (e > s && (b[e - 1] === 0x20 || b[e - 1] === 0x09)) e--;
      if (e > s) return cleanName(b, s, e);
      return null;
    }
    while (p < end && b[p] !== 0x0a) p++;
    p++;
  }
  // absolute-form / authority-form target
  const ml = httpMethod(b, off, len);
  if (ml === 0) return null;
  let s = off + ml;
  let e = s;
  while (e < lineEnd && b[e] !== 0x20) e++;
  if (e - s > 7 && b[s] === 0x68 && b[s + 1] === 0x74 && b[s + 2] === 0x74 && b[s + 3] === 0x70) {
    const slash = s + (b[s + 4] === 0x73 ? 8 : 7);
    s = slash;
    let q = s;
    while (q < e && b[q] !== 0x2f) q++;
    e = q;
  } else if (b[off] !== 0x43 /* CONNECT */) return null;
  return e > s ? cleanName(b, s, e) : null;
}
