/**
 * FlowAnnotator: wires the application-layer work (src/l7) into a FlowEngine, for `serve`
 * (EngineHost) and `flows --read` alike.
 *
 * - The FlowInspector runs as the engine's per-packet hook (app, app_source, server_name).
 * - This thread's extras resolver (flows/table/extras.ts) answers records, row writers and query terms:
 *   live slots from the inspector, passive DNS (names of both ends) and GeoLookup (country / AS of
 *   both ends, never per packet: IPv4 special ranges answered by prefix, global addresses cached per address); recently-ended flows from the ring's side
 *   columns, filled when they ended; batches for the sinks carry the same (EndedBatch.side).
 * - Active-timeout segments: the decision of a flow that ended by active timeout is kept (bounded
 *   map by key, at most CARRY_MAX) and handed to the next segment of the same key on its first
 *   packet, so it is not inspected again (its first packets are mid-stream) and keeps its name.
 * - `attach()` (after every reader's onEnded) releases the inspection record of each ended flow.
 *
 * Bounds: names ≤ 253 characters (the inspector's and passive DNS's rule), AS names cut to 128.
 */
import { EndReason, KEY_WORDS, type FlowColumns } from "../flows/table/columns.ts";
import type { FlowEngine, FlowPacketHook } from "../flows/engine.ts";
import { clearExtrasResolver, NO_EXTRAS, setExtrasResolver, type ExtrasResolver, type FlowExtras } from "../flows/table/extras.ts";
import { addrText } from "../flows/format/record.ts";
import { REC_U32, U_PKTS } from "../flows/table/columns.ts";
import type { DecodedPacket } from "../capture/packet.ts";
import { appIdOf } from "./apps.ts";
import type { BatchNames } from "../flows/sinks.ts";
import { GeoLookup, V4_MIXED, V4_PER_ADDRESS, v4Special, type GeoConfig, type GeoInfo, type V4Special } from "./geo.ts";
import { FlowInspector } from "./inspector.ts";

export interface AnnotateConfig extends GeoConfig {
  /** Country/AS lookups (default true; `false` leaves them null). */
  geo?: boolean;
  /** Keep extras beside the recently-ended list (serve: true; `flows --read` reads flows as they end: false). */
  ring?: boolean;
  maxInspected?: number;
}

const CARRY_MAX = 65_536;
/** Estimated bytes of one carried decision (Map entry, the key text of ~60 characters, the object). */
const CARRY_ENTRY_BYTES = 160;
const AS_NAME_MAX = 128;

interface Carried {
  app: number;
  byPort: boolean;
  name: string | null;
}

export class FlowAnnotator implements FlowPacketHook, ExtrasResolver {
  readonly inspector: FlowInspector;
  readonly geo: GeoLookup | null;
  private readonly cols: FlowColumns;
  private readonly carry = new Map<string, Carried>();
  /** carry.size, kept as a plain field: the packet path reads it for every packet (Map.size is a getter call). */
  private carrying = 0;
  carried = 0;

  constructor(private readonly engine: FlowEngine, config: AnnotateConfig = {}) {
    this.cols = engine.table.cols;
    this.inspector = new FlowInspector(engine.table, { maxInspected: config.maxInspected });
    this.geo = config.geo === false ? null : new GeoLookup(config);
    engine.setHook(this);
    engine.keepExtras((c, i) => this.extras(c, i), config.ring ?? true, (c, i, out, j) => this.namesInto(c, i, out, j));
    setExtrasResolver(this);
  }

  /** Release each ended flow's inspection record: call after every reader subscribed to onEnded. */
  attach(): this {
    this.engine.onEnded((c, i, reason) => this.ended(c, i, reason));
    return this;
  }

  /** Stop answering for this thread (tests; a new engine). */
  detach(): void {
    clearExtrasResolver(this);
  }

  onPacket(slot: number, p: DecodedPacket, buf: Uint8Array, off: number, caplen: number, ts: number): void {
    this.inspector.onPacket(slot, p, buf, off, caplen, ts);
    if (this.carrying === 0) return;
    const u = this.cols.u32, o = slot * REC_U32 + U_PKTS;
    if (u[o]! + u[o + 1]! !== 1) return;
    const k = this.keyText(slot);
    const c = this.carry.get(k);
    if (c === undefined) return;
    this.carry.delete(k);
    this.carrying = this.carry.size;
    this.inspector.adopt(slot, c.app, c.byPort, c.name);
    this.carried++;
  }

  /** Bytes held for the table's flows: the inspector's, and the decisions carried across active-timeout segments (estimated). */
  byteSize(): number {
    return this.inspector.byteSize() + this.carry.size * CARRY_ENTRY_BYTES;
  }

  private keyText(slot: number): string {
    const key = this.cols.key, b = slot * KEY_WORDS;
    let s = "";
    for (let w = 0; w < KEY_WORDS; w++) s += key[b + w]! + ",";
    return s;
  }

  private ended(c: FlowColumns, i: number, reason: number): void {
    if (c !== this.cols) return;
    if (reason === EndReason.active_timeout && c.origin(i) === 0) {
      const ins = this.inspector;
      const app = ins.appId(i), name = ins.serverName(i);
      if (app !== 0 || name !== null) {
        this.carry.set(this.keyText(i), { app, byPort: app !== 0 && ins.appByPort, name });
        if (this.carry.size > CARRY_MAX) this.carry.delete(this.carry.keys().next().value!);
        this.carrying = this.carry.size;
      }
    }
    this.inspector.release(i);
  }

  /**
   * Only the application id and server name of slot i, into a names-only batch (the IPFIX
   * exporter's: flows/sinks.ts BatchNames): the inspector's decision, without the passive-DNS and
   * country/AS lookups of extras() and without the application's string. Collected flows carry
   * neither; slots of another table (never the batcher's case) go through extras().
   */
  namesInto(c: FlowColumns, i: number, out: BatchNames, j: number): void {
    if (c === this.cols) {
      const own = c.origin(i) === 0;
      out.app[j] = own ? this.inspector.appId(i) : 0;
      out.server[j] = own ? this.inspector.serverName(i) : null;
      return;
    }
    const x = this.extras(c, i);
    out.app[j] = appIdOf(x.app);
    out.server[j] = x.server_name;
  }

  extras(c: FlowColumns, i: number): FlowExtras {
    if (c === this.cols) return this.live(c, i);
    if (c === this.engine.recent.cols) return this.engine.recent.extrasAt(i);
    return NO_EXTRAS;
  }

  /**
   * The extras of live slot i, in one reused object: every reader (toRecord, the row writers, query
   * terms, FlowSide.put) copies what it needs before the next call, so nothing is allocated per flow
   * here (measured: one object per flow cost ~200 MiB of RSS at 1 M flows, as garbage).
   */
  private live(c: FlowColumns, i: number): FlowExtras {
    const x = this.scratch;
    const v6 = c.ipVersion(i) === 6;
    const so = c.srcAddrOff(i), dOff = c.dstAddrOff(i);
    if (c.origin(i) === 0) {
      this.inspector.resultInto(i, x);
    } else {
      x.app = null;
      x.app_source = null;
      x.server_name = null;
    }
    const pdns = this.inspector.passiveDns;
    if (pdns.size === 0) {
      x.src_name = null;
      x.dst_name = null;
    } else {
      const now = this.engine.now;
      x.src_name = pdns.name(addrText(c.key, so, v6), now);
      x.dst_name = pdns.name(addrText(c.key, dOff, v6), now);
    }
    const sg = this.geoAt(c.key, so, v6), dg = this.geoAt(c.key, dOff, v6);
    x.src_country = sg === null ? null : sg.country ?? sg.special;
    x.dst_country = dg === null ? null : dg.country ?? dg.special;
    x.src_asn = sg === null ? null : sg.asn;
    x.dst_asn = dg === null ? null : dg.asn;
    x.src_as_name = sg === null ? null : asName(sg);
    x.dst_as_name = dg === null ? null : asName(dg);
    return x;
  }

  private readonly scratch: { -readonly [K in keyof FlowExtras]: FlowExtras[K] } = { ...NO_EXTRAS };
  // IPv4 lookups of global addresses cached by the key word (no address text on a hit); two generations of V4_CACHE.
  private v4 = new Map<number, GeoInfo>();
  private v4old = new Map<number, GeoInfo>();
  private readonly v6special = new Map<number, GeoInfo>();
  /** geo.ts's IPv4 special ranges by prefix (built on the first IPv4 lookup), and one GeoInfo per label code. */
  private v4table: V4Special | null = null;
  private readonly v4label: (GeoInfo | undefined)[] = [];
  private readonly directKey = new Int32Array(1 << DIRECT_BITS);
  private readonly directVal: (GeoInfo | undefined)[] = new Array<GeoInfo | undefined>(1 << DIRECT_BITS).fill(undefined);

  private geoAt(key: Int32Array, off: number, v6: boolean): GeoInfo | null {
    const geo = this.geo;
    if (geo === null) return null;
    if (v6) {
      // Unique-local fc00::/7, link-local fe80::/10, multicast ff00::/8 and documentation
      // 2001:db8::/32 are labelled by their prefix alone: one lookup per range, no text after it.
      const w0 = key[off]!, top = w0 >>> 16;
      const range = (top & 0xfe00) === 0xfc00 ? w0 & 0xfe000000 : (top & 0xffc0) === 0xfe80 ? w0 & 0xffc00000
        : (top & 0xff00) === 0xff00 ? w0 & 0xff000000 : w0 >>> 0 === 0x20010db8 ? w0 : 0;
      if (range !== 0) {
        let g = this.v6special.get(range);
        if (g === undefined) {
          g = geo.lookup(addrText(key, off, true));
          this.v6special.set(range, g);
        }
        return g;
      }
      return geo.lookup(addrText(key, off, true));
    }
    // A direct-mapped cache in front (one multiply, two loads on a hit: the path of repeated
    // global addresses, unchanged). On a miss, the special ranges by prefix (two loads at most),
    // never cached per address: a scan's unique private or benchmarking clients cost no Map work
    // (one GeoInfo per label, from geo.lookup of the first address met: the same answer as for any
    // address of the range). Then global addresses (and the broadcast /24): two generations, geo.lookup.
    const w = key[off]!;
    const h = Math.imul(w, 0x9e3779b1) >>> (32 - DIRECT_BITS);
    let g = this.directVal[h];
    if (g !== undefined && this.directKey[h] === w) return g;
    const t = this.v4table ?? (this.v4table = v4Special());
    let code = t.by16[w >>> 16]!;
    if (code >= V4_MIXED) code = t.by24[code - V4_MIXED]![(w >>> 8) & 255]!;
    if (code !== 0 && code !== V4_PER_ADDRESS) return this.v4label[code] ?? (this.v4label[code] = geo.lookup(addrText(key, off, false)));
    g = this.v4.get(w);
    if (g === undefined) {
      g = this.v4old.get(w) ?? geo.lookup(addrText(key, off, false));
      if (this.v4.size >= V4_CACHE) {
        this.v4old = this.v4;
        this.v4 = new Map();
      }
      this.v4.set(w, g);
    }
    this.directKey[h] = w;
    this.directVal[h] = g;
    return g;
  }
}

const V4_CACHE = 131_072;
const DIRECT_BITS = 16;

function asName(g: GeoInfo): string | null {
  const n = g.as_name;
  return n === null || n.length <= AS_NAME_MAX ? n : n.slice(0, AS_NAME_MAX);
}
