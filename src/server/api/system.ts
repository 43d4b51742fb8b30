/**
 * GET /api/v1/health (503 when critical), GET /api/v1/metrics/history, GET /api/v1/alerts.
 *
 * History limits: 60 s to 24 h; points at the collector's interval (5 s by default) up to
 * `points` (default 720, max 2000), coarser beyond (means over the bucket). `dropped` is the
 * cumulative capture drop counter as sampled (its increase between points = drops in that step).
 */
import { Elysia, type Static } from "elysia";
import type { ServerContext } from "../context.ts";
import { healthReport } from "../health.ts";
import { rawQuery } from "./flow-request.ts";
import { durationParam, enumParam, intParam, rejectUnknown, timeParam } from "./params.ts";
import { HISTORY_MAX_S } from "./traffic.ts";
import { badRequest, internal } from "./schemas/errors.ts";
import { json, operation } from "./schemas/operation.ts";
import { AlertsBody, AlertsQuery, HealthBody, HISTORY_SERIES_NAMES, MetricsHistoryBody, MetricsHistoryQuery } from "./schemas/system.ts";

/** API series name → the collector's (or store's) series name. */
const HISTORY_SERIES: Record<(typeof HISTORY_SERIES_NAMES)[number], string> = {
  cpu_percent: "cpu",
  load1: "load1",
  memory_used: "mem_used",
  memory_total: "mem_total",
  process_rss: "rss",
  process_cpu: "proc_cpu",
  dropped: "dropped",
  bps: "bps",
  pps: "pps",
  active_flows: "active_flows",
};

export function systemRoutes(ctx: ServerContext) {
  return new Elysia()
    .get("/api/v1/health", async ({ request, set }): Promise<Static<typeof HealthBody>> => {
      rejectUnknown(rawQuery(request.url), []);
      const h = await healthReport(ctx);
      if (h.status === "critical") set.status = 503;
      return h;
    }, {
      detail: operation({
        summary: "System health", description: "status ok | degraded | critical with reasons; HTTP 503 when critical.", tags: ["system"],
        responses: { "200": json("ok or degraded, with reasons.", HealthBody), "400": badRequest, "503": json("critical: the same body.", HealthBody) },
      }),
    })
    .get("/api/v1/metrics/history", async ({ request }): Promise<Static<typeof MetricsHistoryBody>> => {
      const raw = rawQuery(request.url);
      rejectUnknown(raw, ["duration", "points"]);
      const duration = durationParam(raw, "duration", 900, 60, ctx.history ? HISTORY_MAX_S : 86_400);
      const points = intParam(raw, "points", 720, 10, 2000);
      // With a store the history survives restarts: read it there (per second up to 1 h, per minute beyond).
      const now = Date.now() / 1000;
      const h = ctx.history ? await ctx.history.store.metricsHistory(now - duration, now, points) : ctx.metrics.history(duration, points);
      const series = {} as Static<typeof MetricsHistoryBody>["series"];
      for (const out of HISTORY_SERIES_NAMES) series[out] = h.series[HISTORY_SERIES[out]] ?? h.t.map(() => null);
      return { step: h.step, duration_s: duration, t: h.t, series, generated_at: new Date().toISOString() };
    }, {
      detail: operation({
        summary: "System metrics history", description: "cpu_percent, load1, memory_used/total, process_rss/cpu, dropped (cumulative), bps, pps, active_flows.", tags: ["system"],
        query: MetricsHistoryQuery,
        responses: { "200": json("The series, parallel to t.", MetricsHistoryBody), "400": badRequest, "500": internal },
      }),
    })
    .get("/api/v1/alerts", async ({ request }): Promise<Static<typeof AlertsBody>> => {
      const raw = rawQuery(request.url);
      rejectUnknown(raw, ["state", "since", "until", "limit"]);
      const state = enumParam(raw, "state", ["current", "all"] as const, "current");
      const since = timeParam(raw, "since");
      const until = timeParam(raw, "until");
      const limit = intParam(raw, "limit", 100, 1, 10_000);
      const active = ctx.alerts.active();
      const recent = ctx.alerts.recent();
      if (state !== "all" && since === undefined && until === undefined) return { active, recent, generated_at: new Date().toISOString() };
      // Every raise and clear, newest first: from the store (it survives restarts), else this run's recent list.
      const history = ctx.history
        ? await ctx.history.store.alerts({ since, until, limit })
        : recent.filter((a) => (since === undefined || Date.parse(a.since) / 1000 >= since) && (until === undefined || Date.parse(a.since) / 1000 <= until)).slice(0, limit)
          .map((a) => ({ at: a.since, event: "raised" as const, alert: a }));
      return { active, recent, history, generated_at: new Date().toISOString() };
    }, {
      detail: operation({
        summary: "Alerts", query: AlertsQuery,
        responses: { "200": json("Active, recent and (on request) past alerts.", AlertsBody), "400": badRequest, "500": internal },
        description: "Active alerts (most severe first), recently raised ones (newest first, bounded), and with state=all or since/until the alert history (raised and cleared events, newest first).", tags: ["system"],
      }),
    });
}
