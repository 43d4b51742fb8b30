/**
 * Reading flows back: the query (flow-sql.ts) runs on each segment whose time bounds meet the
 * range, each segment returns its best `offset + limit` rows in the sort order (SQLite walks the
 * bytes index for sort_by=bytes) and its match count; the rows are merged here.
 *
 * Sort order matches select.ts: the key, then id ascending; addresses IPv4 (unsigned) before
 * IPv6 (bytewise over its first 64 bits, as the engine: the rest ties, then id); bps is 0 for every stored flow (so it sorts by id); duration by rounded ms.
 * Limit: offset + limit ≤ 1,000,000, as select.ts.
 */
import type { Database } from "bun:sqlite";
import type { FlowRecord } from "../flows/format/record.ts";
import type { QueryNode } from "../flows/query/query.ts";
import type { SortKey } from "../flows/query/select.ts";
import { ExtrasTable } from "./flow-extras.ts";
import { rowToRecord, SELECT_LIST, type AddrValue, type StoredRow } from "./flow-rows.ts";
import { queryToSql, type SqlParam } from "./flow-sql.ts";
import { segmentTable } from "./schema.ts";
import type { Segment } from "./segments.ts";

export interface StoredFlowQuery {
  query: QueryNode;
  /** Seconds since the epoch; a flow is in [since, until] when it overlaps it. */
  since?: number;
  until?: number;
  sortBy: SortKey;
  order: "asc" | "desc";
  offset: number;
  limit: number;
}

export interface FlowPage {
  records: FlowRecord[];
  total: number;
}

const LAST_MS = "(first_ms + dur_ms + last_adj)";

const ORDER_SQL: Record<SortKey, string[]> = {
  bytes: ["bytes"],
  packets: ["packets"],
  bps: [],
  duration: ["dur_ms"],
  first_seen: ["first_ms"],
  last_seen: [LAST_MS],
  // IPv6 by its first 64 bits, as the engine (select.ts), so live and stored pages agree and merge.
  src_ip: ["typeof(src) = 'blob'", "(CASE WHEN typeof(src) = 'integer' THEN src & 4294967295 ELSE substr(src, 1, 8) END)"],
  dst_ip: ["typeof(dst) = 'blob'", "(CASE WHEN typeof(dst) = 'integer' THEN dst & 4294967295 ELSE substr(dst, 1, 8) END)"],
  src_port: ["sport"],
  dst_port: ["dport"],
  protocol: ["proto"],
};

function cmpAddr(a: AddrValue, b: AddrValue): number {
  if (typeof a === "number") return typeof b === "number" ? (a >>> 0) - (b >>> 0) : -1;
  if (typeof b === "number") return 1;
  for (let k = 0; k < 8; k++) if (a[k] !== b[k]) return a[k]! - b[k]!; // first 64 bits, as the engine
  return 0;
}

/** Comparator of stored rows by key (ascending), without the id tie-break. */
function keyCompare(key: SortKey): (a: StoredRow, b: StoredRow) => number {
  switch (key) {
    case "bytes": return (a, b) => a[15] - b[15];
    case "packets": return (a, b) => a[13] - b[13];
    case "bps": return () => 0;
    case "duration": return (a, b) => a[2] - b[2];
    case "first_seen": return (a, b) => a[1] - b[1];
    case "last_seen": return (a, b) => a[1] + a[2] + a[3] - (b[1] + b[2] + b[3]);
    case "src_ip": return (a, b) => cmpAddr(a[4], b[4]);
    case "dst_ip": return (a, b) => cmpAddr(a[5], b[5]);
    case "src_port": return (a, b) => a[6] - b[6];
    case "dst_port": return (a, b) => a[7] - b[7];
    case "protocol": return (a, b) => a[8] - b[8];
  }
}

export const MAX_WINDOW = 1_000_000;

export function queryFlows(db: Database, segments: Segment[], q: StoredFlowQuery): FlowPage {
  const where = queryToSql(q.query);
  const offset = Math.max(0, Math.floor(q.offset));
  const limit = Math.max(0, Math.floor(q.limit));
  const window = Math.min(offset + limit, MAX_WINDOW);
  const sinceMs = q.since === undefined ? -Infinity : q.since * 1000;
  const untilMs = q.until === undefined ? Infinity : q.until * 1000;
  const dir = q.order === "asc" ? "ASC" : "DESC";
  const orderBy = [...ORDER_SQL[q.sortBy].map((e) => `${e} ${dir}`), "id ASC"].join(", ");
  let total = 0;
  let rows: StoredRow[] = [];
  for (const s of segments) {
    if (s.rows === 0 || s.max_last === null || s.min_first === null) continue;
    if (s.max_last < sinceMs || s.min_first > untilMs) continue;
    const conds: string[] = [];
    const params: SqlParam[] = [];
    if (s.min_last! < sinceMs) {
      conds.push(`${LAST_MS} >= ?`);
      params.push(sinceMs);
    }
    if (s.max_first! > untilMs) {
      conds.push("first_ms <= ?");
      params.push(untilMs);
    }
    conds.push(where.sql);
    params.push(...where.params);
    const t = segmentTable(s.n);
    const cond = conds.join(" AND ");
    const count = db.prepare(`SELECT count(*) FROM ${t} WHERE ${cond}`);
    total += (count.values(...params)[0]![0] as number);
    count.finalize();
    if (window > 0) {
      const sel = db.prepare(`SELECT ${SELECT_LIST} FROM ${t} WHERE ${cond} ORDER BY ${orderBy} LIMIT ${window}`);
      const got = sel.values(...params) as unknown as StoredRow[];
      sel.finalize();
      if (got.length) rows = rows.concat(got);
    }
  }
  const key = keyCompare(q.sortBy);
  const sign = q.order === "asc" ? 1 : -1;
  rows.sort((a, b) => sign * key(a, b) || a[0] - b[0]);
  const xt = ExtrasTable.of(db);
  return { records: rows.slice(offset, window).map((r) => rowToRecord(r, xt)), total };
}

/** The stored flow with this id, or null (a primary-key lookup in each segment that can hold it). */
export function findFlow(db: Database, segments: Segment[], id: number): FlowRecord | null {
  if (!Number.isSafeInteger(id)) return null;
  for (let k = segments.length - 1; k >= 0; k--) {
    const s = segments[k]!;
    if (s.rows === 0 || id > s.max_id) continue;
    const st = db.prepare(`SELECT ${SELECT_LIST} FROM ${segmentTable(s.n)} WHERE id = ?`);
    const r = st.values(id)[0] as unknown as StoredRow | undefined;
    st.finalize();
    if (r) return rowToRecord(r, ExtrasTable.of(db));
  }
  return null;
}
