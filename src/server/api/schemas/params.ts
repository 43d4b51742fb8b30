/**
 * Typed query-parameter schemas for the OpenAPI document (see operation.ts for why they describe
 * rather than validate). Bounds and enums come from the same constants the parsers use; values
 * with units stay strings with a `pattern` (ECMA-262, as OpenAPI 3.1 reads it) that accepts
 * exactly the syntax the parsers accept (test/api-openapi.test.ts tries each against the server).
 * Parsers also trim surrounding blanks and read enum values case-insensitively: the schemas
 * show the canonical form.
 */
import { t } from "elysia";
import { TIME_PATTERN } from "../params.ts";

const NUMBER = String.raw`(\d+(\.\d*)?|\.\d+)`;
/** Sizes and counts (units.ts parseSize): 1500, 500k, 1.5M, 2GiB, 10kB; units case-insensitive. */
export const SIZE_PATTERN = String.raw`^${NUMBER}([kKmMgGtT]([bB]|[iI][bB])?|[bB])?$`;
/** Rates in bit/s (parseRate): a size with an optional bps or bit/s (500k, 1Mbps, 10kbit/s). */
export const RATE_PATTERN = String.raw`^${NUMBER}([kKmMgGtT]([bB]|[iI][bB])?|[bB])?([bB][pP][sS]|[bB][iI][tT]/[sS])?$`;
/** Durations (parseDurationMs): ms, s, m, h, d; a bare number is seconds (250ms, 10s, 1.5h). */
export const DURATION_PATTERN = String.raw`^${NUMBER}([mM][sS]|[sSmMhHdD])?$`;

/**
 * A JSON Schema integer. (Elysia's own t.Integer is a coercing union with a string form,
 * `anyOf: [{type: string, format: integer}, {type: integer}]`, which would document every
 * integer as "string or integer".)
 */
export const int = (options: { minimum?: number; maximum?: number; default?: number; description?: string } = {}) =>
  t.Unsafe<number>({ type: "integer", ...options });

/** An integer parameter in [min, max] (decimal digits only, no sign, exponent or hex). */
export const integer = (minimum: number, maximum: number, def: number | undefined, description: string) =>
  int({ minimum, maximum, ...(def === undefined ? {} : { default: def }), description });

/** One of `values` (shown lower case; the parsers ignore case). */
export const oneOf = <T extends string>(values: readonly T[], def: T | undefined, description: string) =>
  t.Unsafe<T>({ type: "string", enum: [...values], ...(def === undefined ? {} : { default: def }), description });

/** A duration with units, e.g. `15m`. */
export const duration = (def: string, description: string) =>
  t.String({ pattern: DURATION_PATTERN, default: def, description: `${description} Units ms, s, m, h, d; a bare number is seconds.` });

/** A point in time: ISO 8601, relative (-1h), now, or epoch seconds. */
export const time = (description: string) =>
  t.String({ pattern: TIME_PATTERN, description: `${description} ISO 8601 (2026-12-01T03:12:00Z; no zone = UTC), relative (-1h, -15m, -7d), now, or epoch seconds.` });

export const text = (description: string, options: { pattern?: string; maxLength?: number } = {}) => t.String({ ...options, description });
