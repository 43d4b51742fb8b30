/**
 * Errors cross the Worker boundary as data (structured clone keeps neither the class nor its
 * fields). toWire() flattens an error; reviveError() rebuilds the capture's typed errors on the
 * server side so the CLI maps them to its exit codes (PcapError, FileSourceError → 2;
 * CapturePermissionError, LibpcapMissingError → 3); anything else becomes an EngineStartError.
 */
import { CapturePermissionError } from "../capture/capture-permission-error.ts";
import { FileSourceError } from "../capture/file-source-error.ts";
import { LibpcapMissingError } from "../capture/libpcap-missing-error.ts";
import { PcapError } from "../capture/pcap-error.ts";

export interface WireError {
  name: string;
  message: string;
  /** Query errors: the parameter at fault. */
  field?: string;
  /** PcapError: libpcap status; FileSourceError: errno code. */
  code?: string | number;
  path?: string;
  iface?: string;
  tried?: string[];
  /** Stack (with the cause's, if any) for the server's log. */
  stack?: string;
}

/** Stack (or name: message) of an error and of its cause chain, for a log line. */
export function describe(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (e instanceof Error) {
      parts.push((depth > 0 ? "caused by: " : "") + (e.stack ?? `${e.name}: ${e.message}`));
      e = (e as { cause?: unknown }).cause;
    } else {
      parts.push((depth > 0 ? "caused by: " : "") + String(e));
      break;
    }
  }
  return parts.join("\n");
}

export function toWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err), stack: String(err) };
  const e = err as Error & { field?: unknown; code?: unknown; path?: unknown; iface?: unknown; tried?: unknown };
  const w: WireError = { name: e.name, message: e.message, stack: describe(e) };
  if (typeof e.field === "string") w.field = e.field;
  if (typeof e.code === "string" || typeof e.code === "number") w.code = e.code;
  if (typeof e.path === "string") w.path = e.path;
  if (typeof e.iface === "string") w.iface = e.iface;
  if (Array.isArray(e.tried)) w.tried = e.tried.map(String);
  return w;
}

/** The capture could not start for a reason that is not one of the capture's typed errors. */
export class EngineStartError extends Error {
  override readonly name = "EngineStartError";
  readonly exitCode = 1;
  constructor(message: string, readonly kind: string, readonly workerStack?: string) {
    super(message);
  }
}

/** Rebuilds the typed error the Worker threw (same class, name and message). */
export function reviveError(w: WireError): Error {
  let e: Error;
  switch (w.name) {
    case "PcapError":
      e = new PcapError(w.message, typeof w.code === "number" ? w.code : -1);
      break;
    case "FileSourceError":
      e = new FileSourceError(w.path ?? "", typeof w.code === "string" ? w.code : "EUNKNOWN", "");
      break;
    case "CapturePermissionError":
      e = new CapturePermissionError(w.iface ?? "", "");
      break;
    case "LibpcapMissingError":
      e = new LibpcapMissingError(w.tried ?? []);
      break;
    default:
      return new EngineStartError(w.message, w.name, w.stack);
  }
  e.message = w.message;
  return e;
}
