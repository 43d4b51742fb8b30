/**
 * The flow query grammar, shared by the API (`?q=` and plain parameters), the UI filter box,
 * CSV export and alert rules. Parses text into a plain-object AST; query-compile.ts turns the AST
 * into a fast per-slot predicate.
 *
 *   query  := or
 *   or     := and (("OR" | "or") and)*
 *   and    := unary ((("AND" | "and")?) unary)*        whitespace = AND
 *   unary  := ("-" | "!") unary | ("NOT" | "not") unary | "(" or ")" | term
 *   term   := field (":" | ":" cmp | cmp) value       cmp := ">" | ">=" | "<" | "<=" | "="
 *   value  := "quoted, with \" and \\ escapes" | run of characters up to whitespace, "(" or ")"
 *
 * Fields: ip, src_ip, dst_ip (address or CIDR, IPv4/IPv6), port, src_port, dst_port (N, N-M, or a
 * comparison), protocol/proto (name or 0-255), vlan (0-4095 or none), state (see STATES),
 * ip_version (4|6), bytes, packets (sizes, see units.ts), duration (bare number = seconds),
 * bps (bits/s), source (capture | netflow), exporter (the NetFlow/IPFIX exporter's address or
 * CIDR), app (application protocol name), name (glob over server_name and the passive-DNS names of
 * both ends: `*` any run, `?` one character, case-insensitive), country (ISO code of either end, or
 * a special-range label such as private), asn (either end's AS number, `15169` or `AS15169`),
 * community_id (`1:…`, Community ID v1 seed 0). "src" is the flow initiator. An empty query
 * matches everything.
 *
 * Limits: keywords are case-insensitive (OR/or/Or); field names must not be quoted; a CIDR with
 * host bits set is reduced to its network ("10.1.2.3/8" = "10.0.0.0/8"); IPv4-mapped IPv6
 * addresses are IPv6 (they do not match IPv4 flows); IPv6 zone ids are rejected.
 */
import ipaddr from "ipaddr.js";
import { QueryError } from "./query-error.ts";
import { protoName, protoNumber } from "../table/protocols.ts";
import { STATES, type FlowState } from "../table/state.ts";
import { APP_NAMES } from "../../l7/apps.ts";

/** Special-range labels `country:` accepts (src/l7/geo.ts specialRange). */
export const SPECIAL_LABELS = [
  "private", "loopback", "link-local", "cgnat", "ula", "multicast", "unspecified", "broadcast", "benchmarking",
  "reserved", "teredo", "6to4", "nat64", "documentation",
] as const;

/** A value as query text: quoted when it holds whitespace, parentheses, quotes or backslashes. */
function quoteValue(v: string): string {
  return /[\s()"\\]/.test(v) || v === "" ? `"${v.replace(/["\\]/g, "\\$&")}"` : v;
}
import { formatDurationMs, formatSize, parseDurationMs, parseRate, parseSize } from "./units.ts";

export type IpField = "ip" | "src_ip" | "dst_ip";
export type PortField = "port" | "src_port" | "dst_port";
export type NumField = "bytes" | "packets" | "duration" | "bps";
export type CmpOp = "=" | ">" | ">=" | "<" | "<=";

/** Query AST. Values are canonical: addr is the network address text, duration in ms, bps in bits/s. */
export type QueryNode =
  | { kind: "all" }
  | { kind: "and"; items: QueryNode[] }
  | { kind: "or"; items: QueryNode[] }
  | { kind: "not"; item: QueryNode }
  | { kind: "ip"; field: IpField; version: 4 | 6; addr: string; prefix: number }
  | { kind: "port"; field: PortField; lo: number; hi: number }
  | { kind: "proto"; proto: number }
  | { kind: "vlan"; vlan: number | null }
  | { kind: "state"; state: FlowState }
  | { kind: "ip_version"; version: 4 | 6 }
  /** Where the flow came from: our packet capture, or a NetFlow/IPFIX exporter (serve --collect-netflow). */
  | { kind: "source"; source: FlowSource }
  /** The NetFlow/IPFIX exporter's address or network (never matches captured flows). */
  | { kind: "exporter"; version: 4 | 6; addr: string; prefix: number }
  | { kind: "cmp"; field: NumField; op: CmpOp; value: number }
  /** Application protocol (src/l7 apps.ts names). */
  | { kind: "app"; app: string }
  /** Glob (lower case) over server_name, src_name and dst_name. */
  | { kind: "name"; glob: string }
  /** ISO code (upper case) or special-range label (lower case) of either end. */
  | { kind: "country"; country: string }
  | { kind: "asn"; asn: number }
  | { kind: "community_id"; id: string };

export const QUERY_FIELDS = [
  "ip", "src_ip", "dst_ip", "port", "src_port", "dst_port", "protocol", "proto", "vlan", "state",
  "ip_version", "bytes", "packets", "duration", "bps", "source", "exporter", "app", "name", "country",
  "asn", "community_id",
] as const;
/** Flow sources: our own packet capture, or records from NetFlow/IPFIX exporters. */
export const FLOW_SOURCES = ["capture", "netflow"] as const;
export type FlowSource = (typeof FLOW_SOURCES)[number];
type Field = (typeof QUERY_FIELDS)[number];
const COMPARABLE = new Set<string>(["port", "src_port", "dst_port", "bytes", "packets", "duration", "bps"]);

/** URL parameters understood by paramsToQuery (the API rejects others itself). */
export const QUERY_PARAM_NAMES = [
  "ip", "src_ip", "dst_ip", "port", "src_port", "dst_port", "protocol", "proto", "vlan", "state",
  "ip_version", "min_bytes", "max_bytes", "min_packets", "max_packets", "min_duration", "max_duration",
  "min_bps", "max_bps", "app", "name", "country", "asn", "community_id", "source", "exporter",
] as const;

export const MATCH_ALL: QueryNode = { kind: "all" };

/** Thrower for a value error at `offset` chars into the value. */
type Fail = (offset: number, message: string) => never;

/** Address or CIDR → canonical parts; calls `fail` when invalid. */
function parseAddress(value: string, fail: Fail): { version: 4 | 6; addr: string; prefix: number } {
  const slash = value.indexOf("/");
  const text = slash < 0 ? value : value.slice(0, slash);
  const bad = () => fail(0, `"${value}" is not an IPv4/IPv6 address or CIDR`);
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) ip = ipaddr.IPv4.parse(text);
  else if (!text.includes("%") && ipaddr.IPv6.isValid(text)) ip = ipaddr.IPv6.parse(text);
  else return bad();
  const version = ip.kind() === "ipv4" ? 4 : 6;
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = value.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return bad();
    prefix = Number(p);
    if (prefix > max) fail(slash + 1, `prefix length /${prefix} is out of range for IPv${version} (0-${max})`);
  }
  const bytes = ip.toByteArray();
  for (let b = 0; b < bytes.length; b++) {
    const keep = Math.min(8, Math.max(0, prefix - b * 8));
    bytes[b] = bytes[b]! & ((0xff << (8 - keep)) & 0xff);
  }
  const net = ipaddr.fromByteArray(bytes);
  const addr = net.kind() === "ipv6" ? (net as ipaddr.IPv6).toRFC5952String() : net.toString();
  return { version, addr, prefix };
}

function parsePort(text: string, at: number, fail: Fail): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) fail(at, `"${text}" is not a port (0-65535)`);
  return Number(text);
}

/**
 * One field:value term → AST leaf. `op` is "=" for plain `field:value`. Shared by the text parser
 * and paramsToQuery; `fail` positions errors relative to the start of `value`.
 */
function termNode(field: Field, op: CmpOp, value: string, fail: Fail): QueryNode {
  switch (field) {
    case "ip": case "src_ip": case "dst_ip":
      return { kind: "ip", field, ...parseAddress(value, fail) };
    case "port": case "src_port": case "dst_port": {
      const dash = value.indexOf("-", 1);
      if (op === "=" && dash > 0) {
        const lo = parsePort(value.slice(0, dash), 0, fail);
        const hi = parsePort(value.slice(dash + 1), dash + 1, fail);
        if (lo > hi) fail(0, `port range "${value}" is empty (low end above high end)`);
        return { kind: "port", field, lo, hi };
      }
      const v = parsePort(value, 0, fail);
      const lo = op === ">" ? v + 1 : op === ">=" || op === "=" ? v : 0;
      const hi = op === "<" ? v - 1 : op === "<=" || op === "=" ? v : 65535;
      if (lo > hi) fail(0, `${field}${op}${value} matches no port`);
      return { kind: "port", field, lo, hi };
    }
    case "protocol": case "proto": {
      const proto = protoNumber(value);
      if (proto === undefined) {
        fail(0, `unknown protocol "${value}" (expected a name such as tcp, udp, icmp, icmpv6, gre, or a number 0-255)`);
      }
      return { kind: "proto", proto: proto! };
    }
    case "vlan":
      if (value.toLowerCase() === "none") return { kind: "vlan", vlan: null };
      if (!/^\d{1,4}$/.test(value) || Number(value) > 4095) fail(0, `"${value}" is not a VLAN id (0-4095 or none)`);
      return { kind: "vlan", vlan: Number(value) };
    case "state": {
      const s = value.toLowerCase();
      if (!(STATES as readonly string[]).includes(s)) fail(0, `unknown state "${value}" (expected one of ${STATES.join(", ")})`);
      return { kind: "state", state: s as FlowState };
    }
    case "source": {
      const v = value.toLowerCase();
      if (!(FLOW_SOURCES as readonly string[]).includes(v)) fail(0, `unknown source "${value}" (expected capture or netflow)`);
      return { kind: "source", source: v as FlowSource };
    }
    case "exporter":
      return { kind: "exporter", ...parseAddress(value, fail) };
    case "app": {
      const v = value.toLowerCase();
      if (!(APP_NAMES as readonly string[]).includes(v) || v === "") fail(0, `unknown app "${value}" (expected one of ${APP_NAMES.slice(1).join(", ")})`);
      return { kind: "app", app: v };
    }
    case "name": {
      if (value.length > 253) fail(0, "a name pattern is at most 253 characters");
      return { kind: "name", glob: value.toLowerCase() };
    }
    case "country": {
      if (/^[A-Za-z]{2}$/.test(value)) return { kind: "country", country: value.toUpperCase() };
      const v = value.toLowerCase();
      if (!(SPECIAL_LABELS as readonly string[]).includes(v)) fail(0, `"${value}" is not a country (expected an ISO code such as DE, or one of ${SPECIAL_LABELS.join(", ")})`);
      return { kind: "country", country: v };
    }
    case "asn": {
      const m = /^(?:as)?(\d{1,10})$/i.exec(value);
      if (!m || Number(m[1]) > 0xffffffff) fail(0, `"${value}" is not an AS number (e.g. 15169 or AS15169)`);
      return { kind: "asn", asn: Number(m![1]) };
    }
    case "community_id": {
      if (!/^1:[A-Za-z0-9+/]{27}=$/.test(value)) fail(0, `"${value}" is not a Community ID (1: and 28 base64 characters)`);
      return { kind: "community_id", id: value };
    }
    case "ip_version": {
      const v = value.toLowerCase().replace(/^(ipv|v)/, "");
      if (v !== "4" && v !== "6") fail(0, `"${value}" is not an IP version (expected 4 or 6)`);
      return { kind: "ip_version", version: v === "4" ? 4 : 6 };
    }
    case "bytes": case "packets": case "duration": case "bps": {
      const n = field === "duration" ? parseDurationMs(value) : field === "bps" ? parseRate(value) : parseSize(value);
      if (n === undefined || !Number.isFinite(n)) {
        const hint = field === "duration" ? "a duration such as 250ms, 10s, 2m, 1h" : field === "bps" ? "a rate such as 500k, 1M, 1.5G" : "a number such as 1500, 500k, 1M, 2GiB";
        fail(0, `"${value}" is not ${hint}`);
      }
      return { kind: "cmp", field, op, value: n! };
    }
  }
}

function isSpace(ch: string | undefined): boolean {
  return ch === " " || ch === "\t" || ch === "\n" || ch === "\r";
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

function unknownField(name: string): string {
  const near = QUERY_FIELDS.find((f) => editDistance(name, f) <= 2 || f.replace("_", "") === name);
  const hint = near ? `did you mean "${near}"? ` : "";
  return `unknown field "${name}" (${hint}expected one of ${QUERY_FIELDS.join(", ")})`;
}

function joinItems(kind: "and" | "or", items: QueryNode[]): QueryNode {
  const flat = items.flatMap((n) => (n.kind === kind ? n.items : [n]));
  return flat.length === 1 ? flat[0]! : { kind, items: flat };
}

class Parser {
  pos = 0;
  constructor(readonly s: string) {}

  err(at: number, message: string, field = "q"): never {
    throw new QueryError(`at ${at}: ${message}`, field, at);
  }
  skipWs(): void {
    while (isSpace(this.s[this.pos])) this.pos++;
  }
  /** Keyword (case-insensitive) at pos, followed by whitespace, "(" or the end. */
  keyword(word: string): boolean {
    const end = this.pos + word.length;
    if (this.s.slice(this.pos, end).toLowerCase() !== word) return false;
    const next = this.s[end];
    return next === undefined || isSpace(next) || next === "(";
  }
  describe(at: number): string {
    return at >= this.s.length ? "the end of the query" : `"${this.s.slice(at, at + 12).split(/\s/)[0] || this.s[at]}"`;
  }

  parseOr(): QueryNode {
    const items = [this.parseAnd()];
    for (;;) {
      this.skipWs();
      if (!this.keyword("or")) break;
      this.pos += 2;
      items.push(this.parseAnd());
    }
    return joinItems("or", items);
  }

  parseAnd(): QueryNode {
    const items: QueryNode[] = [];
    for (;;) {
      this.skipWs();
      const at = this.pos;
      if (at >= this.s.length || this.s[at] === ")" || this.keyword("or")) break;
      if (this.keyword("and")) {
        if (items.length === 0) this.err(at, "expected a term before AND");
        this.pos += 3;
        this.skipWs();
        const next = this.pos;
        if (next >= this.s.length || this.s[next] === ")" || this.keyword("or")) {
          this.err(next, `expected a term after AND, got ${this.describe(next)}`);
        }
        continue;
      }
      items.push(this.parseUnary());
    }
    if (items.length === 0) this.err(this.pos, `expected a field:value term, got ${this.describe(this.pos)}`);
    return joinItems("and", items);
  }

  parseUnary(): QueryNode {
    const at = this.pos;
    const ch = this.s[at];
    if (ch === "-" || ch === "!") {
      this.pos++;
      const next = this.s[this.pos];
      if (next === undefined || isSpace(next)) this.err(this.pos, `expected a term right after "${ch}"`);
      return { kind: "not", item: this.parseUnary() };
    }
    if (this.keyword("not")) {
      this.pos += 3;
      this.skipWs();
      const next = this.s[this.pos];
      if (next === undefined || next === ")" || this.keyword("or") || this.keyword("and")) {
        this.err(this.pos, `expected a term after NOT, got ${this.describe(this.pos)}`);
      }
      return { kind: "not", item: this.parseUnary() };
    }
    if (ch === "(") {
      this.pos++;
      this.skipWs();
      if (this.s[this.pos] === ")") this.err(this.pos, "empty parentheses: expected a term");
      const node = this.parseOr();
      this.skipWs();
      if (this.s[this.pos] !== ")") this.err(this.pos, `expected ")" to close "(" at ${at}`);
      this.pos++;
      return node;
    }
    return this.parseTerm();
  }

  parseTerm(): QueryNode {
    const s = this.s;
    const start = this.pos;
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(start))?.[0];
    if (!name) {
      if (s[start] === ")") this.err(start, `unexpected ")" (no matching "(")`);
      this.err(start, `expected a field:value term (e.g. protocol:tcp), got ${this.describe(start)}`);
    }
    const lower = name.toLowerCase();
    this.pos += name.length;
    const opAt = this.pos;
    const opText = /^(:?(>=|<=|>|<|=)|:)/.exec(s.slice(opAt))?.[0];
    const known = (QUERY_FIELDS as readonly string[]).includes(lower);
    if (!opText) {
      if (known) this.err(opAt, `expected ":" after "${name}" (e.g. ${lower}:value)`, lower);
      this.err(start, `expected field:value (e.g. protocol:tcp), got "${s.slice(start, opAt)}"`);
    }
    if (!known) this.err(start, unknownField(lower));
    const field = lower as Field;
    const errField = field === "proto" ? "protocol" : field;
    const op = (opText === ":" ? "=" : opText.replace(":", "")) as CmpOp;
    if (op !== "=" && !COMPARABLE.has(field)) {
      this.err(opAt, `"${field}" takes ${field}:value, not a comparison "${opText}"`, errField);
    }
    this.pos += opText.length;
    const valueAt = this.pos;
    let value = "";
    if (s[valueAt] === '"') {
      let j = valueAt + 1;
      for (; j < s.length && s[j] !== '"'; j++) {
        if (s[j] === "\\" && j + 1 < s.length) j++;
        value += s[j];
      }
      if (j >= s.length) this.err(valueAt, `unterminated quoted value (expected a closing ")`, errField);
      this.pos = j + 1;
      const after = s[this.pos];
      if (after !== undefined && !isSpace(after) && after !== ")" && after !== "(") {
        this.err(this.pos, `expected whitespace or ")" after the quoted value`, errField);
      }
    } else {
      while (this.pos < s.length && !isSpace(s[this.pos]) && s[this.pos] !== "(" && s[this.pos] !== ")") this.pos++;
      value = s.slice(valueAt, this.pos);
    }
    if (value === "") this.err(valueAt, `expected a value after "${name}${opText}"`, errField);
    return termNode(field, op, value, (offset, message) => this.err(valueAt + offset, message, errField));
  }
}

/** Parse query text into an AST (MATCH_ALL for blank text). Throws QueryError. */
export function parseQuery(text: string): QueryNode {
  const p = new Parser(text);
  p.skipWs();
  if (p.pos >= text.length) return MATCH_ALL;
  const node = p.parseOr();
  p.skipWs();
  if (p.pos < text.length) p.err(p.pos, `unexpected ")" (no matching "(")`);
  return node;
}

/**
 * URL parameters → AST (AND of all given). Parameters are the query fields plus min_/max_ bytes,
 * packets, duration, bps (inclusive bounds). Unknown parameters, and empty or blank values (as sent
 * by an empty form input), are ignored. Errors carry the parameter name as `field` and the offset
 * within its value as `position`. The `q` parameter is not read here: AND it with andQueries.
 */
export function paramsToQuery(params: Record<string, string | undefined>): QueryNode {
  const items: QueryNode[] = [];
  for (const name of QUERY_PARAM_NAMES) {
    const raw = params[name];
    if (raw === undefined || raw.trim() === "") continue;
    const value = raw.trim();
    const fail: Fail = (offset, message) => {
      throw new QueryError(`${name}: ${message}`, name, offset + raw.indexOf(value));
    };
    const bound = /^(min|max)_(.*)$/.exec(name);
    items.push(bound ? termNode(bound[2] as Field, bound[1] === "min" ? ">=" : "<=", value, fail) : termNode(name as Field, "=", value, fail));
  }
  return items.length === 0 ? MATCH_ALL : joinItems("and", items);
}

/** AND of two queries; MATCH_ALL on either side drops out. */
export function andQueries(a: QueryNode, b: QueryNode): QueryNode {
  if (a.kind === "all") return b;
  if (b.kind === "all") return a;
  return joinItems("and", [a, b]);
}

/** AST for `ip:<addr>` (address or CIDR). Throws QueryError (field "ip") for a bad address. */
export function hostQuery(addr: string): QueryNode {
  return termNode("ip", "=", addr.trim(), (offset, message) => {
    throw new QueryError(`ip: ${message}`, "ip", offset);
  });
}

function leafToString(n: QueryNode): string {
  switch (n.kind) {
    case "ip": return `${n.field}:${n.addr}${n.prefix === (n.version === 4 ? 32 : 128) ? "" : `/${n.prefix}`}`;
    case "port": return `${n.field}:${n.lo === n.hi ? n.lo : `${n.lo}-${n.hi}`}`;
    case "proto": return `protocol:${protoName(n.proto)}`;
    case "vlan": return `vlan:${n.vlan === null ? "none" : n.vlan}`;
    case "state": return `state:${n.state}`;
    case "ip_version": return `ip_version:${n.version}`;
    case "source": return `source:${n.source}`;
    case "exporter": return `exporter:${n.addr}${n.prefix === (n.version === 4 ? 32 : 128) ? "" : `/${n.prefix}`}`;
    case "app": return `app:${n.app}`;
    case "name": return `name:${quoteValue(n.glob)}`;
    case "country": return `country:${n.country}`;
    case "asn": return `asn:${n.asn}`;
    case "community_id": return `community_id:${n.id}`;
    case "cmp": {
      const v = n.field === "duration" ? formatDurationMs(n.value) : formatSize(n.value);
      return `${n.field}${n.op === "=" ? ":" : n.op}${v}`;
    }
    default: return "";
  }
}

/**
 * Canonical text: parseQuery(queryToString(ast)) deep-equals any AST that parseQuery or
 * paramsToQuery produced. Limit: a hand-built NOT of match-all has no text form ("-()" is refused).
 */
export function queryToString(n: QueryNode): string {
  switch (n.kind) {
    case "all": return "";
    case "and": return n.items.map((c) => (c.kind === "or" ? `(${queryToString(c)})` : queryToString(c))).join(" ");
    case "or": return n.items.map(queryToString).join(" OR ");
    case "not": {
      const inner = queryToString(n.item);
      if (n.item.kind === "and" || n.item.kind === "or") return `-(${inner})`;
      return n.item.kind === "all" ? "-()" : `-${inner}`;
    }
    default: return leafToString(n);
  }
}
