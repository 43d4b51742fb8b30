/** Per-verb help from the options tables, and serve's table matching the flags serve accepts. */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { FLOWS, INTERFACES } from "../src/cli/flows-options.ts";
import { closest, type VerbSpec } from "../src/cli/options.ts";
import { SERVE } from "../src/cli/serve-options.ts";
import { USAGE } from "../src/cli/usage.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

function run(args: string[]) {
  const r = Bun.spawnSync([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

test("serve --help, flows --help, interfaces --help: every option on one line with its doc, exit 0", () => {
  for (const spec of [SERVE, FLOWS, INTERFACES] as VerbSpec[]) {
    for (const flag of ["--help", "-h"]) {
      const r = run([spec.verb, flag]);
      expect({ verb: spec.verb, code: r.code, err: r.err }).toEqual({ verb: spec.verb, code: 0, err: "" });
      expect(r.out).toStartWith(`Usage: flowmatrix ${spec.verb} `);
      const lines = r.out.split("\n");
      for (const [name, o] of Object.entries(spec.options)) {
        const line = lines.find((l) => new RegExp(`^  (-\\w, |    )--${name}\\b`).test(l));
        expect({ name, line: line !== undefined }).toEqual({ name, line: true });
        expect(line!).toContain(o.doc);
        if (o.type === "string") expect(line!).toContain(`--${name} ${o.value}`);
      }
    }
  }
  // --help wins over everything else on the line (even a missing --read).
  expect(run(["flows", "--format", "csv", "--help"]).code).toBe(0);
});

test("serve's options table has every flag serve-command.ts parses today, plus --quiet and --max-gap", () => {
  const src = readFileSync(new URL("../src/cli/serve-command.ts", import.meta.url), "utf8");
  const block = /options:\s*\{([\s\S]*?)\n\s*\},\n\s*strict/.exec(src);
  const parsed = block ? [...block[1]!.matchAll(/^\s*"?([a-z-]+)"?:\s*\{\s*type:\s*"(string|boolean)"/gm)].map((m) => [m[1], m[2]]) : [];
  if (src.includes("parseArgs({")) expect(parsed.length).toBeGreaterThan(15);
  // Once serve-command.ts parses with the table itself there is no literal block left to compare.
  for (const [name, type] of parsed) expect({ name, type: (SERVE.options as Record<string, { type: string }>)[name!]?.type }).toEqual({ name, type: type as "string" });
  expect(SERVE.options.quiet.type).toBe("boolean");
  expect(SERVE.options["max-gap"]).toMatchObject({ type: "string", default: "5", value: "SECONDS" });
});

test("the top-level usage names every flag of every verb", () => {
  for (const spec of [SERVE, FLOWS, INTERFACES] as VerbSpec[]) {
    for (const name of Object.keys(spec.options)) expect({ verb: spec.verb, name, listed: USAGE.includes(`--${name}`) }).toEqual({ verb: spec.verb, name, listed: true });
  }
  expect(USAGE).toContain("flowmatrix <command> --help");
});

test("suggestions: typos, transpositions and prefixes; nothing for unrelated words", () => {
  const names = Object.keys(SERVE.options);
  expect(closest("fromat", Object.keys(FLOWS.options))).toBe("format");
  expect(closest("max-flow", names)).toBe("max-flows");
  expect(closest("alert-bsp", names)).toBe("alert-bps");
  expect(closest("inteface", names)).toBe("interface");
  expect(closest("xyzzy", names)).toBeUndefined();
});

test("the README's CLI block is the usage text (every verb and flag, in the same words)", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const block = /## The CLI\n\n```\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
  // README lines may add a comment after the usage ("   # what it does").
  const documented = block.split("\n").filter((l) => l !== "").map((l) => l.replace(/\s+#.*$/, ""));
  const usage = USAGE.slice(USAGE.indexOf("Usage:\n") + 7, USAGE.indexOf("\nCommands:")).split("\n").filter((l) => l !== "").map((l) => l.replace(/^ {2}/, ""));
  expect(documented).toEqual(usage);
});
