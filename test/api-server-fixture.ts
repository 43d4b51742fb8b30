/**
 * Test fixture for the API tests: a real FlowmatrixServer on 127.0.0.1 port 0 replaying one of
 * the shared captures at full speed, returned once /api/v1/health reports the capture "finished"
 * (and one engine tick has passed, so the tick summary describes the finished replay).
 * CPU threshold 100 % so the health status does not depend on how busy the test machine is.
 */
import { FlowmatrixServer } from "../src/server/app.ts";

import { PCAPS } from "./shared-paths.ts";
export { PCAPS };

export interface Replay {
  server: FlowmatrixServer;
  url: string;
  get<T = unknown>(path: string): Promise<{ status: number; body: T; res: Response }>;
  stop(): Promise<void>;
}

export async function startReplay(file: string): Promise<Replay> {
  const server = new FlowmatrixServer({
    engine: { source: { kind: "file", path: PCAPS + file, speed: "max", loop: false } },
    port: 0,
    metricsIntervalMs: 500,
    alerts: { cpuPercent: 100 },
  });
  const url = await server.start();
  const get = async <T,>(path: string) => {
    const res = await fetch(url + path);
    const text = await res.text();
    let body: unknown = text;
    if ((res.headers.get("content-type") ?? "").includes("json")) body = JSON.parse(text);
    return { status: res.status, body: body as T, res };
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    const h = await get<{ capture: { state: string } }>("/api/v1/health");
    if (h.body.capture.state === "finished") break;
    if (Date.now() > deadline) throw new Error(`replay of ${file} did not finish: ${JSON.stringify(h.body)}`);
    await Bun.sleep(50);
  }
  const seen = server.ctx.engine.last?.wall ?? 0;
  while ((server.ctx.engine.last?.wall ?? 0) === seen && Date.now() < deadline) await Bun.sleep(50);
  return { server, url, get, stop: () => server.stop() };
}
