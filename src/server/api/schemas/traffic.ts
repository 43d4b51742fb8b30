/** Schemas of GET /api/v1/talkers and GET /api/v1/bandwidth (parameters and JSON bodies). */
import { t, type Static } from "elysia";
import type { Talker } from "../../../flows/stats/talkers.ts";
import { duration, int, integer, oneOf } from "./params.ts";
import { sameType, type Same } from "./same-type.ts";

const closed = { additionalProperties: false } as const;
const opt = t.Optional;
const generatedAt = t.String({ format: "date-time", description: "When the answer was made." });
/** A series parallel to `t`: null where there is no sample. */
const series = (description: string) => t.Array(t.Union([t.Number(), t.Null()]), { description });

export const TALKER_BY = ["src", "dst", "host"] as const;

export const TalkersQuery = t.Object({
  by: opt(oneOf(TALKER_BY, "host", "src (bytes sent by the host) | dst (received) | host (both).")),
  window: opt(duration("60s", "Window ending now: 1s-300s.")),
  limit: opt(integer(1, 100, 10, "Hosts to return.")),
});

const TalkerSchema = t.Object({
  host: t.String({ description: "Host address." }),
  bytes: int({ minimum: 0 }),
  packets: int({ minimum: 0 }),
  flows: int({ minimum: 0 }),
  bps: t.Number({ minimum: 0, description: "Mean bit/s over the window." }),
}, closed);
sameType<Same<Static<typeof TalkerSchema>, Talker>>();

export const TalkersBody = t.Object({
  talkers: t.Array(TalkerSchema),
  by: oneOf(TALKER_BY, undefined, "As asked."),
  window_s: int({ minimum: 1, description: "Window in seconds." }),
  limit: int({ minimum: 1 }),
  generated_at: generatedAt,
}, closed);

export const BandwidthQuery = t.Object({
  duration: opt(duration("15m", "How far back: 10s-24h, or up to 30d with the history store. From 1h on, read from the store when there is one.")),
  points: opt(integer(10, 2000, 900, "Maximum points (wider buckets carry the mean over the bucket).")),
});

export const BandwidthBody = t.Object({
  step: t.Number({ exclusiveMinimum: 0, description: "Seconds between points." }),
  duration_s: int({ minimum: 1 }),
  t: t.Array(t.Number(), { description: "Start of each step, seconds since the epoch." }),
  bps: series("bit/s."),
  pps: series("packets/s."),
  flows: series("Active flows."),
  by_protocol: t.Object({
    tcp: series("bit/s."),
    udp: series("bit/s."),
    icmp: series("bit/s."),
    other: series("bit/s."),
    non_ip: series("bit/s."),
  }, closed),
  source: opt(t.Literal("history", { description: "Present when the series was read from the history store." })),
  generated_at: generatedAt,
}, closed);
