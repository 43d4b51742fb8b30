/**
 * OpenAPI operation objects built from `t` (TypeBox) schemas, for a route's `detail`.
 *
 * Why `detail` and not Elysia's `query` / `response` hooks: a hook makes Elysia validate (and
 * coerce) every request and every response. Its query coercion is looser than ours (it takes
 * "1e3", "0x10" and "5.0" as integers, keeps the last of a repeated parameter, drops unknown
 * ones, rejects a blank `limit=` and "DESC"; tried on Elysia 1.4.30) and its range errors carry
 * no field name; response validation would walk every row of a 10,000-flow page
 * (bench/api-response-schema.ts measures that cost). So the typed schemas describe the API
 * in /api/v1/openapi.json while the parsers in params.ts / flow-request.ts do the one strict
 * parse (400 naming the field); test/api-openapi.test.ts checks that the two agree (every
 * documented bound and enum value is tried against the server) and that real responses validate
 * against the documented schemas.
 */
import { t, type Static, type TSchema } from "elysia";

/** A `t.Object` (only its properties are read). */
type TObject = { properties: Record<string, TSchema> };

/** A JSON value of a schema: TypeBox schemas are JSON Schema objects (its Symbol keys drop out). */
const plain = (s: TSchema): Record<string, unknown> => JSON.parse(JSON.stringify(s)) as Record<string, unknown>;

const components: Record<string, Record<string, unknown>> = {};

/**
 * A named schema: written once under components/schemas and referenced by `$ref` wherever it is
 * used (the flow record appears in five places), with the same static type as `schema`.
 */
export function named<S extends TSchema>(name: string, schema: S) {
  if (components[name]) throw new Error(`schema ${name} is named twice`);
  components[name] = plain(schema);
  return t.Unsafe<Static<S>>({ $ref: `#/components/schemas/${name}` });
}

/** Every named schema, for the document's components (index.ts). */
export const componentSchemas = (): Record<string, Record<string, unknown>> => components;

export interface OpenApiParameter { name: string; in: "query" | "path"; required: boolean; description?: string; schema: Record<string, unknown> }

/** One parameter per property of `schema` (its description on the parameter too, for the docs page). */
export function parameters(where: "query" | "path", schema: TObject): OpenApiParameter[] {
  return Object.entries(schema.properties).map(([name, s]) => {
    const json = plain(s);
    const description = typeof json.description === "string" ? json.description : undefined;
    return { name, in: where, required: where === "path", ...(description ? { description } : {}), schema: json };
  });
}

export interface OpenApiResponse { description: string; content?: Record<string, { schema: Record<string, unknown> }>; headers?: Record<string, { description?: string; schema: Record<string, unknown> }> }

/** A JSON response. */
export function json(description: string, schema: TSchema): OpenApiResponse {
  return { description, content: { "application/json": { schema: plain(schema) } } };
}

/** A text response in each of `types` (e.g. text/csv, application/x-ndjson): a string body. */
export function text(description: string, types: readonly string[]): OpenApiResponse {
  return { description, content: Object.fromEntries(types.map((ty) => [ty, { schema: { type: "string" } }])) };
}

export interface OperationSpec {
  summary: string;
  description?: string;
  tags: string[];
  query?: TObject;
  path?: TObject;
  /** By status code ("200", "400", …). */
  responses: Record<string, OpenApiResponse>;
  operationId?: string;
}

/**
 * Answers of the guard in front of every route (src/server/security/guard.ts), added to every
 * operation: 401 when a token is configured and none or a wrong one came, 403 for a cross-origin
 * request or a viewer token writing, 429 for a client over the failed-login limit (5 failures in
 * 5 min; src/server/security/auth.ts) that still sends a token. An operation's own 429 (exports)
 * keeps its description, with the guard's appended.
 */
const guardError = (code: string) => t.Object({ error: t.Literal(code), message: t.String() }, { additionalProperties: false });
const GUARD: Record<string, OpenApiResponse> = {
  "401": {
    ...json("With a token configured: no or a wrong Bearer token (or session cookie).", named("Unauthorized", guardError("unauthorized"))),
    headers: { "www-authenticate": { description: "Bearer realm=\"flowmatrix\"", schema: { type: "string" } } },
  },
  "403": json("A cross-origin request, or a viewer token on a method other than GET.", named("Forbidden", guardError("forbidden"))),
};
const GUARD_429 = "With a token configured: too many failed logins or wrong tokens from this address (5 in 5 min): retry after Retry-After seconds.";
const GUARD_TOO_MANY: OpenApiResponse = {
  ...json(GUARD_429, t.Object({
    error: t.Literal("too_many_requests"),
    message: t.String(),
    retry_after: t.Integer({ minimum: 1, description: "Seconds to wait (also the Retry-After header)." }),
  }, { additionalProperties: false })),
  headers: { "retry-after": { description: "Seconds to wait.", schema: { type: "integer", minimum: 1 } } },
};

/** The operation's own responses plus the guard's (an own 429 keeps its schema; the description names both causes). */
function withGuard(own: Record<string, OpenApiResponse>): Record<string, OpenApiResponse> {
  const mine = own["429"];
  const tooMany = mine ? { ...mine, description: `${mine.description} ${GUARD_429}` } : GUARD_TOO_MANY;
  return { ...own, ...GUARD, "429": tooMany };
}

/** The OpenAPI operation (Elysia's `detail`): summary, tags, typed parameters and responses. */
export function operation(o: OperationSpec) {
  const params = [...(o.path ? parameters("path", o.path) : []), ...(o.query ? parameters("query", o.query) : [])];
  return {
    summary: o.summary,
    ...(o.description ? { description: o.description } : {}),
    tags: o.tags,
    ...(o.operationId ? { operationId: o.operationId } : {}),
    ...(params.length ? { parameters: params } : {}),
    responses: withGuard(o.responses),
  };
}
