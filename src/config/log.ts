/**
 * Operational log: one event per line on stderr. `text` (the default) writes
 * `flowmatrix: <message>` as the CLI always has; `json` writes one JSON object per line:
 * `{"ts":"2026-12-01T22:50:00.000Z","level":"info","event":"start","msg":"…",…fields}`.
 * Events below the configured level are dropped. Format and level are process-wide (one server per
 * process); the level can change at run time (SIGHUP reload, PATCH /api/v1/settings).
 *
 * Events written by the server: start, stop, auth_failure, login, logout, login_rate_limited,
 * config_reload, config_reload_failed, insecure_no_auth, settings_changed.
 */
import { writeSync } from "node:fs";

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = "text" | "json";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

class Logger {
  format: LogFormat = "text";
  level: LogLevel = "info";
  /** Where lines go (tests may swap it); default: stderr, synchronously (lines survive an exit). */
  sink: (line: string) => void = (line) => {
    try {
      writeSync(2, line);
    } catch {
      // stderr gone: nothing to do
    }
  };

  configure(o: { format?: LogFormat; level?: LogLevel }): void {
    if (o.format) this.format = o.format;
    if (o.level) this.level = o.level;
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] >= RANK[this.level];
  }

  log(level: LogLevel, event: string, msg: string, fields: Record<string, unknown> = {}): void {
    if (!this.enabled(level)) return;
    if (this.format === "json") {
      this.sink(JSON.stringify({ ts: new Date().toISOString(), level, event, msg, ...fields }) + "\n");
    } else {
      const extra = Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
      const prefix = level === "warn" ? "warning: " : level === "error" ? "error: " : "";
      this.sink(`flowmatrix: ${prefix}${msg}${extra.length ? ` (${extra.join(" ")})` : ""}\n`);
    }
  }

  debug(event: string, msg: string, fields?: Record<string, unknown>): void {
    this.log("debug", event, msg, fields);
  }
  info(event: string, msg: string, fields?: Record<string, unknown>): void {
    this.log("info", event, msg, fields);
  }
  warn(event: string, msg: string, fields?: Record<string, unknown>): void {
    this.log("warn", event, msg, fields);
  }
  error(event: string, msg: string, fields?: Record<string, unknown>): void {
    this.log("error", event, msg, fields);
  }
}

/** The process's logger. */
export const log = new Logger();
