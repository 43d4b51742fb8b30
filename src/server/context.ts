/** What every route module of the server gets: the engine, system metrics, alerts, settings. */
import type { AlertEngine } from "../alerts/alert-engine.ts";
import type { SystemMetricsCollector } from "../metrics/system-collector.ts";
import type { EngineClient } from "../worker/engine-client.ts";
import type { EngineConfig } from "../worker/protocol.ts";
import type { History, HistoryConfig } from "./history.ts";

export interface ServerConfig {
  engine: EngineConfig;
  /** Listen address (default 127.0.0.1) and port (default 3000; 0 = any free port). */
  host?: string;
  port?: number;
  /** An engine Worker silent this long is stuck and restarted (default 30 s; see EngineClient). */
  engineStallMs?: number;
  /** System metrics interval (default 5000 ms). */
  metricsIntervalMs?: number;
  /** SSE comment heartbeat interval, ms (default HEARTBEAT_MS, 15 s: under proxies' idle timeouts). */
  sseHeartbeatMs?: number;
  /** Live-push transport the pages use by default (default "ws"; `?transport=sse` overrides). */
  transport?: "ws" | "sse";
  /** The history store (bun:sqlite); null or absent = memory only (--no-store). */
  history?: HistoryConfig | null;
  /** Alert thresholds (see src/alerts). */
  alerts?: import("../alerts/alert-engine.ts").AlertConfig;
  /** Authentication, Host/Origin checks and TLS (src/server/security/); absent = no auth, loopback only. */
  security?: SecurityConfig;
  /** The loaded settings with their sources (GET/PATCH /api/v1/settings, SIGHUP reload). */
  settings?: import("../config/load.ts").LoadedConfig;
}

export interface SecurityConfig {
  /** Admin token (full access). */
  adminToken?: string;
  /** Read-only viewer token. */
  viewerToken?: string;
  /** Allow a non-loopback host without a token (a warning and a UI banner). */
  insecureNoAuth?: boolean;
  /** /metrics without credentials. */
  metricsOpen?: boolean;
  /** Origins allowed on /ws, /sse and writes besides the server's own. */
  allowedOrigins?: readonly string[];
  /** Host names the server answers to besides the bound address and localhost. */
  serverNames?: readonly string[];
  /** PEM certificate and key files: serve HTTPS. */
  tls?: { cert: string; key: string };
  /** Session lifetime (default 12 h) and the failed-login limit (5 per 5 min). */
  sessionTtlMs?: number;
  loginMaxFailures?: number;
  loginWindowMs?: number;
}

export interface ServerContext {
  config: ServerConfig;
  engine: EngineClient;
  metrics: SystemMetricsCollector;
  alerts: AlertEngine;
  /** The history store, null with --no-store. */
  history: History | null;
  /** ms since epoch. */
  startedAt: number;
  version: string;
  /** Tokens, sessions and the failed-login limit. */
  auth: import("./security/auth.ts").Auth;
}
