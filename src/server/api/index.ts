/**
 * The REST API: /api/v1/* (flows, talkers, bandwidth, health, metrics history, alerts), /metrics
 * (Prometheus), the OpenAPI 3 document at /api/v1/openapi.json and a docs page at /api/docs.
 *
 * Errors are JSON: a bad parameter is 400 `{"error":"bad_request","message","field"[,"position"]}`
 * (never Elysia's 422 schema dump), an unknown id or any unknown path under /api is 404
 * `{"error":"not_found","message"}`, an engine that does not answer (its Worker died and is being
 * restarted, or a call timed out) is 503 `{"error":"unavailable","message"}` naming the cause, an
 * exception inside the engine is 500 `{"error":"engine_fault","message"}` naming it, anything
 * else 500 `{"error":"internal"}` (logged). The server's own onError makes /api itself JSON too.
 *
 * The OpenAPI document shows typed parameters (integers with bounds, enums, patterns for values
 * with units) and a schema for every response, all written as `t` schemas (schemas/) and put in
 * each route's `detail`; they describe, they do not validate (schemas/operation.ts says why). The
 * values are parsed and checked by the handlers (params.ts, flow-request.ts), which read the raw
 * query string so repeated or unknown parameters are seen. Should a route ever declare an Elysia
 * schema, its VALIDATION error (422) becomes our 400 here too.
 */
import { openapi } from "@elysiajs/openapi";
import { Elysia } from "elysia";
import { QueryError } from "../../flows/query/query-error.ts";
import { parseQuery } from "../../flows/query/query.ts";
import { EngineCallError } from "../../worker/engine-call-error.ts";
import type { ServerContext } from "../context.ts";
import { BadRequestError } from "./bad-request-error.ts";
import { docsPage, type OpenApiDoc } from "./docs-page.ts";
import { flowByIdDoc, flowRoutes } from "./flows.ts";
import { componentSchemas } from "./schemas/operation.ts";
import { settingsRoutes } from "../security/settings-api.ts";
import { NotFoundError } from "./not-found-error.ts";
import { TooManyRequestsError } from "./too-many-requests-error.ts";
import { prometheusRoutes } from "./prometheus.ts";
import { systemRoutes } from "./system.ts";
import { trafficRoutes } from "./traffic.ts";

export const OPENAPI_PATH = "/api/v1/openapi.json";

function badRequest(field: string, message: string, position?: number) {
  return { error: "bad_request", message, field, ...(position === undefined ? {} : { position }) };
}

/** EngineCallError kinds for an engine that cannot answer (died and restarting, timed out, stopped). */
const ENGINE_UNAVAILABLE = new Set(["Unavailable", "Timeout", "Stopped"]);

/** Maps an error to [status, JSON body]; undefined = not ours (let Elysia answer). */
export function errorResponse(error: unknown, code: string | number): [number, Record<string, unknown>] | undefined {
  if (error instanceof BadRequestError) return [400, badRequest(error.field, error.message, error.position)];
  if (error instanceof QueryError) return [400, badRequest(error.field, error.message, error.position)];
  if (error instanceof NotFoundError) return [404, { error: "not_found", message: error.message }];
  if (error instanceof TooManyRequestsError) return [429, { error: "too_many_requests", message: error.message, retry_after: error.retryAfter }];
  if (error instanceof EngineCallError) {
    if (error.kind === "QueryError") return [400, badRequest(error.field ?? "q", error.message)];
    if (ENGINE_UNAVAILABLE.has(error.kind)) return [503, { error: "unavailable", message: `capture engine: ${error.message}` }];
    // An exception inside the engine (a bug, logged there and counted in health): name it.
    return [500, { error: "engine_fault", message: `capture engine fault: ${error.kind}: ${error.message} (logged on the server)` }];
  }
  if (code === "VALIDATION") return [400, badRequest(...validationField(error))];
  if (code === "PARSE") return [400, badRequest("body", "body: the request body could not be parsed")];
  if (code === "NOT_FOUND") return [404, { error: "not_found", message: "no such API endpoint" }];
  return undefined;
}

/**
 * [field, message] of an Elysia ValidationError. The field is the
 * failing property's path ("limit", "settings.0.key"); Elysia loses it for a coerced query value
 * out of range (path ""), then the part of the request is named (query, params, body).
 */
function validationField(error: unknown): [string, string] {
  const e = error as { type?: string; valueError?: { path?: string; message?: string }; all?: { summary?: string }[]; message?: string };
  const path = (e.valueError?.path ?? "").replace(/^\//, "").replaceAll("/", ".");
  const part = e.type === "query" || e.type === "params" || e.type === "body" || e.type === "headers" ? e.type : "request";
  const field = path || part;
  const detail = e.all?.[0]?.summary ?? e.valueError?.message ?? "invalid value";
  return [field, clip(`${field}: ${detail}`, 300)];
}

function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

export function apiRoutes(ctx: ServerContext) {
  ctx.alerts.flowLookup ??= async (q) =>
    (await ctx.engine.call("flows", { query: parseQuery(q), state: "all", sortBy: "bytes", order: "desc", offset: 0, limit: 5 })).records;
  const api: Elysia = new Elysia({ name: "flowmatrix-api" })
    .onError(({ error, code, set, request }) => {
      const r = errorResponse(error, code);
      if (r) {
        set.status = r[0];
        if (error instanceof TooManyRequestsError) set.headers["retry-after"] = String(error.retryAfter);
        return r[1];
      }
      console.error(`flowmatrix api: ${request.method} ${new URL(request.url).pathname}:`, error);
      set.status = 500;
      return { error: "internal", message: "internal error (logged on the server)" };
    })
    .use(openapi({
      path: "/api/openapi",
      specPath: OPENAPI_PATH,
      provider: null,
      documentation: {
        info: { title: "Flowmatrix API", version: ctx.version, description: "Real-time network traffic monitor: flows, talkers, bandwidth, health, alerts." },
        tags: [{ name: "flows" }, { name: "traffic" }, { name: "system" }],
        // The one operation the plugin cannot take from `detail` (flows.ts flowByIdDoc says why).
        paths: { "/api/v1/flows/{id}": { get: flowByIdDoc } },
        // Schemas used in several places (Flow, FlowRecord, Alert, Health, BadRequest), by $ref.
        components: {
          schemas: componentSchemas(),
          securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "The admin or viewer token (--auth-token-file, --viewer-token-file); the UI's session cookie works too. Not needed on loopback without a token." } },
        },
        // A token when one is configured; none otherwise (the empty alternative).
        security: [{ bearer: [] }, {}],
      },
      exclude: { paths: [/^\/(?!api\/v1\/|metrics$)/, "/api/v1/*"] },
    }))
    .use(flowRoutes(ctx))
    .use(settingsRoutes(ctx))
    .use(trafficRoutes(ctx))
    .use(systemRoutes(ctx))
    .use(prometheusRoutes(ctx))
    .get("/api/docs", async ({ request }) => {
      const res = await api.handle(new Request(new URL(OPENAPI_PATH, request.url)));
      const doc = (await res.json()) as OpenApiDoc;
      return new Response(docsPage(doc, OPENAPI_PATH), { headers: { "content-type": "text/html; charset=utf-8" } });
    }, { detail: { hide: true } })
    .all("/api", () => {
      throw new NotFoundError("no such API endpoint (the API is under /api/v1/)");
    }, { detail: { hide: true } })
    .all("/api/*", () => {
      throw new NotFoundError("no such API endpoint");
    }, { detail: { hide: true } }) as unknown as Elysia;
  return api;
}
