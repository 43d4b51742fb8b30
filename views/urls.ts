/**
 * URLs the views link to. The server must serve these paths (this file only builds them):
 *   GET /                      live page         GET /flows?q=…&sort_by=…&order=…&limit=…&offset=…&since=…&until=…
 *   GET /flows/table?…         #flows-table fragment (answer with header HX-Push-Url: flowsPageHref(params))
 *   GET /live/bandwidth?range= #bandwidth-chart fragment (range 60s | 15m | 1h)
 *   GET /health                health page       GET /health/history?range= #health-history fragment
 *   GET /health/alerts         #alerts-history fragment (every raise and clear, newest first)
 *   GET /api/v1/flows?…&format=csv                CSV export
 *   /ws (WebSocket) or /sse (EventSource): out-of-band HTML pushes.
 * Query values are percent-encoded (':' and '/' kept, space as '+': URLSearchParams decodes both);
 * empty/undefined values are left out.
 */
import type { ChartRange, FlowsParams, HistoryRange } from "./types.ts";

export const ROUTES = {
  live: "/",
  flows: "/flows",
  flowsTable: "/flows/table",
  health: "/health",
  healthHistory: "/health/history",
  alertsHistory: "/health/alerts",
  liveBandwidth: "/live/bandwidth",
  flowsApi: "/api/v1/flows",
  ws: "/ws",
  sse: "/sse",
} as const;

export const STATIC = {
  htmx: "/static/htmx.min.js",
  ws: "/static/hx-ws.js",
  sse: "/static/hx-sse.js",
  hyperscript: "/static/_hyperscript.min.js",
  css: "/static/app.css",
} as const;

/** Percent-encode a query value, keeping ':' and '/' readable (legal in a query, RFC 3986) and space as '+'. */
export function encodeQueryValue(v: string): string {
  return encodeURIComponent(v).replace(/%3A/gi, ":").replace(/%2F/gi, "/").replace(/%20/g, "+");
}

function qs(p: Partial<FlowsParams>, extra: Record<string, string> = {}): string {
  const parts: [string, string][] = [];
  if (p.q) parts.push(["q", p.q]);
  if (p.sort_by) parts.push(["sort_by", p.sort_by]);
  if (p.order) parts.push(["order", p.order]);
  if (p.limit != null) parts.push(["limit", String(p.limit)]);
  if (p.offset) parts.push(["offset", String(p.offset)]);
  if (p.since) parts.push(["since", p.since]);
  if (p.until) parts.push(["until", p.until]);
  parts.push(...Object.entries(extra));
  return parts.length ? "?" + parts.map(([k, v]) => `${k}=${encodeQueryValue(v)}`).join("&") : "";
}

/** /flows?… — the address bar URL of a flows view (also the no-JS link target). */
export function flowsPageHref(p: Partial<FlowsParams>): string {
  return ROUTES.flows + qs(p);
}

/** /flows/table?… — the fragment htmx fetches into #flows-table. */
export function flowsTableHref(p: Partial<FlowsParams>): string {
  return ROUTES.flowsTable + qs(p);
}

/** /api/v1/flows?…&format=csv — same filters, sort and time range, no paging (the whole result). */
export function flowsCsvHref(p: Partial<FlowsParams>): string {
  return ROUTES.flowsApi + qs({ q: p.q, sort_by: p.sort_by, order: p.order, since: p.since, until: p.until }, { format: "csv" });
}

/** /flows?q=ip:<addr> — the flows of one host. */
export function hostFlowsHref(host: string): string {
  return flowsPageHref({ q: `ip:${host}` });
}

/** /flows?q=app:<name> — the flows of one application. */
export function appFlowsHref(app: string): string {
  return flowsPageHref({ q: `app:${app}` });
}

export function bandwidthHref(range: ChartRange): string {
  return `${ROUTES.liveBandwidth}?range=${range}`;
}

export function historyHref(range: HistoryRange): string {
  return `${ROUTES.healthHistory}?range=${range}`;
}

/** The alert history panel on the Health page (one click from the Live alerts panel). */
export const ALERTS_HISTORY_HREF = `${ROUTES.health}#alerts-history`;
