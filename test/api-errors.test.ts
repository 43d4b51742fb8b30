/**
 * Bad input never gives a 422 or a 500: every bad parameter is a 400
 * `{"error":"bad_request","message","field"}` naming the parameter (a bad `q` also gives the
 * position), unknown ids and unknown paths under /api are 404 JSON. Real server replaying
 * zeek__wikipedia.pcap. Our parsers stay stricter than Elysia's coercion (digits-only integers,
 * repeated parameters refused), and an Elysia VALIDATION error maps to the same 400 shape.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Elysia, t } from "elysia";
import { Q_MAX_LENGTH } from "../src/server/api/flow-request.ts";
import { errorResponse } from "../src/server/api/index.ts";
import { startReplay, type Replay } from "./api-server-fixture.ts";

interface ErrorBody { error: string; message: string; field?: string; position?: number }

let r: Replay;
beforeAll(async () => {
  r = await startReplay("zeek__wikipedia.pcap");
}, 30_000);
afterAll(() => r?.stop());

const enc = encodeURIComponent;

const BAD: [path: string, field: string, mentions: string][] = [
  [`/api/v1/flows?q=${enc("src_ip:300.1.1.1")}`, "src_ip", "300.1.1.1"],
  [`/api/v1/flows?q=${enc("(protocol:tcp")}`, "q", ")"],
  [`/api/v1/flows?q=${enc("protocl:tcp")}`, "q", "protocol"],
  [`/api/v1/flows?q=${"a".repeat(Q_MAX_LENGTH + 1)}`, "q", String(Q_MAX_LENGTH)],
  [`/api/v1/flows?q=${enc("bytes>lots")}`, "bytes", "lots"],
  ["/api/v1/flows?limit=10001", "limit", "10000"],
  ["/api/v1/flows?limit=-1", "limit", "-1"],
  ["/api/v1/flows?limit=5&limit=6", "limit", "once"],
  ["/api/v1/flows?offset=abc", "offset", "abc"],
  ["/api/v1/flows?sort_by=size", "sort_by", "bytes"],
  ["/api/v1/flows?order=up", "order", "asc"],
  ["/api/v1/flows?format=xml", "format", "csv"],
  ["/api/v1/flows?protocol=tcpx", "protocol", "tcpx"],
  ["/api/v1/flows?src_ip=10.0.0.0/33", "src_ip", "/33"],
  ["/api/v1/flows?dst_ip=fe80::1%25eth0", "dst_ip", "fe80"],
  ["/api/v1/flows?port=70000", "port", "65535"],
  ["/api/v1/flows?src_port=90-80", "src_port", "90-80"],
  ["/api/v1/flows?vlan=4096", "vlan", "4095"],
  ["/api/v1/flows?state=bogus", "state", "active"],
  ["/api/v1/flows?ip_version=5", "ip_version", "5"],
  ["/api/v1/flows?min_bytes=lots", "min_bytes", "lots"],
  ["/api/v1/flows?max_duration=forever", "max_duration", "forever"],
  ["/api/v1/flows?min_bps=fast", "min_bps", "fast"],
  ["/api/v1/flows?srcip=10.0.0.1", "srcip", "src_ip"],
  ["/api/v1/flows?format=csv&limit=100001", "limit", "100000"],
  ["/api/v1/flows/abc", "id", "abc"],
  ["/api/v1/flows/0", "id", "positive"],
  ["/api/v1/flows/-3", "id", "positive"],
  ["/api/v1/flows/1.5", "id", "1.5"],
  ["/api/v1/talkers?by=foo", "by", "host"],
  ["/api/v1/talkers?window=301s", "window", "5m"],
  ["/api/v1/talkers?window=abc", "window", "abc"],
  ["/api/v1/talkers?limit=0", "limit", "1"],
  ["/api/v1/bandwidth?duration=25h", "duration", "24h"],
  ["/api/v1/bandwidth?points=1", "points", "10"],
  ["/api/v1/metrics/history?duration=30s", "duration", "from 1m to 24h"],
  ["/api/v1/metrics/history?duration=2d", "duration", "24h"],
  ["/api/v1/health?verbose=1", "verbose", "unknown"],
  ["/api/v1/alerts?x=1", "x", "unknown"],
  // Integers are decimal digits only (Elysia's own coercion would take all of these as numbers).
  ["/api/v1/flows?limit=1e3", "limit", "1e3"],
  ["/api/v1/flows?limit=0x10", "limit", "0x10"],
  ["/api/v1/flows?limit=%2B5", "limit", "+5"],
  ["/api/v1/flows?offset=5.0", "offset", "5.0"],
  ["/api/v1/talkers?limit=1e1", "limit", "1e1"],
  ["/api/v1/bandwidth?points=0x20", "points", "0x20"],
  ["/api/v1/metrics/history?points=2e2", "points", "2e2"],
  ["/api/v1/alerts?limit=1.0", "limit", "1.0"],
  ["/api/v1/flows/1e3", "id", "1e3"],
  // A repeated parameter is refused (Elysia would keep the last one), on every route.
  ["/api/v1/talkers?by=src&by=dst", "by", "once"],
  ["/api/v1/bandwidth?points=10&points=20", "points", "once"],
  ["/api/v1/alerts?state=all&state=current", "state", "once"],
  ["/api/v1/flows?since=-1h&since=-2h", "since", "once"],
  ["/api/v1/alerts?since=yesterday", "since", "yesterday"],
  ["/api/v1/metrics/history?duration=1w", "duration", "1w"],
];

describe("400 for bad parameters, naming the field", () => {
  for (const [path, field, mentions] of BAD) {
    test(path.length > 80 ? `${path.slice(0, 80)}…` : path, async () => {
      const { status, body, res } = await r.get<ErrorBody>(path);
      expect(status).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(body.error).toBe("bad_request");
      expect(body.field).toBe(field);
      expect(body.message).toContain(mentions);
      expect(body.message.length).toBeLessThan(600);
      expect(Object.keys(body).every((k) => ["error", "message", "field", "position"].includes(k))).toBe(true);
    });
  }

  test("a bad q reports the position of the problem", async () => {
    const { body } = await r.get<ErrorBody>(`/api/v1/flows?q=${enc("protocol:tcp port:99999")}`);
    expect(body.field).toBe("port");
    expect(body.position).toBe(18);
    expect(body.message).toStartWith("at 18:");
  });

  test("a CSV export with a bad filter is a JSON 400, not a broken file", async () => {
    const { status, body, res } = await r.get<ErrorBody>("/api/v1/flows?format=csv&protocol=nope");
    expect(status).toBe(400);
    expect(res.headers.get("content-disposition")).toBeNull();
    expect(body.field).toBe("protocol");
  });

  test("ignored: blank values and _-prefixed cache busters", async () => {
    expect((await r.get("/api/v1/flows?src_ip=&protocol=&_=123")).status).toBe(200);
  });

  test("kept: a blank integer is its default, blanks around a value are trimmed, enums ignore case", async () => {
    const page = async (path: string) => {
      const { status, body } = await r.get<{ limit: number; order: string; sort_by: string }>(path);
      expect(status).toBe(200);
      return body;
    };
    expect((await page("/api/v1/flows?limit=")).limit).toBe(100);
    expect((await page("/api/v1/flows?limit=%205%20")).limit).toBe(5);
    expect(await page("/api/v1/flows?order=ASC&sort_by=Packets&limit=1")).toMatchObject({ order: "asc", sort_by: "packets" });
  });
});

describe("Elysia's VALIDATION error (422) becomes our 400 (errorResponse, as app.ts and the API use it)", () => {
  // A route declaring Elysia `t` schemas (ours describe rather than validate; this guards the mapping).
  const app = new Elysia()
    .onError(({ error, code, set }) => {
      const m = errorResponse(error, code);
      if (!m) return;
      set.status = m[0];
      return m[1];
    })
    .get("/q", ({ query }) => query, { query: t.Object({ n: t.Optional(t.Integer({ minimum: 1, maximum: 9 })), mode: t.Optional(t.Union([t.Literal("a"), t.Literal("b")])) }) })
    .post("/b", ({ body }) => body, { body: t.Object({ name: t.String(), size: t.Number() }) });
  const call = async (path: string, init?: RequestInit) => {
    const res = await app.handle(new Request(`http://localhost${path}`, init));
    return { status: res.status, body: (await res.json()) as ErrorBody };
  };
  const post = (body: string) => call("/b", { method: "POST", headers: { "content-type": "application/json" }, body });

  for (const [what, req, field] of [
    ["a query value of the wrong type", () => call("/q?n=abc"), "n"],
    ["an enum value not listed", () => call("/q?mode=c"), "mode"],
    ["a missing body property", () => post('{"size":1}'), "name"],
    ["a body property of the wrong type", () => post('{"name":"x","size":"big"}'), "size"],
    // Elysia loses the name of a coerced query value that is out of range: the part is named.
    ["a coerced query value out of range", () => call("/q?n=10"), "request"],
  ] as [string, () => Promise<{ status: number; body: ErrorBody }>, string][]) {
    test(what, async () => {
      const { status, body } = await req();
      expect(status).toBe(400);
      expect(body.error).toBe("bad_request");
      expect(body.field).toBe(field);
      expect(body.message).toStartWith(`${field}: `);
      expect(Object.keys(body).sort()).toEqual(["error", "field", "message"]);
    });
  }

  test("a body that is not JSON", async () => {
    const { status, body } = await post("{nope");
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: "bad_request", field: "body" });
  });
});

describe("404 JSON", () => {
  for (const path of ["/api/v1/flows/987654321", "/api/v1/nope", "/api/v2/flows", "/api/", "/api/v1/flows/1/extra"]) {
    test(path, async () => {
      const { status, body, res } = await r.get<ErrorBody>(path);
      expect(status).toBe(404);
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(body.error).toBe("not_found");
      expect(typeof body.message).toBe("string");
    });
  }
  test("other methods under /api are 404 JSON too", async () => {
    const res = await fetch(`${r.url}/api/v1/flows`, { method: "DELETE" });
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorBody).error).toBe("not_found");
  });
});
