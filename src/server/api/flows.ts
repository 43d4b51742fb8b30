/**
 * GET /api/v1/flows (JSON page, or a streamed CSV / NDJSON export) and GET /api/v1/flows/:id.
 *
 * Exports read a consistent cursor (the engine's exportOpen/exportNext, ExportCursor): the
 * matching flows are fixed when the export starts and read as they stand, page by page as the
 * client reads (a ReadableStream with pull, so a slow client does not buffer the whole export);
 * no flow appears twice and none that lived through the export is missed. At most 4 exports run
 * at once and 16 wait (ExportSlots); more get 429 with Retry-After. A client that disconnects
 * closes its cursor. Rows are written to bytes by export-writer.ts: straight from the engine's raw
 * rows with the CLI's column writers, the same bytes as the records would give.
 */
import { Elysia, type Static } from "elysia";
import { csvHeader } from "../../flows/format/csv.ts";
import type { FlowRecord } from "../../flows/format/record.ts";
import type { FlowQuery } from "../../flows/query/flow-query.ts";
import { queryToString } from "../../flows/query/query.ts";
import { withSuspicious, type SuspiciousContext, type WithSuspicious } from "../../alerts/suspicious.ts";
import type { ServerContext } from "../context.ts";
import { EXPORT_MAX, parseFlowId, parseFlowRequest, rawQuery } from "./flow-request.ts";
import { badRequest, internal, notFound, tooManyRequests, unavailable } from "./schemas/errors.ts";
import { ApiFlowSchema, FlowIdParams, FlowRef, FlowsPage, FlowsQuery } from "./schemas/flow.ts";
import { json, operation, text } from "./schemas/operation.ts";
import { NotFoundError } from "./not-found-error.ts";
import { findFlow, openExport, queryFlows, type ExportPages } from "../flow-source.ts";
import { ExportSlots } from "./export-slots.ts";
import { writeExportSlice } from "./export-writer.ts";
import { TooManyRequestsError } from "./too-many-requests-error.ts";

export type ApiFlow = WithSuspicious<FlowRecord>;

/**
 * Rows per exportNext call (built in slices in the engine, between interactive queries). Each page
 * crosses postMessage as raw rows (the slots copied in the table layout plus their extras: a copy
 * per row in the Worker, a structured clone of a few typed arrays and a string list), and is
 * written here in slices of ROWS_PER_TURN (flow-source.ts) rows, one chunk each, straight from the
 * slots (export-writer.ts), a turn of the event loop apart: 2,000 rows keep the engine's share of
 * a page to a few ms, so an interactive query arriving meanwhile waits little on either side.
 */
const EXPORT_PAGE = 2_000;

export function suspiciousContext(ctx: ServerContext): SuspiciousContext {
  return {
    flowBps: ctx.alerts.config.flowBps,
    // The engine reports sources from SCAN_MIN_TARGETS attempts on; a scan is what the setting says.
    scanSources: new Set((ctx.engine.last?.scans ?? []).filter((s) => s.attempts >= ctx.alerts.config.scanMinAttempts).map((s) => s.src_ip)),
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
        if (page.rows > 0) {
          // Raw rows straight to bytes with the CLI's column writers (stored rows: their records), one chunk per slice.
          controller.enqueue(writeExportSlice(page.parts, page.rows, format, sc));
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

/** GET /api/v1/flows in the OpenAPI document: typed parameters, the JSON page, CSV and NDJSON. */
const listDoc = operation({
  summary: "List flows",
  description: "Filter, sort and page the flow table (live and recently ended flows; with since/until and the history store, stored flows too). `format=csv|ndjson` streams an export.",
  tags: ["flows"],
  query: FlowsQuery,
  responses: {
    "200": {
      description: "format=json: a page of flows. format=csv: RFC 4180 with a header row (attachment flows.csv). format=ndjson: one flow object per line (the JSON flow schema).",
      content: { ...json("", FlowsPage).content, ...text("", ["text/csv", "application/x-ndjson"]).content },
    },
    "400": badRequest, "429": tooManyRequests, "500": internal, "503": unavailable,
  },
});

/**
 * GET /api/v1/flows/{id} in the OpenAPI document. It goes in through the plugin's
 * `documentation.paths` (index.ts) and the route is hidden: for a route with a path parameter the
 * plugin writes its own `id: string` over `detail.parameters`, and declaring `params` would make
 * Elysia validate (and coerce "1e3") ahead of parseFlowId.
 */
export const flowByIdDoc = operation({
  summary: "One flow",
  description: "404 when the id is unknown or no longer kept.",
  tags: ["flows"],
  operationId: "getApiV1FlowsById",
  path: FlowIdParams,
  responses: { "200": json("The flow.", FlowRef), "400": badRequest, "404": notFound, "500": internal, "503": unavailable },
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
    .get("/api/v1/flows", async ({ request, set }): Promise<Response | Static<typeof FlowsPage>> => {
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
    }, { detail: listDoc })
    .get("/api/v1/flows/:id", async ({ params }): Promise<Static<typeof ApiFlowSchema>> => {
      const id = parseFlowId(params.id);
      const flow = await findFlow(ctx, id);
      if (!flow) throw new NotFoundError(`no flow with id ${id} (it may have been expired from the ended-flow history)`);
      return withSuspicious([flow], suspiciousContext(ctx))[0]!;
    }, { detail: { hide: true } });
}
