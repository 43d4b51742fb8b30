/**
 * Per-exporter state of the collector: counters for health and /metrics, and per observation
 * domain the template cache, the announced sampling rate, the time base of IPFIX uptime fields and
 * sequence tracking.
 *
 * Identity: an exporter is a source address; under it, a domain is the v9 source id, the IPFIX
 * observation domain id, or v5's engine type << 8 | engine id. Templates are scoped per domain and
 * per exporter source port (RFC 7011 §8: a template belongs to its transport session; over UDP that
 * is the exporter's address and port), so a restarted exporter on a new port starts with no
 * templates. Each (address, domain) pair gets a flow origin (origins.ts) that keeps its flows apart
 * in the table; records of one pair are paired into bidirectional flows.
 *
 * Bounds: at most 1024 exporters, 64 domains per exporter and 1024 templates per domain are kept
 * (datagrams beyond are refused and counted: `refused`, `domain_limit`, `template_limit`), so a
 * flood of spoofed sources cannot grow memory without end.
 *
 * Expiry: a template not refreshed for `templateTimeout` seconds (default 1800: 3 × the common 10 min
 * refresh, RFC 7011 §8.4 leaves the value to the collector) is forgotten — data for it then counts as
 * `unknown_template`. An exporter silent for `exporterTimeout` (default 3600 s) loses its templates
 * but keeps its counters (health still lists it with its last-seen time).
 */
import { MAX_ORIGINS, setOrigin } from "./origins.ts";

/** Reasons a datagram, set or record was refused (counted per exporter and in total). */
export const COLLECT_ERRORS = [
  "short_header", "bad_version", "bad_length", "bad_set_length", "bad_set_id", "bad_template",
  "unknown_template", "template_expired", "bad_record", "no_time_base", "domain_limit", "template_limit",
] as const;
export type CollectError = (typeof COLLECT_ERRORS)[number];

/** A template compiled for decoding: per field a kind (decode.ts K_*) and a length (0xffff = variable). */
export interface Template {
  id: number;
  kinds: Int32Array;
  lens: Int32Array;
  /** Smallest record length (a variable-length field counts 1): fewer bytes left in a set is padding. */
  minLen: number;
  /** An options template (sampling, system init time…): its records describe the exporter, not flows. */
  options: boolean;
  /** Wall-clock seconds of the last (re)announcement. */
  seen: number;
}

export interface DomainState {
  id: number;
  /** Flow origin (1..63) of this exporter/domain pair. */
  origin: number;
  /** Latest sampling rate announced by an options record or a v5 header (1 = not sampled). */
  sampling: number;
  /** IPFIX systemInitTimeMilliseconds from an options record (NaN while unknown): the base of uptime fields 21/22. */
  systemInitMs: number;
  /** Templates by (exporter source port << 16 | template id). */
  templates: Map<number, Template>;
  /** Sequence tracking: expected next sequence number (NaN before the first message), and gaps. */
  nextSeq: number;
  /** v5 and IPFIX: records the exporter numbered but we never received; v9: export packets missed. */
  lost: number;
  lastSeen: number;
}

export interface ExporterStats {
  /** Exporter address. */
  address: string;
  /** Export versions seen (5, 9, 10). */
  versions: number[];
  /** Export datagrams received. */
  packets: number;
  /** Flow records decoded (options records not included). */
  records: number;
  /** Packets and bytes those records carry, after sampling scaling. */
  flow_packets: number;
  flow_bytes: number;
  /** Errors by reason (datagrams, sets or records refused), and their sum. */
  errors: number;
  error_reasons: Record<string, number>;
  /** Data records that carry no IP addresses (options-like or layer-2 templates): skipped, not errors. */
  skipped_records: number;
  /** Records (v5, IPFIX) or datagrams (v9) missing from the sequence numbers. */
  lost: number;
  /** Highest sampling rate in effect over its domains (1 = not sampled). */
  sampling_rate: number;
  /** Last datagram, seconds since the epoch. */
  last_seen: number;
  domains: { id: number; templates: number; sampling_rate: number; lost: number; last_seen: number }[];
}

export class ExporterState {
  readonly versions = new Set<number>();
  packets = 0;
  records = 0;
  flowPackets = 0;
  flowBytes = 0;
  errors = 0;
  skipped = 0;
  readonly reasons = new Map<string, number>();
  lastSeen = 0;
  readonly domains = new Map<number, DomainState>();

  constructor(
    readonly address: string,
    /** The address in the flow table's word layout. */
    readonly ipVersion: 4 | 6,
    readonly words: Int32Array,
    private readonly registry: ExporterRegistry,
  ) {}

  /** The domain's state, created on first sight; null beyond the registry's domains-per-exporter limit. */
  domain(id: number, now: number): DomainState | null {
    let d = this.domains.get(id);
    if (!d) {
      if (this.domains.size >= this.registry.maxDomains) return null;
      d = { id, origin: 0, sampling: 1, systemInitMs: NaN, templates: new Map(), nextSeq: NaN, lost: 0, lastSeen: now };
      this.domains.set(id, d);
      d.origin = this.registry.assignOrigin(this, d);
    } else if (d.origin === 0) {
      d.origin = this.registry.assignOrigin(this, d); // its origin went to another pair meanwhile
    }
    d.lastSeen = now;
    return d;
  }

  error(reason: CollectError): void {
    this.errors++;
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
    this.registry.errorCount(reason);
  }

  stats(): ExporterStats {
    let sampling = 1, lost = 0;
    const domains: ExporterStats["domains"] = [];
    for (const d of this.domains.values()) {
      sampling = Math.max(sampling, d.sampling);
      lost += d.lost;
      domains.push({ id: d.id, templates: d.templates.size, sampling_rate: d.sampling, lost: d.lost, last_seen: d.lastSeen });
    }
    return {
      address: this.address, versions: [...this.versions].sort((a, b) => a - b), packets: this.packets, records: this.records,
      flow_packets: this.flowPackets, flow_bytes: this.flowBytes, errors: this.errors, error_reasons: Object.fromEntries(this.reasons),
      skipped_records: this.skipped, lost, sampling_rate: sampling, last_seen: this.lastSeen, domains,
    };
  }
}

/** Address text as a socket reports it → flow-table words (IPv4-mapped IPv6 becomes IPv4). */
export function addressWords(text: string): { ipVersion: 4 | 6; words: Int32Array; address: string } {
  const w = new Int32Array(4);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  const v4 = mapped ? mapped[1]! : text;
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(v4);
  if (m) {
    w[0] = (Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4]);
    return { ipVersion: 4, words: w, address: v4 };
  }
  // IPv6: expand "::" and read 8 groups.
  const [head, tail] = text.includes("::") ? text.split("::") as [string, string] : [text, ""];
  const hs = head ? head.split(":") : [];
  const ts = tail ? tail.split(":") : [];
  const groups = [...hs, ...new Array<string>(Math.max(0, 8 - hs.length - ts.length)).fill("0"), ...ts].map((g) => parseInt(g, 16) || 0);
  for (let i = 0; i < 4; i++) w[i] = (groups[i * 2]! << 16) | groups[i * 2 + 1]!;
  return { ipVersion: 6, words: w, address: text.toLowerCase() };
}

export interface ExporterRegistryConfig {
  templateTimeout?: number;
  exporterTimeout?: number;
  /** Memory bounds against a flood of spoofed sources: exporters (default 1024), domains per exporter (64), templates per domain (1024). */
  maxExporters?: number;
  maxDomains?: number;
  maxTemplates?: number;
}

export class ExporterRegistry {
  readonly exporters = new Map<string, ExporterState>();
  readonly templateTimeout: number;
  readonly exporterTimeout: number;
  /** Totals over every exporter. */
  readonly reasons = new Map<string, number>();
  /** Origins reused for a new exporter/domain pair because all 63 were taken. */
  originsReused = 0;
  private readonly byOrigin: (DomainState | null)[] = new Array<DomainState | null>(MAX_ORIGINS + 1).fill(null);

  readonly maxExporters: number;
  readonly maxDomains: number;
  readonly maxTemplates: number;
  /** Datagrams from new exporters refused because maxExporters were known already. */
  refused = 0;

  constructor(config: ExporterRegistryConfig = {}) {
    this.templateTimeout = config.templateTimeout ?? 1800;
    this.exporterTimeout = config.exporterTimeout ?? 3600;
    this.maxExporters = config.maxExporters ?? 1024;
    this.maxDomains = config.maxDomains ?? 64;
    this.maxTemplates = config.maxTemplates ?? 1024;
  }

  /** The exporter's state, created on first sight; null beyond maxExporters (the datagram is refused and counted). */
  exporter(address: string): ExporterState | null {
    let e = this.exporters.get(address);
    if (!e) {
      if (this.exporters.size >= this.maxExporters) {
        this.refused++;
        return null;
      }
      const a = addressWords(address);
      e = new ExporterState(a.address, a.ipVersion, a.words, this);
      this.exporters.set(address, e);
    }
    return e;
  }

  errorCount(reason: string): void {
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
  }

  /** An origin for a new exporter/domain pair: a free one, else the least recently seen pair's. */
  assignOrigin(e: ExporterState, d: DomainState): number {
    let tag = 0;
    for (let t = 1; t <= MAX_ORIGINS; t++) {
      if (this.byOrigin[t] === null) {
        tag = t;
        break;
      }
    }
    if (tag === 0) {
      let oldest = Infinity;
      for (let t = 1; t <= MAX_ORIGINS; t++) {
        const o = this.byOrigin[t]!;
        if (o.lastSeen < oldest) {
          oldest = o.lastSeen;
          tag = t;
        }
      }
      this.byOrigin[tag]!.origin = 0;
      this.originsReused++;
    }
    this.byOrigin[tag] = d;
    setOrigin(tag, e.ipVersion, e.words, d.id, e.address);
    return tag;
  }

  /** Forget expired templates and the templates of silent exporters (once a second is plenty). */
  sweep(now: number): void {
    for (const e of this.exporters.values()) {
      for (const d of e.domains.values()) {
        if (now - d.lastSeen > this.exporterTimeout) {
          d.templates.clear();
          continue;
        }
        for (const [k, t] of d.templates) if (now - t.seen > this.templateTimeout) d.templates.delete(k);
      }
    }
  }

  stats(): ExporterStats[] {
    return [...this.exporters.values()].map((e) => e.stats());
  }
}
