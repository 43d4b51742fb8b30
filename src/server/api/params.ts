/**
 * Parsing of URL parameters for the API. Every parser throws BadRequestError naming the parameter
 * and what is allowed, never anything else, so bad input can only ever produce a 400.
 *
 * Limits: integers are decimal digits only (no sign, exponent or hex); durations are a number with
 * an optional unit ms, s, m, h, d (a bare number is seconds), resolved to whole seconds.
 */
import { parseDurationMs } from "../../flows/query/units.ts";
import { BadRequestError } from "./bad-request-error.ts";

/** Query-string values as Elysia hands them over (a repeated parameter may come as an array). */
export type RawQuery = Record<string, string | string[] | undefined>;

/** The single value of `name`, undefined when absent or blank; a repeated parameter is a 400. */
export function single(q: RawQuery, name: string): string | undefined {
  const v = q[name];
  if (Array.isArray(v)) throw new BadRequestError(name, `${name}: give this parameter once (it was repeated ${v.length} times)`);
  if (v === undefined || v.trim() === "") return undefined;
  return v.trim();
}

/** Integer in [min, max]; `def` when absent. */
export function intParam(q: RawQuery, name: string, def: number, min: number, max: number): number {
  const v = single(q, name);
  if (v === undefined) return def;
  if (!/^\d{1,9}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new BadRequestError(name, `${name}: "${clip(v)}" is not an integer from ${min} to ${max}`);
  }
  return Number(v);
}

/** One of `allowed` (case-insensitive); `def` when absent. */
export function enumParam<T extends string>(q: RawQuery, name: string, allowed: readonly T[], def: T): T {
  const v = single(q, name);
  if (v === undefined) return def;
  const lower = v.toLowerCase();
  const hit = allowed.find((a) => a === lower);
  if (hit === undefined) throw new BadRequestError(name, `${name}: "${clip(v)}" is not one of ${allowed.join(", ")}`);
  return hit;
}

/** Duration in whole seconds within [minSec, maxSec]; `defSec` when absent. */
export function durationParam(q: RawQuery, name: string, defSec: number, minSec: number, maxSec: number): number {
  const v = single(q, name);
  if (v === undefined) return defSec;
  const ms = parseDurationMs(v);
  const range = `from ${fmtSec(minSec)} to ${fmtSec(maxSec)}`;
  if (ms === undefined || !Number.isFinite(ms)) {
    throw new BadRequestError(name, `${name}: "${clip(v)}" is not a duration (e.g. 60s, 15m, 1h; ${range})`);
  }
  const sec = Math.round(ms / 1000);
  if (sec < minSec || sec > maxSec) throw new BadRequestError(name, `${name}: ${clip(v)} is out of range (${range})`);
  return sec;
}

/** Rejects parameters not in `known` (names starting with "_" are allowed as cache busters). */
export function rejectUnknown(q: RawQuery, known: readonly string[]): void {
  for (const name of Object.keys(q)) {
    if (name.startsWith("_") || known.includes(name)) continue;
    throw new BadRequestError(name, `unknown parameter "${clip(name)}" (allowed: ${known.join(", ")})`);
  }
}

function fmtSec(s: number): string {
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

/** Echoed input is cut to 64 characters. */
export function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 61)}...` : s;
}

const REL_TIME = /^-(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const EPOCH_TIME = /^\d{9,11}(\.\d+)?$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const inner = (re: RegExp) => re.source.slice(1, -1);
/** The syntax timeParam accepts, as one pattern (the OpenAPI document shows it); a valid date is checked after. */
export const TIME_PATTERN = `^(now|${inner(REL_TIME)}|${inner(EPOCH_TIME)}|${inner(ISO_TIME)})$`;

/**
 * A point in time, seconds since the epoch: ISO 8601 (`2026-12-01T03:12:00Z`; without a zone it
 * is UTC), relative to now (`-1h`, `-15m`, `-90s`, `-7d`), `now`, or epoch seconds. Undefined when
 * absent; a 400 naming the parameter otherwise.
 */
export function timeParam(q: RawQuery, name: string, nowSec = Date.now() / 1000): number | undefined {
  const v = single(q, name)?.trim();
  if (v === undefined || v === "") return undefined;
  if (v === "now") return nowSec;
  const rel = REL_TIME.exec(v);
  if (rel) {
    const unit = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[rel[2] as "ms" | "s" | "m" | "h" | "d"];
    return nowSec - Number(rel[1]) * unit;
  }
  if (EPOCH_TIME.test(v)) return Number(v);
  if (ISO_TIME.test(v)) {
    const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(v) || v.length === 10 ? v : `${v}Z`;
    const ms = Date.parse(zoned.replace(" ", "T"));
    if (Number.isFinite(ms)) return ms / 1000;
  }
  throw new BadRequestError(name, `${name}: "${clip(v)}" is not a time (ISO 8601 such as 2026-12-01T03:12:00Z, relative such as -1h or -15m, now, or epoch seconds)`);
}
