/**
 * Query AST (query.ts) → a parameterised SQL WHERE clause over a flow segment (schema.ts), with
 * exactly the semantics of query-compile.ts for ended flows. The SQL text holds only fixed column
 * names, operators and numbers this module computes (likelihood hints, constant truths); every
 * value from the query is a bound parameter (`?`), so query text never becomes SQL.
 *
 * Mapping (src/dst are stored already resolved to initiator/responder):
 * - ip / src_ip / dst_ip CIDR → `src BETWEEN lo AND hi` (IPv4: signed 32-bit key words, a CIDR of
 *   prefix ≥ 1 never crosses the sign; IPv6: 16-byte BLOBs compared bytewise). SQLite orders
 *   INTEGER before BLOB, so the version check is implied.
 * - ports: BETWEEN lo AND hi; protocol, vlan (−1 = none), state (index in STATES): equality;
 *   ip_version: typeof(src); bytes, packets: the stored totals; duration: dur_ms (rounded ms).
 * - bps: a stored flow has ended, so its bps is 0; the comparison is decided here (1 or 0).
 * - No column is NULL, so NOT and OR behave as in JavaScript.
 *
 * Likelihood hints: without STAT4 (not compiled into Bun's SQLite) the planner guesses every range
 * is equally selective; likelihood(term, p) tells it a /8 matches far more rows than a /24 and that
 * bytes>1M is rare, so it picks the index that reads fewest rows.
 */
import { cidBits } from "./flow-extras.ts";
import ipaddr from "ipaddr.js";
import type { QueryNode } from "../flows/query/query.ts";
import { STATES } from "../flows/table/state.ts";

export type SqlParam = number | string | Uint8Array;

export interface SqlWhere {
  sql: string;
  params: SqlParam[];
}

function num(x: unknown): number {
  if (typeof x !== "number" || !Number.isFinite(x)) throw new TypeError(`invalid query AST value ${String(x)}`);
  return x;
}

/** [lo, hi] bound values of a CIDR as stored (int32 for IPv4, 16-byte BLOB for IPv6). */
export function cidrBounds(version: 4 | 6, addr: string, prefix: number): [SqlParam, SqlParam] {
  let bytes: number[];
  try {
    bytes = ipaddr.parse(String(addr)).toByteArray();
  } catch {
    throw new TypeError(`invalid query AST address ${String(addr)}`);
  }
  const len = version === 4 ? 4 : 16;
  if (bytes.length !== len || !Number.isInteger(prefix) || prefix < 0 || prefix > len * 8) {
    throw new TypeError(`invalid query AST address ${String(addr)}/${String(prefix)}`);
  }
  const lo = new Uint8Array(len), hi = new Uint8Array(len);
  for (let b = 0; b < len; b++) {
    const keep = Math.min(8, Math.max(0, prefix - b * 8));
    const mask = (0xff << (8 - keep)) & 0xff;
    lo[b] = bytes[b]! & mask;
    hi[b] = (bytes[b]! & mask) | (~mask & 0xff);
  }
  if (version === 6) return [lo, hi];
  const int = (a: Uint8Array) => ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) | 0;
  let l = int(lo), h = int(hi);
  if (prefix === 0) { l = -0x80000000; h = 0x7fffffff; }
  return [l, h];
}

/** Rough share of flows in a CIDR (planner hint only). */
function cidrLikelihood(version: 4 | 6, prefix: number): number {
  const bits = version === 4 ? prefix : Math.min(32, Math.max(0, prefix - 32));
  if (bits <= 4) return 0.9;
  if (bits <= 8) return 0.5;
  if (bits <= 16) return 0.2;
  if (bits <= 24) return 0.05;
  return 0.01;
}

/** Rough share of flows with bytes (or packets) above `v` (planner hint only). */
function sizeLikelihood(op: string, v: number, perPacket: number): number {
  const bytes = v * perPacket;
  const above = bytes >= 1e6 ? 0.02 : bytes >= 1e5 ? 0.05 : bytes >= 1e4 ? 0.2 : 0.6;
  if (op === ">" || op === ">=") return above;
  if (op === "<" || op === "<=") return 1 - above;
  return 0.01;
}

const SQL_OP = { "=": "=", ">": ">", ">=": ">=", "<": "<", "<=": "<=" } as const;

function constCmp(a: number, op: string, b: number): boolean {
  switch (op) {
    case "=": return a === b;
    case ">": return a > b;
    case ">=": return a >= b;
    case "<": return a < b;
    case "<=": return a <= b;
  }
  throw new TypeError(`invalid query AST comparison ${op}`);
}

function build(n: QueryNode, p: SqlParam[]): string {
  switch (n.kind) {
    case "all": return "1";
    case "and": return n.items.length ? `(${n.items.map((x) => build(x, p)).join(" AND ")})` : "1";
    case "or": return n.items.length ? `(${n.items.map((x) => build(x, p)).join(" OR ")})` : "0";
    case "not": return `(NOT ${build(n.item, p)})`;
    case "ip": {
      const [lo, hi] = cidrBounds(n.version, n.addr, n.prefix);
      const like = cidrLikelihood(n.version, n.prefix);
      const one = (col: string) => {
        p.push(lo, hi);
        return `likelihood(${col} BETWEEN ? AND ?, ${like})`;
      };
      if (n.field === "ip") return `(${one("src")} OR ${one("dst")})`;
      if (n.field === "src_ip") return one("src");
      if (n.field === "dst_ip") return one("dst");
      throw new TypeError(`invalid query AST field ${String(n.field)}`);
    }
    case "port": {
      const lo = num(n.lo), hi = num(n.hi);
      const one = (col: string) => {
        p.push(lo, hi);
        return `${col} BETWEEN ? AND ?`;
      };
      if (n.field === "port") return `(${one("sport")} OR ${one("dport")})`;
      if (n.field === "src_port") return one("sport");
      if (n.field === "dst_port") return one("dport");
      throw new TypeError(`invalid query AST field ${String(n.field)}`);
    }
    case "proto":
      p.push(num(n.proto));
      return "proto = ?";
    case "vlan":
      p.push(n.vlan === null ? -1 : num(n.vlan));
      return "vlan = ?";
    case "state": {
      const idx = STATES.indexOf(n.state);
      if (idx < 0) throw new TypeError(`invalid query AST state ${String(n.state)}`);
      p.push(idx);
      return "state = ?";
    }
    case "ip_version":
      if (n.version !== 4 && n.version !== 6) throw new TypeError(`invalid query AST version ${String(n.version)}`);
      return n.version === 4 ? "typeof(src) = 'integer'" : "typeof(src) = 'blob'";
    // Origins and extras (schema.ts migration 4): exp → flow_exporters, x → flow_extras (interned
    // tuples), cid = the Community ID's first 47 bits. Flows stored before it have 0: captured, no extras.
    case "source": return n.source === "capture" ? "exp = 0" : "exp <> 0";
    case "exporter": {
      const [lo, hi] = cidrBounds(n.version, n.addr, n.prefix);
      p.push(lo, hi);
      return "exp IN (SELECT id FROM flow_exporters WHERE addr BETWEEN ? AND ?)";
    }
    case "app":
      p.push(String(n.app));
      return "x IN (SELECT id FROM flow_extras WHERE app = ?)";
    case "name": {
      // Our glob (* and ?, case-insensitive) as SQLite GLOB over lower-cased names; "[" is literal.
      const g = String(n.glob).toLowerCase().replace(/\[/g, "[[]");
      p.push(g, g, g);
      return "x IN (SELECT id FROM flow_extras WHERE lower(server_name) GLOB ? OR lower(src_name) GLOB ? OR lower(dst_name) GLOB ?)";
    }
    case "country":
      p.push(String(n.country), String(n.country));
      return "x IN (SELECT id FROM flow_extras WHERE src_country = ? OR dst_country = ?)";
    case "asn":
      p.push(num(n.asn), num(n.asn));
      return "x IN (SELECT id FROM flow_extras WHERE src_asn = ? OR dst_asn = ?)";
    case "community_id":
      p.push(cidBits(String(n.id)));
      return "cid = ?";
    case "cmp": {
      const op = SQL_OP[n.op];
      const v = num(n.value);
      if (!op) throw new TypeError(`invalid query AST comparison ${String(n.op)}`);
      switch (n.field) {
        case "bps": return constCmp(0, n.op, v) ? "1" : "0";
        case "bytes":
          p.push(v);
          return `likelihood(bytes ${op} ?, ${sizeLikelihood(op, v, 1)})`;
        case "packets":
          p.push(v);
          return `packets ${op} ?`;
        case "duration":
          p.push(v);
          return `dur_ms ${op} ?`;
      }
      throw new TypeError(`invalid query AST field ${String((n as { field?: unknown }).field)}`);
    }
  }
  throw new TypeError(`invalid query AST node ${String((n as { kind?: unknown }).kind)}`);
}

/** WHERE clause (without the keyword) and its parameters for `node`. */
export function queryToSql(node: QueryNode): SqlWhere {
  const params: SqlParam[] = [];
  const sql = build(node, params);
  return { sql, params };
}
