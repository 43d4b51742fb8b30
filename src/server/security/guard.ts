/**
 * The request guard: one `onRequest` hook in front of every route (pages, API, assets, /ws, /sse,
 * /metrics), plus the login and logout routes. In order:
 *
 * 1. Security headers on every response (set here, merged by Elysia into whatever the route or
 *    an error returns): the CSP below, X-Content-Type-Options nosniff, Referrer-Policy
 *    no-referrer, X-Frame-Options DENY (with CSP frame-ancestors 'none').
 * 2. Host check: a Host that is not the bound address, localhost or a configured server name →
 *    421 (DNS rebinding), also on loopback.
 * 3. Origin check on /ws, /sse and every state-changing request (not GET/HEAD/OPTIONS): a
 *    present Origin must be this server's own (scheme + Host) or in the allow-list → else 403.
 *    `Origin: null` (what Chromium sends on a same-origin form POST under no-referrer, and what a
 *    sandboxed or data: page sends) passes only with `Sec-Fetch-Site: same-origin`. Browsers
 *    always send Origin on WebSocket and cross-origin requests; non-browser clients that send
 *    neither header pass this check (they still need a token).
 * 4. Authentication, when a token is configured: `Authorization: Bearer TOKEN` or the session
 *    cookie. Public: /login, /logout, /static/* (the stylesheet and the htmx/_hyperscript library
 *    files: no data), /favicon.ico, and /metrics with --metrics-open. Missing credentials: API and
 *    /metrics → 401 JSON `{"error":"unauthorized",…}` with WWW-Authenticate; /ws and /sse → 401
 *    (the WebSocket handshake fails); pages → 303 to /login?next=… (an htmx request: 401 with
 *    HX-Redirect, so the whole page goes to the login form). A wrong Bearer token counts as
 *    a failed login (rate limit, 429 once over it).
 * 5. Roles: a viewer may only read — any other method (PATCH /api/v1/settings, …) → 403
 *    `{"error":"forbidden"}`. Without authentication (loopback, or --insecure-no-auth) every
 *    client is admin.
 *
 * CSP: `default-src 'none'`; scripts, styles, images, fonts, connections (same-origin ws/wss
 * included) and form posts from 'self' only; no inline script and no eval (htmx 4 needs eval only
 * for hx-on and js: expressions, _hyperscript only for `js` blocks: the views use neither);
 * `style-src-attr 'unsafe-inline'` because views/live.tsx sizes the protocol-mix bars with a
 * `style="width:…"` attribute (style attributes cannot run script; remove it once the view uses
 * another way); the API docs page's one inline <style> is allowed by its hash.
 */
import { createHash } from "node:crypto";
import { Elysia } from "elysia";
import { docsPage } from "../api/docs-page.ts";
import { log } from "../../config/log.ts";
import { LoginPage } from "../../../views/login.tsx";
import { Auth, cookieValue, SESSION_COOKIE, type Role } from "./auth.ts";
import { allowedHosts, hostOfHeader } from "./hosts.ts";

export interface GuardOptions {
  /** Listen address (for the Host check). */
  host: string;
  tls: boolean;
  auth: Auth;
  metricsOpen?: boolean;
  allowedOrigins?: readonly string[];
  serverNames?: readonly string[];
}

/** The hash of every inline <style> the server itself sends (the API docs page). */
function ownInlineStyleHashes(): string[] {
  const html = docsPage({}, "/");
  return [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => `'sha256-${createHash("sha256").update(m[1]!).digest("base64")}'`);
}

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  `style-src 'self' ${ownInlineStyleHashes().join(" ")}`.trim(),
  "style-src-attr 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

const isApi = (p: string) => p === "/api" || p.startsWith("/api/") || p === "/metrics";
const isLive = (p: string) => p === "/ws" || p === "/sse";
const isPublic = (p: string, metricsOpen: boolean) =>
  p === "/login" || p === "/logout" || p.startsWith("/static/") || p === "/favicon.ico" || (metricsOpen && p === "/metrics");

function json(status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "cache-control": "no-store", ...headers } });
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body + "\n", { status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...headers } });
}

function html(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", ...headers } });
}

/** A local path to return to after login (never another site: `//evil`, `/\evil`, schemes). */
export function safeNext(next: unknown): string {
  if (typeof next !== "string" || !next.startsWith("/") || next.startsWith("//") || next.includes("\\") || /[\x00-\x1f]/.test(next)) return "/";
  if (next === "/login" || next.startsWith("/login?") || next === "/logout") return "/";
  return next;
}

/** The role of each request that passed the guard (null: no auth configured, everyone is admin). */
const roles = new WeakMap<Request, Role>();
export function roleOf(req: Request): Role {
  return roles.get(req) ?? "admin";
}

/** The session key of a request authenticated by its cookie (live.ts closes its streams on logout). */
const sessionKeys = new WeakMap<Request, string>();
export function sessionKeyOf(req: Request): string | undefined {
  return sessionKeys.get(req);
}

type Server = { requestIP?(r: Request): { address: string } | null } | null | undefined;

function clientOf(server: Server, req: Request): string {
  try {
    return server?.requestIP?.(req)?.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

export function guardRoutes(o: GuardOptions) {
  const hosts = allowedHosts(o.host, o.serverNames);
  const origins = new Set(o.allowedOrigins ?? []);
  const scheme = o.tls ? "https" : "http";
  const { auth } = o;

  const cookie = (id: string, maxAge: number) =>
    `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${o.tls ? "; Secure" : ""}`;

  // With Referrer-Policy no-referrer, Chromium sends `Origin: null` on a same-origin form POST;
  // the Fetch Metadata header Sec-Fetch-Site still tells same-origin from cross-site then.
  const originOk = (req: Request): boolean => {
    const origin = req.headers.get("origin");
    if (origin !== null && origin !== "null") {
      const host = req.headers.get("host");
      if (host && origin.toLowerCase() === `${scheme}://${host.toLowerCase()}`) return true;
      return origins.has(origin.toLowerCase());
    }
    const site = req.headers.get("sec-fetch-site");
    if (site !== null) return site === "same-origin" || site === "none";
    return origin === null; // no Origin and no fetch metadata: not a browser (it needs a token anyway)
  };

  const tooMany = (path: string, retry: number) =>
    isApi(path) || isLive(path)
      ? json(429, { error: "too_many_requests", message: `too many failed logins from this address; retry in ${retry} s`, retry_after: retry }, { "retry-after": String(retry) })
      : html(429, LoginPage({ next: "/", error: `Too many failed attempts. Try again in ${retry} s.` }) as string, { "retry-after": String(retry) });

  return new Elysia({ name: "flowmatrix-guard" })
    .onRequest(({ request, set, server }) => {
      Object.assign(set.headers, SECURITY_HEADERS);
      const url = new URL(request.url);
      const path = url.pathname;

      const hostHeader = request.headers.get("host");
      if (hostHeader !== null && !hosts.has(hostOfHeader(hostHeader))) {
        log.warn("host_refused", `refused Host "${hostHeader.slice(0, 100)}" (not a name of this server; see --server-names)`, { path });
        return isApi(path)
          ? json(421, { error: "misdirected_request", message: "this server does not answer to that Host (add it with --server-names)" })
          : text(421, "421 Misdirected Request: this server does not answer to that host name (see --server-names)");
      }

      if ((isLive(path) || !SAFE_METHODS.has(request.method)) && !originOk(request)) {
        const origin = request.headers.get("origin") ?? "";
        log.warn("origin_refused", `refused Origin "${origin.slice(0, 100)}" on ${request.method} ${path}`);
        return isApi(path)
          ? json(403, { error: "forbidden", message: "cross-origin request refused (see --allowed-origins)" })
          : text(403, "403 Forbidden: cross-origin request refused (see --allowed-origins)");
      }

      if (!auth.enabled || isPublic(path, o.metricsOpen === true)) return;

      const client = clientOf(server as Server, request);
      const authz = request.headers.get("authorization");
      let role: Role | null = null;
      if (authz !== null) {
        const wait = auth.blockedFor(client);
        if (wait > 0) return tooMany(path, wait);
        const m = /^Bearer\s+(\S+)\s*$/i.exec(authz);
        role = m ? auth.roleOf(m[1]!) : null;
        if (!role) {
          const n = auth.fail(client);
          log.warn("auth_failure", `rejected ${m ? "token" : "Authorization header"} on ${request.method} ${path}`, { client, failures: n });
          return isApi(path) || isLive(path)
            ? json(401, { error: "unauthorized", message: "invalid token" }, { "www-authenticate": 'Bearer realm="flowmatrix", error="invalid_token"' })
            : text(401, "401 Unauthorized: invalid token");
        }
      } else {
        const id = cookieValue(request.headers.get("cookie"), SESSION_COOKIE);
        role = auth.sessionRole(id);
        if (role && id) sessionKeys.set(request, auth.sessionKey(id));
      }

      if (!role) {
        log.debug("unauthenticated", `no credentials for ${request.method} ${path}`, { client });
        if (isApi(path)) {
          return json(401, { error: "unauthorized", message: "authentication required: send Authorization: Bearer TOKEN" }, { "www-authenticate": 'Bearer realm="flowmatrix"' });
        }
        if (isLive(path)) return json(401, { error: "unauthorized", message: "log in first" });
        if (request.headers.get("hx-request") === "true") {
          // An htmx swap (tab switch, fragment) after the session ended: send the whole page to
          // the login form (HX-Redirect) instead of swapping the login page into #main.
          let back = "/";
          try {
            const cur = new URL(request.headers.get("hx-current-url") ?? "");
            if (cur.host === url.host) back = safeNext(cur.pathname + cur.search);
          } catch {
            // no or bad HX-Current-URL
          }
          return new Response(null, { status: 401, headers: { "hx-redirect": `/login?next=${encodeURIComponent(back)}`, "cache-control": "no-store" } });
        }
        const next = safeNext(path + url.search);
        return new Response(null, { status: 303, headers: { location: `/login?next=${encodeURIComponent(next)}`, "cache-control": "no-store" } });
      }
      if (role === "viewer" && !SAFE_METHODS.has(request.method)) {
        log.warn("forbidden", `viewer token refused for ${request.method} ${path}`, { client });
        return json(403, { error: "forbidden", message: "the viewer token is read-only" });
      }
      roles.set(request, role);
    })
    .get("/login", ({ request }) => {
      const url = new URL(request.url);
      if (!auth.enabled) return new Response(null, { status: 303, headers: { location: "/" } });
      const notice = url.searchParams.get("bye") === "1" ? "Logged out." : undefined;
      return html(200, LoginPage({ next: safeNext(url.searchParams.get("next")), notice }) as string);
    })
    .post("/login", async ({ request, server }) => {
      if (!auth.enabled) return new Response(null, { status: 303, headers: { location: "/" } });
      const client = clientOf(server as Server, request);
      let form: FormData;
      try {
        form = await request.formData();
      } catch {
        return html(400, LoginPage({ next: "/", error: "The login form was not sent as a form." }) as string);
      }
      const next = safeNext(form.get("next"));
      const wait = auth.blockedFor(client);
      if (wait > 0) {
        log.warn("login_rate_limited", "login refused: too many failed attempts", { client, retry_after_s: wait });
        return tooMany("/login", wait);
      }
      const token = form.get("token");
      const role = typeof token === "string" && token !== "" ? auth.roleOf(token.trim()) : null;
      if (!role) {
        const n = auth.fail(client);
        log.warn("auth_failure", "login with a wrong token", { client, failures: n });
        return html(401, LoginPage({ next, error: "Wrong token." }) as string);
      }
      auth.succeed(client);
      const id = auth.createSession(role);
      log.info("login", `logged in as ${role}`, { client, role });
      return new Response(null, {
        status: 303,
        headers: { location: next, "set-cookie": cookie(id, Math.floor(auth.sessionTtlMs / 1000)), "cache-control": "no-store" },
      });
    }, { parse: "none" })
    .post("/logout", ({ request, server }) => {
      const id = cookieValue(request.headers.get("cookie"), SESSION_COOKIE);
      if (id && auth.sessionRole(id)) log.info("logout", "logged out", { client: clientOf(server as Server, request) });
      auth.endSession(id);
      return new Response(null, { status: 303, headers: { location: auth.enabled ? "/login?bye=1" : "/", "set-cookie": cookie("", 0), "cache-control": "no-store" } });
    }, { parse: "none" });
}
