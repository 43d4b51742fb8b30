/**
 * `flowmatrix serve`: capture (live, or a replayed file) and serve the dashboard and API.
 *
 * Fails fast: the capture is opened (or the file and filter checked) and the port bound before
 * the URL is printed; a capture that cannot start rejects with its typed error (exit 2, or 3 for
 * missing libpcap / capture permission) and a taken port with PortInUseError (exit 2).
 * Then prints the URL, and every 10 s a status line on stderr when it is a terminal (not with
 * --quiet); SIGINT/SIGTERM stop the capture, close the clients and exit 0.
 */
import { join } from "node:path";
import { defaultInterface } from "../capture/interfaces.ts";
import { FlowmatrixServer } from "../server/app.ts";
import type { EngineConfig } from "../worker/protocol.ts";
import { UsageError } from "./usage-error.ts";
import { numberFlag } from "./flags.ts";
import type { AlertConfig } from "../alerts/alert.ts";
import { alertFlags, parseSettingValue } from "../alerts/registry.ts";
import { parseSize } from "../flows/units.ts";
import { liveHub } from "../server/live.ts";
import type { ServerContext } from "../server/context.ts";
import { DB_FILE, defaultDataDir } from "../store/data-dir.ts";
import { parseVerb } from "./options.ts";
import { SERVE } from "./serve-options.ts";

/** Seconds between two status lines on a terminal. */
const STATUS_EVERY_S = 10;

export async function serveCommand(argv: string[]): Promise<number> {
  const parsed = parseVerb(SERVE, argv);
  if (parsed.help) throw new UsageError("serve --help is handled by main.ts");
  const values = parsed.values;
  if (values.interface && values.read) throw new UsageError("--interface and --read exclude each other");
  if (values["no-capture"] && (values.interface || values.read)) throw new UsageError("--no-capture serves stored history only: it takes no --interface or --read");
  if (values["no-capture"] && values["no-store"]) throw new UsageError("--no-capture needs the store: it cannot be combined with --no-store");
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535 (got "${values.port}")`);
  const speed = values.speed === "max" ? "max" : Number(values.speed);
  if (speed !== "max" && !(speed > 0)) throw new UsageError(`--speed must be a positive number or "max" (got "${values.speed}")`);
  const transport = values.transport === "sse" ? "sse" : "ws";
  const maxGap = Number(values["max-gap"]);
  if (!(maxGap > 0) || !Number.isFinite(maxGap)) throw new UsageError(`--max-gap must be a positive number of seconds (got "${values["max-gap"]}")`);
  const maxFlows = numberFlag("max-flows", values["max-flows"], 16);
  const idle = numberFlag("idle-timeout", values["idle-timeout"], 1);
  const alerts: AlertConfig = {};
  const given = values as Record<string, string | boolean | undefined>;
  for (const { flag, name, setting } of alertFlags()) {
    const v = given[flag];
    if (typeof v !== "string") continue;
    try {
      alerts[name] = parseSettingValue(setting.unit, v);
    } catch (e) {
      throw new UsageError(`--${flag} ${(e as Error).message}`);
    }
  }
  const retentionDays = Number(values["retention-days"]);
  if (!(retentionDays > 0) || !Number.isFinite(retentionDays)) throw new UsageError(`--retention-days must be a positive number (got "${values["retention-days"]}")`);
  const retentionBytes = parseSize(values["retention-size"]);
  if (retentionBytes === undefined || retentionBytes < 1 << 20) throw new UsageError(`--retention-size must be a size of at least 1MiB, such as 500MiB or 2GiB (got "${values["retention-size"]}")`);
  const dataDir = values["data-dir"] ?? defaultDataDir();
  const history = values["no-store"] ? null : { path: join(dataDir, DB_FILE), retentionDays, retentionBytes };
  const source: EngineConfig["source"] = values["no-capture"]
    ? { kind: "none" }
    : values.read
      ? { kind: "file", path: values.read, speed, loop: values.loop, maxGap }
      : { kind: "live", interface: values.interface ?? defaultInterface() };
  const server = new FlowmatrixServer({
    engine: { source, filter: values.filter, maxFlows, idleTimeout: idle },
    host: values.host,
    port,
    transport,
    alerts,
    history,
  });
  server.ctx.engine.onFatal((e) => console.error(`flowmatrix: capture stopped: ${e.message}`));
  const url = await server.start();
  const what = source.kind === "live" ? `capturing on ${source.interface}` : source.kind === "file" ? `replaying ${source.path}` : "serving stored history (no capture)";
  const where = history ? `history in ${history.path}` : "memory only (--no-store)";
  console.log(`flowmatrix ${server.ctx.version} ${what}, ${where} — dashboard at ${url}/  (API ${url}/api/v1/)`);
  const status = !values.quiet && process.stderr.isTTY === true
    ? setInterval(() => process.stderr.write(`${statusLine(server.ctx)}\n`), STATUS_EVERY_S * 1000)
    : null;
  let stopping = false;
  const shutdown = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    if (status) clearInterval(status);
    console.error(`flowmatrix: ${sig}, stopping`);
    await server.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  return 0;
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
