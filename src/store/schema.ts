/**
 * The store's schema and its migrations (PRAGMA user_version = number of migrations applied).
 *
 * Flows live in append-only segment tables `flows_<n>` (see segments.ts) listed in `segments`;
 * every segment has the same columns (SEGMENT_COLUMNS); a sealed one has the indexes
 * (SEGMENT_INDEXES), the open one none. A migration that changes the segment columns must alter
 * every existing segment too.
 *
 * Migrations run at start, each in its own transaction; a database newer than this code
 * (user_version > SCHEMA_VERSION) is refused (opened by nothing, reported as degraded).
 */
import type { Database } from "bun:sqlite";

/**
 * Columns of a flow segment. Addresses and directions are already resolved (src = initiator):
 * - src, dst: IPv4 as a signed 32-bit integer (the key word, so 4 bytes on disk), IPv6 as a
 *   16-byte BLOB. No declared type, so SQLite keeps each as given; INTEGER < BLOB in SQLite's
 *   order, so an IPv4 range never matches an IPv6 row and the reverse.
 * - first_ms: Math.round(first × 1000) (what first_seen shows); dur_ms: Math.round((last −
 *   first) × 1000) (duration_ms); last_adj = round(last × 1000) − first_ms − dur_ms (−1, 0 or 1,
 *   0 bytes on disk when 0). last_ms = first_ms + dur_ms + last_adj.
 * - vlan: −1 when untagged (no NULLs anywhere: NOT over a NULL would drop rows).
 * - state: index in STATES (state.ts), computed at insert; reason: EndReason.
 * - flags: initiator TCP flags | responder flags << 8.
 * - bytes, packets: both directions; dst_bytes, dst_packets: responder → initiator.
 * - x (migration 4): the flow's extras — app, app_source, server_name, src/dst passive-DNS name,
 *   country, ASN and AS name — as one interned tuple (flow_extras.id; 0 = all null). Flows share
 *   tuples (same service, same countries and ASes), so this costs 1–3 bytes per flow.
 * - cid: the Community ID's first 47 bits (its SHA-1, big-endian), for `community_id:` (6 bytes).
 * - exp: the NetFlow/IPFIX exporter and observation domain (flow_exporters.id; 0 = our capture).
 */
export const SEGMENT_COLUMNS =
  "id INTEGER PRIMARY KEY, first_ms INTEGER NOT NULL, dur_ms INTEGER NOT NULL, last_adj INTEGER NOT NULL, " +
  "src NOT NULL, dst NOT NULL, sport INTEGER NOT NULL, dport INTEGER NOT NULL, proto INTEGER NOT NULL, " +
  "vlan INTEGER NOT NULL, state INTEGER NOT NULL, reason INTEGER NOT NULL, flags INTEGER NOT NULL, " +
  "packets INTEGER NOT NULL, dst_packets INTEGER NOT NULL, bytes INTEGER NOT NULL, dst_bytes INTEGER NOT NULL, " +
  "x INTEGER NOT NULL DEFAULT 0, cid INTEGER NOT NULL DEFAULT 0, exp INTEGER NOT NULL DEFAULT 0";

/** Column names in insert order (parallel to the row built by flow-rows.ts). */
export const SEGMENT_FIELDS = [
  "id", "first_ms", "dur_ms", "last_adj", "src", "dst", "sport", "dport", "proto", "vlan", "state",
  "reason", "flags", "packets", "dst_packets", "bytes", "dst_bytes", "x", "cid", "exp",
] as const;

/**
 * Secondary indexes of a segment, built when it is sealed (segments.ts): name suffix and columns
 * (measured choice: see index.ts). `bytes_src` covers a `src` range with a `bytes` bound (count
 * and order from the index alone) and serves sort by bytes. Segments sealed by an earlier version
 * keep their `bytes` index instead; queries name no index, so both answer the same.
 */
export const SEGMENT_INDEXES: readonly (readonly [name: string, columns: string])[] = [
  ["src", "src"], ["dst", "dst"], ["bytes_src", "bytes, src"],
];

/** Table name of segment `n` (an integer: the only thing ever put into SQL text besides fixed names). */
export function segmentTable(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad segment number ${n}`);
  return `flows_${n}`;
}

/** The segment's table, without indexes (a segment takes inserts unindexed: see segments.ts). */
export function createSegmentSql(n: number): string[] {
  return [`CREATE TABLE IF NOT EXISTS ${segmentTable(n)} (${SEGMENT_COLUMNS})`];
}

/** The segment's secondary indexes (built at seal; a no-op for those that exist). */
export function segmentIndexSql(n: number): string[] {
  const t = segmentTable(n);
  return SEGMENT_INDEXES.map(([name, cols]) => `CREATE INDEX IF NOT EXISTS ${t}_${name} ON ${t}(${cols})`);
}

type Migration = (db: Database) => void;

/** Migration k (1-based) brings user_version from k − 1 to k. Never edit a released one: append. */
export const MIGRATIONS: Migration[] = [
  // 1: the segment catalog and the alert log.
  (db) => {
    db.run(`CREATE TABLE segments (
      n INTEGER PRIMARY KEY,
      rows INTEGER NOT NULL DEFAULT 0,
      min_first INTEGER, max_first INTEGER, min_last INTEGER, max_last INTEGER,
      max_id INTEGER NOT NULL DEFAULT 0,
      sealed INTEGER NOT NULL DEFAULT 0)`);
    db.run(`CREATE TABLE alert_events (
      seq INTEGER PRIMARY KEY,
      t_ms INTEGER NOT NULL,
      event TEXT NOT NULL,
      alert_id TEXT NOT NULL,
      rule TEXT NOT NULL,
      severity TEXT NOT NULL,
      alert TEXT NOT NULL)`);
    db.run("CREATE INDEX alert_events_t ON alert_events(t_ms)");
  },
  // 2: traffic rollups (per second for the last hour, per minute for 30 days).
  (db) => {
    const cols = "packets REAL NOT NULL, bytes REAL NOT NULL, tcp_bytes REAL NOT NULL, udp_bytes REAL NOT NULL, " +
      "icmp_bytes REAL NOT NULL, other_bytes REAL NOT NULL, non_ip_bytes REAL NOT NULL";
    db.run(`CREATE TABLE traffic_s (t INTEGER PRIMARY KEY, n INTEGER NOT NULL, ${cols})`);
    db.run(`CREATE TABLE traffic_m (t INTEGER PRIMARY KEY, n INTEGER NOT NULL, ${cols})`);
  },
  // 3: system metrics (raw samples for the last hour, per-minute sums and counts for 30 days),
  // and a key/value table (the flow id high-water mark survives pruning of every flow).
  (db) => {
    db.run("CREATE TABLE metric_names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)");
    db.run(`CREATE TABLE metrics_s (t INTEGER NOT NULL, name INTEGER NOT NULL, sum REAL NOT NULL, n INTEGER NOT NULL,
      PRIMARY KEY (t, name)) WITHOUT ROWID`);
    db.run(`CREATE TABLE metrics_m (t INTEGER NOT NULL, name INTEGER NOT NULL, sum REAL NOT NULL, n INTEGER NOT NULL,
      PRIMARY KEY (t, name)) WITHOUT ROWID`);
    db.run("CREATE TABLE meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL)");
  },
  // 4: flow extras (issues 11, 12): the interned extras tuples and exporters, and three columns on
  // every existing segment (0 = none: flows stored before read back as captured, extras null).
  (db) => {
    db.run(`CREATE TABLE flow_extras (
      id INTEGER PRIMARY KEY,
      app TEXT, app_source TEXT, server_name TEXT, src_name TEXT, dst_name TEXT,
      src_country TEXT, dst_country TEXT, src_asn INTEGER, dst_asn INTEGER, src_as_name TEXT, dst_as_name TEXT,
      k TEXT NOT NULL UNIQUE)`);
    db.run(`CREATE TABLE flow_exporters (
      id INTEGER PRIMARY KEY, exporter TEXT NOT NULL, domain INTEGER, addr, k TEXT NOT NULL UNIQUE)`);
    const segs = db.query("SELECT n FROM segments").all() as { n: number }[];
    for (const { n } of segs) {
      const t = segmentTable(n);
      const has = db.query(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(t);
      if (!has) continue;
      for (const col of ["x", "cid", "exp"]) db.run(`ALTER TABLE ${t} ADD COLUMN ${col} INTEGER NOT NULL DEFAULT 0`);
    }
  },
  // 5: interned rows pruned with the segments (flow-extras.ts): `last_seg` is at least the number of
  // every segment whose flows use the row; retention deletes the rows whose last_seg is below the
  // oldest remaining segment (an index range, no scan of the segments). Existing rows get the
  // newest segment's number (no scan at migration: rows only dropped segments used go once every
  // segment present now is gone, at most retentionDays later).
  (db) => {
    const top = (db.query("SELECT coalesce(max(n), 0) AS n FROM segments").get() as { n: number }).n;
    for (const t of ["flow_extras", "flow_exporters"]) {
      db.run(`ALTER TABLE ${t} ADD COLUMN last_seg INTEGER NOT NULL DEFAULT 0`);
      db.run(`UPDATE ${t} SET last_seg = ?`, [top]);
      db.run(`CREATE INDEX ${t}_last_seg ON ${t}(last_seg)`);
    }
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database): number {
  return (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
}

/**
 * Applies the migrations after the database's user_version, up to `target` (default: all).
 * Each runs in a transaction with its user_version bump. Returns the versions applied.
 */
export function migrate(db: Database, target = SCHEMA_VERSION): number[] {
  const from = schemaVersion(db);
  if (from > SCHEMA_VERSION) {
    throw new Error(`database schema version ${from} is newer than this flowmatrix (${SCHEMA_VERSION})`);
  }
  const applied: number[] = [];
  for (let v = from + 1; v <= target; v++) {
    db.transaction(() => {
      MIGRATIONS[v - 1]!(db);
      db.run(`PRAGMA user_version = ${v}`);
    })();
    applied.push(v);
  }
  return applied;
}
