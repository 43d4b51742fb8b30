/**
 * FlowAnnotator: wires the application-layer work (src/l7) into a FlowEngine, for `serve`
 * (EngineHost) and `flows --read` alike.
 *
 * - The FlowInspector runs as the engine's per-packet hook (app, app_source, server_name).
 * - This thread's extras resolver (flows/extras.ts) answers records, row writers and query terms:
 *   live slots from the inspector, passive DNS (names of both ends) and GeoLookup (country / AS of
 *   both ends, cached per address, never per packet); recently-ended flows from the ring's side
 *   columns, filled when they ended; batches for the sinks carry the same (EndedBatch.side).
 * - Active-timeout segments: the decision of a flow that ended by active timeout is kept (bounded
 *   map by key, at most CARRY_MAX) and handed to the next segment of the same key on its first
 *   packet, so it is not inspected again (its first packets are mid-stream) and keeps its name.
 * - `attach()` (after every reader's onEnded) releases the inspection record of each ended flow.
 *
 * Bounds: names ≤ 253 characters (the inspector's and passive DNS's rule), AS names cut to 128.
 */
import { EndReason, KEY_WORDS, type FlowColumns } from "../flows/columns.ts";
import type { FlowEngine, FlowPacketHook } from "../flows/engine.ts";
import { clearExtrasResolver, NO_EXTRAS, setExtrasResolver, type ExtrasResolver, type FlowExtras } from "../flows/extras.ts";
import { addrText } from "../flows/record.ts";
import { REC_U32, U_PKTS } from "../flows/columns.ts";
import type { DecodedPacket } from "../capture/packet.ts";
import { APP_NAMES } from "./apps.ts";
import { GeoLookup, type GeoConfig, type GeoInfo } from "./geo.ts";
import { FlowInspector } from "./inspector.ts";

export interface AnnotateConfig extends GeoConfig {
  /** Country/AS lookups (default true; `false` leaves them null). */
  geo?: boolean;
  /** Keep extras beside the recently-ended list (serve: true; `flows --read` reads flows as they end: false). */
  ring?: boolean;
  maxInspected?: number;
}

const CARRY_MAX = 65_536;
const AS_NAME_MAX = 128;

interface Carried {
  app: number;
  byPort: boolean;
  name: string | null;
}

const APP_ID = new Map<string, number>(APP_NAMES.map((n, i) => [n, i]));

export class FlowAnnotator implements FlowPacketHook, ExtrasResolver {
  readonly inspector: FlowInspector;
  readonly geo: GeoLookup | null;
  private readonly cols: FlowColumns;
  private readonly carry = new Map<string, Carried>();
  carried = 0;

  constructor(private readonly engine: FlowEngine, config: AnnotateConfig = {}) {
    this.cols = engine.table.cols;
    this.inspector = new FlowInspector(engine.table, { maxInspected: config.maxInspected });
    this.geo = config.geo === false ? null : new GeoLookup(config);
    engine.setHook(this);
    engine.keepExtras((c, i) => this.extras(c, i), config.ring ?? true);
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
    if (this.carry.size === 0) return;
    const u = this.cols.u32, o = slot * REC_U32 + U_PKTS;
    if (u[o]! + u[o + 1]! !== 1) return;
    const k = this.keyText(slot);
    const c = this.carry.get(k);
    if (c === undefined) return;
    this.carry.delete(k);
    this.inspector.adopt(slot, c.app, c.byPort, c.name);
    this.carried++;
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
      const r = this.inspector.result(i);
      if (r.app !== null || r.server_name !== null) {
        this.carry.set(this.keyText(i), { app: APP_ID.get(r.app ?? "") ?? 0, byPort: r.app_source === "port", name: r.server_name });
        if (this.carry.size > CARRY_MAX) this.carry.delete(this.carry.keys().next().value!);
      }
    }
    this.inspector.release(i);
  }

  extras(c: FlowColumns, i: number): FlowExtras {
    if (c === this.cols) return this.live(c, i);
    if (c === this.engine.recent.cols) return this.engine.recent.extrasAt(i);
    return NO_EXTRAS;
  }

  private live(c: FlowColumns, i: number): FlowExtras {
    const v6 = c.ipVersion(i) === 6;
    const sa = addrText(c.key, c.srcAddrOff(i), v6);
    const da = addrText(c.key, c.dstAddrOff(i), v6);
    const captured = c.origin(i) === 0;
    const r = captured ? this.inspector.result(i) : null;
    const pdns = this.inspector.passiveDns;
    const now = this.engine.now;
    const sg = this.geoOf(sa), dg = this.geoOf(da);
    return {
      app: r?.app ?? null,
      app_source: r?.app_source ?? null,
      server_name: r?.server_name ?? null,
      src_name: pdns.name(sa, now),
      dst_name: pdns.name(da, now),
      src_country: sg === null ? null : sg.country ?? sg.special,
      dst_country: dg === null ? null : dg.country ?? dg.special,
      src_asn: sg?.asn ?? null,
      dst_asn: dg?.asn ?? null,
      src_as_name: sg === null ? null : asName(sg),
      dst_as_name: dg === null ? null : asName(dg),
    };
  }

  private geoOf(addr: string): GeoInfo | null {
    return this.geo === null ? null : this.geo.lookup(addr);
  }
}

function asName(g: GeoInfo): string | null {
  const n = g.as_name;
  return n === null || n.length <= AS_NAME_MAX ? n : n.slice(0, AS_NAME_MAX);
}
