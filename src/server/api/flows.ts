/**
 * GET /api/v1/flows (JSON page, or a streamed CSV / NDJSON export) and GET /api/v1/flows/:id.
 *
 * Exports read a consistent cursor (the engine's exportOpen/exportNext, ExportCursor): the
 * matching flows are fixed when the export starts and read as they stand, page by page as the
 * client reads (a ReadableStream with pull, so a slow client does not buffer the whole export);
 * no flow appears twice and none that lived through the export is missed. At most 4 exports run
 * at once and 16 wait (ExportSlots); more get 429 with Retry-After. A client that disconnects
 * closes its cursor.
 */
import { Elysia, t } from "elysia";
import { csvHeader } from "../../flows/format/csv.ts";
import { csvRecords, ndjsonRecords } from "../../flows/format/records.ts";
import type { FlowRecord } from "../../flows/format/record.ts";
import { SORT_KEYS, type FlowQuery } from "../../flows/query/flow-query.ts";
import { queryToString } from "../../flows/query/query.ts";
import { withSuspicious, type SuspiciousContext, type WithSuspicious } from "../../alerts/suspicious.ts";
import type { ServerContext } from "../context.ts";
import { EXPORT_MAX, PAGE_MAX, parseFlowId, parseFlowRequest, Q_MAX_LENGTH, rawQuery } from "./flow-request.ts";
import { NotFoundError } from "./not-found-error.ts";
import { findFlow, openExport, queryFlows, type ExportPages } from "../flow-source.ts";
import { ExportSlots } from "./export-slots.ts";
import { TooManyRequestsError } from "./too-many-requests-error.ts";

export type ApiFlow = WithSuspicious<FlowRecord>;

/**
 * Rows per exportNext call (built in slices in the engine, between interactive queries). Each page
 * crosses postMessage as records (serialised in the Worker, rebuilt here) and is written as one
 * chunk here: 2,000 rows keep either thread's share of a page to a few ms, so an interactive
 * query arriving meanwhile waits little on either side.
 */
const EXPORT_PAGE = 2_000;

export function suspiciousContext(ctx: ServerContext): SuspiciousContext {
  return {
    flowBps: ctx.alerts.config.flowBps,
    scanSources: new Set((ctx.engine.last?.scans ?? []).map((s) => s.src_ip)),
  };
}

/** Streams `query`'s matches (offset/limit applied overall) as CSV or NDJSON from one export cursor. */
async function exportStream(ctx: ServerContext, slots: ExportSlots, query: FlowQuery, format: "csv" | "ndjson"): Promise<ReadableStream<Uint8Array>> {
  const waiting = slots.acquire();
  if (!waiting) throw new TooManyRequestsError(`${slots.max} exports are running and ${slots.maxQueued} waiting; try again shortly`, 2);
  const release = await waiting;
  let pages: ExportPages;
  try {
    pages = await openExport(ctx, { ...query, limit: Math.min(query.limit, EXPORT_MAX) });
  } catch (e) {
    release();
    throw e;
  }
  const enc = new TextEncoder();
  const sc = suspiciousContext(ctx);
  let headerSent = format !== "csv";
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    release();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!headerSent) {
        headerSent = true;
        controller.enqueue(enc.encode(csvHeader()));
        return;
      }
      try {
        const page = await pages.next(EXPORT_PAGE);
        const flows = withSuspicious(page.records, sc);
        if (flows.length > 0) {
          // Rows straight to bytes (the same formatters as the CLI's writers), one chunk per page.
          controller.enqueue(format === "csv" ? csvRecords(flows) : ndjsonRecords(flows));
        }
        if (page.done) {
          finish();
          controller.close();
        }
      } catch (e) {
        finish();
        pages.close(); // e.g. the engine did not answer in time: its cursor is not left open
        controller.error(e);
      }
    },
    cancel() {
      finish();
      pages.close();
    },
  }, { highWaterMark: 0 });
}

const d = (description: string) => t.Optional(t.String({ description }));

export const flowsQuerySchema = t.Object({
  q: d(`Filter in the query grammar (max ${Q_MAX_LENGTH} chars), e.g. "src_ip:192.168.1.0/24 protocol:tcp -port:53". AND-ed with the parameters below.`),
  ip: d("Either endpoint: address or CIDR (IPv4/IPv6)."),
  src_ip: d("Initiator address or CIDR."),
  dst_ip: d("Responder address or CIDR."),
  port: d("Either port: N, N-M."),
  src_port: d("Initiator port: N, N-M."),
  dst_port: d("Responder port: N, N-M."),
  protocol: d("Protocol name (tcp, udp, icmp, icmpv6, gre, …) or number 0-255."),
  proto: d("Alias of protocol."),
  vlan: d("VLAN id 0-4095 or none."),
  state: d("active | ended | all (which flows are searched, default all), or a flow state: attempted, rejected, established, closing, closed, reset, midstream, oneway, bidirectional."),
  ip_version: d("4 or 6."),
  min_bytes: d("At least this many bytes (1500, 500k, 1M, 2GiB)."),
  max_bytes: d("At most this many bytes."),
  min_packets: d("At least this many packets."),
  max_packets: d("At most this many packets."),
  min_duration: d("At least this long (250ms, 10s, 2m, 1h; bare number = seconds)."),
  max_duration: d("At most this long."),
  min_bps: d("Current rate at least (bit/s: 500k, 1M, 1.5G)."),
  max_bps: d("Current rate at most (bit/s)."),
  app: d("Application protocol (tls, quic, dns, http, ssh, …), from the payload or, labelled, the port."),
  name: d("Glob over server_name and the passive-DNS names of both ends (*.example.com; case-insensitive)."),
  country: d("Country of either end: ISO code (DE) or a special-range label (private, loopback, …)."),
  asn: d("AS number of either end (15169 or AS15169)."),
  community_id: d("Community ID v1 (seed 0), e.g. 1:LQU9qZlK+B5F3KDmev6m5PMibrg=."),
  source: d("capture | netflow."),
  exporter: d("The NetFlow/IPFIX exporter's address or CIDR."),
  sort_by: d(`Sort key: ${SORT_KEYS.join(", ")} (default bytes).`),
  order: d("asc | desc (default desc)."),
  limit: d(`Rows to return: 0-${PAGE_MAX} (default 100); csv/ndjson: up to ${EXPORT_MAX} (default ${EXPORT_MAX}).`),
  offset: d("Rows to skip (default 0)."),
  format: d("json (default) | csv (RFC 4180 attachment flows.csv) | ndjson (one flow per line)."),
  since: d("Flows active at or after this time: ISO 8601 (2026-12-01T03:12:00Z), relative (-1h, -15m), now, or epoch seconds. With the history store, ended flows come from it."),
  until: d("Flows that started at or before this time (same forms as since)."),
});

/**
 * exportStream, with the Retry-After header of a 429 put on the response here: the app-level
 * onError answers the error first and sets no headers of its own (set.headers are kept).
 */
async function admitted(set: { headers: Record<string, unknown> }, stream: Promise<ReadableStream<Uint8Array>>): Promise<ReadableStream<Uint8Array>> {
  try {
    return await stream;
  } catch (e) {
    if (e instanceof TooManyRequestsError) set.headers["retry-after"] = String(e.retryAfter);
    throw e;
  }
}

export function flowRoutes(ctx: ServerContext) {
  const slots = new ExportSlots();
  return new Elysia()
    .get("/api/v1/flows", async ({ request, set }) => {
      const req = parseFlowRequest(rawQuery(request.url));
      if (req.format === "csv") {
        return new Response(await admitted(set, exportStream(ctx, slots, req.query, "csv")), {
          headers: {
            "content-type": "text/csv; charset=utf-8",
            "content-disposition": 'attachment; filename="flows.csv"',
            "cache-control": "no-store",
          },
        });
      }
      if (req.format === "ndjson") {
        return new Response(await admitted(set, exportStream(ctx, slots, req.query, "ndjson")), {
          headers: { "content-type": "application/x-ndjson; charset=utf-8", "cache-control": "no-store" },
        });
      }
      const { records, total } = await queryFlows(ctx, req.query);
      const flows = withSuspicious(records, suspiciousContext(ctx));
      return {
        flows,
        total,
        returned: flows.length,
        offset: req.query.offset,
        limit: req.query.limit,
        query: queryToString(req.query.query),
        state: req.query.state,
        sort_by: req.query.sortBy,
        order: req.query.order,
        generated_at: new Date().toISOString(),
      };
    }, {
      query: flowsQuerySchema,
      detail: { summary: "List flows", description: "Filter, sort and page the flow table (live and recently ended flows). `format=csv|ndjson` streams an export.", tags: ["flows"] },
    })
    .get("/api/v1/flows/:id", async ({ params }) => {
      const id = parseFlowId(params.id);
      const flow = await findFlow(ctx, id);
      if (!flow) throw new NotFoundError(`no flow with id ${id} (it may have been expired from the ended-flow history)`);
      return withSuspicious([flow], suspiciousContext(ctx))[0]!;
    }, {
      params: t.Object({ id: t.String({ description: "Flow id (positive integer)." }) }),
      detail: { summary: "One flow", description: "404 when the id is unknown or no longer kept.", tags: ["flows"] },
    });
}
