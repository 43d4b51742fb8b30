/**
 * FlowQuery: the one description of a flow query, used from the HTTP request to the engine (and
 * the history store): which flows (a parsed query AST, never text — parsing happens once, where
 * the request arrives, so the 400 can name the position), from which set, in which order, which
 * page. The engine compiles `query` (query-compile.ts); the store turns it into SQL.
 */
import type { QueryNode } from "./query.ts";

export const SORT_KEYS = [
  "bytes", "packets", "bps", "duration", "first_seen", "last_seen",
  "src_ip", "dst_ip", "src_port", "dst_port", "protocol",
] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/** Which flows are searched: the live table, the recently ended (and stored) flows, or both. */
export type Membership = "active" | "ended" | "all";

export interface FlowQuery {
  query: QueryNode;
  state: Membership;
  sortBy: SortKey;
  order: "asc" | "desc";
  offset: number;
  limit: number;
  /** Time bounds, seconds since the epoch: a flow is in [since, until] when it overlaps it. */
  since?: number;
  until?: number;
}
