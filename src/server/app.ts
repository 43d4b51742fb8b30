/**
 * The Flowmatrix server: the engine Worker, the system metrics collector, the alert engine and
 * the Elysia app (API, pages, live push, static assets). Shape: new FlowmatrixServer(config),
 * start(), stop().
 */
import { Elysia } from "elysia";
import { AlertEngine } from "../alerts/alert-engine.ts";
import { VERSION } from "../cli/usage.ts";
import { SystemMetricsCollector } from "../metrics/system-collector.ts";
import { EngineClient } from "../worker/engine-client.ts";
import { apiRoutes } from "./api/index.ts";
import type { ServerConfig, ServerContext } from "./context.ts";
import { liveRoutes } from "./live.ts";
import { pageRoutes } from "./pages.tsx";
import { staticRoutes } from "./static-files.ts";

export class FlowmatrixServer {
  readonly ctx: ServerContext;
  app: { stop(force?: boolean): Promise<unknown>; server: { port?: number } | null } | null = null;
  url = "";

  constructor(readonly config: ServerConfig) {
    const engine = new EngineClient(config.engine);
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
    this.ctx = { config, engine, metrics, alerts, startedAt: Date.now(), version: VERSION };
  }

  async start(): Promise<string> {
    const { engine, metrics, alerts } = this.ctx;
    await engine.start();
    engine.onTick((s) => alerts.onTick(s));
    metrics.onSample((s) => alerts.onSystem(s));
    await metrics.start();
    const app = new Elysia({
      websocket: { idleTimeout: 60, backpressureLimit: 1 << 20, closeOnBackpressureLimit: true, perMessageDeflate: false },
    })
      .use(staticRoutes())
      .use(apiRoutes(this.ctx))
      .use(liveRoutes(this.ctx))
      .use(pageRoutes(this.ctx));
    app.listen({ hostname: this.config.host ?? "127.0.0.1", port: this.config.port ?? 3000 });
    this.app = app;
    const host = this.config.host ?? "127.0.0.1";
    this.url = `http://${host.includes(":") ? `[${host}]` : host}:${app.server!.port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const app = this.app;
    this.app = null;
    if (app) await app.stop(true);
    this.ctx.metrics.stop();
    await this.ctx.engine.stop();
  }
}
