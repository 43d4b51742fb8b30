/**
 * Per-flow extras that do not live in the flow table's 104-byte slot: the application protocol and
 * server name (src/l7 FlowInspector), passive-DNS names of both ends, and country / AS of both ends
 * (src/l7 GeoLookup). Records (record.ts), the column row writers (format/rows.ts) and the query
 * predicates (query-compile.ts) read them through this thread's resolver, set once by whoever runs
 * the engine (EngineHost, `flows --read`: src/l7/annotate.ts). Without a resolver every extra is null.
 *
 * Ended flows carry them in `FlowSide` columns next to the slot layout: the recently-ended ring
 * keeps one FlowSide parallel to its slots, and every ended-flow batch carries one (EndedBatch.side)
 * so the store and the exporters receive what the engine knew when the flow ended.
 */
import type { FlowColumns } from "./columns.ts";
import { communityId } from "./community-id.ts";

export type AppSourceName = "payload" | "port";

export interface FlowExtras {
  app: string | null;
  app_source: AppSourceName | null;
  server_name: string | null;
  src_name: string | null;
  dst_name: string | null;
  /** ISO 3166-1 alpha-2 code, or a special-range label (private, loopback, …), or null. */
  src_country: string | null;
  dst_country: string | null;
  src_asn: number | null;
  dst_asn: number | null;
  src_as_name: string | null;
  dst_as_name: string | null;
}

export const NO_EXTRAS: FlowExtras = Object.freeze({
  app: null, app_source: null, server_name: null, src_name: null, dst_name: null, src_country: null,
  dst_country: null, src_asn: null, dst_asn: null, src_as_name: null, dst_as_name: null,
});

export interface ExtrasResolver {
  /** The extras of slot i of `c` (the live table, the recently-ended ring, or any other columns: NO_EXTRAS). */
  extras(c: FlowColumns, i: number): FlowExtras;
}

let resolver: ExtrasResolver | null = null;

/** Set (or clear) this thread's resolver. */
export function setExtrasResolver(r: ExtrasResolver | null): void {
  resolver = r;
}

/** Clear the resolver if it is still `r`. */
export function clearExtrasResolver(r: ExtrasResolver): void {
  if (resolver === r) resolver = null;
}

/** The extras of slot i of `c` in this thread. */
export function extrasOf(c: FlowColumns, i: number): FlowExtras {
  return resolver === null ? NO_EXTRAS : resolver.extras(c, i);
}

/**
 * Extras of ended flows in columns: ints (app id, app source, ASNs) and strings (app, names,
 * countries, AS names) per flow. Structured-clonable (a batch's side goes to the store Worker).
 */
export interface FlowSideData {
  count: number;
  /** Per flow SIDE_NUMS numbers: src_asn, dst_asn, exporter_domain (−1 = null). */
  asn: Float64Array;
  /** Per flow SIDE_STRS strings: app, app_source, server_name, src_name, dst_name, src_country, dst_country, src_as_name, dst_as_name, exporter. */
  strs: (string | null)[];
}

export const SIDE_STRS = 10;
export const SIDE_NUMS = 3;

export class FlowSide {
  asn: Float64Array;
  strs: (string | null)[];

  constructor(readonly capacity: number) {
    this.asn = new Float64Array(capacity * SIDE_NUMS);
    this.strs = new Array<string | null>(capacity * SIDE_STRS).fill(null);
  }

  static fromData(d: FlowSideData): FlowSide {
    const s = Object.create(FlowSide.prototype) as FlowSide;
    (s as { capacity: number }).capacity = d.count;
    s.asn = d.asn;
    s.strs = d.strs;
    return s;
  }

  /** Flow j's extras, and its exporter (null: our capture) and observation domain. */
  put(j: number, x: FlowExtras, exporter: string | null = null, domain: number | null = null): void {
    const a = this.asn, n = j * SIDE_NUMS;
    a[n] = x.src_asn ?? -1;
    a[n + 1] = x.dst_asn ?? -1;
    a[n + 2] = domain ?? -1;
    const o = j * SIDE_STRS, s = this.strs;
    s[o] = x.app; s[o + 1] = x.app_source; s[o + 2] = x.server_name; s[o + 3] = x.src_name; s[o + 4] = x.dst_name;
    s[o + 5] = x.src_country; s[o + 6] = x.dst_country; s[o + 7] = x.src_as_name; s[o + 8] = x.dst_as_name; s[o + 9] = exporter;
  }

  app(j: number): string | null {
    return this.strs[j * SIDE_STRS] ?? null;
  }

  serverName(j: number): string | null {
    return this.strs[j * SIDE_STRS + 2] ?? null;
  }

  exporter(j: number): string | null {
    return this.strs[j * SIDE_STRS + 9] ?? null;
  }

  domain(j: number): number | null {
    const d = this.asn[j * SIDE_NUMS + 2]!;
    return d < 0 ? null : d;
  }

  get(j: number): FlowExtras {
    const o = j * SIDE_STRS, s = this.strs;
    const sa = this.asn[j * SIDE_NUMS]!, da = this.asn[j * SIDE_NUMS + 1]!;
    return {
      app: s[o] ?? null, app_source: (s[o + 1] ?? null) as AppSourceName | null, server_name: s[o + 2] ?? null,
      src_name: s[o + 3] ?? null, dst_name: s[o + 4] ?? null, src_country: s[o + 5] ?? null, dst_country: s[o + 6] ?? null,
      src_asn: sa < 0 ? null : sa, dst_asn: da < 0 ? null : da, src_as_name: s[o + 7] ?? null, dst_as_name: s[o + 8] ?? null,
    };
  }

  /** The first `count` flows as plain data (copies). */
  data(count: number): FlowSideData {
    return { count, asn: this.asn.slice(0, count * SIDE_NUMS), strs: this.strs.slice(0, count * SIDE_STRS) };
  }
}

// ---- query terms over extras (query-compile.ts calls E(id, c, i)) ----

export type ExtraTerm =
  | { kind: "app"; app: string }
  | { kind: "name"; glob: string }
  | { kind: "country"; country: string }
  | { kind: "asn"; asn: number }
  | { kind: "community_id"; id: string };

/** `*` any run, `?` one character; case-insensitive; the whole name. */
export function globRegExp(glob: string): RegExp {
  const src = glob.toLowerCase().replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${src}$`, "i");
}

export function extraMatch(t: ExtraTerm, x: FlowExtras, re: RegExp | null): boolean {
  switch (t.kind) {
    case "app": return x.app === t.app;
    case "name":
      return (x.server_name !== null && re!.test(x.server_name)) || (x.src_name !== null && re!.test(x.src_name)) ||
        (x.dst_name !== null && re!.test(x.dst_name));
    case "country": return x.src_country === t.country || x.dst_country === t.country;
    case "asn": return x.src_asn === t.asn || x.dst_asn === t.asn;
    case "community_id": return false;
  }
}

const terms: { t: ExtraTerm; re: RegExp | null }[] = [];
const termIds = new Map<string, number>();

/** A matcher id for a term (stable for the process). */
export function extraMatcher(t: ExtraTerm): number {
  const key = JSON.stringify(t);
  const known = termIds.get(key);
  if (known !== undefined) return known;
  const id = terms.length;
  terms.push({ t, re: t.kind === "name" ? globRegExp(t.glob) : null });
  termIds.set(key, id);
  return id;
}

/** 1 when slot i of `c` matches term `id`, else 0. */
export function extraHit(id: number, c: FlowColumns, i: number): number {
  const m = terms[id]!;
  if (m.t.kind === "community_id") return communityId(c, i) === m.t.id ? 1 : 0;
  return extraMatch(m.t, extrasOf(c, i), m.re) ? 1 : 0;
}
