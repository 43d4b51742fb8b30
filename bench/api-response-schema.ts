/**
 * What a response schema would cost if Elysia enforced it: a real 10,000-flow page (GET
 * /api/v1/flows?limit=10000 from a FlowmatrixServer replaying bench/.cache/p100000-f95000-s2.pcap,
 * the scan capture's 95 k flows) served in-process by two Elysia apps, one with the page's
 * documented schema as the route's `response` (Elysia compiles it with TypeBox and checks every
 * answer) and one without (what the API does: the schemas only describe). Median and p90 of
 * `app.handle()` + reading the body, over --rounds rounds (default 30) alternating the two.
 *
 *   bun bench/api-response-schema.ts [--rounds 30]
 *
 * The documented schema (from /api/v1/openapi.json, $refs resolved) is rebuilt with TypeBox's own
 * types here, because the API's schemas use t.Unsafe (plain JSON Schema) which Elysia's
 * validator refuses ("Unknown type"): they could not be enforced by mistake either.
 * Needs the capture made by `npm run bench` (bench/.cache).
 */
import { Elysia, t, type TSchema } from "elysia";
import { existsSync } from "node:fs";
import { FlowmatrixServer } from "../src/server/app.ts";
import { opt, pct } from "./args.ts";

const ROUNDS = opt("rounds", 30);
const PCAP = new URL("./.cache/p100000-f95000-s2.pcap", import.meta.url).pathname;
if (!existsSync(PCAP)) throw new Error(`${PCAP} is missing: run npm run bench once (it makes the captures)`);

type Json = Record<string, unknown> & { type?: string | string[]; $ref?: string; properties?: Record<string, Json>; required?: string[]; items?: Json; anyOf?: Json[]; enum?: unknown[]; const?: unknown; additionalProperties?: boolean };

/** A JSON Schema of the document as TypeBox types Elysia can compile. */
function native(s: Json, doc: { components: { schemas: Record<string, Json> } }): TSchema {
  if (s.$ref) return native(doc.components.schemas[s.$ref.split("/").pop()!]!, doc);
  if (s.anyOf) return t.Union(s.anyOf.map((b) => native(b, doc)));
  if (s.enum) return t.Union(s.enum.map((v) => t.Literal(v as string)));
  if (s.const !== undefined) return t.Literal(s.const as string);
  if (Array.isArray(s.type)) return t.Union(s.type.map((ty) => native({ ...s, type: ty }, doc)));
  switch (s.type) {
    case "object": {
      const req = new Set(s.required ?? []);
      const props = Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, req.has(k) ? native(v, doc) : t.Optional(native(v, doc))]));
      return t.Object(props, { additionalProperties: s.additionalProperties === false ? false : true });
    }
    case "array": return t.Array(native(s.items!, doc));
    case "integer": return t.Number({ multipleOf: 1 });
    case "number": return t.Number();
    case "string": return t.String();
    case "boolean": return t.Boolean();
    case "null": return t.Null();
  }
  throw new Error(`unsupported schema ${JSON.stringify(s).slice(0, 100)}`);
}

const server = new FlowmatrixServer({ engine: { source: { kind: "file", path: PCAP, speed: "max", loop: false } }, port: 0 });
const url = await server.start();
let page: unknown;
let doc: { components: { schemas: Record<string, Json> }; paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: Json }> }> }>> };
try {
  for (;;) {
    const h = (await (await fetch(`${url}/api/v1/health`)).json()) as { capture: { state: string } };
    if (h.capture.state === "finished") break;
    await Bun.sleep(200);
  }
  page = await (await fetch(`${url}/api/v1/flows?limit=10000`)).json();
  doc = (await (await fetch(`${url}/api/v1/openapi.json`)).json()) as typeof doc;
} finally {
  await server.stop();
}
const schema = native(doc.paths["/api/v1/flows"]!.get!.responses["200"]!.content["application/json"]!.schema, doc);
const withSchema = new Elysia().get("/p", () => page, { response: schema });
const without = new Elysia().get("/p", () => page);

async function once(app: { handle(r: Request): Promise<Response> }): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const res = await app.handle(new Request("http://localhost/p"));
  const body = await res.text();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${body.slice(0, 300)}`);
  return { ms: performance.now() - t0, bytes: body.length };
}

const times = { without: [] as number[], with: [] as number[] };
let bytes = 0;
for (let i = 0; i < 3; i++) { await once(without); await once(withSchema); } // warm-up (JIT, validator compile)
for (let i = 0; i < ROUNDS; i++) {
  times.without.push((await once(without)).ms);
  const r = await once(withSchema);
  times.with.push(r.ms);
  bytes = r.bytes;
}
const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
console.log(`10,000-flow page (${(bytes / 1024 / 1024).toFixed(1)} MiB JSON), ${ROUNDS} rounds each, load ${load}`);
for (const [name, v] of Object.entries(times)) {
  v.sort((a, b) => a - b);
  console.log(`${name === "with" ? "with response schema   " : "without (as the API is)"}  median ${pct(v, 50).toFixed(1)} ms  p90 ${pct(v, 90).toFixed(1)} ms`);
}
