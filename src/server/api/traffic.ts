/**
 * GET /api/v1/talkers and GET /api/v1/bandwidth.
 *
 * Limits: talkers cover at most the last 300 s (the engine keeps 300 one-second snapshots) and up
 * to 100 hosts. Bandwidth covers up to 24 h: per-second points up to 1 h, per-minute beyond, at
 * most `points` points (default 900, max 2000; wider buckets carry the mean rate over the bucket).
 * Times are the engine clock (packet time): for a replayed file, the capture's own timestamps.
 */
import { Elysia, type Static } from "elysia";
import type { ServerContext } from "../context.ts";
import { durationParam, enumParam, intParam, rejectUnknown } from "./params.ts";
import { rawQuery } from "./flow-request.ts";
import { badRequest, internal, unavailable } from "./schemas/errors.ts";
import { json, operation } from "./schemas/operation.ts";
import { BandwidthBody, BandwidthQuery, TALKER_BY, TalkersBody, TalkersQuery } from "./schemas/traffic.ts";

type Bandwidth = Static<typeof BandwidthBody>;

function rate(values: (number | null)[] | undefined, factor: number): (number | null)[] {
  return (values ?? []).map((v) => (v === null ? null : Math.round(v * factor * 1000) / 1000));
}

export function trafficRoutes(ctx: ServerContext) {
  return new Elysia()
    .get("/api/v1/talkers", async ({ request }): Promise<Static<typeof TalkersBody>> => {
      const raw = rawQuery(request.url);
      rejectUnknown(raw, ["by", "window", "limit"]);
      const by = enumParam(raw, "by", TALKER_BY, "host");
      const window = durationParam(raw, "window", 60, 1, 300);
      const limit = intParam(raw, "limit", 10, 1, 100);
      const talkers = await ctx.engine.call("talkers", { by, window, limit });
      return { talkers, by, window_s: window, limit, generated_at: new Date().toISOString() };
    }, {
      detail: operation({
        summary: "Top talkers", tags: ["traffic"], query: TalkersQuery,
        responses: { "200": json("Hosts by bytes over the window.", TalkersBody), "400": badRequest, "500": internal, "503": unavailable },
      }),
    })
    .get("/api/v1/bandwidth", async ({ request }): Promise<Bandwidth> => {
      const raw = rawQuery(request.url);
      rejectUnknown(raw, ["duration", "points"]);
      const duration = durationParam(raw, "duration", 900, 10, ctx.history ? HISTORY_MAX_S : 86_400);
      const points = intParam(raw, "points", 900, 10, 2000);
      if (ctx.history && duration >= 3600) return storedBandwidth(ctx, duration, points);
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
      detail: operation({
        summary: "Bandwidth series", description: "bps/pps totals, active flows, and bit/s by protocol class (tcp, udp, icmp, other, non_ip). `t` = start of each step (s since epoch).", tags: ["traffic"],
        query: BandwidthQuery,
        responses: { "200": json("The series, parallel to t.", BandwidthBody), "400": badRequest, "500": internal, "503": unavailable },
      }),
    });
}

/** Longest history the API serves from the store (its per-minute rollups are kept 30 days). */
export const HISTORY_MAX_S = 30 * 86_400;

/**
 * The bandwidth series from the history store (so it survives restarts): traffic rows are
 * per-second amounts at any step (bytes/s), active flows come from the stored metric samples.
 */
async function storedBandwidth(ctx: ServerContext, duration: number, points: number): Promise<Bandwidth> {
  const store = ctx.history!.store;
  const now = Math.floor(ctx.engine.last?.now || Date.now() / 1000);
  const [s, m] = await Promise.all([
    store.trafficHistory(now - duration, now, points),
    store.metricsHistory(now - duration, now, points),
  ]);
  const x = s.series;
  const times = (v: (number | null)[] | undefined, k: number) => (v ?? s.t.map(() => null)).map((y) => (y === null ? null : y * k));
  const sameGrid = m.t.length === s.t.length && m.t[0] === s.t[0];
  return {
    step: s.step,
    duration_s: duration,
    t: s.t,
    bps: times(x.bytes, 8),
    pps: times(x.packets, 1),
    flows: sameGrid ? (m.series.active_flows ?? s.t.map(() => null)) : s.t.map(() => null),
    by_protocol: {
      tcp: times(x.tcp_bytes, 8),
      udp: times(x.udp_bytes, 8),
      icmp: times(x.icmp_bytes, 8),
      other: times(x.other_bytes, 8),
      non_ip: times(x.non_ip_bytes, 8),
    },
    source: "history" as const,
    generated_at: new Date().toISOString(),
  };
}
