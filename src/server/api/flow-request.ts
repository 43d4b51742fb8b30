/**
 * Turns the URL parameters of GET /api/v1/flows into an engine FlowQuery: `q` (the query grammar,
 * at most Q_MAX_LENGTH characters) AND the plain field parameters (paramsToQuery), membership,
 * sort, order and paging, plus the output format.
 *
 * `state` is shared: active | ended | all select which flows are searched (the live table, the
 * recently-ended ring, or both; default all); any other value is a TCP/flow state filter
 * (attempted, rejected, established, …) as in `q`'s `state:` field.
 *
 * Limits: limit ≤ 10,000 for JSON; for csv/ndjson exports the default and maximum is EXPORT_MAX
 * (100,000 rows). Unknown parameters are rejected (names starting with "_" are ignored).
 */
import { andQueries, paramsToQuery, parseQuery, QUERY_PARAM_NAMES, type QueryNode } from "../../flows/query/query.ts";
import { QueryError } from "../../flows/query/query-error.ts";
import { SORT_KEYS, type FlowQuery, type Membership, type SortKey } from "../../flows/query/flow-query.ts";
import { BadRequestError } from "./bad-request-error.ts";
import { enumParam, intParam, rejectUnknown, single, timeParam, type RawQuery } from "./params.ts";

export const Q_MAX_LENGTH = 2000;
export const PAGE_MAX = 10_000;
/** Rows per page when `limit` is not given (JSON, and the Flows page). */
export const PAGE_DEFAULT = 100;
export const EXPORT_MAX = 100_000;
export const FORMATS = ["json", "csv", "ndjson"] as const;
export type FlowFormat = (typeof FORMATS)[number];
export const MEMBERSHIPS: readonly Membership[] = ["active", "ended", "all"];

export const FLOW_PARAM_NAMES: readonly string[] = [
  "q", ...QUERY_PARAM_NAMES, "sort_by", "order", "limit", "offset", "format", "since", "until",
];

/** A GET /api/v1/flows request: the flow query (parsed here, once) and the output format. */
export interface FlowRequest {
  query: FlowQuery;
  format: FlowFormat;
}

/** URL search parameters as RawQuery (repeated names become arrays). */
export function rawQuery(url: string): RawQuery {
  const out: RawQuery = {};
  const qs = url.indexOf("?");
  if (qs < 0) return out;
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(url.slice(qs + 1));
  } catch {
    throw new BadRequestError("query", "the query string could not be decoded");
  }
  for (const [k, v] of params) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function asBadRequest(e: unknown): never {
  if (e instanceof QueryError) throw new BadRequestError(e.field, e.message, e.position);
  throw e;
}

export function parseFlowRequest(raw: RawQuery): FlowRequest {
  rejectUnknown(raw, FLOW_PARAM_NAMES);
  const format = enumParam(raw, "format", FORMATS, "json");
  const qText = single(raw, "q") ?? "";
  if (qText.length > Q_MAX_LENGTH) {
    throw new BadRequestError("q", `q: the query is ${qText.length} characters long; at most ${Q_MAX_LENGTH} are allowed`);
  }
  let node: QueryNode;
  try {
    node = parseQuery(qText);
  } catch (e) {
    asBadRequest(e);
  }
  const fields: Record<string, string | undefined> = {};
  for (const name of QUERY_PARAM_NAMES) fields[name] = single(raw, name);
  let membership: Membership = "all";
  const st = fields.state?.toLowerCase();
  if (st !== undefined && (MEMBERSHIPS as readonly string[]).includes(st)) {
    membership = st as Membership;
    fields.state = undefined;
  }
  try {
    node = andQueries(node, paramsToQuery(fields));
  } catch (e) {
    if (e instanceof QueryError && e.field === "state") {
      throw new BadRequestError("state", `${e.message}; or one of ${MEMBERSHIPS.join(", ")} to choose live/ended flows`, e.position);
    }
    asBadRequest(e);
  }
  const sortBy = enumParam<SortKey>(raw, "sort_by", SORT_KEYS, "bytes");
  const order = enumParam(raw, "order", ["asc", "desc"] as const, "desc");
  const max = format === "json" ? PAGE_MAX : EXPORT_MAX;
  const limit = intParam(raw, "limit", format === "json" ? PAGE_DEFAULT : EXPORT_MAX, 0, max);
  const offset = intParam(raw, "offset", 0, 0, 1_000_000 - max);
  const since = timeParam(raw, "since");
  const until = timeParam(raw, "until");
  if (since !== undefined && until !== undefined && since > until) throw new BadRequestError("until", "until: is before since");
  const query: FlowQuery = { query: node, state: membership, sortBy, order, offset, limit };
  if (since !== undefined) query.since = since;
  if (until !== undefined) query.until = until;
  return { query, format };
}

/** Flow id path parameter: a positive integer. */
export function parseFlowId(id: string): number {
  if (!/^\d{1,15}$/.test(id) || Number(id) < 1) {
    throw new BadRequestError("id", `id: "${id.slice(0, 64)}" is not a flow id (a positive integer)`);
  }
  return Number(id);
}
