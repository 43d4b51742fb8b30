/**
 * deploy/: the systemd unit passes `systemd-analyze verify` with no warning (its ExecStart pointed
 * at an existing executable, as verify requires), keeps least privilege (dynamic user, only
 * CAP_NET_RAW and CAP_NET_ADMIN, strict read-only system, a state directory) and scores "OK" in
 * `systemd-analyze security --offline`; the example config file loads with the token the unit hands
 * over, and without a token its 0.0.0.0 bind is refused.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { loadConfig } from "../src/config/load.ts";
import { checkBind } from "../src/server/security/hosts.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const UNIT = readFileSync(join(ROOT, "deploy/flowmatrix.service"), "utf8");
const dir = mkdtempSync(join(tmpdir(), "fm-deploy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The unit with ExecStart on this machine's bun (verify checks that the binary exists). */
function unitHere(): string {
  const p = join(dir, "flowmatrix.service");
  writeFileSync(p, UNIT.replace(/\/usr\/local\/bin\/flowmatrix/g, realpathSync(process.execPath)));
  return p;
}

const directive = (name: string) => [...UNIT.matchAll(new RegExp(`^${name}=(.*)$`, "gm"))].map((m) => m[1]!.trim());

test("systemd-analyze verify passes without a warning", () => {
  const r = spawnSync("systemd-analyze", ["verify", unitHere()], { encoding: "utf8" });
  expect({ status: r.status, stderr: r.stderr.trim(), stdout: r.stdout.trim() }).toEqual({ status: 0, stderr: "", stdout: "" });
});

test("least privilege: dynamic user, only the capture capabilities, strict sandbox, state directory; exposure OK", () => {
  expect(directive("DynamicUser")).toEqual(["yes"]);
  expect(directive("AmbientCapabilities")).toEqual(["CAP_NET_RAW CAP_NET_ADMIN"]);
  expect(directive("CapabilityBoundingSet")).toEqual(["CAP_NET_RAW CAP_NET_ADMIN"]);
  expect(directive("NoNewPrivileges")).toEqual(["yes"]);
  expect(directive("ProtectSystem")).toEqual(["strict"]);
  expect(directive("ProtectHome")).toEqual(["yes"]);
  expect(directive("StateDirectory")).toEqual(["flowmatrix"]);
  expect(directive("ExecReload")[0]).toContain("kill -HUP");
  expect(directive("User")).toEqual([]);
  const r = spawnSync("systemd-analyze", ["security", "--offline=true", unitHere()], { encoding: "utf8" });
  expect(r.status).toBe(0);
  const score = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(r.stdout)?.[1]);
  expect(score).toBeLessThanOrEqual(3);
});

test("the example config loads with the unit's environment; without a token its 0.0.0.0 bind is refused", () => {
  const token = join(dir, "token");
  writeFileSync(token, "deploy-test-token-0123456789abcdef\n", { mode: 0o600 });
  const env = { FLOWMATRIX_AUTH_TOKEN_FILE: token, FLOWMATRIX_LOG_FORMAT: "json", FLOWMATRIX_DATA_DIR: join(dir, "state") };
  const c = loadConfig(["--config", join(ROOT, "deploy/flowmatrix.toml")], env);
  expect(c.values.host).toBe("0.0.0.0");
  expect(c.values["auth-token"]).toBe("deploy-test-token-0123456789abcdef");
  expect(c.values["log-format"]).toBe("json");
  expect(c.values["data-dir"]).toBe(join(dir, "state"));
  expect(() => checkBind(c.values.host!, true, false)).not.toThrow();
  const bare = loadConfig(["--config", join(ROOT, "deploy/flowmatrix.toml")], {});
  expect(() => checkBind(bare.values.host!, bare.values["auth-token"] !== undefined, false)).toThrow("refusing to listen on 0.0.0.0 without authentication");
});
