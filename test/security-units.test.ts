/**
 * The pieces behind the HTTP tests, with a controlled clock: token comparison, session expiry,
 * the failed-login window (blocked, then free again once it has passed), Host header parsing and
 * the allowed names, the loopback rule, safe `next=` paths, and the logger's formats and levels.
 */
import { expect, test } from "bun:test";
import { Auth, constantTimeEqual, cookieValue, newToken } from "../src/server/security/auth.ts";
import { allowedHosts, checkBind, hostOfHeader, isLoopbackHost } from "../src/server/security/hosts.ts";
import { safeNext } from "../src/server/security/guard.ts";
import { log } from "../src/config/log.ts";
import { loadConfig } from "../src/config/load.ts";

const A = "admin-0123456789abcdefghij";
const V = "viewer-0123456789abcdefghi";

test("tokens: constant-time equality over any lengths; roles; new tokens differ", () => {
  expect(constantTimeEqual(A, A)).toBe(true);
  expect(constantTimeEqual(A, A + "x")).toBe(false);
  expect(constantTimeEqual("", A)).toBe(false);
  const auth = new Auth({ adminToken: A, viewerToken: V });
  expect([auth.roleOf(A), auth.roleOf(V), auth.roleOf("nope"), auth.roleOf(A.slice(0, -1))]).toEqual(["admin", "viewer", null, null]);
  expect(new Auth({}).enabled).toBe(false);
  expect(new Auth({ viewerToken: V }).enabled).toBe(true);
  expect(newToken()).not.toBe(newToken());
  expect(newToken()).toMatch(/^[A-Za-z0-9_-]{43}$/);
});

test("sessions expire and end on logout", () => {
  const auth = new Auth({ adminToken: A, sessionTtlMs: 1000 });
  const id = auth.createSession("viewer", 0);
  expect(auth.sessionRole(id, 999)).toBe("viewer");
  expect(auth.sessionRole(id, 1000)).toBeNull();
  const id2 = auth.createSession("admin", 0);
  auth.endSession(id2);
  expect(auth.sessionRole(id2, 1)).toBeNull();
  expect(auth.sessionRole(undefined)).toBeNull();
  expect(cookieValue("a=1; flowmatrix_session=xyz; b=2", "flowmatrix_session")).toBe("xyz");
  // Watchers (the live connections of a session) run once when it ends, by logout or expiry.
  const ended: string[] = [];
  const s1 = auth.createSession("admin", 0);
  auth.onSessionEnd(auth.sessionKey(s1), () => ended.push("logout"));
  const off = auth.onSessionEnd(auth.sessionKey(s1), () => ended.push("unsubscribed"));
  off();
  auth.endSession(s1);
  auth.endSession(s1);
  const s2 = auth.createSession("admin", 0);
  expect(auth.sessionExpires(auth.sessionKey(s2))).toBe(1000);
  auth.onSessionEnd(auth.sessionKey(s2), () => ended.push("expired"));
  expect(auth.sessionRole(s2, 5000)).toBeNull();
  expect(ended).toEqual(["logout", "expired"]);
});

test("failed logins: blocked after maxFailures within the window, free again after it; per client; success clears", () => {
  const auth = new Auth({ adminToken: A, maxFailures: 3, windowMs: 60_000 });
  for (let i = 0; i < 3; i++) {
    expect(auth.blockedFor("10.0.0.1", 1000)).toBe(0);
    auth.fail("10.0.0.1", 1000 + i);
  }
  expect(auth.blockedFor("10.0.0.1", 2000)).toBe(59);
  expect(auth.blockedFor("10.0.0.2", 2000)).toBe(0);
  expect(auth.blockedFor("10.0.0.1", 61_000)).toBe(0);
  auth.fail("10.0.0.3", 0);
  auth.fail("10.0.0.3", 1);
  auth.succeed("10.0.0.3");
  auth.fail("10.0.0.3", 2);
  auth.fail("10.0.0.3", 3);
  expect(auth.blockedFor("10.0.0.3", 4)).toBe(0);
});

test("Host headers and the allowed names; the loopback rule", () => {
  expect(hostOfHeader("Example.COM:8080")).toBe("example.com");
  expect(hostOfHeader("[::1]:3000")).toBe("::1");
  expect(hostOfHeader("localhost.")).toBe("localhost");
  expect(hostOfHeader("127.0.0.1")).toBe("127.0.0.1");
  const h = allowedHosts("127.0.0.1", ["sensor.lan"]);
  expect([...h].sort()).toEqual(["127.0.0.1", "localhost", "sensor.lan"]);
  expect(allowedHosts("0.0.0.0").has("127.0.0.1")).toBe(true); // every address of the machine
  expect(allowedHosts("::1").has("::1")).toBe(true);
  for (const l of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]) expect({ l, v: isLoopbackHost(l) }).toEqual({ l, v: true });
  for (const n of ["0.0.0.0", "::", "192.168.1.5", "sensor.lan"]) expect({ n, v: isLoopbackHost(n) }).toEqual({ n, v: false });
  expect(() => checkBind("192.168.1.5", false, false)).toThrow("refusing to listen on 192.168.1.5");
  expect(() => checkBind("192.168.1.5", false, true)).not.toThrow();
  expect(() => checkBind("::", true, false)).not.toThrow();
});

test("next= after login stays on this server", () => {
  expect(safeNext("/flows?q=port:443")).toBe("/flows?q=port:443");
  for (const bad of ["//evil.example", "/\\evil", "https://evil.example/", "evil", "", null, "/login", "/login?next=/x", "/x\n"]) expect(safeNext(bad)).toBe("/");
});

test("logger: text and JSON lines, level filter, --log-level and --log-format from the flags", () => {
  const lines: string[] = [];
  const sink = log.sink;
  const saved = { format: log.format, level: log.level };
  log.sink = (l) => lines.push(l);
  try {
    log.configure({ format: "text", level: "info" });
    log.debug("x", "hidden");
    log.info("start", "started", { port: 1 });
    log.warn("w", "careful");
    log.configure({ format: "json", level: "warn" });
    log.info("y", "hidden too");
    log.error("auth_failure", "bad", { client: "1.2.3.4" });
  } finally {
    log.sink = sink;
    log.configure(saved);
  }
  expect(lines[0]).toBe("flowmatrix: started (port=1)\n");
  expect(lines[1]).toBe("flowmatrix: warning: careful\n");
  expect(lines).toHaveLength(3);
  expect(JSON.parse(lines[2]!)).toMatchObject({ level: "error", event: "auth_failure", msg: "bad", client: "1.2.3.4" });
  const c = loadConfig(["--log-level", "debug", "--log-format", "json"], {});
  expect([c.values["log-level"], c.values["log-format"]]).toEqual(["debug", "json"]);
});
