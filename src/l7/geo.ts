/**
 * Country and AS per address.
 *
 * - Special ranges first (no database): RFC 1918 private, loopback, link-local, CGNAT (RFC 6598),
 *   unique local (RFC 4193), multicast, documentation (RFC 5737, RFC 3849), benchmarking (RFC 2544),
 *   unspecified, broadcast, reserved — labelled in `special`, with no country or AS.
 * - Country: an MMDB file read with the `maxmind` package (its mmdb-lib Reader, sync over the file
 *   bytes). Default: `@ip-location-db/geo-whois-asn-country-mmdb` (geo-whois-asn-country.mmdb;
 *   data CC BY 4.0 by the NRO, attribution required, redistribution allowed — see README); a
 *   user's GeoLite2-Country / GeoLite2-City file through `geoipDb` (the `--geoip-db` flag).
 * - AS: a user's GeoLite2-ASN (or any MMDB with autonomous_system_number/organization) through
 *   `asnDb` (`--asn-db`); by default `@ip-location-db/asn` (RouteViews + DB-IP ASN Lite, CC BY 4.0:
 *   attribution to RouteViews, DB-IP and the NRO), which npm ships as CSV only (no ASN MMDB with a
 *   redistributable licence is on npm): its `asn-ipv4-num.csv` / `asn-ipv6.csv` are loaded on
 *   first use into sorted typed arrays straight from the file's bytes (IPv6 ranges by their top 52 bits;
 *   names decoded on first use) and binary-searched: IPv4 ≈ 0.27 s, IPv6 ≈ 0.1 s to load (load ≈ 9).
 * Lookups are cached per address (bounded LRU). Never throws on a bad address (null fields).
 * Start-up: the default databases (and the `maxmind` package) are loaded on the first lookup of a
 * global address, never for a run that looks nothing up.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import ipaddr from "ipaddr.js";
import type { Reader } from "maxmind";

export interface GeoConfig {
  /** Country MMDB (GeoLite2-Country/City or compatible); default: the npm package's file. */
  geoipDb?: string;
  /** ASN MMDB (GeoLite2-ASN or compatible); default: the npm CSV tables. */
  asnDb?: string;
  /** Addresses cached (default 65,536). */
  cacheSize?: number;
}

export interface GeoInfo {
  /** ISO 3166-1 alpha-2 country code, or null. */
  country: string | null;
  asn: number | null;
  as_name: string | null;
  /** Special-purpose range label (private, loopback, link-local, cgnat, ula, multicast, documentation, …), or null. */
  special: string | null;
}

const req = createRequire(import.meta.url);
function pkgFile(pkg: string, file: string): string | null {
  try {
    return join(dirname(req.resolve(`${pkg}/package.json`)), file);
  } catch {
    return null;
  }
}

const DOC4 = [ipaddr.parseCIDR("192.0.2.0/24"), ipaddr.parseCIDR("198.51.100.0/24"), ipaddr.parseCIDR("203.0.113.0/24")];
const DOC6 = [ipaddr.parseCIDR("2001:db8::/32"), ipaddr.parseCIDR("3fff::/20")];
const RANGE_LABEL: Record<string, string> = {
  private: "private", loopback: "loopback", linkLocal: "link-local", carrierGradeNat: "cgnat", uniqueLocal: "ula",
  multicast: "multicast", unspecified: "unspecified", broadcast: "broadcast", benchmarking: "benchmarking",
  reserved: "reserved", teredo: "teredo", "6to4": "6to4", rfc6052: "nat64", rfc6145: "nat64", amt: "reserved",
  as112: "reserved", as112v6: "reserved", orchid2: "reserved", deprecated: "reserved", discard: "reserved",
};

/** The special-range label of an address (text), or null for a global unicast address. */
export function specialRange(addr: string): string | null {
  let a: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    a = ipaddr.parse(addr);
  } catch {
    return null;
  }
  if (a.kind() === "ipv6" && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
  if (a.kind() === "ipv4") {
    for (const c of DOC4) if ((a as ipaddr.IPv4).match(c as [ipaddr.IPv4, number])) return "documentation";
  } else {
    for (const c of DOC6) if ((a as ipaddr.IPv6).match(c as [ipaddr.IPv6, number])) return "documentation";
  }
  const r = a.range();
  if (r === "unicast") return null;
  return RANGE_LABEL[r] ?? "reserved";
}

/**
 * The IPv4 special ranges by prefix, for callers that hold the address as a 32-bit word (the row
 * writers' extras, annotate.ts). For the address word w: `c = by16[w >>> 16]`, and when
 * `c >= V4_MIXED`, `c = by24[c - V4_MIXED][(w >>> 8) & 255]`; then 0 is a global address, another
 * code its label `labels[c]` — or V4_PER_ADDRESS where the answer is not the same for a whole /24
 * (only 255.255.255.0/24, for the broadcast /32): ask `specialRange` there.
 * Built on first use (only the ~9,000 /16s some range meets are tested: 3-8 ms at load ~8; 64 KiB) from the very list `specialRange`
 * walks — DOC4, then ipaddr.js's IPv4 SpecialRanges in their order, first match wins — per /16,
 * and per /24 only inside the few /16s that a narrower range cuts. test/l7-geo-prefix.test.ts
 * checks it against `specialRange`.
 */
export interface V4Special {
  by16: Uint8Array;
  by24: Uint8Array[];
  labels: string[];
}
export const V4_MIXED = 128;
export const V4_PER_ADDRESS = 255;
let v4Table: V4Special | null = null;

export function v4Special(): V4Special {
  if (v4Table !== null) return v4Table;
  const labels = [""];
  const list: { net: number; bits: number; code: number }[] = [];
  const code = (label: string) => {
    let c = labels.indexOf(label);
    if (c < 0) c = labels.push(label) - 1;
    return c;
  };
  const add = (a: ipaddr.IPv4 | ipaddr.IPv6, bits: number, label: string) => {
    if (a.kind() !== "ipv4") return;
    const o = (a as ipaddr.IPv4).octets;
    list.push({ net: ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0, bits, code: code(label) });
  };
  for (const [a, bits] of DOC4) add(a, bits, "documentation");
  const ranges = (ipaddr.IPv4.prototype as unknown as { SpecialRanges: Record<string, unknown[]> }).SpecialRanges;
  for (const name of Object.keys(ranges)) {
    let subnets = ranges[name]!;
    if (subnets[0] && !Array.isArray(subnets[0])) subnets = [subnets]; // as ipaddr.subnetMatch
    for (const [a, bits] of subnets as [ipaddr.IPv4, number][]) add(a, bits, RANGE_LABEL[name] ?? "reserved");
  }
  const mask = (bits: number) => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);
  /** The block of `len` bits at `net`: the first range that meets it decides, if it holds all of it. */
  const blockCode = (net: number, len: number, narrower: number): number => {
    for (const r of list) {
      const m = mask(Math.min(r.bits, len));
      if ((net & m) >>> 0 !== (r.net & m) >>> 0) continue;
      return r.bits <= len ? r.code : narrower;
    }
    return 0;
  };
  const by16 = new Uint8Array(1 << 16), by24: Uint8Array[] = [];
  const met = new Uint8Array(1 << 16); // the /16s some range meets: only those can be non-zero
  for (const r of list) {
    const first = r.net >>> 16, n = r.bits >= 16 ? 1 : 2 ** (16 - r.bits);
    met.fill(1, first, first + n);
  }
  for (let p = 0; p < 1 << 16; p++) {
    if (met[p] === 0) continue;
    const c = blockCode((p << 16) >>> 0, 16, -1);
    if (c >= 0) { by16[p] = c; continue; }
    const sub = new Uint8Array(256);
    for (let q = 0; q < 256; q++) sub[q] = blockCode(((p << 16) | (q << 8)) >>> 0, 24, V4_PER_ADDRESS);
    by16[p] = V4_MIXED + by24.length;
    by24.push(sub);
  }
  if (labels.length >= V4_MIXED || by24.length > V4_PER_ADDRESS - V4_MIXED) throw new Error("geo: IPv4 special-range table overflow");
  return (v4Table = { by16, by24, labels });
}

/** The IPv4 special-range code of the address word w (0: global; see V4Special). */
export function v4SpecialCode(t: V4Special, w: number): number {
  const c = t.by16[w >>> 16]!;
  return c < V4_MIXED ? c : t.by24[c - V4_MIXED]![(w >>> 8) & 255]!;
}

/** Top 52 bits of an IPv6 address in text (groups 0-2 and the high nibble of group 3). */
function top52(t: string): number {
  const dbl = t.indexOf("::");
  let g: string[];
  if (dbl < 0) g = t.split(":");
  else {
    const head = dbl === 0 ? [] : t.slice(0, dbl).split(":");
    const tail = dbl + 2 >= t.length ? [] : t.slice(dbl + 2).split(":");
    g = [...head, ...Array(8 - head.length - tail.length).fill("0"), ...tail];
  }
  const v = (i: number) => parseInt(g[i] ?? "0", 16) || 0;
  return v(0) * 2 ** 36 + v(1) * 2 ** 20 + v(2) * 2 ** 4 + (v(3) >> 12);
}

/**
 * Databases are read once per process and shared by every GeoLookup (each `flows` run in one
 * process, each engine Worker restart): loading the AS CSV tables is the costly part (see AsnTable).
 */
const readers = new Map<string, Reader<MmdbRecord>>();
const asnTables = new Map<string, AsnCsv>();
function sharedReader(path: string): Reader<MmdbRecord> {
  let r = readers.get(path);
  if (!r) readers.set(path, (r = openMmdb(path)));
  return r;
}
/**
 * An MMDB file read into memory. The `maxmind` package is loaded here, on first use, not at import:
 * it costs ~20 ms of start-up, and a run that never looks an address up (`flows --format summary`,
 * a capture of private addresses only) does not need it.
 */
function openMmdb(path: string): Reader<MmdbRecord> {
  const { Reader: MmdbReader } = require("maxmind") as typeof import("maxmind");
  return new MmdbReader<MmdbRecord>(readFileSync(path));
}
function sharedAsnCsv(v4: string, v6: string | null): AsnCsv {
  const key = `${v4}\0${v6 ?? ""}`;
  let t = asnTables.get(key);
  if (!t) asnTables.set(key, (t = new AsnCsv(v4, v6)));
  return t;
}

/**
 * One family's AS table from the CSV package, parsed from the file's bytes: no string per line, no
 * name string until a lookup needs it (names are kept as byte ranges of the file and decoded once
 * each, on first use). Rows are [start, end, asn, name], sorted by start. Cost: one pass over the
 * file (IPv4 21 MB, 412 k rows; IPv6 9 MB, 103 k rows), typed arrays of 16-24 bytes per row plus
 * the file's bytes.
 */
class AsnTable {
  readonly S: Uint32Array | Float64Array;
  readonly E: Uint32Array | Float64Array;
  readonly A: Uint32Array;
  private readonly nameAt: Uint32Array;
  private readonly nameLen: Uint16Array;
  private readonly names = new Map<number, string>();
  readonly rows: number;

  constructor(private readonly bytes: Buffer, v6: boolean) {
    const b = bytes, len = b.length;
    let count = 1;
    for (let q = b.indexOf(10); q >= 0; q = b.indexOf(10, q + 1)) count++;
    const S = v6 ? new Float64Array(count) : new Uint32Array(count);
    const E = v6 ? new Float64Array(count) : new Uint32Array(count);
    const A = new Uint32Array(count), at = new Uint32Array(count), nl = new Uint16Array(count);
    let n = 0;
    // Per line: the three numeric fields are read byte by byte up to the third comma; the rest
    // (the name) is skipped with a native newline search.
    for (let from = 0; from < len;) {
      let to = b.indexOf(10, from);
      if (to < 0) to = len;
      let i = from, f = 0, v = 0, s0 = from, s1 = from;
      for (; i < to && f < 3; i++) {
        const c = b[i]!;
        if (c !== 44) {
          if (!v6) { const d = c - 48; if (d >= 0 && d <= 9) v = v * 10 + d; }
          continue;
        }
        if (v6) {
          if (f === 0) S[n] = top52Bytes(b, from, i), s0 = i + 1;
          else if (f === 1) E[n] = top52Bytes(b, s0, i), s1 = i + 1;
          else A[n] = decimal(b, s1, i);
        } else if (f === 0) S[n] = v;
        else if (f === 1) E[n] = v;
        else A[n] = v;
        f++; v = 0;
      }
      if (f === 3) {
        at[n] = i;
        nl[n] = Math.min(0xffff, to - i);
        n++;
      }
      from = to + 1;
    }
    this.S = S.subarray(0, n); this.E = E.subarray(0, n); this.A = A.subarray(0, n);
    this.nameAt = at; this.nameLen = nl;
    this.rows = n;
  }

  /** Row whose range holds `key` (IPv4 value, or IPv6 top 52 bits), or -1. */
  find(key: number): number {
    const S = this.S;
    let lo = 0, hi = S.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (S[mid]! <= key) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found < 0 || this.E[found]! < key ? -1 : found;
  }

  /** The AS name of row `i`: trimmed, a quoted CSV field unquoted ("" → "). */
  name(i: number): string {
    let s = this.names.get(i);
    if (s === undefined) {
      const at = this.nameAt[i]!;
      s = this.bytes.toString("latin1", at, at + this.nameLen[i]!).trim();
      if (s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1).replace(/""/g, '"');
      this.names.set(i, s);
    }
    return s;
  }
}

/** Unsigned decimal digits of b[from, to) (other bytes skipped: a trailing \r, spaces). */
function decimal(b: Uint8Array, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const d = b[i]! - 48;
    if (d >= 0 && d <= 9) v = v * 10 + d;
  }
  return v;
}

/** Top 52 bits of an IPv6 address written as text in b[from, to) (groups 0-2, high nibble of group 3). */
function top52Bytes(b: Uint8Array, from: number, to: number): number {
  // Groups before "::" go from the left, groups after it from the right.
  const g = [0, 0, 0, 0, 0, 0, 0, 0];
  let head = 0, tail: number[] | null = null, cur = 0, digits = 0;
  for (let i = from; i <= to; i++) {
    const c = i < to ? b[i]! : 58;
    if (c === 58) {
      if (digits > 0) {
        if (tail === null) { if (head < 8) g[head++] = cur; } else tail.push(cur);
      } else if (i + 1 < to && b[i + 1] === 58 && tail === null) tail = [];
      cur = 0; digits = 0;
      continue;
    }
    const h = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (h < 0) continue;
    cur = cur * 16 + h; digits++;
  }
  if (tail !== null) for (let k = 0; k < tail.length && 8 - tail.length + k >= head; k++) g[8 - tail.length + k] = tail[k]!;
  return g[0]! * 2 ** 36 + g[1]! * 2 ** 20 + g[2]! * 2 ** 4 + (g[3]! >> 12);
}

/** ASN tables from the CSV package, per family, each read on its first lookup. */
class AsnCsv {
  private t4: AsnTable | null | undefined;
  private t6: AsnTable | null | undefined;
  constructor(private readonly v4: string, private readonly v6: string | null) {}

  /** Both families' tables loaded now (each is otherwise read on its first lookup). */
  warm(): void {
    this.table4();
    this.table6();
  }

  /** Which tables are loaded. */
  loaded(): { v4: boolean; v6: boolean } {
    return { v4: this.t4 !== undefined, v6: this.t6 !== undefined };
  }

  private table4(): AsnTable | null {
    if (this.t4 === undefined) this.t4 = new AsnTable(readFileSync(this.v4), false);
    return this.t4;
  }

  private table6(): AsnTable | null {
    if (this.t6 === undefined) this.t6 = this.v6 !== null && existsSync(this.v6) ? new AsnTable(readFileSync(this.v6), true) : null;
    return this.t6;
  }

  lookup(a: ipaddr.IPv4 | ipaddr.IPv6): { asn: number; name: string } | null {
    let key: number, t: AsnTable | null;
    if (a.kind() === "ipv4") {
      t = this.table4();
      const b = a.toByteArray();
      key = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    } else {
      t = this.table6();
      key = top52(a.toNormalizedString());
    }
    if (t === null) return null;
    const i = t.find(key);
    return i < 0 ? null : { asn: t.A[i]!, name: t.name(i) };
  }
}

type MmdbRecord = Record<string, unknown>;

export class GeoLookup {
  // The default country database is opened on the first lookup of a global address (undefined
  // until then); a user's files (--geoip-db, --asn-db) at construction, so a bad one fails at start.
  private countryDb: Reader<MmdbRecord> | null | undefined;
  private readonly asnMmdb: Reader<MmdbRecord> | null;
  private asnCsv: AsnCsv | null | undefined;
  // Two generations (at most 2 × cacheSize addresses): a full current generation becomes the old
  // one and a hit there is moved back. O(1) per lookup; Map.keys().next() eviction of the oldest
  // entry is not, in JSC, once many entries were deleted (measured: 1 M flows 24.8 s against 5 s).
  private cache = new Map<string, GeoInfo>();
  private old = new Map<string, GeoInfo>();
  private readonly cacheSize: number;
  readonly countrySource: string | null;
  readonly asnSource: string | null;

  /** Opens a user's databases now (a missing or unreadable file throws, naming it); the defaults on first use. */
  constructor(config: GeoConfig = {}) {
    this.cacheSize = config.cacheSize ?? 65_536;
    const cpath = config.geoipDb ?? pkgFile("@ip-location-db/geo-whois-asn-country-mmdb", "geo-whois-asn-country.mmdb");
    this.countrySource = cpath !== null && existsSync(cpath) ? cpath : null;
    if (config.geoipDb !== undefined) {
      if (this.countrySource === null) throw new Error(`cannot read GeoIP database ${config.geoipDb}`);
      this.countryDb = sharedReader(this.countrySource);
    } else if (this.countrySource === null) this.countryDb = null;
    if (config.asnDb !== undefined) {
      this.asnMmdb = openMmdb(config.asnDb);
      this.asnSource = config.asnDb;
      this.asnCsv = null;
    } else {
      this.asnMmdb = null;
      const v4 = pkgFile("@ip-location-db/asn", "asn-ipv4-num.csv");
      this.asnSource = v4 !== null && existsSync(v4) ? v4 : null;
    }
  }

  private get country(): Reader<MmdbRecord> | null {
    if (this.countryDb === undefined) this.countryDb = this.countrySource !== null ? sharedReader(this.countrySource) : null;
    return this.countryDb;
  }

  private csv(): AsnCsv | null {
    if (this.asnCsv === undefined) {
      const v4 = this.asnSource;
      this.asnCsv = v4 !== null ? sharedAsnCsv(v4, pkgFile("@ip-location-db/asn", "asn-ipv6.csv")) : null;
    }
    return this.asnCsv;
  }

  /**
   * Loads the default databases now instead of on the first lookup of a global address (the country
   * MMDB, both AS tables: ~0.1-0.3 s). serve calls it before a live capture or a collector starts,
   * so that first lookup does not hold the packet loop meanwhile.
   */
  warm(): void {
    void this.country;
    this.csv()?.warm();
  }

  /** Which default databases are loaded (a user's files are opened at construction). */
  loaded(): { country: boolean; asn_v4: boolean; asn_v6: boolean } {
    const t = this.asnCsv?.loaded() ?? { v4: false, v6: false };
    return { country: this.countryDb !== undefined, asn_v4: t.v4, asn_v6: t.v6 };
  }

  /** Country, AS and special-range label of an address given as text. */
  lookup(addr: string): GeoInfo {
    const hit = this.cache.get(addr);
    if (hit !== undefined) return hit;
    const aged = this.old.get(addr);
    if (aged !== undefined) {
      this.remember(addr, aged);
      return aged;
    }
    const info: GeoInfo = { country: null, asn: null, as_name: null, special: specialRange(addr) };
    if (info.special === null) {
      let a: ipaddr.IPv4 | ipaddr.IPv6 | null = null;
      try { a = ipaddr.parse(addr); } catch { a = null; }
      if (a !== null) {
        const text = a.toString();
        try {
          const c = this.country?.get(text) ?? null;
          if (c !== null) {
            const cc = (c.country_code ?? (c.country as MmdbRecord | undefined)?.iso_code ?? (c.registered_country as MmdbRecord | undefined)?.iso_code) as string | undefined;
            if (typeof cc === "string" && /^[A-Za-z]{2}$/.test(cc)) info.country = cc.toUpperCase();
          }
          if (this.asnMmdb !== null) {
            const r = this.asnMmdb.get(text);
            if (r) {
              const n = r.autonomous_system_number, o = r.autonomous_system_organization;
              if (typeof n === "number") info.asn = n;
              if (typeof o === "string") info.as_name = o;
            }
          } else {
            const r = this.csv()?.lookup(a) ?? null;
            if (r !== null) { info.asn = r.asn; info.as_name = r.name || null; }
          }
        } catch {
          /* a damaged database answers nothing for this address */
        }
      }
    }
    this.remember(addr, info);
    return info;
  }

  private remember(addr: string, info: GeoInfo): void {
    if (this.cache.size >= this.cacheSize) {
      this.old = this.cache;
      this.cache = new Map();
    }
    this.cache.set(addr, info);
  }
}
