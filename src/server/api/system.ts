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
import { durationParam, intParam, rejectUnknown } from "./params.ts";

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
    .get("/api/v1/metrics/history", ({ request }) => {
      const raw = rawQuery(request.url);
      rejectUnknown(raw, ["duration", "points"]);
      const duration = durationParam(raw, "duration", 900, 60, 86_400);
      const points = intParam(raw, "points", 720, 10, 2000);
      const h = ctx.metrics.history(duration, points);
      const series: Record<string, (number | null)[]> = {};
      for (const [out, name] of Object.entries(HISTORY_SERIES)) series[out] = h.series[name] ?? h.t.map(() => null);
      return { step: h.step, duration_s: duration, t: h.t, series, generated_at: new Date().toISOString() };
    }, {
      query: t.Object({
        duration: d("How far back: 60s-24h (default 15m)."),
        points: d("Maximum points: 10-2000 (default 720)."),
      }),
      detail: { summary: "System metrics history", description: "cpu_percent, load1, memory_used/total, process_rss/cpu, dropped (cumulative), bps, pps, active_flows.", tags: ["system"] },
    })
    .get("/api/v1/alerts", ({ request }) => {
      rejectUnknown(rawQuery(request.url), []);
      return { active: ctx.alerts.active(), recent: ctx.alerts.recent(), generated_at: new Date().toISOString() };
    }, {
      detail: { summary: "Alerts", description: "Active alerts (most severe first) and recently raised ones (newest first, bounded).", tags: ["system"] },
    });
}
