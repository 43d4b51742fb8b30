/**
 * The API's error bodies (index.ts errorResponse) and their OpenAPI responses. Every object is
 * closed (additionalProperties false) so a test validating a real body against it notices a
 * field that is not documented.
 */
import { t } from "elysia";
import { json, named, type OpenApiResponse } from "./operation.ts";
import { int } from "./params.ts";

const closed = { additionalProperties: false } as const;

export const BadRequestBody = t.Object({
  error: t.Literal("bad_request"),
  message: t.String({ description: "What is wrong and what is allowed (names the parameter)." }),
  field: t.String({ description: "The parameter (or query field, or setting) at fault." }),
  position: t.Optional(int({ minimum: 0, description: "Character offset of the problem in that parameter (query grammar errors)." })),
}, closed);

export const NotFoundBody = t.Object({ error: t.Literal("not_found"), message: t.String() }, closed);

export const TooManyRequestsBody = t.Object({
  error: t.Literal("too_many_requests"),
  message: t.String(),
  retry_after: int({ minimum: 1, description: "Seconds to wait (also the Retry-After header)." }),
}, closed);

export const UnavailableBody = t.Object({ error: t.Literal("unavailable"), message: t.String({ description: "Why the capture engine cannot answer (restarting, timed out)." }) }, closed);

export const InternalBody = t.Object({
  error: t.Unsafe<"engine_fault" | "internal">({ type: "string", enum: ["engine_fault", "internal"] }),
  message: t.String(),
}, closed);

export const badRequest: OpenApiResponse = json("A parameter is invalid, repeated or unknown: the field names it.", named("BadRequest", BadRequestBody));
export const notFound: OpenApiResponse = json("No such resource.", NotFoundBody);
export const tooManyRequests: OpenApiResponse = {
  ...json("Too many exports at once (4 run, 16 wait): retry after Retry-After seconds.", TooManyRequestsBody),
  headers: { "retry-after": { description: "Seconds to wait.", schema: { type: "integer", minimum: 1 } } },
};
export const unavailable: OpenApiResponse = json("The capture engine cannot answer (its Worker is restarting, or a call timed out).", UnavailableBody);
export const internal: OpenApiResponse = json("An exception in the engine (engine_fault) or the server (internal); logged on the server.", InternalBody);
