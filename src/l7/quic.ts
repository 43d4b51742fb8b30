/**
 * QUIC Initial packets: the client's ClientHello (and so its SNI) from the first Initial(s).
 *
 * IETF QUIC v1 (RFC 9000 §17.2.2, RFC 9001 §5), v2 (RFC 9369) and drafts 27–34: Initial packets are
 * protected with keys derived from the client's first Destination Connection ID:
 *   initial_secret = HKDF-Extract(salt(version), DCID)
 *   client_secret  = HKDF-Expand-Label(initial_secret, "client in", "", 32)
 *   key/iv/hp      = HKDF-Expand-Label(client_secret, "quic key"/"quic iv"/"quic hp" — v2: "quicv2 …")
 * Header protection is removed with AES-128-ECB over a 16-byte sample taken 4 bytes after the
 * packet-number offset (RFC 9001 §5.4), then the payload is opened with AES-128-GCM (nonce = iv XOR
 * packet number, AAD = the unprotected header). CRYPTO frames are gathered by offset (they may come
 * out of order, and a post-quantum ClientHello spans two Initials) until the ClientHello is whole.
 *
 * Google QUIC Q043/Q046 (and older Q0xx) carries the CHLO handshake message in the clear: its tag
 * table holds the SNI tag. Later gQUIC versions (Q050, T05x) protect the Initial like IETF drafts;
 * they are recognised as QUIC without a name.
 *
 * Uses node:crypto (HMAC-SHA256, AES-128-ECB, AES-128-GCM). Never throws on malformed input.
 */
import { createCipheriv, createDecipheriv, createHmac } from "node:crypto";
import { cleanName } from "./text.ts";
import { HelloInfo, parseClientHelloBody } from "./tls.ts";

export const QUIC_V1 = 0x00000001;
export const QUIC_V2 = 0x6b3343cf;

const hex = (s: string) => Buffer.from(s, "hex");
const SALT_V1 = hex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a");
const SALT_V2 = hex("0dede3def700a6db819381be6e269dcbf9bd2ed9");
const SALT_D29 = hex("afbfec289993d24c9e9786f19c6111e04390a899");
const SALT_D23 = hex("c3eef712c72ebb5a11a7d2432bb46365bef9f502");

/** The Initial salt of a version, or null when the version is not one we can open. */
export function initialSalt(version: number): Buffer | null {
  if (version === QUIC_V1) return SALT_V1;
  if (version === QUIC_V2) return SALT_V2;
  if (version >= 0xff00001d && version <= 0xff000022) return SALT_D29; // drafts 29-34
  if (version >= 0xff000017 && version <= 0xff00001c) return SALT_D23; // drafts 23-28
  if (version === 0xfaceb002) return SALT_D23; // mvfst (draft-27 based)
  if (version === 0xfaceb00e || version === 0xfaceb010 || version === 0xfaceb011) return SALT_D29;
  return null;
}

/** Long-header packet type of an Initial for this version (v2 renumbered the types). */
function initialType(version: number): number {
  return version === QUIC_V2 ? 1 : 0;
}

/** A version that is QUIC (IETF, draft, mvfst, or gQUIC "Q0xx"/"T0xx"). */
export function isQuicVersion(v: number): boolean {
  if (v === QUIC_V1 || v === QUIC_V2 || v >>> 8 === 0xff0000 || v >>> 8 === 0xfaceb0) return true;
  const a = v >>> 24, b = (v >>> 16) & 0xff, c = (v >>> 8) & 0xff, d = v & 0xff;
  return (a === 0x51 || a === 0x54) && b >= 0x30 && b <= 0x39 && c >= 0x30 && c <= 0x39 && d >= 0x30 && d <= 0x39;
}

function hkdfExtract(salt: Buffer, ikm: Uint8Array): Buffer {
  return createHmac("sha256", salt).update(ikm).digest();
}

/** HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, output ≤ 32 bytes (one HMAC block). */
export function hkdfExpandLabel(secret: Uint8Array, label: string, length: number): Buffer {
  const full = "tls13 " + label;
  const info = Buffer.alloc(2 + 1 + full.length + 1 + 1);
  info.writeUInt16BE(length, 0);
  info[2] = full.length;
  info.write(full, 3, "latin1");
  info[3 + full.length] = 0;
  info[4 + full.length] = 1; // T(1) counter
  return createHmac("sha256", secret).update(info).digest().subarray(0, length);
}

export interface InitialKeys {
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
}

/** Client Initial keys for `version` from the client's first DCID; null for an unknown version. */
export function clientInitialKeys(version: number, dcid: Uint8Array): InitialKeys | null {
  const salt = initialSalt(version);
  if (salt === null) return null;
  const v2 = version === QUIC_V2;
  const client = hkdfExpandLabel(hkdfExtract(salt, dcid), "client in", 32);
  return {
    key: hkdfExpandLabel(client, v2 ? "quicv2 key" : "quic key", 16),
    iv: hkdfExpandLabel(client, v2 ? "quicv2 iv" : "quic iv", 12),
    hp: hkdfExpandLabel(client, v2 ? "quicv2 hp" : "quic hp", 16),
  };
}

/** Reads a QUIC variable-length integer at b[p]; returns -1 when cut. `varintLen` gets its size. */
let varintLen = 0;
function varint(b: Uint8Array, p: number, end: number): number {
  if (p >= end) return -1;
  const first = b[p]!;
  const n = 1 << (first >> 6);
  if (p + n > end) return -1;
  varintLen = n;
  let v = first & 0x3f;
  for (let i = 1; i < n; i++) v = v * 256 + b[p + i]!;
  return v;
}

/**
 * Per-flow CRYPTO-stream gathering (only for a flow whose ClientHello is not yet whole): at most
 * MAX_CRYPTO bytes from offset 0.
 */
export const MAX_CRYPTO = 8192;
export class CryptoStream {
  readonly buf = new Uint8Array(MAX_CRYPTO);
  /** 1 for each stream byte received (frames may overlap and come out of order). */
  readonly have = new Uint8Array(MAX_CRYPTO);
  dcid: Uint8Array | null = null;
  version = 0;
  keys: InitialKeys | null = null;
  /** Initial packets opened for this flow. */
  opened = 0;
  add(data: Uint8Array, start: number, end: number, offset: number): void {
    for (let i = start, o = offset; i < end && o < MAX_CRYPTO; i++, o++) {
      this.buf[o] = data[i]!;
      this.have[o] = 1;
    }
  }
  /** Contiguous bytes from offset 0. */
  prefix(): number {
    let n = 0;
    while (n < MAX_CRYPTO && this.have[n] === 1) n++;
    return n;
  }
}

export const QUIC_NOT = 0;
/** QUIC, ClientHello not (yet) whole: feed the next client packet. */
export const QUIC_MORE = 1;
/** QUIC, done: `info.sni` holds the name (or null). */
export const QUIC_DONE = 2;

const hello = new HelloInfo();

/**
 * Looks at one UDP payload from the client. Returns QUIC_NOT, QUIC_MORE or QUIC_DONE; the name goes
 * to `info.sni`. `stream` carries state between packets of one flow (created by the caller when
 * QUIC_MORE is first answered; pass null for the first packet).
 */
export function quicClientPacket(b: Uint8Array, off: number, len: number, stream: CryptoStream | null, info: HelloInfo): { status: number; stream: CryptoStream | null } {
  info.sni = null;
  const end = off + len;
  if (len < 7 || (b[off]! & 0x80) === 0) return { status: stream ? QUIC_MORE : QUIC_NOT, stream };
  const version = ((b[off + 1]! << 24) | (b[off + 2]! << 16) | (b[off + 3]! << 8) | b[off + 4]!) >>> 0;
  if (!isQuicVersion(version)) return { status: stream ? QUIC_MORE : QUIC_NOT, stream };
  const salt = initialSalt(version);
  if (salt === null) {
    // gQUIC: CHLO in the clear (Q043/Q046), or a protected later version.
    const r = gquicChlo(b, off, end, info);
    return { status: r || stream === null ? QUIC_DONE : QUIC_MORE, stream };
  }
  // Walk coalesced long-header packets in the datagram (RFC 9000 §12.2).
  let p = off;
  let status = stream ? QUIC_MORE : QUIC_NOT;
  let sawInitial = false;
  for (let n = 0; n < 4 && p + 7 <= end && (b[p]! & 0x80) !== 0; n++) {
    const first = b[p]!;
    const v = ((b[p + 1]! << 24) | (b[p + 2]! << 16) | (b[p + 3]! << 8) | b[p + 4]!) >>> 0;
    if (v !== version) break;
    let q = p + 5;
    const dl = b[q]!;
    if (dl > 20 || q + 1 + dl > end) break;
    const dcid = b.subarray(q + 1, q + 1 + dl);
    q += 1 + dl;
    const sl = b[q]!;
    if (sl > 20 || q + 1 + sl > end) break;
    q += 1 + sl;
    const type = (first >> 4) & 3;
    const isInitial = type === initialType(version);
    if (isInitial) {
      const tl = varint(b, q, end);
      if (tl < 0 || q + varintLen + tl > end) break;
      q += varintLen + tl;
    } else if (type === (version === QUIC_V2 ? 0 : 3)) break; // Retry: no length field
    const plen = varint(b, q, end);
    if (plen < 0) break;
    q += varintLen;
    const pktEnd = q + plen;
    if (pktEnd > end || plen < 20) break;
    if (isInitial) {
      sawInitial = true;
      if (stream === null) {
        stream = new CryptoStream();
        stream.version = version;
        stream.dcid = Uint8Array.from(dcid);
        stream.keys = clientInitialKeys(version, dcid);
      }
      if (stream.keys !== null && stream.opened < 4) {
        const opened = openInitial(b, p, q, pktEnd, stream.keys);
        if (opened !== null) {
          stream.opened++;
          gatherCrypto(opened.frames, stream);
          const have = stream.prefix();
          if (have >= 4 && stream.buf[0] === 1) {
            const hl = (stream.buf[1]! << 16) | (stream.buf[2]! << 8) | stream.buf[3]!;
            if (have >= 4 + hl || have >= MAX_CRYPTO) {
              if (parseClientHelloBody(stream.buf, 4, Math.min(4 + hl, have), hello)) info.sni = hello.sni;
              return { status: QUIC_DONE, stream };
            }
          }
          status = QUIC_MORE;
        } else if (stream.opened === 0) {
          // Not openable with keys from this DCID (a server Initial, or a later client Initial
          // whose DCID the server chose): still QUIC by its header.
          status = QUIC_MORE;
        }
      }
    } else {
      status = QUIC_MORE; // 0-RTT / Handshake: QUIC, the Initial may come later (reordering)
    }
    p = pktEnd;
  }
  if (!sawInitial && status === QUIC_NOT) return { status: QUIC_NOT, stream };
  return { status, stream };
}

/** An opened Initial: its unprotected header, packet number and plaintext frames. */
export interface OpenedInitial {
  header: Buffer;
  pn: number;
  frames: Uint8Array;
}

/**
 * Removes header protection and opens one Initial; null when it cannot be opened under `keys`.
 * Cost: one AES-ECB block and one AES-GCM open (node:crypto), a few small buffers; only for flows
 * still undecided that sent a QUIC long header, at most 4 Initials per flow.
 */
function openInitial(b: Uint8Array, start: number, pnOff: number, pktEnd: number, keys: InitialKeys): OpenedInitial | null {
  if (pnOff + 4 + 16 > pktEnd) return null;
  try {
    const ecb = createCipheriv("aes-128-ecb", keys.hp, null);
    ecb.setAutoPadding(false);
    const mask = ecb.update(b.subarray(pnOff + 4, pnOff + 20));
    const first = b[start]! ^ (mask[0]! & 0x0f);
    const pnLen = (first & 3) + 1;
    const header = Buffer.from(b.subarray(start, pnOff + pnLen));
    header[0] = first;
    let pn = 0;
    for (let i = 0; i < pnLen; i++) {
      header[pnOff - start + i] = b[pnOff + i]! ^ mask[1 + i]!;
      pn = pn * 256 + header[pnOff - start + i]!;
    }
    const nonce = Buffer.from(keys.iv);
    for (let i = 0; i < 6; i++) nonce[11 - i]! ^= Math.floor(pn / 2 ** (8 * i)) & 0xff;
    const ctEnd = pktEnd - 16;
    if (ctEnd <= pnOff + pnLen) return null;
    const gcm = createDecipheriv("aes-128-gcm", keys.key, nonce);
    gcm.setAAD(header);
    gcm.setAuthTag(b.subarray(ctEnd, pktEnd));
    const out = gcm.update(b.subarray(pnOff + pnLen, ctEnd));
    gcm.final();
    return { header, pn, frames: out };
  } catch {
    return null; // authentication failed: not a client Initial under these keys
  }
}

/** Frames of an Initial payload (RFC 9000 §19): PADDING, PING, ACK, CRYPTO, CONNECTION_CLOSE. */
function gatherCrypto(f: Uint8Array, s: CryptoStream): void {
  let p = 0;
  const end = f.length;
  for (let n = 0; n < 512 && p < end; n++) {
    const t = f[p]!;
    if (t === 0x00) { while (p < end && f[p] === 0) p++; continue; } // a run of PADDING
    if (t === 0x01) { p++; continue; }
    if (t === 0x06) {
      const o = varint(f, p + 1, end);
      if (o < 0) return;
      const q = p + 1 + varintLen;
      const l = varint(f, q, end);
      if (l < 0) return;
      const d = q + varintLen;
      if (d + l > end) return;
      s.add(f, d, d + l, o);
      p = d + l;
      continue;
    }
    if (t === 0x02 || t === 0x03) {
      // ACK: largest, delay, range count, first range, then ranges (gap, len) × count [+ ECN ×3]
      let q = p + 1;
      const largest = varint(f, q, end); if (largest < 0) return; q += varintLen;
      const delay = varint(f, q, end); if (delay < 0) return; q += varintLen;
      const rc = varint(f, q, end); if (rc < 0 || rc > 256) return; q += varintLen;
      const fr = varint(f, q, end); if (fr < 0) return; q += varintLen;
      for (let k = 0; k < 2 * rc + (t === 0x03 ? 3 : 0); k++) { if (varint(f, q, end) < 0) return; q += varintLen; }
      p = q;
      continue;
    }
    return; // anything else ends what we read (CONNECTION_CLOSE, unexpected)
  }
}

/**
 * gQUIC CHLO (QUIC crypto handshake message): "CHLO", u16 tag count, u16 padding, then `count`
 * (tag u32, end offset u32 LE) pairs and the values. The SNI tag is "SNI\0". We find "CHLO" in the
 * first 64 bytes after the public header (its position depends on the version's framing).
 * Returns true when a CHLO was found (sni may still be null).
 */
export function gquicChlo(b: Uint8Array, off: number, end: number, info: HelloInfo): boolean {
  const lim = Math.min(end - 8, off + 96);
  for (let p = off; p <= lim; p++) {
    if (b[p] !== 0x43 || b[p + 1] !== 0x48 || b[p + 2] !== 0x4c || b[p + 3] !== 0x4f) continue;
    const count = b[p + 4]! | (b[p + 5]! << 8);
    if (count === 0 || count > 128) continue;
    const table = p + 8;
    const values = table + count * 8;
    if (values > end) return true;
    let prev = 0;
    for (let i = 0; i < count; i++) {
      const e = table + i * 8;
      const tag = ((b[e]! << 24) | (b[e + 1]! << 16) | (b[e + 2]! << 8) | b[e + 3]!) >>> 0;
      const endOff = (b[e + 4]! | (b[e + 5]! << 8) | (b[e + 6]! << 16) | (b[e + 7]! << 24)) >>> 0;
      if (endOff < prev) return true;
      if (tag === 0x534e4900 /* "SNI\0" */) {
        const s = values + prev, t = values + endOff;
        if (t <= end && t > s) info.sni = cleanName(b, s, t);
        return true;
      }
      prev = endOff;
    }
    return true;
  }
  return false;
}
/**
 * @internal test aid: opens the first packet of `b[off, off+len)` as an Initial with the client keys
 * of its DCID (or `keys`, e.g. server keys), returning the unprotected header, the packet number and
 * the plaintext frames; null when it cannot be opened.
 */
export function _openFirstInitial(b: Uint8Array, off: number, len: number, keys?: InitialKeys): OpenedInitial | null {
  const end = off + len;
  if (len < 7) return null;
  const version = ((b[off + 1]! << 24) | (b[off + 2]! << 16) | (b[off + 3]! << 8) | b[off + 4]!) >>> 0;
  let q = off + 5;
  const dl = b[q]!;
  if (dl > 20 || q + 1 + dl >= end) return null;
  const dcid = b.subarray(q + 1, q + 1 + dl);
  q += 1 + dl;
  q += 1 + b[q]!;
  const tl = varint(b, q, end);
  if (tl < 0) return null;
  q += varintLen + tl;
  const plen = varint(b, q, end);
  if (plen < 0 || q + varintLen + plen > end) return null;
  q += varintLen;
  const k = keys ?? clientInitialKeys(version, dcid);
  if (k === null) return null;
  return openInitial(b, off, q, q + plen, k);
}
