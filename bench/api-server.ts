/**
 * A FlowmatrixServer in its own process for the API benches, so its RSS and its threads' CPU
 * (the server thread vs the engine Worker) can be read from /proc without the load generator's.
 *
 *   bun bench/api-server.ts '<ServerConfig as JSON>'
 *
 * Prints the server URL on its first stdout line once listening; SIGTERM, or the end of its stdin (the
 * bench exited), stops it cleanly. With FLOWMATRIX_CALL_TRACE=1 in its environment, a line "trace"
 * on stdin is answered with one stdout line `TRACE {"server":[spans],"engine":[spans]}` (the spans
 * since the last one, see src/worker/call-trace.ts).
 */
import { FlowmatrixServer } from "../src/server/app.ts";
import type { ServerConfig } from "../src/server/context.ts";

const config = JSON.parse(process.argv[2] ?? "{}") as ServerConfig;
const server = new FlowmatrixServer({ port: 0, ...config });
const url = await server.start();
console.log(url);
const stop = () => void server.stop().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// The bench that started this process went away (its end of stdin closed): stop too.
void (async () => {
  const r = Bun.stdin.stream().getReader();
  const dec = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await r.read();
    if (done) break;
    text += dec.decode(value);
    let nl: number;
    while ((nl = text.indexOf("\n")) >= 0) {
      const line = text.slice(0, nl).trim();
      text = text.slice(nl + 1);
      if (line !== "trace") continue;
      const engine = server.ctx.engine;
      const serverSpans = engine.trace?.drain() ?? [];
      const engineSpans = await engine.call("trace", {}).catch(() => []);
      console.log(`TRACE ${JSON.stringify({ server: serverSpans, engine: engineSpans })}`);
    }
  }
  stop();
})();
