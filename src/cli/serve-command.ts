/**
 * `flowmatrix serve`: capture (live, or a replayed file) and serve the dashboard and API.
 *
 * Fails fast: the capture is opened (or the file and filter checked) and the port bound before
 * the URL is printed; a capture that cannot start rejects with its typed error (exit 2, or 3 for
 * missing libpcap / capture permission) and a taken port with PortInUseError (exit 2).
 * Then prints the URL, and every 10 s a status line on stderr when it is a terminal (not with
 * --quiet); SIGINT/SIGTERM stop the capture, close the clients and exit 0.
 */
import { parseArgs } from "node:util";
import { defaultInterface } from "../capture/interfaces.ts";
import { FlowmatrixServer } from "../server/app.ts";
import type { EngineConfig } from "../worker/protocol.ts";
import { UsageError } from "./usage-error.ts";
import { numberFlag } from "./flags.ts";
import type { AlertConfig } from "../alerts/alert.ts";
import { parseRate } from "../flows/units.ts";
import { liveHub } from "../server/live.ts";
import type { ServerContext } from "../server/context.ts";

/** Seconds between two status lines on a terminal. */
const STATUS_EVERY_S = 10;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      interface: { type: "string", short: "i" },
      read: { type: "string", short: "r" },
      speed: { type: "string", default: "1" },
      loop: { type: "boolean", default: false },
      filter: { type: "string", short: "f" },
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", short: "p", default: "3000" },
      "max-flows": { type: "string" },
      "idle-timeout": { type: "string" },
      transport: { type: "string", default: "ws" },
      "alert-bps": { type: "string" },
      "alert-host-bps": { type: "string" },
      "alert-flow-bps": { type: "string" },
      "alert-cpu": { type: "string" },
      "alert-memory": { type: "string" },
      "alert-scan-attempts": { type: "string" },
      "max-gap": { type: "string", default: "5" },
      quiet: { type: "boolean", short: "q", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.interface && values.read) throw new UsageError("--interface and --read exclude each other");
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535 (got "${values.port}")`);
  const speed = values.speed === "max" ? "max" : Number(values.speed);
  if (speed !== "max" && !(speed > 0)) throw new UsageError(`--speed must be a positive number or "max" (got "${values.speed}")`);
  if (values.transport !== "ws" && values.transport !== "sse") throw new UsageError(`--transport must be ws or sse`);
  const maxGap = Number(values["max-gap"]);
  if (!(maxGap > 0) || !Number.isFinite(maxGap)) throw new UsageError(`--max-gap must be a positive number of seconds (got "${values["max-gap"]}")`);
  const maxFlows = numberFlag("max-flows", values["max-flows"], 16);
  const idle = numberFlag("idle-timeout", values["idle-timeout"], 1);
  const rate = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = parseRate(v);
    if (n === undefined || !(n > 0)) throw new UsageError(`--${name} must be a rate such as 100M or 2.5G (bit/s), got "${v}"`);
    return n;
  };
  const percent = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!(n > 0 && n <= 100)) throw new UsageError(`--${name} must be a percentage 1-100, got "${v}"`);
    return n;
  };
  const scanAttempts = values["alert-scan-attempts"] === undefined ? undefined : Number(values["alert-scan-attempts"]);
  if (scanAttempts !== undefined && !(Number.isInteger(scanAttempts) && scanAttempts > 0)) {
    throw new UsageError("--alert-scan-attempts must be a positive whole number");
  }
  const alerts: AlertConfig = {
    bandwidthBps: rate("alert-bps", values["alert-bps"]),
    hostBps: rate("alert-host-bps", values["alert-host-bps"]),
    flowBps: rate("alert-flow-bps", values["alert-flow-bps"]),
    cpuPercent: percent("alert-cpu", values["alert-cpu"]),
    memoryPercent: percent("alert-memory", values["alert-memory"]),
    scanMinAttempts: scanAttempts,
  };
  for (const k of Object.keys(alerts) as (keyof AlertConfig)[]) if (alerts[k] === undefined) delete alerts[k];
  const source: EngineConfig["source"] = values.read
    ? { kind: "file", path: values.read, speed, loop: values.loop, maxGap }
    : { kind: "live", interface: values.interface ?? defaultInterface() };
  const server = new FlowmatrixServer({
    engine: { source, filter: values.filter, maxFlows, idleTimeout: idle },
    host: values.host,
    port,
    transport: values.transport,
    alerts,
  });
  server.ctx.engine.onFatal((e) => console.error(`flowmatrix: capture stopped: ${e.message}`));
  const url = await server.start();
  const what = source.kind === "live" ? `capturing on ${source.interface}` : `replaying ${source.path}`;
  console.log(`flowmatrix ${server.ctx.version} ${what} — dashboard at ${url}/  (API ${url}/api/v1/)`);
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
