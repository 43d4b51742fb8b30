/** The CLI as a user runs it: usage errors, interfaces, and serve flags reaching the server. */
import { expect, test } from "bun:test";
import { PCAPS } from "./shared-paths.ts";
import { serve } from "../src/server/security/test-serve.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

function run(args: string[]) {
  const r = Bun.spawnSync([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

test("usage errors exit 2 and name the flag", () => {
  for (const [args, says] of [
    [["serve", "--alert-bps", "12x"], "--alert-bps"],
    [["serve", "--port", "99999"], "--port"],
    [["serve", "--speed", "fast", "--read", "x.pcap"], "--speed"],
    [["serve", "--interface", "lo", "--read", "x.pcap"], "exclude"],
    [["flows"], "--read"],
    [["flows", "--read", "x", "--format", "xml"], "--format"],
    [["nope"], "unknown command"],
  ] as [string[], string][]) {
    const r = run(args);
    expect({ args, code: r.code, says: r.err.includes(says) }).toEqual({ args, code: 2, says: true });
  }
  const help = run(["--help"]);
  expect(help.code).toBe(0);
  expect(help.out).toContain("flowmatrix serve");
});

test("interfaces --json lists lo, up, with 127.0.0.1", () => {
  const r = run(["interfaces", "--json"]);
  expect(r.code).toBe(0);
  const doc = JSON.parse(r.out) as { default: string; interfaces: { name: string; up: boolean; addresses: { address: string }[] }[] };
  const lo = doc.interfaces.find((i) => i.name === "lo")!;
  expect(lo.up).toBe(true);
  expect(lo.addresses.map((a) => a.address)).toContain("127.0.0.1");
  expect(doc.interfaces.map((i) => i.name)).toContain(doc.default);
});

test("serve --alert-bps sets the bandwidth threshold: a low one raises the alert", async () => {
  const s = await serve({ args: ["--no-store", "--read", `${PCAPS}ndpi__gnutella.pcap`, "--loop", "--speed", "4", "--port", "0", "--alert-bps", "1k"] });
  try {
    let rules: string[] = [];
    for (let n = 0; n < 40 && !rules.includes("bandwidth"); n++) {
      await Bun.sleep(500);
      const a = (await (await fetch(`${s.url}/api/v1/alerts`)).json()) as { active: { rule: string }[] };
      rules = a.active.map((x) => x.rule);
    }
    expect(rules).toContain("bandwidth");
  } finally {
    expect(await s.stop()).toBe(0);
  }
}, 40_000);
