/**
 * Community ID v1 (github.com/corelight/community-id-spec): the hash Zeek, Suricata and Arkime use
 * to name a flow, so the same conversation can be found in every tool by one string.
 *
 *   "1:" + base64(SHA-1(seed:u16 · addrLo · addrHi · proto:u8 · 0:u8 · [portLo:u16 · portHi:u16]))
 *
 * Big-endian throughout; the two endpoints are ordered (smaller address first, the ports following
 * their addresses; equal addresses: smaller port first) so both directions give the same value.
 * Ports are hashed for TCP, UDP, SCTP, ICMP and ICMPv6 only; any other protocol hashes the
 * addresses and protocol alone. For ICMP the "ports" are the message type and, for a message with
 * a counterpart (echo request/reply, timestamp, information, router solicitation, address mask;
 * ICMPv6 echo, router/neighbor discovery, MLD query/report, node information, home-agent address
 * discovery), the counterpart's type; other messages are one-way: type and code, never reordered.
 *
 * From a flow slot (what our flows know about ICMP — decoder: ports = echo id for echo
 * request/reply, 0 for every other message, all non-echo messages between two hosts in one flow):
 * - an ICMP/ICMPv6 flow with a non-zero echo id is an echo exchange: hashed as echo request from
 *   the initiator (8 → 0, ICMPv6 128 → 129), which is what Zeek and the spec give for it;
 * - an ICMP/ICMPv6 flow with ports 0 carries messages of types we did not keep (it may merge
 *   several Zeek connections: neighbor discovery, errors, router discovery…), or an echo with
 *   id 0. No ICMP Community ID is right for it, so it gets the spec's port-less form (addresses and
 *   protocol only) — a value no tool produces for ICMP, so it never pivots to a wrong connection.
 *
 * Cost: one 16- or 40-byte fill and Bun's native SHA-1 + base64 (≈ 0.15 µs per flow); computed when
 * a flow is output or exported, never per packet.
 */
import { KEY_WORDS, KW_PROTO, PW_PROTO, PW_V6, type FlowColumns } from "./columns.ts";
import type { FlowRecord } from "../format/record.ts";

const ICMP = 1;
const ICMP6 = 58;

/** ICMP type → its counterpart's type (types with a request/reply partner). */
const ICMP4_PAIR = new Map<number, number>([[8, 0], [0, 8], [13, 14], [14, 13], [15, 16], [16, 15], [10, 9], [17, 18], [18, 17]]);
const ICMP6_PAIR = new Map<number, number>([
  [128, 129], [129, 128], [133, 134], [134, 133], [135, 136], [136, 135],
  [130, 131], [131, 130], [139, 140], [140, 139], [144, 145], [145, 144],
]);

/** Protocols whose ports (or ICMP type/code equivalents) are part of the hash. */
function hasPorts(proto: number): boolean {
  return proto === 6 || proto === 17 || proto === 132 || proto === ICMP || proto === ICMP6;
}

/**
 * The spec's ICMP "port equivalents" for a message of `type`/`code`: [sport, dport, oneWay].
 */
export function icmpPortEquivalents(v6: boolean, type: number, code: number): [number, number, boolean] {
  const pair = (v6 ? ICMP6_PAIR : ICMP4_PAIR).get(type);
  return pair === undefined ? [type, code, true] : [type, pair, false];
}

// One scratch buffer; views of the four possible input lengths.
const scratch = new Uint8Array(40);
const dv = new DataView(scratch.buffer);
const views: Record<number, Uint8Array> = { 12: scratch.subarray(0, 12), 16: scratch.subarray(0, 16), 36: scratch.subarray(0, 36), 40: scratch.subarray(0, 40) };

/** -1, 0, 1: address words a[ao..] vs b[bo..] (n words, compared as unsigned big-endian). */
function cmpAddr(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, n: number): number {
  for (let k = 0; k < n; k++) {
    const x = a[ao + k]! >>> 0, y = b[bo + k]! >>> 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * The hash over a tuple whose addresses are 32-bit words (1 for IPv4, 4 for IPv6) at `sa[so..]` and
 * `da[do_..]`. `ports`: hash sport/dport; `oneWay`: keep the given order (ICMP one-way messages).
 */
function hashWords(
  seed: number, v6: boolean, proto: number,
  sa: ArrayLike<number>, so: number, da: ArrayLike<number>, do_: number,
  sport: number, dport: number, ports: boolean, oneWay: boolean, raw: Uint8Array | null = null,
): string {
  const n = v6 ? 4 : 1;
  let swap = false;
  if (!oneWay) {
    const c = cmpAddr(sa, so, da, do_, n);
    swap = c > 0 || (c === 0 && ports && sport > dport);
  }
  dv.setUint16(0, seed & 0xffff);
  let p = 2;
  for (let k = 0; k < n; k++, p += 4) dv.setUint32(p, (swap ? da[do_ + k]! : sa[so + k]!) >>> 0);
  for (let k = 0; k < n; k++, p += 4) dv.setUint32(p, (swap ? sa[so + k]! : da[do_ + k]!) >>> 0);
  scratch[p++] = proto & 0xff;
  scratch[p++] = 0;
  if (ports) {
    dv.setUint16(p, swap ? dport : sport);
    dv.setUint16(p + 2, swap ? sport : dport);
    p += 4;
  }
  if (raw !== null) {
    Bun.SHA1.hash(views[p]!, raw);
    return "";
  }
  return "1:" + (Bun.SHA1.hash(views[p]!, "base64") as unknown as string);
}

const digest = new Uint8Array(20);
const B64 = Uint8Array.from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", (ch) => ch.charCodeAt(0));

/** communityId(c, i) written as ASCII bytes at buf[p] (30 bytes: "1:" and the base64 of the SHA-1); returns the end. */
export function putCommunityId(c: FlowColumns, i: number, buf: Uint8Array, p: number): number {
  communityIdHash(c, i, 0, digest);
  const d = digest;
  buf[p++] = 49;
  buf[p++] = 58;
  for (let k = 0; k < 18; k += 3) {
    const x = (d[k]! << 16) | (d[k + 1]! << 8) | d[k + 2]!;
    buf[p++] = B64[x >>> 18]!;
    buf[p++] = B64[(x >>> 12) & 63]!;
    buf[p++] = B64[(x >>> 6) & 63]!;
    buf[p++] = B64[x & 63]!;
  }
  const x = (d[18]! << 16) | (d[19]! << 8);
  buf[p++] = B64[x >>> 18]!;
  buf[p++] = B64[(x >>> 12) & 63]!;
  buf[p++] = B64[(x >>> 6) & 63]!;
  buf[p++] = 61;
  return p;
}

/**
 * The first 47 bits of the Community ID hash of slot i (big-endian), as a non-negative integer —
 * what the history store keeps for `community_id:` (store/flow-extras.ts cidBits of the text gives
 * the same number), without the base64 text.
 */
export function communityIdBits(c: FlowColumns, i: number, seed = 0): number {
  communityIdHash(c, i, seed, digest);
  const b = digest;
  return (b[0]! & 0x7f) * 2 ** 40 + b[1]! * 2 ** 32 + ((b[2]! << 24) >>> 0) + (b[3]! << 16) + (b[4]! << 8) + b[5]!;
}

/** Community ID v1 of flow slot `i` (see the header for ICMP). */
export function communityId(c: FlowColumns, i: number, seed = 0): string {
  return communityIdHash(c, i, seed, null);
}

function communityIdHash(c: FlowColumns, i: number, seed: number, raw: Uint8Array | null): string {
  const key = c.key;
  const base = i * KEY_WORDS;
  const w = key[base + KW_PROTO]!;
  const proto = w & PW_PROTO;
  const v6 = (w & PW_V6) !== 0;
  const so = c.srcAddrOff(i), do_ = c.dstAddrOff(i);
  let sport = c.srcPort(i), dport = c.dstPort(i);
  let ports = hasPorts(proto);
  if (proto === ICMP || proto === ICMP6) {
    if (sport === 0 && dport === 0) ports = false;
    else {
      // An echo exchange (the decoder keys only echo with ports): the initiator sent the request.
      sport = v6 ? 128 : 8;
      dport = v6 ? 129 : 0;
    }
  }
  return hashWords(seed, v6, proto, key, so, key, do_, sport, dport, ports, false, raw);
}

/** Address text → words (1 for IPv4, 4 for IPv6); throws on a malformed address. */
function addrWords(ip: string): number[] {
  if (!ip.includes(":")) {
    const parts = ip.split(".").map(Number);
    if (parts.length !== 4 || parts.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new RangeError(`bad IPv4 address "${ip}"`);
    return [((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0];
  }
  const [head, tail] = ip.includes("::") ? ip.split("::") as [string, string] : [ip, undefined];
  const h = head === "" ? [] : head.split(":");
  const t = tail === undefined ? [] : tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) throw new RangeError(`bad IPv6 address "${ip}"`);
  const n = groups.map((g) => parseInt(g, 16));
  return [0, 1, 2, 3].map((k) => ((n[2 * k]! << 16) | n[2 * k + 1]!) >>> 0);
}

export interface CommunityTuple {
  proto: number;
  src_ip: string;
  dst_ip: string;
  /** TCP/UDP/SCTP port; for ICMP/ICMPv6 the message type. Ignored for other protocols. */
  src_port?: number;
  /** TCP/UDP/SCTP port; for ICMP/ICMPv6 the message code. */
  dst_port?: number;
}

/**
 * Community ID of a packet-level tuple, exactly as the spec (ICMP: src_port = type, dst_port =
 * code, mapped to the port equivalents here). Used for the spec's test vectors.
 */
export function communityIdOfTuple(t: CommunityTuple, seed = 0): string {
  const a = addrWords(t.src_ip), b = addrWords(t.dst_ip);
  if (a.length !== b.length) throw new RangeError("community id: addresses of different families");
  const v6 = a.length === 4;
  let sport = t.src_port ?? 0, dport = t.dst_port ?? 0, oneWay = false;
  if (t.proto === ICMP || t.proto === ICMP6) [sport, dport, oneWay] = icmpPortEquivalents(t.proto === ICMP6, sport, dport);
  return hashWords(seed, v6, t.proto, a, 0, b, 0, sport, dport, hasPorts(t.proto), oneWay);
}

/** Community ID of a FlowRecord (same rules as from a slot: ICMP ports are echo ids or 0). */
export function communityIdOfRecord(r: Pick<FlowRecord, "proto_num" | "src_ip" | "dst_ip" | "src_port" | "dst_port">, seed = 0): string {
  const a = addrWords(r.src_ip), b = addrWords(r.dst_ip);
  const v6 = a.length === 4;
  const proto = r.proto_num;
  let sport = r.src_port, dport = r.dst_port, ports = hasPorts(proto);
  if (proto === ICMP || proto === ICMP6) {
    if (sport === 0 && dport === 0) ports = false;
    else {
      sport = v6 ? 128 : 8;
      dport = v6 ? 129 : 0;
    }
  }
  return hashWords(seed, v6, proto, a, 0, b, 0, sport, dport, ports, false);
}
