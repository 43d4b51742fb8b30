/**
 * The Flowmatrix server: the engine Worker, the system metrics collector, the alert engine and
 * the Elysia app (API, pages, live push, static assets). Shape: new FlowmatrixServer(config),
 * start(), stop().
 *
 * start() fails fast: it rejects with the capture's typed error when the capture cannot start
 * (see EngineClient.start) and with PortInUseError when the port is taken — Elysia's Bun adapter
 * sets SO_REUSEPORT, which would let a second server share the port and the kernel split the
 * requests between two captures; we listen without it. Nothing keeps running after a failed start.
 *
 * Security (src/server/security/): the constructor refuses a non-loopback host without a token
 * (InsecureBindError, unless insecureNoAuth); the guard plugin sits in front of every route
 * (security headers, Host and Origin checks, tokens and sessions, /login and /logout);
 * config.security.tls serves HTTPS.
 */
import { Elysia } from "elysia";
import { AlertEngine } from "../alerts/alert-engine.ts";
import { VERSION } from "../version.ts";
import { SystemMetricsCollector } from "../metrics/system-collector.ts";
import { EngineClient } from "../worker/engine-client.ts";
import { History } from "./history.ts";
import { apiRoutes, errorResponse } from "./api/index.ts";
import type { ServerConfig, ServerContext } from "./context.ts";
import { liveRoutes } from "./live.ts";
import { pageRoutes } from "./pages.tsx";
import { staticRoutes } from "./static-files.ts";
import { PortInUseError } from "./port-in-use-error.ts";
import { Auth } from "./security/auth.ts";
import { guardRoutes } from "./security/guard.ts";
import { checkBind, isLoopbackHost } from "./security/hosts.ts";
import { configureShell } from "../../views/layout.tsx";

/** True for /api and every path under it (where every answer, errors included, is JSON). */
const isApiPath = (path: string) => path === "/api" || path.startsWith("/api/");

export class FlowmatrixServer {
  readonly ctx: ServerContext;
  app: { stop(force?: boolean): Promise<unknown>; server: { port?: number } | null } | null = null;
  url = "";

  constructor(readonly config: ServerConfig) {
    const history = config.history ? new History(config.history) : null;
    const engine = new EngineClient(config.engine, { stallMs: config.engineStallMs, sinkPorts: history?.sinkPorts });
    const metrics = new SystemMetricsCollector({
      intervalMs: config.metricsIntervalMs ?? 5000,
      interface: config.engine.source.kind === "live" ? config.engine.source.interface : undefined,
      extraNames: ["dropped", "bps", "pps", "active_flows"],
      extra: () => {
        const t = engine.last;
        return {
          dropped: t?.capture.dropped ?? 0,
          bps: t?.bps ?? 0,
          pps: t?.pps ?? 0,
          active_flows: t?.active_flows ?? 0,
        };
      },
    });
    const alerts = new AlertEngine(config.alerts ?? {});
    const sec = config.security ?? {};
    const auth = new Auth({
      adminToken: sec.adminToken, viewerToken: sec.viewerToken, sessionTtlMs: sec.sessionTtlMs,
      maxFailures: sec.loginMaxFailures, windowMs: sec.loginWindowMs,
    });
    // A non-loopback bind needs a token or an explicit --insecure-no-auth (before anything starts).
    checkBind(config.host ?? "127.0.0.1", auth.enabled, sec.insecureNoAuth === true);
    this.ctx = { config, engine, metrics, alerts, history, startedAt: Date.now(), version: VERSION, auth };
  }

  async start(): Promise<string> {
    const { engine, metrics, alerts, history } = this.ctx;
    if (history) {
      // Flow ids continue after the stored ones, so an id names one flow across restarts.
      engine.config.firstFlowId = await history.start();
      history.attach(engine, metrics, alerts);
    }
    try {
      await engine.start();
    } catch (e) {
      await history?.stop();
      throw e;
    }
    engine.onTick((s) => alerts.onTick(s));
    metrics.onSample((s) => alerts.onSystem(s));
    try {
      await metrics.start();
      return this.listen();
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  private listen(): string {
    const app = new Elysia({
      websocket: { idleTimeout: 60, backpressureLimit: 1 << 20, closeOnBackpressureLimit: true, perMessageDeflate: false },
    })
      // Errors no API route handled (e.g. an unknown path right under /api) are JSON there too.
      .onError(({ error, code, set, request }) => {
        if (!isApiPath(new URL(request.url).pathname)) return;
        const r = errorResponse(error, code) ?? [500, { error: "internal", message: "internal error (logged on the server)" }];
        if (r[0] === 500) console.error(`flowmatrix api: ${request.method} ${new URL(request.url).pathname}:`, error);
        set.status = r[0];
        return r[1];
      })
      // Headers, Host/Origin checks and authentication for every route below; /login, /logout.
      .use(guardRoutes({
        host: this.config.host ?? "127.0.0.1",
        tls: this.config.security?.tls !== undefined,
        auth: this.ctx.auth,
        metricsOpen: this.config.security?.metricsOpen,
        allowedOrigins: this.config.security?.allowedOrigins,
        serverNames: this.config.security?.serverNames,
      }))
      .use(staticRoutes())
      .use(apiRoutes(this.ctx))
      .use(liveRoutes(this.ctx))
      .use(pageRoutes(this.ctx));
    const host = this.config.host ?? "127.0.0.1";
    const port = this.config.port ?? 3000;
    const tls = this.config.security?.tls;
    // The page shell shows the logout button with auth, the banner without it off loopback.
    configureShell({ auth: this.ctx.auth.enabled, insecureNoAuth: this.config.security?.insecureNoAuth === true && !this.ctx.auth.enabled && !isLoopbackHost(host) });
    try {
      app.listen({ hostname: host, port, reusePort: false, ...(tls ? { tls: { cert: Bun.file(tls.cert), key: Bun.file(tls.key) } } : {}) });
    } catch (e) {
      if ((e as { code?: unknown }).code === "EADDRINUSE") throw new PortInUseError(host, port, e);
      throw e;
    }
    this.app = app;
    this.url = `${tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${app.server!.port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const app = this.app;
    this.app = null;
    if (app) await app.stop(true);
    this.ctx.metrics.stop();
    // The engine ends every live flow (reason shutdown) and hands it to the store before stopping.
    await this.ctx.engine.stop();
    await this.ctx.history?.stop();
  }
}
