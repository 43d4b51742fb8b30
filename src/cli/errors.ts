/**
 * How an error leaving a command becomes one line on stderr and an exit code:
 * 0 ok (a closed stdout), 2 bad usage or unreadable input, 3 missing libpcap or capture permission,
 * 1 anything unexpected. An error may carry its own numeric `exitCode` (e.g. serve start failures).
 */
import { UsageError } from "./usage-error.ts";

const EXIT_CODES: Record<string, number> = {
  StdoutClosed: 0,
  UsageError: 2,
  FileSourceError: 2,
  PcapError: 2,
  QueryError: 2,
  LibpcapMissingError: 3,
  CapturePermissionError: 3,
};

type ErrorLike = { name?: unknown; message?: unknown; code?: unknown; exitCode?: unknown; stack?: unknown };

function fields(err: unknown): ErrorLike {
  return typeof err === "object" && err !== null ? (err as ErrorLike) : {};
}

/** node:util parseArgs (strict) reports unknown or malformed flags with ERR_PARSE_ARGS_* codes. */
function isParseArgsError(e: ErrorLike): boolean {
  return typeof e.code === "string" && e.code.startsWith("ERR_PARSE_ARGS");
}

export function isUsageError(err: unknown): boolean {
  return err instanceof UsageError || isParseArgsError(fields(err));
}

export function exitCodeFor(err: unknown): number {
  const e = fields(err);
  if (typeof e.exitCode === "number" && Number.isInteger(e.exitCode) && e.exitCode >= 0 && e.exitCode <= 255) return e.exitCode;
  if (err instanceof UsageError) return 2;
  if (typeof e.name === "string" && e.name in EXIT_CODES) return EXIT_CODES[e.name]!;
  if (isParseArgsError(e)) return 2;
  return 1;
}

/** The error's message on one line (without the stack). */
export function errorMessage(err: unknown): string {
  const e = fields(err);
  const msg = typeof e.message === "string" && e.message !== "" ? e.message : typeof e.name === "string" ? e.name : String(err);
  return msg.replace(/\s*\n\s*/g, " ").trim();
}

/**
 * What main.ts prints for an error (nothing for a closed stdout): `flowmatrix: <message>`, with a
 * pointer to the verb's help for usage errors, and the stack only when FLOWMATRIX_DEBUG=1.
 */
export function errorReport(err: unknown, verb: string | undefined, debug = process.env.FLOWMATRIX_DEBUG === "1"): string {
  if (exitCodeFor(err) === 0 && fields(err).name === "StdoutClosed") return "";
  let line = `flowmatrix: ${errorMessage(err)}`;
  if (isUsageError(err)) line += ` — try flowmatrix ${verb ? `${verb} ` : ""}--help`;
  const stack = fields(err).stack;
  if (debug && typeof stack === "string") line += `\n${stack}`;
  return line + "\n";
}
