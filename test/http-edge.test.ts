/**
 * HTTP edge cases on a real server (replay of a shared capture, port 0): asset names that are
 * Object.prototype members are plain 404s (never a 500), and under /api every error is JSON —
 * /api and /api/ themselves included.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startReplay, type Replay } from "./api-server-fixture.ts";

let r: Replay;
beforeAll(async () => {
  r = await startReplay("ndpi__gnutella.pcap");
}, 30_000);
afterAll(() => r.stop());

test("/static/<Object.prototype member> is 404, a real asset 200", async () => {
  for (const name of ["__proto__", "constructor", "toString", "valueOf", "hasOwnProperty", "isPrototypeOf", "__defineGetter__", "toLocaleString", "nope.js"]) {
    const res = await fetch(`${r.url}/static/${name}`);
    expect({ name, status: res.status }).toEqual({ name, status: 404 });
  }
  const css = await fetch(`${r.url}/static/app.css`);
  expect(css.status).toBe(200);
  expect(css.headers.get("content-type")).toContain("text/css");
});

test("under /api every error is JSON, /api and /api/ included", async () => {
  for (const [method, path] of [
    ["GET", "/api"], ["GET", "/api/"], ["GET", "/api?x=1"], ["POST", "/api"], ["GET", "/api/v1"], ["GET", "/api/v1/nope"],
    ["DELETE", "/api/v1/flows"], ["GET", "/api/__proto__"], ["GET", "/api/v1/flows/__proto__"],
  ] as const) {
    const res = await fetch(r.url + path, { method });
    const type = res.headers.get("content-type") ?? "";
    const body = type.includes("json") ? ((await res.json()) as { error?: string }) : await res.text();
    expect({ method, path, status: res.status, json: type.includes("application/json"), error: (body as { error?: string }).error })
      .toEqual({ method, path, status: res.status >= 400 ? res.status : -1, json: true, error: expect.any(String) });
  }
  const root = await fetch(`${r.url}/api`);
  expect(root.status).toBe(404);
  expect(await root.json()).toEqual({ error: "not_found", message: expect.stringContaining("/api/v1/") });
});
