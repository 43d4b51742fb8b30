/**
 * Off-loopback safety, against real `serve` processes (port 0, --no-store, a replayed capture):
 * the bind rule, every route with and without credentials (Bearer token, session cookie from the
 * login form, viewer vs admin), the failed-login limit, Origin checks on /ws and /sse (a real
 * WebSocket client with a forged Origin), the Host check (421), the security headers on every
 * kind of response, --metrics-open, logout, TLS, and JSON logs. Requests go to 127.0.0.1 only
 * (a server bound to 0.0.0.0 is reached through 127.0.0.1).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { serve, tryWebSocket, type Served } from "../src/server/security/test-serve.ts";
import { PCAPS } from "./shared-paths.ts";

setDefaultTimeout(30_000);

const CAPTURE = `${PCAPS}ndpi__gnutella.pcap`;
const dir = mkdtempSync(join(tmpdir(), "fm-sec-"));
const ADMIN = "admin-token-0123456789abcdefghijklmnop";
const VIEWER = "viewer-token-0123456789abcdefghijklmno";
const tokenFile = join(dir, "token");
writeFileSync(tokenFile, ADMIN + "\n");
chmodSync(tokenFile, 0o600);
const BASE = ["--no-store", "--read", CAPTURE, "--loop", "--port", "0", "--quiet"];

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every kind of route: API, pages, page fragments, live, metrics. */
const API = ["/api/v1/flows?limit=1", "/api/v1/health", "/api/v1/talkers", "/api/v1/alerts", "/api/v1/settings", "/api/v1/openapi.json", "/api/docs", "/api"];
const PAGES = ["/", "/flows", "/health", "/flows/table", "/live/bandwidth?range=60s", "/health/history?range=15m"];

const get = (url: string, headers: Record<string, string> = {}, init: RequestInit = {}) =>
  fetch(url, { redirect: "manual", headers, ...init });

async function login(url: string, token: string, extra: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/login`, {
    method: "POST", redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", ...extra },
    body: new URLSearchParams({ token, next: "/flows" }).toString(),
  });
}

function sessionCookie(r: Response): string {
  const c = r.headers.get("set-cookie") ?? "";
  const m = /flowmatrix_session=([^;]*)/.exec(c);
  if (!m) throw new Error(`no session cookie in ${c}`);
  return `flowmatrix_session=${m[1]}`;
}

/** Reads an SSE response's first event (the snapshot). */
async function firstSse(r: Response): Promise<string> {
  const reader = r.body!.getReader();
  const { value } = await reader.read();
  await reader.cancel();
  return new TextDecoder().decode(value);
}

describe("bind rule", () => {
  test("a non-loopback --host without a token is refused (exit 2, says how); --insecure-no-auth starts with a warning and a banner", async () => {
    const p = Bun.spawnSync([process.execPath, join(import.meta.dir, "../src/main.ts"), "serve", ...BASE, "--host", "0.0.0.0"], { stdout: "pipe", stderr: "pipe", timeout: 20_000 });
    expect(p.exitCode).toBe(2);
    expect(p.stdout.toString()).toBe("");
    const err = p.stderr.toString();
    expect(err).toContain("refusing to listen on 0.0.0.0 without authentication");
    expect(err).toContain("--auth-token-file");
    expect(err).toContain("FLOWMATRIX_AUTH_TOKEN");
    expect(err).toContain("--insecure-no-auth");

    const s = await serve({ args: [...BASE, "--host", "0.0.0.0", "--insecure-no-auth"] });
    try {
      // stderr is read by its own pump: the warning may land just after stdout's URL line.
      for (const until = Date.now() + 10_000; !s.err().includes("WITHOUT authentication") && Date.now() < until;) await Bun.sleep(20);
      expect(s.err()).toContain("WITHOUT authentication");
      const page = await (await get(`http://127.0.0.1:${s.port}/`)).text();
      expect(page).toContain('id="insecure-banner"');
      expect(page).not.toContain('id="logout"');
      expect((await get(`http://127.0.0.1:${s.port}/api/v1/health`)).status).toBeOneOf([200, 503]);
    } finally {
      await s.stop();
    }
  });

  test("with a token, a non-loopback --host starts (and shows no banner); on loopback no banner without a token", async () => {
    const s = await serve({ args: [...BASE, "--host", "0.0.0.0", "--auth-token-file", tokenFile] });
    try {
      const r = await get(`http://127.0.0.1:${s.port}/api/v1/health`, { authorization: `Bearer ${ADMIN}` });
      expect(r.status).toBeOneOf([200, 503]);
      const cookie = sessionCookie(await login(`http://127.0.0.1:${s.port}`, ADMIN));
      const page = await (await get(`http://127.0.0.1:${s.port}/`, { cookie })).text();
      expect(page).not.toContain("insecure-banner");
      expect(page).toContain('id="logout"');
    } finally {
      await s.stop();
    }
  });
});

describe("with authentication (admin token file, viewer token from the environment)", () => {
  let s: Served;
  let url: string;
  beforeAll(async () => {
    s = await serve({ args: [...BASE, "--auth-token-file", tokenFile, "--log-format", "json"], env: { FLOWMATRIX_VIEWER_TOKEN: VIEWER } });
    url = s.url;
  });
  afterAll(async () => {
    await s?.stop();
  });

  test("without credentials: API and /metrics 401 JSON, pages 303 to /login?next=, /sse 401, /ws refused; assets open", async () => {
    for (const p of [...API, "/metrics"]) {
      const r = await get(url + p);
      expect({ p, status: r.status }).toEqual({ p, status: 401 });
      expect(r.headers.get("content-type")).toContain("application/json");
      expect(r.headers.get("www-authenticate")).toContain("Bearer");
      const body = (await r.json()) as { error: string; message: string };
      expect(body.error).toBe("unauthorized");
      expect(body.message.length).toBeGreaterThan(0);
    }
    for (const p of PAGES) {
      const r = await get(url + p);
      expect({ p, status: r.status, location: r.headers.get("location") }).toEqual({ p, status: 303, location: `/login?next=${encodeURIComponent(p)}` });
    }
    // An htmx swap without a session: the whole page goes to the login form (HX-Redirect).
    const hx = await get(`${url}/flows/table?q=port:80`, { "hx-request": "true", "hx-current-url": `${url}/flows?q=port:80` });
    expect(hx.status).toBe(401);
    expect(hx.headers.get("hx-redirect")).toBe(`/login?next=${encodeURIComponent("/flows?q=port:80")}`);
    const hxForeign = await get(`${url}/flows/table`, { "hx-request": "true", "hx-current-url": "http://evil.example/x" });
    expect(hxForeign.headers.get("hx-redirect")).toBe("/login?next=%2F");
    expect((await get(`${url}/sse`)).status).toBe(401);
    expect((await tryWebSocket(`${url.replace("http", "ws")}/ws`)).result).toBe("refused");
    // Library files and the stylesheet carry no data: open (the login page needs the CSS).
    for (const p of ["/static/app.css", "/static/htmx.min.js", "/static/_hyperscript.min.js", "/static/hx-ws.js"]) {
      expect({ p, status: (await get(url + p)).status }).toEqual({ p, status: 200 });
    }
    expect((await get(`${url}/login`)).status).toBe(200);
  });

  test("a wrong Bearer token: 401 invalid token; a token for the cookie name does not work as a session", async () => {
    const r = await get(`${url}/api/v1/health`, { authorization: "Bearer not-the-token-at-all-000000" });
    expect(r.status).toBe(401);
    expect(((await r.json()) as { message: string }).message).toBe("invalid token");
    expect((await get(`${url}/api/v1/health`, { cookie: `flowmatrix_session=${ADMIN}` })).status).toBe(401);
  });

  test("the admin token as Bearer: every route answers (API, pages, /metrics, /sse, /ws)", async () => {
    const h = { authorization: `Bearer ${ADMIN}` };
    for (const p of [...API.filter((x) => x !== "/api"), "/metrics", ...PAGES]) {
      const r = await get(url + p, h);
      expect({ p, status: r.status }).toEqual({ p, status: p === "/api/v1/health" && r.status === 503 ? 503 : 200 });
      await r.arrayBuffer();
    }
    expect((await get(`${url}/api`, h)).status).toBe(404); // reaches the API: its own 404
    const sse = await get(`${url}/sse`, h);
    expect(sse.status).toBe(200);
    expect(await firstSse(sse)).toContain("data: ");
    const ws = await tryWebSocket(`${url.replace("http", "ws")}/ws`, h);
    expect(ws.result).toBe("open");
    expect(ws.first).toContain('id="counters"');
  });

  test("login form → HttpOnly SameSite=Strict cookie → pages, /ws and /sse; logout ends the session and closes its live connections", async () => {
    const bad = await login(url, "wrong-wrong-wrong-wrong", { "x-forwarded-for": "ignored" });
    expect(bad.status).toBe(401);
    expect(await bad.text()).toContain("Wrong token.");
    const r = await login(url, ADMIN);
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toBe("/flows");
    const setCookie = r.headers.get("set-cookie")!;
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Strict");
    expect(setCookie).toContain("Path=/");
    expect(setCookie).not.toContain("Secure"); // plain HTTP here; see the TLS test
    const cookie = sessionCookie(r);
    for (const p of PAGES) {
      const res = await get(url + p, { cookie });
      expect({ p, status: res.status }).toEqual({ p, status: 200 });
      await res.arrayBuffer();
    }
    expect((await get(`${url}/api/v1/flows?limit=1`, { cookie })).status).toBe(200);
    const sse = await get(`${url}/sse`, { cookie });
    expect(sse.status).toBe(200);
    expect(await firstSse(sse)).toContain("data: ");
    expect((await tryWebSocket(`${url.replace("http", "ws")}/ws`, { cookie })).result).toBe("open");

    // Live connections opened with the session stay open until logout, then close.
    const ws = new WebSocket(`${url.replace("http", "ws")}/ws`, { headers: { cookie } } as unknown as string[]);
    const wsClosed = new Promise<number>((resolve) => (ws.onclose = (e) => resolve(e.code)));
    await new Promise((resolve, reject) => ((ws.onmessage = resolve), (ws.onerror = reject)));
    const stream = await get(`${url}/sse`, { cookie });
    const reader = stream.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    const sseEnded = (async () => {
      for (;;) if ((await reader.read()).done) return true;
    })();

    const out = await fetch(`${url}/logout`, { method: "POST", redirect: "manual", headers: { cookie } });
    const timeout = <T,>(p: Promise<T>) => Promise.race([p, Bun.sleep(5000).then(() => "timeout" as const)]);
    expect(await timeout(wsClosed)).toBe(1008);
    expect(await timeout(sseEnded)).toBe(true);
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe("/login?bye=1");
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
    expect((await get(`${url}/`, { cookie })).status).toBe(303);
    expect((await get(`${url}/sse`, { cookie })).status).toBe(401);
    expect((await tryWebSocket(`${url.replace("http", "ws")}/ws`, { cookie })).result).toBe("refused");
  });

  test("next= only leads to a path on this server", async () => {
    for (const next of ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]) {
      const r = await fetch(`${url}/login`, {
        method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: ADMIN, next }).toString(),
      });
      expect({ next, location: r.headers.get("location") }).toEqual({ next, location: "/" });
    }
  });

  test("viewer: reads everything, cannot change settings (403); admin can (PATCH /api/v1/settings)", async () => {
    const v = { authorization: `Bearer ${VIEWER}` };
    const a = { authorization: `Bearer ${ADMIN}` };
    const list = (await (await get(`${url}/api/v1/settings`, v)).json()) as { role: string; settings: { key: string; value: unknown; source: string }[] };
    expect(list.role).toBe("viewer");
    const tok = list.settings.find((x) => x.key === "auth-token")!;
    expect(tok.value).toBe("********");
    expect(tok.source).toBe("flag --auth-token-file");
    expect(list.settings.find((x) => x.key === "viewer-token")!.source).toBe("environment FLOWMATRIX_VIEWER_TOKEN");
    expect(JSON.stringify(list)).not.toContain(ADMIN);
    expect(JSON.stringify(list)).not.toContain(VIEWER);
    for (const p of ["/", "/flows", "/api/v1/flows?limit=1", "/metrics"]) expect({ p, s: (await get(url + p, v)).status }).toEqual({ p, s: 200 });

    const patch = (h: Record<string, string>, body: unknown) =>
      fetch(`${url}/api/v1/settings`, { method: "PATCH", headers: { ...h, "content-type": "application/json" }, body: JSON.stringify(body) });
    const denied = await patch(v, { "alert-bps": "200M" });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: string }).error).toBe("forbidden");
    // A viewer session (login form) is read-only too.
    const vc = sessionCookie(await login(url, VIEWER));
    expect((await patch({ cookie: vc }, { "alert-bps": "200M" })).status).toBe(403);

    const ok = await patch(a, { "alert-bps": "200M", "log-level": "info" });
    expect(ok.status).toBe(200);
    const after = (await ok.json()) as { changed: string[]; settings: { key: string; value: unknown; source: string }[] };
    expect(after.changed).toEqual(["alert-bps"]);
    const bps = after.settings.find((x) => x.key === "alert-bps")!;
    expect(bps).toMatchObject({ value: 200e6, source: "changed through the API" });
    const bad = await patch(a, { "alert-bps": "fast" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "bad_request", field: "alert-bps" });
    const notLive = await patch(a, { port: "1234" });
    expect(notLive.status).toBe(400);
    expect(await notLive.json()).toMatchObject({ field: "port" });
  });

  test("the login rate limit: after 5 failures from one client, 429 with Retry-After — even for the right token", async () => {
    // The previous tests made at most one failed login from 127.0.0.1 and one wrong Bearer token.
    let status = 0;
    let tries = 0;
    while (tries < 10) {
      tries++;
      const r = await login(url, `wrong-${tries}-xxxxxxxxxxxxxxxx`);
      status = r.status;
      if (status === 429) {
        expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
        expect(await r.text()).toContain("Too many failed attempts");
        break;
      }
      expect(status).toBe(401);
    }
    expect(status).toBe(429);
    expect(tries).toBeLessThanOrEqual(6);
    expect((await login(url, ADMIN)).status).toBe(429);
    const api = await get(`${url}/api/v1/health`, { authorization: `Bearer ${ADMIN}` });
    expect(api.status).toBe(429);
    expect(await api.json()).toMatchObject({ error: "too_many_requests" });
    // Logged: one JSON line per failure, with the client.
    const events = s.err().trim().split("\n").map((l) => JSON.parse(l) as { event: string; level: string; client?: string });
    expect(events.filter((e) => e.event === "auth_failure").length).toBeGreaterThanOrEqual(5);
    expect(events.find((e) => e.event === "auth_failure")!.client).toBe("127.0.0.1");
    expect(events.some((e) => e.event === "login_rate_limited")).toBe(true);
    expect(events[0]!.event).toBe("start");
  });
});

describe("Origin and Host", () => {
  let s: Served;
  let port: number;
  beforeAll(async () => {
    s = await serve({ args: [...BASE, "--allowed-origins", "https://noc.example:8443", "--server-names", "flowmatrix.lan"] });
    port = s.port;
  });
  afterAll(async () => {
    await s?.stop();
  });

  test("/ws: a foreign Origin is refused, the server's own and an allowed one open (no auth on loopback)", async () => {
    const ws = `ws://127.0.0.1:${port}/ws`;
    expect((await tryWebSocket(ws, { origin: "http://evil.example" })).result).toBe("refused");
    expect((await tryWebSocket(ws, { origin: "null" })).result).toBe("refused");
    expect((await tryWebSocket(ws, { origin: `http://localhost:${port}` })).result).toBe("refused"); // not the Host it was sent to
    const own = await tryWebSocket(ws, { origin: `http://127.0.0.1:${port}` });
    expect(own.result).toBe("open");
    expect(own.first).toContain("hx-swap-oob");
    expect((await tryWebSocket(ws, { origin: "https://noc.example:8443" })).result).toBe("open");
  });

  test("/sse: a foreign Origin gets 403; none or its own 200", async () => {
    const u = `http://127.0.0.1:${port}/sse`;
    const evil = await get(u, { origin: "http://evil.example" });
    expect(evil.status).toBe(403);
    await evil.arrayBuffer();
    for (const h of [{}, { origin: `http://127.0.0.1:${port}` }, { origin: "https://noc.example:8443" }] as Record<string, string>[]) {
      const r = await get(u, h);
      expect(r.status).toBe(200);
      await r.body!.cancel();
    }
  });

  test("a state-changing request with a foreign Origin is refused (403); Origin null passes only as same-origin fetch metadata", async () => {
    const post = (headers: Record<string, string>) => fetch(`http://127.0.0.1:${port}/logout`, { method: "POST", redirect: "manual", headers });
    expect((await post({ origin: "http://evil.example" })).status).toBe(403);
    expect((await post({ origin: "http://evil.example", "sec-fetch-site": "same-origin" })).status).toBe(403);
    // Chromium's same-origin form POST under Referrer-Policy no-referrer:
    expect((await post({ origin: "null", "sec-fetch-site": "same-origin" })).status).toBe(303);
    // A sandboxed frame or data: page elsewhere:
    expect((await post({ origin: "null", "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await post({ origin: "null" })).status).toBe(403);
    expect((await post({ "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await post({})).status).toBe(303); // curl and friends
  });

  test("Host: a foreign name gets 421 everywhere (DNS rebinding, on loopback too); bound address, localhost and --server-names pass", async () => {
    for (const p of ["/", "/api/v1/health", "/static/app.css", "/sse", "/metrics"]) {
      const r = await get(`http://127.0.0.1:${port}${p}`, { host: `evil.example:${port}` });
      expect({ p, status: r.status }).toEqual({ p, status: 421 });
      await r.arrayBuffer();
    }
    const api = await get(`http://127.0.0.1:${port}/api/v1/health`, { host: "rebind.attacker.test" });
    expect(await api.json()).toMatchObject({ error: "misdirected_request" });
    expect((await tryWebSocket(`ws://127.0.0.1:${port}/ws`, { host: `evil.example:${port}` })).result).toBe("refused");
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, "localhost", `flowmatrix.lan:${port}`, "FLOWMATRIX.LAN"]) {
      const r = await get(`http://127.0.0.1:${port}/api/v1/flows?limit=1`, { host });
      expect({ host, status: r.status }).toEqual({ host, status: 200 });
      await r.arrayBuffer();
    }
  });

  test("security headers on every kind of response: page, API, asset, 404, JSON error, redirect, login", async () => {
    const paths = ["/", "/flows", "/api/v1/health", "/static/htmx.min.js", "/nope", "/api/v1/nope", "/api/v1/flows?limit=x", "/metrics", "/login", "/favicon.ico", "/api/docs"];
    for (const p of paths) {
      const r = await get(`http://127.0.0.1:${port}${p}`);
      const csp = r.headers.get("content-security-policy") ?? "";
      expect({ p, nosniff: r.headers.get("x-content-type-options"), ref: r.headers.get("referrer-policy") }).toEqual({ p, nosniff: "nosniff", ref: "no-referrer" });
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/script-src[^;]*unsafe/);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(r.headers.get("x-frame-options")).toBe("DENY");
      await r.arrayBuffer();
    }
    const r421 = await get(`http://127.0.0.1:${port}/`, { host: "evil.example" });
    expect(r421.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const sse = await get(`http://127.0.0.1:${port}/sse`);
    expect(sse.headers.get("x-content-type-options")).toBe("nosniff");
    await sse.body!.cancel();
  });

  test("without auth configured, /login just leads to the dashboard", async () => {
    const r = await get(`http://127.0.0.1:${port}/login`);
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toBe("/");
  });
});

test("--metrics-open: /metrics without credentials, everything else still closed", async () => {
  const s = await serve({ args: [...BASE, "--metrics-open"], env: { FLOWMATRIX_AUTH_TOKEN: ADMIN } });
  try {
    const m = await get(`${s.url}/metrics`);
    expect(m.status).toBe(200);
    expect(await m.text()).toContain("flowmatrix_");
    expect((await get(`${s.url}/api/v1/health`)).status).toBe(401);
    expect((await get(`${s.url}/`)).status).toBe(303);
  } finally {
    await s.stop();
  }
});

test("TLS: --tls-cert/--tls-key serve HTTPS; the session cookie is Secure", async () => {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const g = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"], { stdio: "pipe" });
  expect(g.status).toBe(0);
  const s = await serve({ args: [...BASE, "--tls-cert", cert, "--tls-key", key, "--auth-token-file", tokenFile] });
  try {
    expect(s.url).toStartWith("https://127.0.0.1:");
    const tls = { rejectUnauthorized: false };
    const r = await fetch(`${s.url}/api/v1/flows?limit=1`, { headers: { authorization: `Bearer ${ADMIN}` }, tls } as RequestInit);
    expect(r.status).toBe(200);
    const l = await fetch(`${s.url}/login`, {
      method: "POST", redirect: "manual", tls, headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: ADMIN }).toString(),
    } as RequestInit);
    expect(l.status).toBe(303);
    expect(l.headers.get("set-cookie")).toContain("; Secure");
    // Plain HTTP on the TLS port gets no answer.
    expect(await fetch(`http://127.0.0.1:${s.port}/api/v1/health`).then((x) => x.status, () => "refused")).not.toBe(200);
  } finally {
    await s.stop();
  }
  const half = Bun.spawnSync([process.execPath, join(import.meta.dir, "../src/main.ts"), "serve", ...BASE, "--tls-cert", cert], { stderr: "pipe", timeout: 20_000 });
  expect(half.exitCode).toBe(2);
  expect(half.stderr.toString()).toContain("--tls-cert and --tls-key go together");
});
