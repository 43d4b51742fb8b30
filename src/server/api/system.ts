/**
 * GET /api/v1/health (503 when critical), GET /api/v1/metrics/history, GET /api/v1/alerts.
 *
 * History limits: 60 s to 24 h; points at the collector's interval (5 s by default) up to
 * `points` (default 720, max 2000), coarser beyond (means over the bucket). `dropped` is the
 * cumulative capture drop counter as sampled (its increase between points = drops in that step).
 */
import { Elysia, t } from "elysia";
import type { ServerContext } from "../context.ts";
import { healthReport } from "../health.ts";
import { rawQuery } from "./flow-request.ts";
import { durationParam, enumParam, intParam, rejectUnknown, timeParam } from "./params.ts";
import { HISTORY_MAX_S } from "./traffic.ts";

const d = (description: string) => t.Optional(t.String({ description }));

const HISTORY_SERIES: Record<string, string> = {
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
    .get("/api/v1/health", async ({ request, set }) => {
      rejectUnknown(rawQuery(request.url), []);
      const h = await healthReport(ctx);
      if (h.status === "critical") set.status = 503;
      return h;
    }, {
      detail: { summary: "System health", description: "status ok | degraded | critical with reasons; HTTP 503 when critical.", tags: ["system"] },
    })
    .get("/api/v1/metrics/history", async ({ request }) => {
      const raw = rawQuery(request.url);
      rejectUnknown(raw, ["duration", "points"]);
      const duration = durationParam(raw, "duration", 900, 60, ctx.history ? HISTORY_MAX_S : 86_400);
      const points = intParam(raw, "points", 720, 10, 2000);
      // With a store the history survives restarts: read it there (per second up to 1 h, per minute beyond).
      const now = Date.now() / 1000;
      const h = ctx.history ? await ctx.history.store.metricsHistory(now - duration, now, points) : ctx.metrics.history(duration, points);
      const series: Record<string, (number | null)[]> = {};
      for (const [out, name] of Object.entries(HISTORY_SERIES)) series[out] = h.series[name] ?? h.t.map(() => null);
      return { step: h.step, duration_s: duration, t: h.t, series, generated_at: new Date().toISOString() };
    }, {
      query: t.Object({
        duration: d("How far back: 60s-24h, or up to 30d with the history store (default 15m)."),
        points: d("Maximum points: 10-2000 (default 720)."),
      }),
      detail: { summary: "System metrics history", description: "cpu_percent, load1, memory_used/total, process_rss/cpu, dropped (cumulative), bps, pps, active_flows.", tags: ["system"] },
    })
    .get("/api/v1/alerts", async ({ request }) => {
      const raw = rawQuery(request.url);
      rejectUnknown(raw, ["state", "since", "until", "limit"]);
      const state = enumParam(raw, "state", ["current", "all"] as const, "current");
      const since = timeParam(raw, "since");
      const until = timeParam(raw, "until");
      const limit = intParam(raw, "limit", 100, 1, 10_000);
      const out: Record<string, unknown> = { active: ctx.alerts.active(), recent: ctx.alerts.recent() };
      if (state === "all" || since !== undefined || until !== undefined) {
        // Every raise and clear, newest first: from the store (it survives restarts), else this run's recent list.
        out.history = ctx.history
          ? await ctx.history.store.alerts({ since, until, limit })
          : ctx.alerts.recent().filter((a) => (since === undefined || Date.parse(a.since) / 1000 >= since) && (until === undefined || Date.parse(a.since) / 1000 <= until)).slice(0, limit)
            .map((a) => ({ at: a.since, event: "raised", alert: a }));
      }
      out.generated_at = new Date().toISOString();
      return out;
    }, {
      query: t.Object({
        state: d("current (default: active and recently raised alerts) | all (also `history`: every raise and clear, from the store when there is one)."),
        since: d("history from this time: ISO 8601, relative (-1h, -7d), now or epoch seconds."),
        until: d("history up to this time."),
        limit: d("history events: 1-10000 (default 100)."),
      }),
      detail: { summary: "Alerts", description: "Active alerts (most severe first), recently raised ones (newest first, bounded), and with state=all or since/until the alert history (raised and cleared events, newest first).", tags: ["system"] },
    });
}
