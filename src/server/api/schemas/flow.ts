/**
 * Schemas of GET /api/v1/flows (its parameters and the JSON page) and GET /api/v1/flows/{id}: the
 * flow record (src/flows/format/record.ts) with its `suspicious` reasons. Tied to the TypeScript
 * types by sameType (a field added to FlowRecord and not here fails tsc).
 */
import { t, type Static } from "elysia";
import { SUSPICIOUS_REASONS } from "../../../alerts/suspicious.ts";
import type { FlowRecord } from "../../../flows/format/record.ts";
import { SORT_KEYS } from "../../../flows/query/flow-query.ts";
import { FLOW_SOURCES, SPECIAL_LABELS } from "../../../flows/query/query.ts";
import { STATES } from "../../../flows/table/state.ts";
import { APP_NAMES } from "../../../l7/apps.ts";
import type { ApiFlow } from "../flows.ts";
import { EXPORT_MAX, FORMATS, MEMBERSHIPS, PAGE_DEFAULT, PAGE_MAX, Q_MAX_LENGTH } from "../flow-request.ts";
import { DURATION_PATTERN, int, integer, oneOf, RATE_PATTERN, SIZE_PATTERN, text, time } from "./params.ts";
import { named } from "./operation.ts";
import { sameType, type Same } from "./same-type.ts";

const closed = { additionalProperties: false } as const;
const nullable = <S extends Parameters<typeof t.Union>[0][number]>(s: S) => t.Union([s, t.Null()]);
const count = (description?: string) => int({ minimum: 0, ...(description ? { description } : {}) });
const port = int({ minimum: 0, maximum: 65535 });
const isoTime = (description: string) => t.String({ format: "date-time", description });

export const FlowRecordSchema = t.Object({
  id: int({ minimum: 1, description: "Flow id: never reused, also across restarts." }),
  proto: t.String({ description: "Protocol name (tcp, udp, icmp, …) or its number." }),
  proto_num: int({ minimum: 0, maximum: 255 }),
  ip_version: t.Unsafe<4 | 6>({ type: "integer", enum: [4, 6] }),
  vlan: nullable(int({ minimum: 0, maximum: 4095 })),
  src_ip: t.String({ description: "Initiator address (IPv6 in RFC 5952 form)." }),
  src_port: port,
  dst_ip: t.String({ description: "Responder address." }),
  dst_port: port,
  packets: count(),
  bytes: count(),
  src_packets: count(),
  src_bytes: count(),
  dst_packets: count(),
  dst_bytes: count(),
  first_seen: isoTime("First packet (ISO 8601)."),
  last_seen: isoTime("Last packet (ISO 8601)."),
  duration_ms: t.Number({ minimum: 0 }),
  tcp_flags: t.String({ description: "TCP flags seen, both directions (letters FSRPAUEC); \"\" for other protocols." }),
  src_tcp_flags: t.String(),
  dst_tcp_flags: t.String(),
  state: oneOf(STATES, undefined, "Flow state."),
  bps: t.Number({ minimum: 0, description: "bit/s over the last one-second tick (0 for ended flows)." }),
  active: t.Boolean({ description: "True while the flow is in the live table." }),
  end_reason: nullable(t.String({ description: "idle, active_timeout, tcp_close, evicted, end_of_capture, shutdown; null while active." })),
  community_id: t.String({ description: "Community ID v1, seed 0." }),
  app: nullable(t.String({ description: "Application protocol." })),
  app_source: nullable(oneOf(["payload", "port"] as const, undefined, "From the payload, or the well-known port.")),
  server_name: nullable(t.String({ description: "TLS/QUIC SNI, HTTP Host or DNS query name." })),
  src_name: nullable(t.String()),
  dst_name: nullable(t.String()),
  src_country: nullable(t.String({ description: "ISO country code or special-range label." })),
  dst_country: nullable(t.String()),
  src_asn: nullable(int({ minimum: 0 })),
  dst_asn: nullable(int({ minimum: 0 })),
  src_as_name: nullable(t.String()),
  dst_as_name: nullable(t.String()),
  source: oneOf(FLOW_SOURCES, undefined, "capture, or netflow (a NetFlow/IPFIX exporter's record)."),
  exporter: nullable(t.String()),
  exporter_domain: nullable(int({ minimum: 0 })),
}, closed);
sameType<Same<Static<typeof FlowRecordSchema>, FlowRecord>>();

export const ApiFlowSchema = t.Composite([FlowRecordSchema, t.Object({
  suspicious: t.Array(oneOf(SUSPICIOUS_REASONS, undefined, "Reason code."), { description: "Why the flow looks suspicious; empty when it does not." }),
})], closed);
sameType<Same<Static<typeof ApiFlowSchema>, ApiFlow>>();

/** The two as named components: FlowRecord (in alerts) and Flow (the API's flow, with suspicious). */
export const FlowRecordRef = named("FlowRecord", FlowRecordSchema);
export const FlowRef = named("Flow", ApiFlowSchema);

const opt = t.Optional;
const address = (d: string) => opt(text(`${d} Address or CIDR, IPv4 or IPv6.`));
const portRange = (d: string) => opt(text(`${d} N or N-M (0-65535).`, { pattern: String.raw`^\d{1,5}(-\d{1,5})?$` }));
const size = (d: string) => opt(text(`${d} A count with optional unit (1500, 500k, 1M, 2GiB).`, { pattern: SIZE_PATTERN }));
const rate = (d: string) => opt(text(`${d} bit/s with optional unit (500k, 1M, 1.5Gbps).`, { pattern: RATE_PATTERN }));
const dur = (d: string) => opt(text(`${d} 250ms, 10s, 2m, 1h; a bare number is seconds.`, { pattern: DURATION_PATTERN }));

export const FlowsQuery = t.Object({
  q: opt(text(`Filter in the query grammar, e.g. "src_ip:192.168.1.0/24 protocol:tcp -port:53". AND-ed with the parameters below.`, { maxLength: Q_MAX_LENGTH })),
  ip: address("Either endpoint."),
  src_ip: address("Initiator."),
  dst_ip: address("Responder."),
  port: portRange("Either port."),
  src_port: portRange("Initiator port."),
  dst_port: portRange("Responder port."),
  protocol: opt(text("Protocol name (tcp, udp, icmp, icmpv6, gre, …) or number 0-255.")),
  proto: opt(text("Alias of protocol.")),
  vlan: opt(t.Union([int({ minimum: 0, maximum: 4095 }), t.Literal("none")], { description: "VLAN id 0-4095, or none (untagged)." })),
  state: opt(oneOf([...MEMBERSHIPS, ...STATES], undefined, "active | ended | all: which flows are searched (default all); or a flow state filter.")),
  ip_version: opt(t.Unsafe<4 | 6>({ type: "integer", enum: [4, 6], description: "4 or 6." })),
  min_bytes: size("At least this many bytes."),
  max_bytes: size("At most this many bytes."),
  min_packets: size("At least this many packets."),
  max_packets: size("At most this many packets."),
  min_duration: dur("At least this long."),
  max_duration: dur("At most this long."),
  min_bps: rate("Current rate at least."),
  max_bps: rate("Current rate at most."),
  app: opt(oneOf(APP_NAMES.filter((a) => a !== ""), undefined, "Application protocol, from the payload or, labelled, the port.")),
  name: opt(text("Glob over server_name and the passive-DNS names of both ends (*.example.com; case-insensitive).", { maxLength: 253 })),
  country: opt(text(`Country of either end: ISO code (DE) or a special-range label (${SPECIAL_LABELS.join(", ")}).`, { pattern: `^([A-Za-z]{2}|${SPECIAL_LABELS.join("|")})$` })),
  asn: opt(text("AS number of either end (15169 or AS15169).", { pattern: String.raw`^([Aa][Ss])?\d{1,10}$` })),
  community_id: opt(text("Community ID v1 (seed 0), e.g. 1:LQU9qZlK+B5F3KDmev6m5PMibrg=.", { pattern: "^1:[A-Za-z0-9+/]{27}=$" })),
  source: opt(oneOf(FLOW_SOURCES, undefined, "capture | netflow.")),
  exporter: address("The NetFlow/IPFIX exporter."),
  sort_by: opt(oneOf(SORT_KEYS, "bytes", "Sort key.")),
  order: opt(oneOf(["asc", "desc"] as const, "desc", "Sort order.")),
  limit: opt(integer(0, EXPORT_MAX, PAGE_DEFAULT, `Rows to return: JSON 0-${PAGE_MAX} (default ${PAGE_DEFAULT}); csv/ndjson up to ${EXPORT_MAX} (default ${EXPORT_MAX}).`)),
  offset: opt(integer(0, 1_000_000 - PAGE_MAX, 0, `Rows to skip; offset + the format's maximum limit stays within 1,000,000 (JSON: at most ${1_000_000 - PAGE_MAX}; csv/ndjson: ${1_000_000 - EXPORT_MAX}).`)),
  format: opt(oneOf(FORMATS, "json", "json (a page) | csv (RFC 4180 attachment flows.csv) | ndjson (one flow per line); csv/ndjson stream an export.")),
  since: opt(time("Flows active at or after this time. With the history store, ended flows come from it.")),
  until: opt(time("Flows that started at or before this time.")),
});

export const FlowsPage = t.Object({
  flows: t.Array(FlowRef),
  total: count("Flows matching (before offset/limit)."),
  returned: count(),
  offset: count(),
  limit: count(),
  query: t.String({ description: "The whole filter as query text (q and the field parameters)." }),
  state: oneOf(MEMBERSHIPS, undefined, "Which flows were searched."),
  sort_by: oneOf(SORT_KEYS, undefined, "Sort key."),
  order: oneOf(["asc", "desc"] as const, undefined, "Sort order."),
  generated_at: isoTime("When the page was made."),
}, closed);

export const FlowIdParams = t.Object({ id: int({ minimum: 1, description: "Flow id (a positive integer)." }) });
