/**
 * Configuration: the schema holds every serve flag and every alert setting (with a default and a
 * doc), precedence flags > FLOWMATRIX_* > TOML config file > defaults, errors naming their source
 * (flag, variable, file key), token files and tokens, `flowmatrix config` (sources, secrets
 * masked, output usable as a config file), `flowmatrix token`, the README documenting every key
 * and variable, and SIGHUP reloading live settings of a running serve.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALERT_SETTINGS } from "../src/alerts/registry.ts";
import { SERVE } from "../src/cli/serve-options.ts";
import { ConfigError, formatConfig, loadConfig } from "../src/config/load.ts";
import { SCHEMA, SETTINGS_BY_KEY } from "../src/config/schema.ts";
import { run, serve } from "../src/server/security/test-serve.ts";
import { PCAPS } from "./shared-paths.ts";

setDefaultTimeout(30_000);

const dir = mkdtempSync(join(tmpdir(), "fm-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string, mode = 0o600) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
};
const TOKEN = "tok-abcdefghijklmnopqrstuvwxyz012345";

test("the schema: every serve flag and every alert setting, each with a doc, a variable and a default where one applies", () => {
  for (const flag of Object.keys(SERVE.options)) {
    const s = SETTINGS_BY_KEY.get(flag);
    expect({ flag, present: s !== undefined, isFlag: s?.flag }).toEqual({ flag, present: true, isFlag: true });
  }
  const alertKeys: string[] = SCHEMA.flatMap((s) => (s.alert ? [s.alert] : []));
  expect(new Set(alertKeys)).toEqual(new Set(Object.keys(ALERT_SETTINGS)));
  for (const s of SCHEMA) {
    expect(s.doc.length).toBeGreaterThan(10);
    expect(s.env).toBe(`FLOWMATRIX_${s.key.toUpperCase().replace(/-/g, "_")}`);
    if (s.alert) expect(s.default).toBe(ALERT_SETTINGS[s.alert].default);
  }
  // What the issue lists: interface, filter, host/port, timeouts, max flows, thresholds, retention, data dir, auth, TLS.
  for (const k of ["interface", "filter", "host", "port", "idle-timeout", "max-flows", "alert-bps", "retention-days", "retention-size", "data-dir", "auth-token-file", "tls-cert", "tls-key", "log-level"]) {
    expect(SETTINGS_BY_KEY.has(k)).toBe(true);
  }
  expect(SETTINGS_BY_KEY.get("port")!.default).toBe(3000);
  expect(SETTINGS_BY_KEY.get("host")!.default).toBe("127.0.0.1");
  expect(SETTINGS_BY_KEY.get("alert-cool-down-sec")).toMatchObject({ flag: false, default: 60, live: true });
  expect(SETTINGS_BY_KEY.get("auth-token")).toMatchObject({ flag: false, secret: true });
});

test("precedence: flags > environment > config file > defaults, and the source of each value", () => {
  const cfg = file("prec.toml", `port = 4001\nhost = "127.0.0.2"\nalert-bps = "300M"\nalert-cool-down-sec = 30\nidle-timeout = 20\nloop = true\n`);
  const c = loadConfig(["--config", cfg, "--port", "4003"], { FLOWMATRIX_PORT: "4002", FLOWMATRIX_HOST: "127.0.0.3", FLOWMATRIX_LOOP: "0" });
  expect(c.values.port).toBe(4003);
  expect(c.sources.port).toEqual({ kind: "flag", name: "--port" });
  expect(c.values.host).toBe("127.0.0.3");
  expect(c.sources.host).toEqual({ kind: "env", name: "FLOWMATRIX_HOST" });
  expect(c.values["alert-bps"]).toBe(300e6);
  expect(c.sources["alert-bps"]).toEqual({ kind: "file", path: cfg, key: "alert-bps" });
  expect(c.values["alert-cool-down-sec"]).toBe(30);
  expect(c.values["idle-timeout"]).toBe(20);
  expect(c.values.loop).toBe(false); // the environment turned the file's true off
  expect(c.values["retention-days"]).toBe(7);
  expect(c.sources["retention-days"]).toEqual({ kind: "default" });
  // FLOWMATRIX_CONFIG names the file when --config does not.
  expect(loadConfig([], { FLOWMATRIX_CONFIG: cfg }).values.port).toBe(4001);
  // Lists.
  const l = loadConfig(["--allowed-origins", "https://a.example, http://b.example:8080/"], { FLOWMATRIX_SERVER_NAMES: "Sensor.LAN,[::1]" });
  expect(l.values["allowed-origins"]).toEqual(["https://a.example", "http://b.example:8080"]);
  expect(l.values["server-names"]).toEqual(["sensor.lan", "::1"]);
});

test("a bad value stops with a message naming its source: flag, variable, or file and key", () => {
  const bad = (argv: string[], env: Record<string, string> = {}) => {
    try {
      loadConfig(argv, env);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as Error).message;
    }
    throw new Error("no error");
  };
  expect(bad(["--port", "70000"])).toBe('--port must be a port 0-65535, got "70000"');
  expect(bad([], { FLOWMATRIX_ALERT_BPS: "lots" })).toStartWith("FLOWMATRIX_ALERT_BPS: must be a rate");
  expect(bad([], { FLOWMATRIX_NO_STORE: "maybe" })).toStartWith("FLOWMATRIX_NO_STORE: must be true or false");
  const f1 = file("bad1.toml", `retention-size = "10k"\n`);
  expect(bad(["--config", f1])).toStartWith(`config file ${f1}: retention-size: must be a size of at least 1MiB`);
  const f2 = file("bad2.toml", `prot = 1\n`);
  expect(bad(["--config", f2])).toBe(`config file ${f2}: unknown key "prot" (did you mean port?)`);
  const f3 = file("bad3.toml", `port = \n`);
  expect(bad(["--config", f3])).toStartWith(`config file ${f3}: not valid TOML`);
  expect(bad(["--config", join(dir, "missing.toml")])).toBe(`config file ${join(dir, "missing.toml")}: ENOENT`);
  const f4 = file("bad4.toml", `config = "other.toml"\n`);
  expect(bad(["--config", f4])).toContain('unknown key "config"');
  expect(bad(["--allowed-origins", "https://a.example/path"])).toContain("--allowed-origins \"https://a.example/path\" is not an origin");
  expect(bad([], { FLOWMATRIX_LOG_LEVEL: "loud" })).toBe('FLOWMATRIX_LOG_LEVEL: must be one of debug, info, warn, error, got "loud"');
  expect(bad([], { FLOWMATRIX_AUTH_TOKEN: "short" })).toStartWith("FLOWMATRIX_AUTH_TOKEN: must be at least 16 characters");
});

test("tokens: from a file or the environment, the higher precedence wins, the same level twice is an error, secrets masked", () => {
  const tf = file("token", `${TOKEN}\n`);
  const a = loadConfig(["--auth-token-file", tf], { FLOWMATRIX_AUTH_TOKEN: "env-token-0000000000000000" });
  expect(a.values["auth-token"]).toBe(TOKEN);
  expect(a.tokenSources.admin).toEqual({ kind: "flag", name: "--auth-token-file" });
  const b = loadConfig([], { FLOWMATRIX_AUTH_TOKEN: "env-token-0000000000000000", FLOWMATRIX_VIEWER_TOKEN_FILE: tf });
  expect(b.values["auth-token"]).toBe("env-token-0000000000000000");
  expect(b.values["viewer-token"]).toBe(TOKEN);
  expect(() => loadConfig([], { FLOWMATRIX_AUTH_TOKEN: TOKEN, FLOWMATRIX_AUTH_TOKEN_FILE: tf })).toThrow("both FLOWMATRIX_AUTH_TOKEN_FILE and FLOWMATRIX_AUTH_TOKEN set the admin token");
  expect(() => loadConfig(["--auth-token-file", join(dir, "nope")])).toThrow(`--auth-token-file: cannot read token file ${join(dir, "nope")}: ENOENT`);
  const short = file("short", "abc\n");
  expect(() => loadConfig(["--auth-token-file", short])).toThrow("must hold one token of at least 16 characters");
  expect(() => loadConfig([], { FLOWMATRIX_AUTH_TOKEN: TOKEN, FLOWMATRIX_VIEWER_TOKEN: TOKEN })).toThrow("must differ");
  const text = formatConfig(a);
  expect(text).not.toContain(TOKEN);
  expect(text).toMatch(/^auth-token\s+= "\*{8}"\s+# flag --auth-token-file$/m);
  // A token inline in the config file is accepted (and masked).
  const inFile = file("inline.toml", `auth-token = "${TOKEN}"\n`);
  expect(loadConfig(["--config", inFile]).values["auth-token"]).toBe(TOKEN);
});

test("flowmatrix config prints every setting with its source, secrets masked; its output is a valid config file", () => {
  const cfg = file("cli.toml", `port = 4100\nalert-cpu = 70\n`);
  const r = run(["config", "--config", cfg, "--host", "127.0.0.5"], { FLOWMATRIX_RETENTION_DAYS: "3", FLOWMATRIX_AUTH_TOKEN: TOKEN });
  expect(r.code).toBe(0);
  expect(r.err).toBe("");
  expect(r.out).toMatch(/^port\s+= 4100\s+# config file .*cli\.toml$/m);
  expect(r.out).toMatch(/^host\s+= "127\.0\.0\.5"\s+# flag --host$/m);
  expect(r.out).toMatch(/^retention-days\s+= 3\s+# environment FLOWMATRIX_RETENTION_DAYS$/m);
  expect(r.out).toMatch(/^alert-cpu\s+= 70\s+# config file .*, live$/m);
  expect(r.out).toMatch(/^auth-token\s+= "\*{8}"\s+# environment FLOWMATRIX_AUTH_TOKEN$/m);
  expect(r.out).not.toContain(TOKEN);
  for (const s of SCHEMA) expect(r.out).toContain(s.key);
  // Written back as a file (without the secret), it loads to the same values.
  const again = file("again.toml", r.out.split("\n").filter((l) => !l.startsWith("auth-token")).join("\n"));
  const c = loadConfig(["--config", again]);
  expect([c.values.port, c.values.host, c.values["retention-days"], c.values["alert-cpu"]]).toEqual([4100, "127.0.0.5", 3, 70]);
  const bad = run(["config", "--port", "x"]);
  expect(bad.code).toBe(2);
  expect(bad.err).toContain('--port must be a port 0-65535, got "x"');
  const help = run(["config", "--help"]);
  expect(help.code).toBe(0);
  expect(help.out).toContain("--auth-token-file FILE");
});

test("flowmatrix token prints a new 43-character base64url token each time", () => {
  const a = run(["token"]);
  const b = run(["token"]);
  expect(a.code).toBe(0);
  expect(a.out).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
  expect(a.out).not.toBe(b.out);
  expect(run(["token", "--help"]).out).toContain("Usage: flowmatrix token");
  expect(run(["token", "extra"]).code).toBe(2);
});

test("serve refuses a bad setting before starting: exit 2, one line naming the variable or key", () => {
  const cfg = file("serve-bad.toml", `max-flows = 3\n`);
  const r = run(["serve", "--no-store", "--read", `${PCAPS}ndpi__gnutella.pcap`, "--port", "0", "--config", cfg]);
  expect(r.code).toBe(2);
  expect(r.out).toBe("");
  expect(r.err.trim().split("\n")).toHaveLength(1);
  expect(r.err).toContain(`config file ${cfg}: max-flows: must be a whole number >= 16`);
  const e = run(["serve", "--no-store", "--read", `${PCAPS}ndpi__gnutella.pcap`, "--port", "0"], { FLOWMATRIX_TRANSPORT: "carrier-pigeon" });
  expect(e.code).toBe(2);
  expect(e.err).toContain('FLOWMATRIX_TRANSPORT: must be one of ws, sse, got "carrier-pigeon"');
});

test("the README documents every setting (key and variable), the new verbs and the exit code rule", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  for (const s of SCHEMA) {
    expect({ key: s.key, inReadme: readme.includes(`\`${s.key}\``) }).toEqual({ key: s.key, inReadme: true });
    expect({ env: s.env, inReadme: readme.includes(s.env) }).toEqual({ env: s.env, inReadme: true });
  }
  for (const s of ["flowmatrix config", "flowmatrix token", "SIGHUP", "--insecure-no-auth", "deploy/flowmatrix.service", "421", "--log-format"]) expect(readme).toContain(s);
});

test("SIGHUP reloads live settings from the config file (thresholds, log level); others wait for a restart", async () => {
  const cfg = file("live.toml", `alert-bps = "100M"\nlog-level = "info"\nlog-format = "json"\n`);
  const s = await serve({ args: ["--no-store", "--read", `${PCAPS}ndpi__gnutella.pcap`, "--loop", "--port", "0", "--quiet", "--config", cfg] });
  try {
    const setting = async (key: string) => {
      const j = (await (await fetch(`${s.url}/api/v1/settings`)).json()) as { settings: { key: string; value: unknown; source: string }[] };
      return j.settings.find((x) => x.key === key)!;
    };
    expect((await setting("alert-bps")).value).toBe(100e6);
    writeFileSync(cfg, `alert-bps = "250M"\nalert-cool-down-sec = 5\nlog-level = "warn"\nlog-format = "json"\nretention-days = 2\n`);
    s.proc.kill("SIGHUP");
    const deadline = Date.now() + 5000;
    while ((await setting("alert-bps")).value !== 250e6 && Date.now() < deadline) await Bun.sleep(100);
    expect(await setting("alert-bps")).toMatchObject({ value: 250e6, source: `config file ${cfg}` });
    expect((await setting("alert-cool-down-sec")).value).toBe(5);
    expect((await setting("log-level")).value).toBe("warn");
    expect((await setting("retention-days")).value).toBe(7); // not live: unchanged until restart
    const events = s.err().trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { event: string; keys?: string[]; changed?: string[] });
    expect(events.find((e) => e.event === "config_reload")!.changed).toEqual(expect.arrayContaining(["alert-bps", "alert-cool-down-sec", "log-level"]));
    expect(events.find((e) => e.event === "config_reload_restart")!.keys).toEqual(["retention-days"]);
    // An invalid file on reload: logged, nothing changes, still serving.
    writeFileSync(cfg, `alert-bps = "fast"\n`);
    s.proc.kill("SIGHUP");
    const until = Date.now() + 5000;
    while (!s.err().includes("config_reload_failed") && Date.now() < until) await Bun.sleep(100);
    expect(s.err()).toContain("alert-bps: must be a rate");
    expect((await setting("alert-bps")).value).toBe(250e6);
    // Back to info through the API (no auth on loopback: admin), so the stop events are written.
    const r = await fetch(`${s.url}/api/v1/settings`, { method: "PATCH", headers: { "content-type": "application/json" }, body: '{"log-level":"info"}' });
    expect(r.status).toBe(200);
  } finally {
    expect(await s.stop()).toBe(0);
  }
  expect(s.err()).toContain('"event":"stop"');
});
