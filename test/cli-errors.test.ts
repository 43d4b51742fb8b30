/**
 * Errors out of the CLI, as a user meets them: one line on stderr, the documented exit code,
 * nothing on stdout; an error's own numeric `exitCode` is honoured.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { errorReport, exitCodeFor } from "../src/cli/errors.ts";
import { PCAPS } from "./shared-paths.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "fm-cli-err-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}) {
  const r = Bun.spawnSync([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

const WIKI = `${PCAPS}zeek__wikipedia.pcap`;

test("a bad BPF filter: libpcap's own text on one line, exit 2, stdout empty (every format)", () => {
  for (const format of ["json", "ndjson", "csv", "table", "summary"]) {
    const r = run(["flows", "--read", WIKI, "--filter", "tcp port", "--format", format]);
    expect({ format, ...r }).toEqual({
      format, code: 2, out: "", err: 'flowmatrix: bad capture filter "tcp port": can\'t parse filter expression: syntax error\n',
    });
  }
  // A filter libpcap compiles but that cannot match this link type is refused before any output too.
  const v6 = run(["flows", "--read", `${PCAPS}tcpdump__LINKTYPE_IPV6.pcap`, "--filter", "ip"]);
  expect({ code: v6.code, out: v6.out, lines: v6.err.trimEnd().split("\n").length }).toEqual({ code: 2, out: "", lines: 1 });
  expect(v6.err).toStartWith('flowmatrix: bad capture filter "ip": ');
});

test("unreadable input exits 2 with the file named, through either reader, stdout empty", () => {
  const notPcap = join(dir, "notes.txt");
  writeFileSync(notPcap, "hello, this is not a capture file at all\n");
  for (const args of [
    ["flows", "--read", join(dir, "missing.pcap")],
    ["flows", "--read", join(dir, "missing.pcap"), "--filter", "tcp"],
    ["flows", "--read", notPcap],
    ["flows", "--read", notPcap, "--filter", "tcp"],
    ["flows", "--read", dir],
  ]) {
    const r = run(args);
    expect({ args, code: r.code, out: r.out, oneLine: r.err.split("\n").length === 2, named: r.err.includes(args[2]!) })
      .toEqual({ args, code: 2, out: "", oneLine: true, named: true });
    expect(r.err).toStartWith("flowmatrix: ");
  }
});

test("usage errors: one line, exit 2, the closest flag or command suggested", () => {
  const cases: [string[], string][] = [
    [["flows", "--read", WIKI, "--fromat", "csv"], "flowmatrix: unknown option --fromat (did you mean --format?) — try flowmatrix flows --help\n"],
    [["flows", "--read", WIKI, "--format", "xml"], 'flowmatrix: --format must be one of json, ndjson, csv, table, summary (got "xml") — try flowmatrix flows --help\n'],
    [["flows", "--read"], "flowmatrix: --read needs a value: --read FILE — try flowmatrix flows --help\n"],
    [["flows", "--read", WIKI, "--no-expire=yes"], 'flowmatrix: --no-expire takes no value (got "yes") — try flowmatrix flows --help\n'],
    [["flows", WIKI], `flowmatrix: flows takes no argument "${WIKI}" (options start with --) — try flowmatrix flows --help\n`],
    [["interfaces", "--jsno"], "flowmatrix: unknown option --jsno (did you mean --json?) — try flowmatrix interfaces --help\n"],
    [["serve", "--prot", "8080"], "flowmatrix: unknown option --prot (did you mean --port?) — try flowmatrix serve --help\n"],
    [["serve", "--transport", "udp"], 'flowmatrix: --transport must be one of ws, sse (got "udp") — try flowmatrix serve --help\n'],
    [["flow"], 'flowmatrix: unknown command "flow" (did you mean flows?) — try flowmatrix --help\n'],
  ];
  for (const [args, err] of cases) {
    const r = run(args);
    expect({ args, ...r }).toEqual({ args, code: 2, out: "", err });
  }
});

test("an error's numeric exitCode is honoured: serve on a port in use", async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
  const port = (blocker.address() as { port: number }).port;
  try {
    const proc = Bun.spawn([process.execPath, MAIN, "serve", "--no-store", "--read", WIKI, "--port", String(port), "--quiet"], { stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
    const code = await proc.exited;
    clearTimeout(timer);
    const err = await new Response(proc.stderr).text();
    expect(code).toBe(2);
    expect(err).toBe(`flowmatrix: port ${port} is in use on 127.0.0.1 (another flowmatrix or another server is listening there); choose another --port\n`);
  } finally {
    blocker.close();
  }
}, 20_000);

test("exit codes and the one-line report for any error", () => {
  const custom = Object.assign(new Error("interface eth9 not found"), { exitCode: 4 });
  expect(exitCodeFor(custom)).toBe(4);
  expect(exitCodeFor(Object.assign(new Error("x"), { name: "PcapError", code: -1 }))).toBe(2);
  expect(exitCodeFor(Object.assign(new Error("x"), { name: "CapturePermissionError" }))).toBe(3);
  expect(exitCodeFor(Object.assign(new Error("x"), { name: "LibpcapMissingError" }))).toBe(3);
  expect(exitCodeFor(Object.assign(new TypeError("Unknown option '--x'"), { code: "ERR_PARSE_ARGS_UNKNOWN_OPTION" }))).toBe(2);
  expect(exitCodeFor(new RangeError("Invalid Date"))).toBe(1);
  expect(exitCodeFor("a string")).toBe(1);
  const boom = new Error("something broke\n  across lines");
  expect(errorReport(boom, "flows", false)).toBe("flowmatrix: something broke across lines\n");
  const debug = errorReport(boom, "flows", true);
  expect(debug).toStartWith("flowmatrix: something broke across lines\nError: something broke");
  expect(debug).toContain("cli-errors.test.ts");
  expect(errorReport("plain", undefined, false)).toBe("flowmatrix: plain\n");
});
