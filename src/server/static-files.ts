/**
 * Static assets (htmx 4 with its ws/sse extensions, _hyperscript, the stylesheet), embedded with
 * `with { type: "file" }` so `bun build --compile` carries them in the single binary.
 *
 * Why not @elysiajs/static: it reads files relative to the working directory, which 404s in a
 * compiled binary started elsewhere (see README design notes).
 */
import { Elysia } from "elysia";
import htmx from "../../node_modules/htmx.org/dist/htmx.min.js" with { type: "file" };
import hxWs from "../../node_modules/htmx.org/dist/ext/hx-ws.min.js" with { type: "file" };
import hxSse from "../../node_modules/htmx.org/dist/ext/hx-sse.min.js" with { type: "file" };
import hyperscript from "../../node_modules/hyperscript.org/dist/_hyperscript.min.js" with { type: "file" };
import css from "../../static/app.css" with { type: "file" };

/** A Map, not an object literal: `__proto__`, `constructor`, `toString`… are not assets (404). */
const ASSETS = new Map<string, { path: string; type: string }>([
  ["htmx.min.js", { path: htmx, type: "text/javascript; charset=utf-8" }],
  ["hx-ws.js", { path: hxWs, type: "text/javascript; charset=utf-8" }],
  ["hx-sse.js", { path: hxSse, type: "text/javascript; charset=utf-8" }],
  ["_hyperscript.min.js", { path: hyperscript, type: "text/javascript; charset=utf-8" }],
  ["app.css", { path: css, type: "text/css; charset=utf-8" }],
]);

export function staticRoutes() {
  return new Elysia().get("/static/:name", ({ params, set }) => {
    const a = ASSETS.get(params.name);
    if (!a) {
      set.status = 404;
      return "not found";
    }
    return new Response(Bun.file(a.path), {
      headers: { "content-type": a.type, "cache-control": "public, max-age=3600" },
    });
  });
}

/** Byte sizes of the assets (for the page-weight bench). */
export async function assetSizes(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, a] of ASSETS) out[name] = Bun.file(a.path).size;
  return out;
}
