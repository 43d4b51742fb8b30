/**
 * Byte-level formatting for the flow writers: numbers, addresses, times and strings written
 * straight into a Uint8Array, without an intermediate string per field.
 *
 * Every `put*` function takes the buffer and a position, writes there and returns the position
 * after what it wrote. None of them checks the room left: the caller makes sure the buffer has
 * enough (rows.ts: MAX_COLUMN_ROW bytes per row; strings: `jsonStringRoom` / `csvFieldRoom`).
 * Some write a few bytes past the returned position (scratch that the next write overwrites), so
 * a caller keeps the same margin after its last field.
 *
 * What they print is exactly what the record path prints (FlowRecord through JSON.stringify,
 * csvLine, formatTableRow): String(n) for numbers (JSON: null for NaN/±Infinity), RFC 5952 IPv6
 * as ipaddr.js's toRFC5952String, ISO 8601 times as isoTime (record.ts). The fast paths cover what
 * flows hold (integers below 2^53, years 0-9999); anything else goes through the same library
 * call as the record path, so the output is identical in every case.
 */

const enc = new TextEncoder();

/** The bytes of an ASCII/UTF-8 string (for constant fragments built once). */
export function bytesOf(s: string): Uint8Array {
  return enc.encode(s);
}

/** Copies `src` to `buf` at `p`. A loop: the fragments are short, a call to set() costs more. */
export function putBytes(buf: Uint8Array, p: number, src: Uint8Array): number {
  const n = src.length;
  for (let k = 0; k < n; k++) buf[p + k] = src[k]!;
  return p + n;
}

/** The DataView over `buf` (cached: a writer keeps one buffer), for 2- and 4-byte stores at any offset. */
let viewBuf: Uint8Array | null = null;
let view: DataView = new DataView(new ArrayBuffer(8));
export function viewOf(buf: Uint8Array): DataView {
  if (buf !== viewBuf) {
    viewBuf = buf;
    view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  return view;
}

/** Four bytes as one little-endian word (the order they land in through setUint32(…, true)). */
function word(b0: number, b1: number, b2: number, b3: number): number {
  return (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0;
}

/** A function writing `s`'s bytes at `p` and returning the position after them. */
export type Fragment = (dv: DataView, p: number) => number;

/**
 * A writer of the constant `s` (into the DataView of the buffer: `viewOf`), compiled once to
 * straight-line stores: 8-byte stores (setFloat64) for runs of printable ASCII, then 4-, 2- and
 * 1-byte stores (`d.setFloat64(p,1.5e-300,true);d.setUint32(p+8,0x…,true);…`). Several times
 * faster than a copy loop for the short keys and separators of a row, which are most of a JSON
 * row's bytes, and small for the JIT to compile; each fragment is its own function, so every call
 * site stays monomorphic and the JIT inlines it (measured: the same as the stores written inline).
 *
 * Why setFloat64 is exact here: 8 bytes whose top byte (little-endian: the last) is printable
 * ASCII (0x20-0x7e) are the bits of a normal, finite double (exponent field neither all zeros
 * nor all ones), and JS keeps such a double's bits exactly; only NaN payloads may be canonicalised.
 * Each 8-byte store replaces two 4-byte ones: ≈ 25 ns less per JSON row (bench/format-rows.ts).
 */
export function fragment(s: string): Fragment {
  const bytes = bytesOf(s);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let body = "";
  let k = 0;
  for (; k + 8 <= bytes.length && printable(bytes, k, 8); k += 8) {
    const f = dv.getFloat64(k, true);
    body += `d.setFloat64(p+${k},${f},true);`;
  }
  for (; k + 4 <= bytes.length; k += 4) body += `d.setUint32(p+${k},${dv.getUint32(k, true)},true);`;
  if (k + 2 <= bytes.length) { body += `d.setUint16(p+${k},${dv.getUint16(k, true)},true);`; k += 2; }
  if (k < bytes.length) body += `d.setUint8(p+${k},${bytes[k]});`;
  return new Function("d", "p", `${body}return p+${bytes.length};`) as Fragment;
}

function printable(b: Uint8Array, at: number, n: number): boolean {
  for (let k = at; k < at + n; k++) if (b[k]! < 0x20 || b[k]! > 0x7e) return false;
  return true;
}

/** Writes `s` as UTF-8. Room needed: 3 × s.length. */
export function putText(buf: Uint8Array, p: number, s: string): number {
  const n = s.length;
  for (let k = 0; k < n; k++) {
    const ch = s.charCodeAt(k);
    if (ch >= 0x80) return p + enc.encodeInto(s, buf.subarray(p)).written;
    buf[p + k] = ch;
  }
  return p + n;
}

// ---- numbers ----

/** "00".."99" as 200 bytes. */
const PAIRS = new Uint8Array(200);
for (let n = 0; n < 100; n++) {
  PAIRS[n * 2] = 48 + ((n / 10) | 0);
  PAIRS[n * 2 + 1] = 48 + (n % 10);
}

/** Decimal digits of a non-negative integer below 2^53. */
export function decimalLength(n: number): number {
  if (n < 1e8) {
    if (n < 1e4) return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : 4;
    return n < 1e5 ? 5 : n < 1e6 ? 6 : n < 1e7 ? 7 : 8;
  }
  if (n < 1e12) return n < 1e9 ? 9 : n < 1e10 ? 10 : n < 1e11 ? 11 : 12;
  return n < 1e13 ? 13 : n < 1e14 ? 14 : n < 1e15 ? 15 : 16;
}

/**
 * 0..9999 as its digits, left-aligned in a little-endian word (DIGITS) with their count
 * (DIGIT_COUNT), and as four zero-padded digits (PADDED): one 4-byte store per 4 digits.
 */
const DIGITS = new Uint32Array(10000);
const DIGIT_COUNT = new Uint8Array(10000);
const PADDED = new Uint32Array(10000);
for (let n = 0; n < 10000; n++) {
  const d = [(n / 1000) | 0, ((n / 100) | 0) % 10, ((n / 10) | 0) % 10, n % 10].map((x) => 48 + x);
  const len = n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : 4;
  const lead = d.slice(4 - len);
  DIGITS[n] = word(lead[0]!, lead[1] ?? 0, lead[2] ?? 0, lead[3] ?? 0);
  DIGIT_COUNT[n] = len;
  PADDED[n] = word(d[0]!, d[1]!, d[2]!, d[3]!);
}

/** Writes a non-negative integer below 2^53 (-0 prints 0). Writes up to 3 bytes beyond the returned position. */
export function putUint(buf: Uint8Array, p: number, n: number): number {
  return dvUint(viewOf(buf), p, n);
}

/**
 * putUint through the buffer's DataView: the row writers fetch the view once per row and pass it
 * to the `dv*` functions, instead of every field looking it up again (≈ 15 lookups per JSON row).
 */
export function dvUint(d: DataView, p: number, n: number): number {
  if (n < 10000) {
    const k = n | 0;
    d.setUint32(p, DIGITS[k]!, true);
    return p + DIGIT_COUNT[k]!;
  }
  if (n < 1e8) {
    const m = n | 0;
    const hi = (m / 10000) | 0;
    d.setUint32(p, DIGITS[hi]!, true);
    p += DIGIT_COUNT[hi]!;
    d.setUint32(p, PADDED[m - hi * 10000]!, true);
    return p + 4;
  }
  // Up to 16 digits: the top part (below 9.1e7) as above, then 8 zero-padded digits.
  const top = Math.floor(n / 1e8);
  const low = (n - top * 1e8) | 0;
  const t = top | 0;
  if (t < 10000) {
    d.setUint32(p, DIGITS[t]!, true);
    p += DIGIT_COUNT[t]!;
  } else {
    const hi = (t / 10000) | 0;
    d.setUint32(p, DIGITS[hi]!, true);
    p += DIGIT_COUNT[hi]!;
    d.setUint32(p, PADDED[t - hi * 10000]!, true);
    p += 4;
  }
  const mid = (low / 10000) | 0;
  d.setUint32(p, PADDED[mid]!, true);
  d.setUint32(p + 4, PADDED[low - mid * 10000]!, true);
  return p + 8;
}

const MAX_SAFE = 9007199254740991;

/** True when putUint prints `v` exactly as String(v). */
export function isPlainUint(v: number): boolean {
  return v >= 0 && v <= MAX_SAFE && Math.floor(v) === v;
}

/** Writes String(v). Room needed: 25. */
export function putNumber(buf: Uint8Array, p: number, v: number): number {
  return dvNumber(buf, viewOf(buf), p, v);
}

/** putNumber with the buffer's DataView `d`. */
export function dvNumber(buf: Uint8Array, d: DataView, p: number, v: number): number {
  if (v >= 0 && v <= MAX_SAFE && Math.floor(v) === v) return dvUint(d, p, v);
  return putText(buf, p, String(v));
}

/** Writes JSON.stringify(v) for a number (null for NaN and ±Infinity). Room needed: 25. */
export function putJsonNumber(buf: Uint8Array, p: number, v: number): number {
  return dvJsonNumber(buf, viewOf(buf), p, v);
}

/** putJsonNumber with the buffer's DataView `d`. */
export function dvJsonNumber(buf: Uint8Array, d: DataView, p: number, v: number): number {
  if (v >= 0 && v <= MAX_SAFE && Math.floor(v) === v) return dvUint(d, p, v);
  return putText(buf, p, Number.isFinite(v) ? String(v) : "null");
}

/** Decimal length of String(v) for the plain case, else the length of String(v) itself. */
export function numberLength(v: number): number {
  return v >= 0 && v <= MAX_SAFE && Math.floor(v) === v ? decimalLength(v) : String(v).length;
}

// ---- addresses ----

/** Each octet's digits and a dot, left-aligned in a little-endian word, and the digit count. */
const OCTET = new Uint32Array(256);
const OCTET_LEN = new Uint8Array(256);
for (let o = 0; o < 256; o++) {
  const b = bytesOf(`${o}.`);
  OCTET[o] = word(b[0]!, b[1]!, b[2] ?? 0, b[3] ?? 0);
  OCTET_LEN[o] = b.length - 1;
}

/** Dotted quad of `w` (host-order value of the big-endian address). Writes up to 3 bytes beyond the returned position. */
export function putIPv4(buf: Uint8Array, p: number, w: number): number {
  return dvIPv4(viewOf(buf), p, w);
}

/** putIPv4 with the buffer's DataView `d`. */
export function dvIPv4(d: DataView, p: number, w: number): number {
  let o = w >>> 24;
  d.setUint32(p, OCTET[o]!, true);
  p += OCTET_LEN[o]! + 1;
  o = (w >>> 16) & 255;
  d.setUint32(p, OCTET[o]!, true);
  p += OCTET_LEN[o]! + 1;
  o = (w >>> 8) & 255;
  d.setUint32(p, OCTET[o]!, true);
  p += OCTET_LEN[o]! + 1;
  o = w & 255;
  d.setUint32(p, OCTET[o]!, true);
  return p + OCTET_LEN[o]!;
}

const HEX = bytesOf("0123456789abcdef");

/** One 16-bit group in lowercase hex without leading zeros. */
function putHex16(buf: Uint8Array, p: number, g: number): number {
  if (g >= 0x1000) buf[p++] = HEX[g >>> 12]!;
  if (g >= 0x100) buf[p++] = HEX[(g >>> 8) & 15]!;
  if (g >= 0x10) buf[p++] = HEX[(g >>> 4) & 15]!;
  buf[p++] = HEX[g & 15]!;
  return p;
}

/**
 * RFC 5952 text of the IPv6 address in key words [off, off+4) (four big-endian 32-bit words), as
 * ipaddr.js's toRFC5952String: lowercase hex without leading zeros, the longest run of two or more
 * zero groups (the leftmost of equal runs) replaced by "::". Room needed: 39.
 */
export function putIPv6(buf: Uint8Array, p: number, key: Int32Array, off: number): number {
  // Longest zero run, by 16-bit group.
  let bestAt = -1;
  let bestLen = 1;
  let runAt = -1;
  for (let g = 0; g < 8; g++) {
    const w = key[off + (g >> 1)]!;
    const v = g & 1 ? w & 0xffff : w >>> 16;
    if (v === 0) {
      if (runAt < 0) runAt = g;
      if (g - runAt + 1 > bestLen) {
        bestLen = g - runAt + 1;
        bestAt = runAt;
      }
    } else {
      runAt = -1;
    }
  }
  const skipEnd = bestAt < 0 ? -1 : bestAt + bestLen;
  for (let g = 0; g < 8; g++) {
    if (g === bestAt) {
      buf[p++] = 58;
      buf[p++] = 58;
      g = skipEnd - 1;
      continue;
    }
    if (g > 0 && g !== skipEnd) buf[p++] = 58;
    const w = key[off + (g >> 1)]!;
    p = putHex16(buf, p, g & 1 ? w & 0xffff : w >>> 16);
  }
  return p;
}

/** Address text at key words `off` (IPv4 in word 0, or IPv6 in four words). Room needed: 41. */
export function putAddr(buf: Uint8Array, p: number, key: Int32Array, off: number, v6: boolean): number {
  return v6 ? putIPv6(buf, p, key, off) : dvIPv4(viewOf(buf), p, key[off]!);
}

// ---- times ----

const DAY_MS = 86_400_000;
/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: four-digit years, as toISOString prints them. */
const MIN_FAST_MS = -62_167_219_200_000;
const MAX_FAST_MS = 253_402_300_799_999;

/**
 * The last second formatted ("YYYY-MM-DDTHH:mm:ss.", 20 bytes, as 5 little-endian words) and its
 * first millisecond: flows that end close in time share it, and most times are then 6 stores.
 */
let cachedSecond = NaN;
const dayBytes = new Uint8Array(20);
const secondWords = new Uint32Array(5);
/** "000Z" .. "999Z" as little-endian words. */
const MILLIS_Z = new Uint32Array(1000);
for (let n = 0; n < 1000; n++) MILLIS_Z[n] = word(48 + ((n / 100) | 0), 48 + (((n / 10) | 0) % 10), 48 + (n % 10), 90);

function formatDay(day: number): void {
  // Days since 1970-01-01 to a civil date (H. Hinnant's days_from_civil, inverted).
  const z = day + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const hi = Math.floor(y / 100);
  const lo = y - hi * 100;
  dayBytes[0] = PAIRS[hi * 2]!;
  dayBytes[1] = PAIRS[hi * 2 + 1]!;
  dayBytes[2] = PAIRS[lo * 2]!;
  dayBytes[3] = PAIRS[lo * 2 + 1]!;
  dayBytes[4] = 45;
  dayBytes[5] = PAIRS[m * 2]!;
  dayBytes[6] = PAIRS[m * 2 + 1]!;
  dayBytes[7] = 45;
  dayBytes[8] = PAIRS[d * 2]!;
  dayBytes[9] = PAIRS[d * 2 + 1]!;
}

/** isoTime's clamping, kept in one place: milliseconds a Date can hold. */
export function isoMillis(sec: number): number {
  let ms = Math.round(sec * 1000);
  if (!(ms <= 8.64e15)) ms = ms > 0 ? 8.64e15 : 0; // +Infinity → the limit, NaN → 0
  else if (ms < -8.64e15) ms = -8.64e15;
  return ms;
}

/**
 * isoTime(sec) (record.ts) as bytes: `YYYY-MM-DDTHH:mm:ss.sssZ` from milliseconds rounded as
 * Math.round(sec × 1000). Years outside 0-9999 (±YYYYYY) go through Date. Room needed: 27.
 */
export function putIsoTime(buf: Uint8Array, p: number, sec: number): number {
  return dvIsoTime(buf, viewOf(buf), p, sec);
}

/** putIsoTime with the buffer's DataView `d`. */
export function dvIsoTime(buf: Uint8Array, d: DataView, p: number, sec: number): number {
  const ms = isoMillis(sec);
  if (!(ms >= MIN_FAST_MS && ms <= MAX_FAST_MS)) return putText(buf, p, new Date(ms).toISOString());
  let frac = ms - cachedSecond;
  if (!(frac >= 0 && frac < 1000)) {
    const second = Math.floor(ms / 1000) * 1000;
    formatSecond(second);
    frac = ms - second;
  }
  const w = secondWords;
  d.setUint32(p, w[0]!, true);
  d.setUint32(p + 4, w[1]!, true);
  d.setUint32(p + 8, w[2]!, true);
  d.setUint32(p + 12, w[3]!, true);
  d.setUint32(p + 16, w[4]!, true);
  d.setUint32(p + 20, MILLIS_Z[frac]!, true);
  return p + 24;
}

/** Fills secondWords with the second starting at `second` (ms, a multiple of 1000). */
function formatSecond(second: number): void {
  const day = Math.floor(second / DAY_MS);
  formatDay(day);
  let t = (second - day * DAY_MS) / 1000; // 0 .. 86 399
  const h = (t / 3600) | 0;
  t -= h * 3600;
  const mi = (t / 60) | 0;
  const s = t - mi * 60;
  const c = dayBytes;
  c[10] = 84; // T
  c[11] = PAIRS[h << 1]!;
  c[12] = PAIRS[(h << 1) + 1]!;
  c[13] = 58;
  c[14] = PAIRS[mi << 1]!;
  c[15] = PAIRS[(mi << 1) + 1]!;
  c[16] = 58;
  c[17] = PAIRS[s << 1]!;
  c[18] = PAIRS[(s << 1) + 1]!;
  c[19] = 46; // .
  for (let k = 0; k < 5; k++) secondWords[k] = word(c[k * 4]!, c[k * 4 + 1]!, c[k * 4 + 2]!, c[k * 4 + 3]!);
  cachedSecond = second;
}

// ---- strings ----

/** Room putJsonString may need for `s` (every UTF-16 unit as \uXXXX, plus the quotes). */
export function jsonStringRoom(s: string): number {
  return s.length * 6 + 2;
}

/**
 * JSON.stringify(s) as UTF-8 bytes: quotes; `"` and `\` escaped; \b \f \n \r \t; other controls
 * and lone surrogates as \u00xx / \udxxx (lowercase hex), everything else as UTF-8.
 */
export function putJsonString(buf: Uint8Array, p: number, s: string): number {
  buf[p++] = 34;
  const n = s.length;
  for (let k = 0; k < n; k++) {
    const ch = s.charCodeAt(k);
    if (ch >= 0x20 && ch < 0x80) {
      if (ch === 34 || ch === 92) buf[p++] = 92;
      buf[p++] = ch;
    } else if (ch < 0x20) {
      buf[p++] = 92;
      const short = ch === 8 ? 98 : ch === 9 ? 116 : ch === 10 ? 110 : ch === 12 ? 102 : ch === 13 ? 114 : 0;
      if (short !== 0) buf[p++] = short;
      else p = putU4(buf, p, ch);
    } else if (ch < 0x800) {
      buf[p++] = 0xc0 | (ch >> 6);
      buf[p++] = 0x80 | (ch & 63);
    } else if (ch >= 0xd800 && ch <= 0xdfff) {
      const next = k + 1 < n ? s.charCodeAt(k + 1) : 0;
      if (ch <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const cp = 0x10000 + ((ch - 0xd800) << 10) + (next - 0xdc00);
        buf[p++] = 0xf0 | (cp >> 18);
        buf[p++] = 0x80 | ((cp >> 12) & 63);
        buf[p++] = 0x80 | ((cp >> 6) & 63);
        buf[p++] = 0x80 | (cp & 63);
        k++;
      } else {
        buf[p++] = 92;
        p = putU4(buf, p, ch);
      }
    } else {
      buf[p++] = 0xe0 | (ch >> 12);
      buf[p++] = 0x80 | ((ch >> 6) & 63);
      buf[p++] = 0x80 | (ch & 63);
    }
  }
  buf[p++] = 34;
  return p;
}

/** `u` and four lowercase hex digits (after the backslash). */
function putU4(buf: Uint8Array, p: number, ch: number): number {
  buf[p] = 117;
  buf[p + 1] = HEX[ch >>> 12]!;
  buf[p + 2] = HEX[(ch >>> 8) & 15]!;
  buf[p + 3] = HEX[(ch >>> 4) & 15]!;
  buf[p + 4] = HEX[ch & 15]!;
  return p + 5;
}

/** Room putCsvField may need for `s` (every quote doubled, UTF-8, the enclosing quotes). */
export function csvFieldRoom(s: string): number {
  return s.length * 6 + 2;
}

/**
 * A CSV field as csvLine (csv.ts) and csv-stringify write it: quoted, with quotes doubled, when it
 * holds a comma, a quote or CRLF; as it is otherwise (UTF-8).
 */
export function putCsvField(buf: Uint8Array, p: number, s: string): number {
  // One pass for the common case (ASCII, nothing to quote); anything else starts over below.
  const n = s.length;
  let k = 0;
  for (; k < n; k++) {
    const ch = s.charCodeAt(k);
    if (ch >= 0x80 || ch === 44 || ch === 34 || ch === 13) break;
    buf[p + k] = ch;
  }
  if (k === n) return p + n;
  return putCsvFieldSlow(buf, p, s);
}

function putCsvFieldSlow(buf: Uint8Array, p: number, s: string): number {
  if (!(s.includes(",") || s.includes('"') || s.includes("\r\n"))) return putText(buf, p, s);
  buf[p++] = 34;
  p = putText(buf, p, s.replace(/"/g, '""'));
  buf[p++] = 34;
  return p;
}

/** Writes `n` spaces. */
export function putSpaces(buf: Uint8Array, p: number, n: number): number {
  for (let k = 0; k < n; k++) buf[p + k] = 32;
  return p + (n > 0 ? n : 0);
}

/** Eight spaces as the double whose little-endian bytes they are (a normal number: see fragment). */
const SPACES8 = new DataView(new Uint8Array(8).fill(32).buffer).getFloat64(0, true);

/** putSpaces in 8-byte stores through `d`. Writes up to 7 spaces beyond the returned position. */
export function dvSpaces(d: DataView, p: number, n: number): number {
  for (let k = 0; k < n; k += 8) d.setFloat64(p + k, SPACES8, true);
  return p + (n > 0 ? n : 0);
}
