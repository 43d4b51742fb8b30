/**
 * The stored flows' extras (schema.ts migration 4): each distinct tuple (app, app_source,
 * server_name, src/dst name, country, ASN, AS name) is one row of `flow_extras`, each exporter and
 * observation domain one row of `flow_exporters`; a flow keeps their ids (`x`, `exp`) and the
 * Community ID's first 47 bits (`cid`). Ids are cached both ways in this thread (bounded).
 *
 * Pruning (migration 5): each row's `last_seg` is at least the number of every segment whose flows
 * use it — the first use of a row in a segment (a cache miss: the key caches are emptied when
 * inserts move to another segment) writes the segment's number. When retention drops a segment,
 * `pruneInterned` deletes the rows whose last_seg is below the oldest remaining segment (none of
 * those uses them) through the last_seg index: the cost is the rows deleted, not the table size.
 * Rows used only by flows that a lone oversized segment deleted one by one stay until that
 * segment goes (bounded by the distinct tuples of one segment). Cost on inserts: one upsert per
 * distinct tuple per segment (250 k flows or 1 h), as when the tuple was first seen.
 */
import type { Database } from "bun:sqlite";
import ipaddr from "ipaddr.js";
import { NO_EXTRAS, SIDE_NUMS, SIDE_STRS, type AppSourceName, type FlowExtras, type FlowSide } from "../flows/table/extras.ts";

const CACHE = 65_536;

/** The first 47 bits of a Community ID's hash ("1:" + base64 of the SHA-1), as a non-negative integer. */
export function cidBits(id: string): number {
  const b = Buffer.from(id.slice(2, 10), "base64");
  if (b.length < 6) return 0;
  return (b[0]! & 0x7f) * 2 ** 40 + b[1]! * 2 ** 32 + ((b[2]! << 24) >>> 0) + (b[3]! << 16) + (b[4]! << 8) + b[5]!;
}

function keyOf(x: FlowExtras): string | null {
  if (x.app === null && x.server_name === null && x.src_name === null && x.dst_name === null && x.src_country === null &&
    x.dst_country === null && x.src_asn === null && x.dst_asn === null && x.src_as_name === null && x.dst_as_name === null) return null;
  return JSON.stringify([x.app, x.app_source, x.server_name, x.src_name, x.dst_name, x.src_country, x.dst_country, x.src_asn, x.dst_asn, x.src_as_name, x.dst_as_name]);
}

type ExtrasRow = {
  id: number; app: string | null; app_source: string | null; server_name: string | null; src_name: string | null; dst_name: string | null;
  src_country: string | null; dst_country: string | null; src_asn: number | null; dst_asn: number | null; src_as_name: string | null; dst_as_name: string | null;
};

export interface StoredOrigin {
  source: "capture" | "netflow";
  exporter: string | null;
  exporter_domain: number | null;
}
const CAPTURED: StoredOrigin = Object.freeze({ source: "capture", exporter: null, exporter_domain: null });

const tables = new WeakMap<Database, ExtrasTable>();

export class ExtrasTable {
  private readonly ids = new Map<string, number>();
  private readonly fast = new Map<string, number>();
  private readonly byId = new Map<number, FlowExtras>();
  private readonly expIds = new Map<string, number>();
  private readonly expById = new Map<number, StoredOrigin>();

  /** The table of `db` (one per database handle in this thread). */
  static of(db: Database): ExtrasTable {
    let t = tables.get(db);
    if (t === undefined) {
      t = new ExtrasTable(db);
      tables.set(db, t);
    }
    return t;
  }

  /** The segment the inserts go to (written as last_seg); 0 before the first insert. */
  private seg = 0;

  private constructor(private readonly db: Database) {}

  /** Inserts now go to segment `n`: the key caches are emptied so that each row's first use there writes last_seg. */
  useSegment(n: number): void {
    if (n === this.seg) return;
    this.seg = n;
    this.fast.clear();
    this.ids.clear();
    this.expIds.clear();
  }

  /** Forgets every cached id (after a prune deleted rows, or a rolled-back insert left ids that were never written). */
  forget(): void {
    this.seg = 0;
    this.fast.clear();
    this.ids.clear();
    this.expIds.clear();
    this.byId.clear();
    this.expById.clear();
  }

  /** intern(side.get(j)) without an object per flow on a cache hit (the insert path). */
  internSide(side: FlowSide, j: number): number {
    const s = side.strs, o = j * SIDE_STRS, a = side.asn, n = j * SIDE_NUMS;
    // A cheap cache key (the stored `k` is keyOf's JSON): fields joined by U+001F, null as U+001E.
    let k = "";
    for (let f = 0; f < 9; f++) {
      const v = s[o + f];
      k += (v === null || v === undefined ? "\u001e" : v) + "\u001f";
    }
    k += a[n]! + "\u001f" + a[n + 1]!;
    const hit = this.fast.get(k);
    if (hit !== undefined) return hit;
    const id = this.intern(side.get(j));
    if (this.fast.size >= CACHE) this.fast.clear();
    this.fast.set(k, id);
    return id;
  }

  /** The tuple id of `x` (0 when every extra is null); inserts a new tuple. Call inside the insert's transaction. */
  intern(x: FlowExtras): number {
    const k = keyOf(x);
    if (k === null) return 0;
    const hit = this.ids.get(k);
    if (hit !== undefined) return hit;
    const id = (this.db.query(
      "INSERT INTO flow_extras(app, app_source, server_name, src_name, dst_name, src_country, dst_country, src_asn, dst_asn, src_as_name, dst_as_name, k, last_seg) " +
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(k) DO UPDATE SET last_seg = max(last_seg, excluded.last_seg) RETURNING id",
    ).get(x.app, x.app_source, x.server_name, x.src_name, x.dst_name, x.src_country, x.dst_country, x.src_asn, x.dst_asn, x.src_as_name, x.dst_as_name, k, this.seg) as { id: number }).id;
    if (this.ids.size >= CACHE) this.ids.clear();
    this.ids.set(k, id);
    return id;
  }

  /** The exporter id (0 for our capture). */
  exporterId(exporter: string | null, domain: number | null): number {
    if (exporter === null) return 0;
    const k = `${exporter}/${domain ?? ""}`;
    const hit = this.expIds.get(k);
    if (hit !== undefined) return hit;
    let addr: number | Uint8Array | null = null;
    try {
      const a = ipaddr.parse(exporter);
      const b = a.toByteArray();
      addr = a.kind() === "ipv4" ? ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) : Uint8Array.from(b);
    } catch {
      addr = null;
    }
    const id = (this.db.query(
      "INSERT INTO flow_exporters(exporter, domain, addr, k, last_seg) VALUES (?,?,?,?,?) " +
        "ON CONFLICT(k) DO UPDATE SET last_seg = max(last_seg, excluded.last_seg) RETURNING id",
    ).get(exporter, domain, addr, k, this.seg) as { id: number }).id;
    if (this.expIds.size >= CACHE) this.expIds.clear();
    this.expIds.set(k, id);
    return id;
  }

  /** The extras of tuple `id` (NO_EXTRAS for 0 or an unknown id). */
  extras(id: number): FlowExtras {
    if (id === 0) return NO_EXTRAS;
    let x = this.byId.get(id);
    if (x === undefined) {
      const r = this.db.query("SELECT * FROM flow_extras WHERE id = ?").get(id) as ExtrasRow | null;
      if (r === null) return NO_EXTRAS;
      x = {
        app: r.app, app_source: r.app_source as AppSourceName | null, server_name: r.server_name, src_name: r.src_name, dst_name: r.dst_name,
        src_country: r.src_country, dst_country: r.dst_country, src_asn: r.src_asn, dst_asn: r.dst_asn, src_as_name: r.src_as_name, dst_as_name: r.dst_as_name,
      };
      if (this.byId.size >= CACHE) this.byId.clear();
      this.byId.set(id, x);
    }
    return x;
  }

  origin(id: number): StoredOrigin {
    if (id === 0) return CAPTURED;
    let o = this.expById.get(id);
    if (o === undefined) {
      const r = this.db.query("SELECT exporter, domain FROM flow_exporters WHERE id = ?").get(id) as { exporter: string; domain: number | null } | null;
      o = r === null ? { source: "netflow", exporter: null, exporter_domain: null } : { source: "netflow", exporter: r.exporter, exporter_domain: r.domain };
      if (this.expById.size >= CACHE) this.expById.clear();
      this.expById.set(id, o);
    }
    return o;
  }
}

/**
 * Deletes the interned extras and exporters no remaining segment uses (last_seg below the oldest
 * segment's number; every row when no segment is left) and empties the id caches when any went.
 * Call in the transaction that drops the segment. Returns the rows deleted.
 */
export function pruneInterned(db: Database): number {
  const oldest = (db.query("SELECT min(n) AS n FROM segments").get() as { n: number | null }).n ?? Number.MAX_SAFE_INTEGER;
  const n = db.run("DELETE FROM flow_extras WHERE last_seg < ?", [oldest]).changes +
    db.run("DELETE FROM flow_exporters WHERE last_seg < ?", [oldest]).changes;
  if (n > 0) ExtrasTable.of(db).forget();
  return n;
}
