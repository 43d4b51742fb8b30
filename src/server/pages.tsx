/**
 * Dashboard pages (server-rendered HTML, htmx 4):
 *   GET /                       Live page
 *   GET /flows?q&sort_by&order&limit&offset&since&until   Flows page (a bad query or time renders
 *                               the inline error; still HTTP 200). since/until: the API's forms
 *                               (ISO 8601, -1h, now, epoch seconds); none = live
 *   GET /flows/table?…          #flows-table fragment (+ #time-range out of band, so its links
 *                               keep a new search); header HX-Push-Url: /flows?… (the address bar)
 *   GET /health                 Health page (indicators, history charts, alert history)
 *   GET /live/bandwidth?range=60s|15m|1h      bandwidth chart fragment (15m/1h from the store when
 *                               there is one)
 *   GET /health/history?range=15m|1h|6h|24h|7d   #health-history fragment (7d only with a store)
 *   GET /health/alerts          #alerts-history fragment
 *   GET /favicon.ico            204 (no icon; keeps the browser console clean)
 *
 * A request with `HX-Request` whose HX-Request-Type is not "full" (an htmx tab switch) gets the
 * page body only (HtmxPage); a normal request or an htmx history restore gets the whole
 * document (Layout). `?transport=sse` picks the SSE live transport over config.transport.
 *
 * Limits: an unknown range value falls back to the default range (60s / 15m) rather than 400.
 * Everything from the URL or a packet reaches the markup through the views' `safe` escaping.
 */
import { Elysia } from "elysia";
import type { PropsWithChildren } from "@kitajs/html";
import { HtmxPage, Layout } from "../../views/layout.tsx";
import { BandwidthChart, LivePage } from "../../views/live.tsx";
import { FlowsPage, FlowsTable, TimeRange } from "../../views/flows.tsx";
import { AlertHistory, HealthHistory, HealthPage } from "../../views/health.tsx";
import { CHART_RANGES, type ChartRange, type HealthJson, type Tab, type Transport } from "../../views/types.ts";
import { flowsPageHref } from "../../views/urls.ts";
import type { ServerContext } from "./context.ts";
import {
  alertHistory, alertsJson, countersFromTick, currentHealth, flowsView, highBandwidth, historyRanges, liveBandwidth,
  metricsHistory, pickHistoryRange, rangeBandwidth,
} from "./page-data.ts";

const HTML_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  vary: "HX-Request, HX-Request-Type",
};

export function htmlResponse(body: string, extra: Record<string, string> = {}): Response {
  return new Response(body, { headers: { ...HTML_HEADERS, ...extra } });
}

/** htmx partial request (tab switch), as opposed to a full load or a history restore. */
export function isPartial(req: Request): boolean {
  const h = req.headers;
  return h.get("hx-request") === "true" && h.get("hx-request-type") !== "full" && h.get("hx-history-restore-request") !== "true";
}

export function transportOf(ctx: ServerContext, url: URL): Transport {
  const t = url.searchParams.get("transport");
  if (t === "sse" || t === "ws") return t;
  return ctx.config.transport ?? "ws";
}

function pick<T extends string>(v: string | null, allowed: readonly T[], def: T): T {
  return (allowed as readonly string[]).includes(v ?? "") ? (v as T) : def;
}

interface Frame {
  req: Request;
  url: URL;
  title: string;
  active: Tab;
  health: HealthJson | null;
}

/** Wraps a page body in Layout (full load) or HtmxPage (htmx tab switch). */
function page(ctx: ServerContext, f: PropsWithChildren<Frame>): Response {
  const body = isPartial(f.req)
    ? <HtmxPage title={f.title} active={f.active}>{f.children}</HtmxPage>
    : <Layout title={f.title} active={f.active} transport={transportOf(ctx, f.url)} health={f.health}>{f.children}</Layout>;
  return htmlResponse(body as string);
}

export function pageRoutes(ctx: ServerContext) {
  return new Elysia({ name: "flowmatrix-pages" })
    .get("/", async ({ request }) => {
      const url = new URL(request.url);
      const tick = ctx.engine.last;
      const alerts = alertsJson(ctx);
      const health = await currentHealth(ctx);
      const bandwidth = liveBandwidth(tick);
      const body = (
        <LivePage bandwidth={bandwidth} counters={countersFromTick(tick)} talkers={tick?.talkers ?? []}
          apps={tick?.apps ?? []} alerts={alerts} health={health} high_bandwidth={highBandwidth(alerts)} />
      );
      return page(ctx, { req: request, url, title: "Live", active: "live", health, children: body });
    })
    .get("/flows", async ({ request }) => {
      const url = new URL(request.url);
      const [view, health] = await Promise.all([flowsView(ctx, url.searchParams), isPartial(request) ? null : currentHealth(ctx)]);
      return page(ctx, { req: request, url, title: "Flows", active: "flows", health, children: <FlowsPage view={view} /> });
    })
    .get("/flows/table", async ({ request }) => {
      const url = new URL(request.url);
      const view = await flowsView(ctx, url.searchParams);
      const body = <>{<FlowsTable view={view} />}{<TimeRange view={view} oob />}</>;
      return htmlResponse(body as string, { "HX-Push-Url": flowsPageHref(view.params) });
    })
    .get("/health", async ({ request }) => {
      const url = new URL(request.url);
      const range = pickHistoryRange(ctx, url.searchParams.get("range"));
      const [health, history, alerts] = await Promise.all([currentHealth(ctx), metricsHistory(ctx, range), alertHistory(ctx)]);
      const body = health
        ? <HealthPage health={health} history={history} range={range} ranges={historyRanges(ctx)} alerts={alerts} />
        : <p class="empty">The capture engine is not answering; retry in a moment.</p>;
      return page(ctx, { req: request, url, title: "Health", active: "health", health, children: body });
    })
    .get("/live/bandwidth", async ({ request }) => {
      const url = new URL(request.url);
      const range = pick<ChartRange>(url.searchParams.get("range"), CHART_RANGES, "60s");
      const bandwidth = await rangeBandwidth(ctx, range);
      return htmlResponse(<BandwidthChart bandwidth={bandwidth} range={range} high={highBandwidth(alertsJson(ctx))} /> as string);
    })
    .get("/favicon.ico", () => new Response(null, { status: 204, headers: { "cache-control": "max-age=86400" } }))
    .get("/health/history", async ({ request }) => {
      const url = new URL(request.url);
      const range = pickHistoryRange(ctx, url.searchParams.get("range"));
      const history = await metricsHistory(ctx, range);
      return htmlResponse(<HealthHistory history={history} range={range} ranges={historyRanges(ctx)} /> as string);
    })
    .get("/health/alerts", async () => {
      return htmlResponse(<AlertHistory history={await alertHistory(ctx)} /> as string);
    });
}
