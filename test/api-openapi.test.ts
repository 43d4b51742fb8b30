/**
 * /api/v1/openapi.json from a real server (replaying ndpi__gnutella.pcap, history store in a temp
 * directory, a memory alert raised on purpose) checked against the server itself:
 * - every operation has a 200 response with a schema, and its error responses;
 * - integer and enum parameters are typed (bounds, enum values), and each documented bound, enum
 *   value and pattern is tried on the server: the documented values are accepted, the values
 *   just outside are a 400 naming the parameter (the parsers stay stricter than Elysia's coercion:
 *   1e3, 0x10, +5, 5.0 are refused);
 * - a real response from every JSON endpoint (and every NDJSON line, and the error bodies, and
 *   the guard's 401/403 from a second server with tokens) validates against its documented
 *   schema, whose objects are closed (no undocumented field).
 * The document itself also passes openapi-spec-validator 0.9 (OpenAPI 3.1), checked by hand.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FlowmatrixServer } from "../src/server/app.ts";
import { FLOW_PARAM_NAMES } from "../src/server/api/flow-request.ts";
import { resolveRef, schemaErrors as check, type JsonSchema } from "./json-schema-check.ts";
import { PCAPS } from "./shared-paths.ts";

interface Param { name: string; in: string; required: boolean; schema: JsonSchema }
interface Response { description: string; content?: Record<string, { schema: JsonSchema }> }
interface Operation { summary?: string; parameters?: Param[]; responses?: Record<string, Response> }
interface Doc { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, JsonSchema> } }

let server: FlowmatrixServer;
let url: string;
let dir: string;
let doc: Doc;
let anyFlowId: number;

async function get(path: string, init?: RequestInit): Promise<{ status: number; type: string; body: unknown; text: string }> {
  const res = await fetch(url + path, init);
  const text = await res.text();
  const type = res.headers.get("content-type") ?? "";
  return { status: res.status, type, text, body: type.includes("application/json") ? JSON.parse(text) : text };
}

async function until<T>(what: string, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fm-openapi-"));
  server = new FlowmatrixServer({
    engine: { source: { kind: "file", path: `${PCAPS}ndpi__gnutella.pcap`, speed: "max", loop: false } },
    history: { path: join(dir, "flowmatrix.db") },
    port: 0,
    metricsIntervalMs: 250,
    // memory above 1 % for 1 s: an alert to show in /api/v1/alerts (and in the store's alert log).
    alerts: { cpuPercent: 100, memoryPercent: 1, systemSeconds: 1 },
  });
  url = await server.start();
  await until("the replay to finish", async () => ((await get("/api/v1/health")).body as { capture: { state: string } }).capture.state === "finished" || undefined);
  await until("a stored alert event", async () => {
    const b = (await get("/api/v1/alerts?state=all")).body as { active: unknown[]; history: { seq?: number }[] };
    return b.active.length > 0 && b.history.some((e) => e.seq !== undefined) ? true : undefined;
  });
  doc = (await get("/api/v1/openapi.json")).body as Doc;
  anyFlowId = ((await get("/api/v1/flows?limit=1")).body as { flows: { id: number }[] }).flows[0]!.id;
}, 40_000);

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 20_000);

const operations = () => Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));
const op = (path: string, method = "get") => doc.paths[path]![method]!;
const queryParams = (path: string) => (op(path).parameters ?? []).filter((p) => p.in === "query");
const schemaOf = (path: string, status: string, type = "application/json", method = "get") => {
  const s = op(path, method).responses?.[status]?.content?.[type]?.schema;
  if (!s) throw new Error(`${method} ${path}: no ${type} schema for ${status}`);
  return s;
};
const enc = encodeURIComponent;
/** The schema itself when it is a $ref to a component. */
const deref = (s: JsonSchema) => (s.$ref ? resolveRef(s.$ref, doc) : s);
const schemaErrors = (s: JsonSchema, value: unknown) => check(s, value, "$", doc);
const fieldOf = (b: unknown) => (b as { field?: string }).field;
/** `&limit=1` where the operation has a limit (keeps the answers small). */
const small = (o: Operation) => ((o.parameters ?? []).some((p) => p.name === "limit") ? "&limit=1" : "");

describe("the document", () => {
  test("lists every API operation, each with a 200 response schema and its errors", () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const names = operations().map((o) => `${o.method} ${o.path}`).sort();
    expect(names).toEqual([
      "get /api/v1/alerts", "get /api/v1/bandwidth", "get /api/v1/flows", "get /api/v1/flows/{id}", "get /api/v1/health",
      "get /api/v1/metrics/history", "get /api/v1/settings", "get /api/v1/talkers", "get /metrics", "patch /api/v1/settings",
    ]);
    for (const { path, method, op } of operations()) {
      const ok = op.responses?.["200"]?.content;
      expect(ok, `${method} ${path}`).toBeDefined();
      for (const [type, { schema }] of Object.entries(ok!)) {
        if (type === "application/json") expect(Object.keys(deref(schema).properties ?? {}).length, `${method} ${path}`).toBeGreaterThan(0);
        else expect(schema.type).toBe("string");
      }
      if ((op.parameters ?? []).length > 0) {
        const bad = deref(schemaOf(path, "400", "application/json", method));
        expect(bad.required).toEqual(["error", "message", "field"]);
        expect(bad.additionalProperties).toBe(false);
      }
    }
    expect(Object.keys(op("/api/v1/flows").responses!["200"]!.content!).sort()).toEqual(["application/json", "application/x-ndjson", "text/csv"]);
    expect(Object.keys(op("/metrics").responses!["200"]!.content!)).toEqual(["text/plain; version=0.0.4"]);
    expect(op("/api/v1/flows/{id}").responses!["404"]).toBeDefined();
    expect(op("/api/v1/flows").responses!["429"]).toBeDefined();
    // Shared schemas are components, referenced where used.
    expect(Object.keys(doc.components.schemas).sort()).toEqual(["Alert", "BadRequest", "Flow", "FlowRecord", "Forbidden", "Health", "Unauthorized"]);
    expect(schemaOf("/api/v1/flows/{id}", "200")).toEqual({ $ref: "#/components/schemas/Flow" });
  });

  test("GET /api/v1/flows documents exactly the parameters the server accepts", () => {
    expect(queryParams("/api/v1/flows").map((p) => p.name).sort()).toEqual([...FLOW_PARAM_NAMES].sort());
  });

  test("integer and enum parameters have those types", () => {
    const expected: Record<string, Record<string, "integer" | "enum">> = {
      "/api/v1/flows": { limit: "integer", offset: "integer", ip_version: "integer", sort_by: "enum", order: "enum", format: "enum", state: "enum", source: "enum", app: "enum" },
      "/api/v1/flows/{id}": { id: "integer" },
      "/api/v1/talkers": { by: "enum", limit: "integer" },
      "/api/v1/bandwidth": { points: "integer" },
      "/api/v1/metrics/history": { points: "integer" },
      "/api/v1/alerts": { state: "enum", limit: "integer" },
    };
    for (const [path, params] of Object.entries(expected)) {
      for (const [name, kind] of Object.entries(params)) {
        const p = op(path).parameters!.find((x) => x.name === name)!;
        expect(p, `${path} ${name}`).toBeDefined();
        if (kind === "integer") {
          expect(p.schema.type, `${path} ${name}`).toBe("integer");
          if (name !== "ip_version") expect(typeof p.schema.minimum === "number" && typeof p.schema.maximum === "number" || name === "id").toBe(true);
        } else {
          expect(p.schema.type).toBe("string");
          expect(p.schema.enum!.length).toBeGreaterThan(1);
        }
      }
    }
    expect(op("/api/v1/flows/{id}").parameters).toEqual([expect.objectContaining({ name: "id", in: "path", required: true, schema: expect.objectContaining({ type: "integer", minimum: 1 }) })]);
    const limit = queryParams("/api/v1/flows").find((p) => p.name === "limit")!.schema;
    expect([limit.minimum, limit.maximum]).toEqual([0, 100_000]);
    // No parameter is a bare string any more: each has a pattern, an enum, a length limit or a description of its form.
    for (const { path, op } of operations()) for (const p of op.parameters ?? []) expect(p.schema.description, `${path} ${p.name}`).toBeTruthy();
  });
});

/** Extra parameters some bounds need: the flows limit goes to 100,000 only for exports. */
const EXTRA: Record<string, string> = { "/api/v1/flows limit": "&format=csv" };

describe("documented bounds, enums and patterns hold on the server", () => {
  test("integer parameters: min and max accepted, one beyond is a 400 naming the parameter, non-digits refused", async () => {
    let tried = 0;
    for (const { path, op } of operations()) {
      for (const p of op.parameters ?? []) {
        if (p.in !== "query" || p.schema.type !== "integer" || p.schema.enum) continue;
        const { minimum: min, maximum: max } = p.schema;
        expect(min !== undefined && max !== undefined, `${path} ${p.name}`).toBe(true);
        const extra = EXTRA[`${path} ${p.name}`] ?? "";
        const at = (v: string) => get(`${path}?${p.name}=${enc(v)}${extra}`);
        for (const v of [min!, max!]) expect((await at(String(v))).status, `${path}?${p.name}=${v}`).toBe(200);
        for (const v of [...(min! > 0 ? [String(min! - 1)] : []), String(max! + 1), "1e3", "0x10", "+5", "5.0", "-0", "abc"]) {
          const r = await at(v);
          expect(r.status, `${path}?${p.name}=${v}`).toBe(400);
          expect(fieldOf(r.body)).toBe(p.name);
        }
        tried++;
      }
    }
    expect(tried).toBe(6);
    for (const id of ["1e3", "0x10", "%2B5", "5.0", "0"]) {
      const r = await get(`/api/v1/flows/${id}`);
      expect(r.status, id).toBe(400);
      expect(fieldOf(r.body)).toBe("id");
    }
    expect((await get(`/api/v1/flows/${anyFlowId}`)).status).toBe(200);
  }, 60_000);

  test("enum parameters: every documented value accepted, others a 400 naming the parameter", async () => {
    let tried = 0;
    for (const { path, op } of operations()) {
      for (const p of op.parameters ?? []) {
        if (p.in !== "query" || !p.schema.enum) continue;
        for (const v of p.schema.enum) expect((await get(`${path}?${p.name}=${enc(String(v))}${small(op)}`)).status, `${path}?${p.name}=${v}`).toBe(200);
        const r = await get(`${path}?${p.name}=zzz`);
        expect(r.status).toBe(400);
        expect(fieldOf(r.body)).toBe(p.name);
        tried++;
      }
    }
    expect(tried).toBe(9);
  }, 60_000);

  // [value, accepted]: the pattern must agree with the server on each. Good values stay within the
  // parameter's range (a pattern says what is well-formed, not what is in range).
  const SIZE: [string, boolean][] = [["1500", true], ["500k", true], ["1.5M", true], ["2GiB", true], ["10kB", true], ["3T", true], [".5k", true],
    ["1e6", false], ["lots", false], ["-5", false], ["1 M", false], ["2GB/s", false], ["5KiBb", false]];
  const RATE: [string, boolean][] = [["1Mbps", true], ["10kbit/s", true], ["500k", true], ["1.5G", true], ["100", true],
    ["bps", false], ["fast", false], ["1Mb/s", false], ["1e3", false]];
  const DURATION: [string, boolean][] = [["250ms", true], ["10s", true], ["2m", true], ["1.5h", true], ["1d", true], [".5s", true], ["3", true],
    ["1w", false], ["10 s", false], ["abc", false], ["-1s", false], ["1e3s", false]];
  const TIME: [string, boolean][] = [["now", true], ["-1h", true], ["-15m", true], ["-1.5h", true], ["-7d", true], ["1764558720", true], ["1764558720.5", true],
    ["2026-12-01T03:12:00Z", true], ["2026-12-01", true], ["2026-12-01 03:12", true], ["2026-12-01T03:12:00.123+01:00", true],
    ["yesterday", false], ["-1w", false], ["1h", false], ["12345", false], ["2026/12/01", false]];
  const SAMPLES: Record<string, [string, boolean][]> = {
    min_bytes: SIZE, max_bytes: SIZE, min_packets: SIZE, max_packets: SIZE, min_bps: RATE, max_bps: RATE,
    min_duration: DURATION, max_duration: DURATION, since: TIME, until: TIME,
    port: [["80", true], ["1024-65535", true], ["0", true], ["80-", false], ["http", false], ["-5", false]],
    asn: [["15169", true], ["AS15169", true], ["as1", true], ["ASX", false], ["AS-1", false], ["1.5", false]],
    country: [["DE", true], ["de", true], ["private", true], ["loopback", true], ["XYZ", false], ["D", false], ["privat", false]],
    community_id: [["1:LQU9qZlK+B5F3KDmev6m5PMibrg=", true], ["2:LQU9qZlK+B5F3KDmev6m5PMibrg=", false], ["1:abc", false]],
    // durations with narrower ranges
    window: [["60s", true], ["5m", true], ["250000ms", true], ["1.5m", true], ["abc", false], ["5 m", false], ["1w", false]],
    duration: [["15m", true], ["1h", true], ["2.5h", true], ["600", true], ["90000ms", true], ["abc", false], ["1w", false], ["15 m", false]],
  };
  SAMPLES.src_port = SAMPLES.dst_port = SAMPLES.port!;

  test("patterned parameters: the pattern accepts what the server accepts", async () => {
    let tried = 0;
    for (const { path, op } of operations()) {
      for (const p of op.parameters ?? []) {
        if (p.in !== "query" || p.schema.pattern === undefined) continue;
        const samples = SAMPLES[p.name];
        expect(samples, `samples for ${path} ${p.name}`).toBeDefined();
        const re = new RegExp(p.schema.pattern, "u");
        for (const [v, good] of samples!) {
          expect(re.test(v), `${p.name} pattern on "${v}"`).toBe(good);
          const r = await get(`${path}?${p.name}=${enc(v)}${small(op)}`);
          expect(r.status, `${path}?${p.name}=${v}`).toBe(good ? 200 : 400);
          if (!good) expect(fieldOf(r.body)).toBe(p.name);
        }
        tried++;
      }
    }
    expect(tried).toBeGreaterThanOrEqual(20);
  }, 60_000);

  test("every documented query parameter is known to its route", async () => {
    for (const { path, method, op } of operations()) {
      if (method !== "get") continue;
      for (const p of op.parameters ?? []) {
        if (p.in !== "query") continue;
        const r = await get(`${path}?${p.name}=1`);
        if (r.status === 400) expect((r.body as { message: string }).message, `${path} ${p.name}`).not.toStartWith("unknown parameter");
      }
    }
  }, 60_000);
});

describe("the guard's answers (a server with tokens) match the documented 401, 403 and 429", () => {
  const ADMIN = "a".repeat(40);
  const VIEWER = "v".repeat(40);
  let guarded: FlowmatrixServer;
  let gurl: string;
  beforeAll(async () => {
    guarded = new FlowmatrixServer({
      engine: { source: { kind: "file", path: `${PCAPS}zeek__wikipedia.pcap`, speed: "max", loop: false } },
      port: 0,
      security: { adminToken: ADMIN, viewerToken: VIEWER },
    });
    gurl = await guarded.start();
  }, 30_000);
  afterAll(() => guarded?.stop(), 20_000);

  test("401 without a token, 403 for a viewer writing; both documented on every operation", async () => {
    for (const { path, method, op } of operations()) for (const s of ["401", "403"]) expect(op.responses?.[s], `${method} ${path} ${s}`).toBeDefined();
    const none = await fetch(`${gurl}/api/v1/flows?limit=1`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toStartWith("Bearer");
    expect(schemaErrors(schemaOf("/api/v1/flows", "401"), await none.json())).toEqual([]);
    const viewer = await fetch(`${gurl}/api/v1/settings`, { method: "PATCH", headers: { authorization: `Bearer ${VIEWER}`, "content-type": "application/json" }, body: "{}" });
    expect(viewer.status).toBe(403);
    expect(schemaErrors(schemaOf("/api/v1/settings", "403", "application/json", "patch"), await viewer.json())).toEqual([]);
    const admin = await fetch(`${gurl}/api/v1/settings`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(admin.status).toBe(200);
    expect(schemaErrors(schemaOf("/api/v1/settings", "200"), await admin.json())).toEqual([]);
  });

  // Last in this server's tests: it leaves 127.0.0.1 blocked for 5 min.
  test("429 for a client over the failed-login limit: documented on every operation (exports keep their own schema too)", async () => {
    for (const { path, method, op } of operations()) expect(op.responses?.["429"], `${method} ${path} 429`).toBeDefined();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await fetch(`${gurl}/api/v1/flows?limit=1`, { headers: { authorization: `Bearer wrong-${i}` } })).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses[5]).toBe(429);
    const blocked = await fetch(`${gurl}/api/v1/flows?limit=1`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(schemaErrors(schemaOf("/api/v1/flows", "429"), await blocked.json())).toEqual([]);
  });
});

describe("real responses validate against their documented schemas", () => {
  const JSON_CASES: [path: string, schemaPath: string, nonEmpty?: (b: never) => unknown[]][] = [
    ["/api/v1/flows?limit=10000", "/api/v1/flows", (b: { flows: unknown[] }) => b.flows],
    ["/api/v1/flows?state=ended&sort_by=first_seen&order=asc&limit=50", "/api/v1/flows", (b: { flows: unknown[] }) => b.flows],
    ["/api/v1/flows?since=-3650d&limit=50", "/api/v1/flows"],
    ["/api/v1/talkers?limit=100&window=300s", "/api/v1/talkers"],
    ["/api/v1/bandwidth?duration=5m", "/api/v1/bandwidth", (b: { t: unknown[] }) => b.t],
    ["/api/v1/bandwidth?duration=2h", "/api/v1/bandwidth", (b: { t: unknown[] }) => b.t],
    ["/api/v1/metrics/history?duration=5m", "/api/v1/metrics/history", (b: { t: unknown[] }) => b.t],
    ["/api/v1/metrics/history?duration=2h", "/api/v1/metrics/history", (b: { t: unknown[] }) => b.t],
    ["/api/v1/alerts", "/api/v1/alerts", (b: { active: unknown[] }) => b.active],
    ["/api/v1/alerts?state=all&since=-1h", "/api/v1/alerts", (b: { history: unknown[] }) => b.history],
    ["/api/v1/settings", "/api/v1/settings", (b: { settings: unknown[] }) => b.settings],
  ];
  for (const [path, schemaPath, nonEmpty] of JSON_CASES) {
    test(path, async () => {
      const r = await get(path);
      expect(r.status).toBe(200);
      expect(r.type).toContain("application/json");
      expect(schemaErrors(schemaOf(schemaPath, "200"), r.body)).toEqual([]);
      if (nonEmpty) expect(nonEmpty(r.body as never).length).toBeGreaterThan(0);
    });
  }

  test("GET /api/v1/flows/{id}", async () => {
    const r = await get(`/api/v1/flows/${anyFlowId}`);
    expect(schemaErrors(schemaOf("/api/v1/flows/{id}", "200"), r.body)).toEqual([]);
  });

  test("GET /api/v1/health (200 or, when critical, 503: the same schema)", async () => {
    const r = await get("/api/v1/health");
    expect([200, 503]).toContain(r.status);
    expect(schemaErrors(schemaOf("/api/v1/health", String(r.status)), r.body)).toEqual([]);
  });

  test("PATCH /api/v1/settings", async () => {
    const r = await get("/api/v1/settings", { method: "PATCH", headers: { "content-type": "application/json" }, body: "{}" });
    expect(r.status).toBe(200);
    expect(schemaErrors(schemaOf("/api/v1/settings", "200", "application/json", "patch"), r.body)).toEqual([]);
  });

  test("every NDJSON line is a documented flow; CSV and /metrics have their documented types", async () => {
    const nd = await get("/api/v1/flows?format=ndjson&limit=500");
    expect(nd.type).toStartWith("application/x-ndjson");
    const flow = schemaOf("/api/v1/flows", "200").properties!.flows!.items!;
    const lines = nd.text.trimEnd().split("\n");
    expect(lines.length).toBeGreaterThan(100);
    for (const line of lines) expect(schemaErrors(flow, JSON.parse(line))).toEqual([]);
    expect((await get("/api/v1/flows?format=csv&limit=5")).type).toStartWith("text/csv");
    expect((await get("/metrics")).type).toStartWith("text/plain; version=0.0.4");
  });

  test("error bodies: 400 and 404", async () => {
    const bad = await get(`/api/v1/flows?q=${enc("protocol:tcp port:99999")}`);
    expect(bad.status).toBe(400);
    expect((bad.body as { position?: number }).position).toBe(18);
    expect(schemaErrors(schemaOf("/api/v1/flows", "400"), bad.body)).toEqual([]);
    const missing = await get("/api/v1/flows/987654321");
    expect(missing.status).toBe(404);
    expect(schemaErrors(schemaOf("/api/v1/flows/{id}", "404"), missing.body)).toEqual([]);
  });

  test("the checker fails what does not conform (an extra field, a missing one, a wrong type, a bad enum)", async () => {
    const flow = schemaOf("/api/v1/flows", "200").properties!.flows!.items!;
    const good = (JSON.parse((await get("/api/v1/flows?format=ndjson&limit=1")).text) as Record<string, unknown>);
    expect(schemaErrors(flow, good)).toEqual([]);
    expect(schemaErrors(flow, { ...good, extra: 1 })).toEqual(["$.extra: property not in the schema"]);
    const { bytes: _, ...noBytes } = good;
    expect(schemaErrors(flow, noBytes)).toEqual(['$: required property "bytes" is missing']);
    expect(schemaErrors(flow, { ...good, src_port: "80" })).toHaveLength(1);
    expect(schemaErrors(flow, { ...good, bytes: 1.5 })).toHaveLength(1);
    expect(schemaErrors(flow, { ...good, state: "sleepy" })).toHaveLength(1);
    expect(schemaErrors(flow, { ...good, vlan: "none" })).toHaveLength(1);
    expect(schemaErrors(flow, { ...good, first_seen: "yesterday" })).toHaveLength(1);
  });
});
