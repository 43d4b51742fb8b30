/**
 * Flow origins: where a flow in the table came from. Origin 0 is our own packet capture; origins
 * 1..63 are (exporter address, observation domain) pairs of the NetFlow/IPFIX collector.
 *
 * The origin lives in the flow key itself — bits 10-15 of the proto word (columns.ts PW_ORIGIN),
 * which were unused — so it costs no byte per flow slot, travels with every ended-flow batch and
 * the recently-ended ring, and keeps flows apart: the same 5-tuple seen by our capture and by two
 * routers is three flows, never one. The price is the width: at most 63 exporter/domain pairs have
 * an origin at a time (see ExporterRegistry: the least recently seen pair's origin is reused, and
 * counted, when a 64th appears).
 *
 * This module holds the origin → exporter table of this thread (the engine Worker, where the
 * collector runs and queries are evaluated) and the matchers the compiled query uses for
 * `exporter:ADDR[/PREFIX]`.
 */
export const MAX_ORIGINS = 63;

const version = new Uint8Array(MAX_ORIGINS + 1);
const words = new Int32Array((MAX_ORIGINS + 1) * 4);
const domains = new Float64Array(MAX_ORIGINS + 1);
const labels: (string | null)[] = new Array<string | null>(MAX_ORIGINS + 1).fill(null);
let generation = 0;

/** Bind origin `tag` (1..63) to an exporter address (flow-table words) and observation domain. */
export function setOrigin(tag: number, ipVersion: 4 | 6, addr: ArrayLike<number>, domain: number, label: string): void {
  version[tag] = ipVersion;
  for (let w = 0; w < 4; w++) words[tag * 4 + w] = addr[w] ?? 0;
  domains[tag] = domain;
  labels[tag] = label;
  generation++;
}

/** Forget every origin (tests; a new registry). */
export function clearOrigins(): void {
  version.fill(0);
  words.fill(0);
  domains.fill(0);
  labels.fill(null);
  generation++;
}

/** The exporter's address text of origin `tag`, or null for our capture (0) or an unbound origin. */
export function originExporter(tag: number): string | null {
  return labels[tag] ?? null;
}

/** The observation domain (v9 source id, IPFIX domain id, v5 engine type << 8 | engine id) of origin `tag`. */
export function originDomain(tag: number): number | null {
  return tag > 0 && labels[tag] ? domains[tag]! : null;
}

interface Matcher {
  version: 4 | 6;
  net: Int32Array;
  prefix: number;
  gen: number;
  hits: Uint8Array;
}
const matchers: Matcher[] = [];
const matcherIds = new Map<string, number>();

/** A matcher id for exporters inside `net/prefix` (words in the flow table's layout). */
export function exporterMatcher(ipVersion: 4 | 6, net: ArrayLike<number>, prefix: number): number {
  const key = `${ipVersion}/${Array.from({ length: 4 }, (_, w) => net[w] ?? 0).join(",")}/${prefix}`;
  const known = matcherIds.get(key);
  if (known !== undefined) return known;
  const id = matchers.length;
  const n = new Int32Array(4);
  for (let w = 0; w < 4; w++) n[w] = net[w] ?? 0;
  matchers.push({ version: ipVersion, net: n, prefix, gen: -1, hits: new Uint8Array(MAX_ORIGINS + 1) });
  matcherIds.set(key, id);
  return id;
}

/** 1 when origin `tag` is an exporter inside matcher `id`'s network, else 0 (our capture never matches). */
export function exporterHit(id: number, tag: number): number {
  const m = matchers[id]!;
  if (m.gen !== generation) {
    m.hits.fill(0);
    for (let t = 1; t <= MAX_ORIGINS; t++) {
      if (labels[t] === null || version[t] !== m.version) continue;
      let ok = true;
      for (let w = 0, bits = m.prefix; w < 4 && bits > 0; w++, bits -= 32) {
        const mask = bits >= 32 ? -1 : ~(-1 >>> bits);
        if (((words[t * 4 + w]! ^ m.net[w]!) & mask) !== 0) ok = false;
      }
      m.hits[t] = ok ? 1 : 0;
    }
    m.gen = generation;
  }
  return m.hits[tag]!;
}

/** A flow record's origin fields (for records, CSV and the API): from `FlowColumns.origin(i)`, in this thread. */
export function originFields(tag: number): { source: "capture" | "netflow"; exporter: string | null; exporter_domain: number | null } {
  if (tag === 0) return { source: "capture", exporter: null, exporter_domain: null };
  return { source: "netflow", exporter: originExporter(tag), exporter_domain: originDomain(tag) };
}

/** The origins bound now (for a thread without a collector, e.g. the history store's, to resolve ended-flow batches). */
export function originSnapshot(): { origin: number; exporter: string; domain: number }[] {
  const out: { origin: number; exporter: string; domain: number }[] = [];
  for (let t = 1; t <= MAX_ORIGINS; t++) {
    const l = labels[t];
    if (l) out.push({ origin: t, exporter: l, domain: domains[t]! });
  }
  return out;
}
