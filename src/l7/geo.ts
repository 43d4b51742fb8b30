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
 *   redistributable licence is on npm): its `asn-ipv4-num.csv` / `asn-ipv6-num.csv` are loaded on
 *   first use into sorted typed arrays (IPv6 ranges by their top 64 bits) and binary-searched.
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
 * process, each engine Worker restart): the AS CSV takes 0.4 s (IPv4) to 2.5 s (IPv6) to load.
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

/** ASN tables from the CSV package: [start, end, asn, name] per line, sorted by start. */
class AsnCsv {
  private s4: Uint32Array = new Uint32Array(0); private e4: Uint32Array = new Uint32Array(0); private a4: Uint32Array = new Uint32Array(0); private n4: Uint32Array = new Uint32Array(0);
  private s6: Float64Array = new Float64Array(0); private e6: Float64Array = new Float64Array(0); private a6: Uint32Array = new Uint32Array(0); private n6: Uint32Array = new Uint32Array(0);
  private readonly names: string[] = [];

  constructor(v4: string, v6: string | null) {
    const nameIdx = new Map<string, number>();
    const nameOf = (s: string) => {
      let i = nameIdx.get(s);
      if (i === undefined) { i = this.names.length; this.names.push(s); nameIdx.set(s, i); }
      return i;
    };
    const load = (path: string, v6: boolean) => {
      const text = readFileSync(path, "latin1");
      // Line by line without an array of every line (that array alone was tens of MB at peak).
      let count = 1;
      for (let q = text.indexOf("\n"); q >= 0; q = text.indexOf("\n", q + 1)) count++;
      const S = v6 ? new Float64Array(count) : new Uint32Array(count);
      const E = v6 ? new Float64Array(count) : new Uint32Array(count);
      const A = new Uint32Array(count), N = new Uint32Array(count);
      let n = 0;
      for (let from = 0; from < text.length;) {
        let to = text.indexOf("\n", from);
        if (to < 0) to = text.length;
        const line = text.slice(from, to);
        from = to + 1;
        const c1 = line.indexOf(","), c2 = line.indexOf(",", c1 + 1), c3 = line.indexOf(",", c2 + 1);
        if (c1 < 0 || c2 < 0 || c3 < 0) continue;
        let name = line.slice(c3 + 1).trim();
        if (name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1).replace(/""/g, '"');
        if (v6) {
          S[n] = top52(line.slice(0, c1));
          E[n] = top52(line.slice(c1 + 1, c2));
        } else {
          S[n] = Number(line.slice(0, c1));
          E[n] = Number(line.slice(c1 + 1, c2));
        }
        A[n] = Number(line.slice(c2 + 1, c3));
        N[n] = nameOf(name);
        n++;
      }
      return [S.subarray(0, n), E.subarray(0, n), A.subarray(0, n), N.subarray(0, n)] as const;
    };
    this.load4 = () => { [this.s4, this.e4, this.a4, this.n4] = load(v4, false) as [Uint32Array, Uint32Array, Uint32Array, Uint32Array]; };
    this.load6 = () => { if (v6 !== null && existsSync(v6)) [this.s6, this.e6, this.a6, this.n6] = load(v6, true) as [Float64Array, Float64Array, Uint32Array, Uint32Array]; };
  }
  // Each family's table is read on its first lookup (IPv4 ≈ 0.4 s, IPv6 ≈ 2.5 s on this machine).
  private load4: (() => void) | null;
  private load6: (() => void) | null;

  lookup(a: ipaddr.IPv4 | ipaddr.IPv6): { asn: number; name: string } | null {
    let key: number, S: ArrayLike<number>, E: ArrayLike<number>, A: Uint32Array, N: Uint32Array;
    if (a.kind() === "ipv4") {
      if (this.load4 !== null) { this.load4(); this.load4 = null; }
      const b = a.toByteArray();
      key = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
      S = this.s4; E = this.e4; A = this.a4; N = this.n4;
    } else {
      if (this.load6 !== null) { this.load6(); this.load6 = null; }
      key = top52(a.toNormalizedString());
      S = this.s6; E = this.e6; A = this.a6; N = this.n6;
    }
    let lo = 0, hi = S.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (S[mid]! <= key) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    if (found < 0 || E[found]! < key) return null;
    return { asn: A[found]!, name: this.names[N[found]!] ?? "" };
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
