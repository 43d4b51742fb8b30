/**
 * GET /api/v1/talkers and GET /api/v1/bandwidth.
 *
 * Limits: talkers cover at most the last 300 s (the engine keeps 300 one-second snapshots) and up
 * to 100 hosts. Bandwidth covers up to 24 h: per-second points up to 1 h, per-minute beyond, at
 * most `points` points (default 900, max 2000; wider buckets carry the mean rate over the bucket).
 * Times are the engine clock (packet time): for a replayed file, the capture's own timestamps.
 */
import { Elysia, t } from "elysia";
import type { ServerContext } from "../context.ts";
import { durationParam, enumParam, intParam, rejectUnknown } from "./params.ts";
import { rawQuery } from "./flow-request.ts";

const d = (description: string) => t.Optional(t.String({ description }));

function rate(values: (number | null)[] | undefined, factor: number): (number | null)[] {
  return (values ?? []).map((v) => (v === null ? null : Math.round(v * factor * 1000) / 1000));
}

export function trafficRoutes(ctx: ServerContext) {
  return new Elysia()
    .get("/api/v1/talkers", async ({ request }) => {
      const raw = rawQuery(request.url);
      rejectUnknown(raw, ["by", "window", "limit"]);
      const by = enumParam(raw, "by", ["src", "dst", "host"] as const, "host");
      const window = durationParam(raw, "window", 60, 1, 300);
      const limit = intParam(raw, "limit", 10, 1, 100);
      const talkers = await ctx.engine.call("talkers", { by, window, limit });
      return { talkers, by, window_s: window, limit, generated_at: new Date().toISOString() };
    }, {
      query: t.Object({
        by: d("src (bytes sent by the host) | dst (received) | host (both, default)."),
        window: d("Window ending now: 1s-300s (default 60s)."),
        limit: d("Hosts to return: 1-100 (default 10)."),
      }),
      detail: { summary: "Top talkers", tags: ["traffic"] },
    })
    .get("/api/v1/bandwidth", async ({ request }) => {
      const raw = rawQuery(request.url);
      rejectUnknown(raw, ["duration", "points"]);
      const duration = durationParam(raw, "duration", 900, 10, 86_400);
      const points = intParam(raw, "points", 900, 10, 2000);
      const s = await ctx.engine.call("bandwidth", { duration, maxPoints: points });
      // Points are per-step amounts of the engine's base ring (1 s up to 1 h, 60 s beyond); a
      // downsampled point is the mean per base step over its bucket, so divide by the base step.
      const base = duration <= 3600 ? 1 : 60;
      const bits = 8 / base;
      const per = 1 / base;
      const x = s.series;
      return {
        step: s.step,
        duration_s: duration,
        t: s.t,
        bps: rate(x.bytes, bits),
        pps: rate(x.packets, per),
        flows: rate(x.active_flows, 1),
        by_protocol: {
          tcp: rate(x.tcp_bytes, bits),
          udp: rate(x.udp_bytes, bits),
          icmp: rate(x.icmp_bytes, bits),
          other: rate(x.other_bytes, bits),
          non_ip: rate(x.non_ip_bytes, bits),
        },
        generated_at: new Date().toISOString(),
      };
    }, {
      query: t.Object({
        duration: d("How far back: 10s-24h (default 15m)."),
        points: d("Maximum points: 10-2000 (default 900)."),
      }),
      detail: { summary: "Bandwidth series", description: "bps/pps totals, active flows, and bit/s by protocol class (tcp, udp, icmp, other, non_ip). `t` = start of each step (s since epoch).", tags: ["traffic"] },
    });
}
