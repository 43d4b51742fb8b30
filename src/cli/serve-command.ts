/**
 * `flowmatrix serve`: capture (live, or a replayed file) and serve the dashboard and API.
 *
 * Fails fast: the capture is opened (or the file and filter checked) and the port bound before
 * the URL is printed; a capture that cannot start rejects with its typed error (exit 2, or 3 for
 * missing libpcap / capture permission) and a taken port with PortInUseError (exit 2).
 * Then prints the URL, and every 10 s a status line on stderr when it is a terminal (not with
 * --quiet); SIGINT/SIGTERM stop the capture, close the clients and exit 0; SIGHUP reloads the
 * live settings (src/config/: flags > FLOWMATRIX_* environment > --config TOML file > defaults).
 * Start, stop, reloads and auth failures are log events on stderr (--log-format, --log-level).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { defaultInterface } from "../capture/interfaces.ts";
import { FlowmatrixServer } from "../server/app.ts";
import type { EngineConfig } from "../worker/protocol.ts";
import { UsageError } from "./usage-error.ts";
import type { AlertConfig } from "../alerts/alert.ts";
import { liveHub } from "../server/live.ts";
import type { ServerContext } from "../server/context.ts";
import type { HistoryConfig } from "../server/history.ts";
import { DB_FILE } from "../store/data-dir.ts";
import { parseHostPort } from "../export/ipfix-sink.ts";
import { CollectorBindError, parseListen } from "../collect/collector.ts";
import { ConfigError, describeSource, loadConfig, readableByOthers, type LoadedConfig } from "../config/load.ts";
import { log, type LogFormat, type LogLevel } from "../config/log.ts";
import { resolvedDataDir, SCHEMA, type Value } from "../config/schema.ts";
import { isLoopbackHost } from "../server/security/hosts.ts";
import { applyLiveSettings } from "../server/security/settings-api.ts";

/** Seconds between two status lines on a terminal. */
const STATUS_EVERY_S = 10;

export async function serveCommand(argv: string[]): Promise<number> {
  const loaded = loadConfig(argv);
  const { server, source, history } = serverFromConfig(loaded);
  const values = loaded.values;
  log.configure({ format: values["log-format"] as LogFormat, level: values["log-level"] as LogLevel });
  server.ctx.engine.onFatal((e) => log.error("capture_stopped", `capture stopped: ${e.message}`));
  // Signals are taken before the server starts: a SIGTERM that comes while it starts, or just after
  // it printed its URL, stops it cleanly once started (live flows stored) instead of killing it.
  let stopping = false, running = false;
  let status: ReturnType<typeof setInterval> | null = null;
  const starting = server.start();
  const shutdown = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    if (status) clearInterval(status);
    log.info("stop", `${sig}, stopping`, { signal: sig });
    await starting.catch(() => {});
    await server.stop();
    log.info("stopped", "stopped", { signal: sig });
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGHUP", () => {
    if (running && !stopping) reload(server.ctx, loaded);
  });
  const url = await starting.catch((err: unknown) => {
    // The collector's UDP address could not be bound: a configuration error, as a busy HTTP port.
    throw (err as { kind?: unknown }).kind === "CollectorBindError" ? new CollectorBindError((err as Error).message) : err;
  });
  running = true;
  const collect = values["collect-netflow"] ? ` collecting NetFlow/IPFIX on ${values["collect-netflow"]}` : "";
  const whatRaw = (source.kind === "live" ? `capturing on ${source.interface}` : source.kind === "file" ? `replaying ${source.path}` : collect ? "" : "serving stored history (no capture)") +
    (collect && source.kind !== "none" ? "," : "") + collect;
  const what = whatRaw.trim();
  const where = history ? `history in ${history.path}` : "memory only (--no-store)";
  console.log(`flowmatrix ${server.ctx.version} ${what}, ${where} — dashboard at ${url}/  (API ${url}/api/v1/)`);
  log.info("start", `started: ${what}, ${where}, listening on ${url}`, {
    version: server.ctx.version, url, auth: server.ctx.auth.enabled, config_file: loaded.file, pid: process.pid,
  });
  warnAboutSecurity(loaded);
  if (!stopping && !values.quiet && process.stderr.isTTY === true) {
    status = setInterval(() => process.stderr.write(`${statusLine(server.ctx)}\n`), STATUS_EVERY_S * 1000);
  }
  return 0;
}

/** The server a loaded configuration describes (cross-setting checks here; UsageError on a clash). */
export function serverFromConfig(loaded: LoadedConfig): { server: FlowmatrixServer; source: EngineConfig["source"]; history: HistoryConfig | null } {
  const values = loaded.values;
  const src = (k: string) => describeSource(loaded.sources[k] ?? { kind: "default" });
  if (values.interface && values.read) throw new UsageError(`--interface (${src("interface")}) and --read (${src("read")}) exclude each other`);
  if (values["no-capture"] && (values.interface || values.read)) throw new UsageError("--no-capture serves stored history only: it takes no --interface or --read");
  if (values["no-capture"] && values["no-store"]) throw new UsageError("--no-capture needs the store: it cannot be combined with --no-store");
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) throw new UsageError("--tls-cert and --tls-key go together: give both or neither");
  for (const k of ["tls-cert", "tls-key"] as const) {
    const f = values[k];
    if (f !== undefined && !existsSync(f)) throw new ConfigError(`${k} (${src(k)}): no such file ${f}`);
  }
  const alerts: AlertConfig = {};
  for (const s of SCHEMA) {
    if (s.alert && loaded.sources[s.key]?.kind !== "default") alerts[s.alert] = (values as Record<string, number>)[s.key];
  }
  const dataDir = resolvedDataDir(values);
  const history = values["no-store"]
    ? null
    : { path: join(dataDir, DB_FILE), retentionDays: values["retention-days"]!, retentionBytes: values["retention-size"]! };
  const speed = values.speed === "max" ? "max" : Number(values.speed);
  const collect = values["collect-netflow"] ? parseListen(values["collect-netflow"]) : undefined;
  // A collector without --interface/--read is the only flow source: no packet capture.
  const source: EngineConfig["source"] = values["no-capture"] || (collect && !values.interface && !values.read)
    ? { kind: "none" }
    : values.read
      ? { kind: "file", path: values.read, speed, loop: values.loop === true, maxGap: values["max-gap"]! }
      : { kind: "live", interface: values.interface ?? defaultInterface(), snaplen: values.snaplen, bufferSizeMiB: values["buffer-size"] };
  const server = new FlowmatrixServer({
    engine: {
      source, filter: values.filter, maxFlows: values["max-flows"], idleTimeout: values["idle-timeout"], activeTimeout: values["active-timeout"],
      exportIpfix: values["export-ipfix"] ? { ...parseHostPort(values["export-ipfix"]), domainId: values["ipfix-domain"] ?? 1 } : undefined,
      collect,
      geoipDb: values["geoip-db"],
      asnDb: values["asn-db"],
    },
    host: values.host,
    port: values.port,
    transport: values.transport === "sse" ? "sse" : "ws",
    alerts,
    history,
    settings: loaded,
    security: {
      adminToken: values["auth-token"],
      viewerToken: values["viewer-token"],
      insecureNoAuth: values["insecure-no-auth"] === true,
      metricsOpen: values["metrics-open"] === true,
      allowedOrigins: values["allowed-origins"],
      serverNames: values["server-names"],
      tls: values["tls-cert"] && values["tls-key"] ? { cert: values["tls-cert"], key: values["tls-key"] } : undefined,
    },
  });
  return { server, source, history };
}

function warnAboutSecurity(loaded: LoadedConfig): void {
  const v = loaded.values;
  const authed = v["auth-token"] !== undefined || v["viewer-token"] !== undefined;
  if (v["insecure-no-auth"] && !authed && !isLoopbackHost(v.host ?? "127.0.0.1")) {
    log.warn("insecure_no_auth", `listening on ${v.host} WITHOUT authentication (--insecure-no-auth): anyone who can reach it sees the traffic`);
  }
  for (const k of ["auth-token-file", "viewer-token-file"] as const) {
    const f = v[k];
    if (f && readableByOthers(f)) log.warn("token_file_mode", `token file ${f} is readable by other users: chmod 600 ${f}`);
  }
  if (authed && v["tls-cert"] === undefined && !isLoopbackHost(v.host ?? "127.0.0.1")) {
    log.warn("no_tls", "tokens and session cookies cross the network in clear text: use --tls-cert/--tls-key or a TLS reverse proxy");
  }
  if (process.getuid?.() === 0) {
    log.warn("running_as_root", "running as root: Bun cannot drop privileges after opening the capture; run as a user with cap_net_raw,cap_net_admin (see deploy/flowmatrix.service)");
  }
}

/**
 * SIGHUP: read the config file, the environment and the flags again and apply what can change
 * live (alert thresholds and timings, log level). Other changed settings are named in a warning
 * (they need a restart); an invalid configuration is logged and nothing changes.
 */
export function reload(ctx: ServerContext, first: LoadedConfig): void {
  let next: LoadedConfig;
  try {
    next = loadConfig(first.argv, process.env);
  } catch (e) {
    log.error("config_reload_failed", `reload failed, settings unchanged: ${(e as Error).message}`);
    return;
  }
  const live: Record<string, Value | undefined> = {};
  const restart: string[] = [];
  const cur = (ctx.config.settings ?? first).values as Record<string, Value | undefined>;
  const nv = next.values as Record<string, Value | undefined>;
  for (const s of SCHEMA) {
    const same = JSON.stringify(cur[s.key]) === JSON.stringify(nv[s.key]);
    if (s.live) live[s.key] = nv[s.key];
    else if (!same) restart.push(s.key);
  }
  // Logged before applying, so a log-level change does not hide its own event.
  const changed = applyLiveSettings(ctx, live, { kind: "default" }, true);
  log.info("config_reload", `configuration reloaded${changed.length ? `: ${changed.join(", ")} changed` : ": no live setting changed"}`, { changed });
  applyLiveSettings(ctx, live, { kind: "default" });
  // Sources of live settings follow the reloaded configuration.
  if (ctx.config.settings) for (const k of Object.keys(live)) ctx.config.settings.sources[k] = next.sources[k]!;
  if (restart.length) log.warn("config_reload_restart", `changed but only applied on restart: ${restart.join(", ")}`, { keys: restart });
}

/** "flowmatrix: 12,345 packets · 321 flows (12 active) · 0 drops · 2 clients" (from the last tick). */
export function statusLine(ctx: ServerContext): string {
  const t = ctx.engine.last;
  const n = (v: number) => v.toLocaleString("en-US");
  const clients = liveHub(ctx)?.clients() ?? 0;
  const down = ctx.engine.unavailable;
  const parts = [
    `${n(t?.capture.packets ?? 0)} packets`,
    `${n(t?.stats.flows ?? 0)} flows (${n(t?.active_flows ?? 0)} active)`,
    `${n(t?.capture.dropped ?? 0)} drops`,
    `${n(clients)} client${clients === 1 ? "" : "s"}`,
  ];
  if (down) parts.push(`engine restarting: ${down}`);
  else if (t && t.capture.state !== "active") parts.push(`capture ${t.capture.state}`);
  return `flowmatrix: ${parts.join(" · ")}`;
}
