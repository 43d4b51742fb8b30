/**
 * `flows --read -` (standard input) and a named pipe: a capture that can be read only once is
 * opened once — its header checked before any output, then read from the same descriptor — and
 * gives exactly what reading the file gives. `--filter` on a pipe is a usage error (libpcap's reader
 * would need a second open); a pipe carrying no capture is one clear line, exit 2, nothing printed.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PCAPS, TOOLS } from "./shared-paths.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "fm-cli-stdin-"));
const BIG = join(dir, "big.pcap"); // past the read-ahead's 16 MiB: a pipe never takes that path
const SMALL = `${PCAPS}zeek__wikipedia.pcap`;

beforeAll(() => {
  const r = Bun.spawnSync(["node", `${TOOLS}gen-pcap.mjs`, "--packets", "40000", "--flows", "4000", "--seed", "3", "--out", BIG, "--quiet"]);
  if (r.exitCode !== 0) throw new Error(`gen-pcap: ${r.stderr.toString()}`);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sh(script: string) {
  const r = Bun.spawnSync(["bash", "-c", script], { stdout: "pipe", stderr: "pipe", env: { ...process.env, BUN: process.execPath, MAIN } });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** The ndjson rows of a run (the totals go to stderr). */
const rows = (out: string) => out.trim().split("\n");

test("--read - from a pipe prints the same flows and totals as --read FILE", () => {
  for (const f of [SMALL, BIG]) {
    const file = sh(`"$BUN" "$MAIN" flows --read ${f} --format ndjson`);
    const pipe = sh(`cat ${f} | "$BUN" "$MAIN" flows --read - --format ndjson`);
    expect(file.code).toBe(0);
    expect({ f, code: pipe.code, err: pipe.err }).toEqual({ f, code: 0, err: file.err });
    expect(rows(pipe.out).length).toBeGreaterThan(10);
    expect(pipe.out).toBe(file.out);
  }
  const sum = JSON.parse(sh(`cat ${BIG} | "$BUN" "$MAIN" flows --read - --format summary`).out);
  expect(sum.packets).toBe(40_000);
  expect(sum.read_ahead).toBe(false);
});

test("a named pipe (mkfifo) is read once, the writer not cut off", () => {
  const fifo = join(dir, "fifo");
  const r = sh(`mkfifo ${fifo}; cat ${BIG} > ${fifo} & "$BUN" "$MAIN" flows --read ${fifo} --format summary; wait $!; echo "writer $?" >&2`);
  expect(r.code).toBe(0);
  expect(r.err).toContain("writer 0");
  expect(JSON.parse(r.out).packets).toBe(40_000);
});

test("--filter on a pipe: exit 2, one line naming the way out, nothing on stdout", () => {
  const r = sh(`cat ${SMALL} | "$BUN" "$MAIN" flows --read - --filter tcp --format json`);
  expect(r.code).toBe(2);
  expect(r.out).toBe("");
  expect(r.err.trim().split("\n").length).toBe(1);
  expect(r.err).toContain("--filter needs a capture file, not a pipe or device (--read -)");
});

test("serve --read on a pipe: exit 2 at start, one line (a replay opens the file more than once)", () => {
  const r = sh(`cat ${SMALL} | "$BUN" "$MAIN" serve --read /dev/stdin --no-store --port 0`);
  expect(r.code).toBe(2);
  expect(r.out).toBe("");
  expect(r.err.trim()).toBe("flowmatrix: /dev/stdin: not a regular file: a replay opens the capture more than once (`flows --read -` reads a pipe)");
});

test("a pipe that carries no capture: exit 2, one line, nothing on stdout", () => {
  const r = sh(`echo 'not a capture at all' | "$BUN" "$MAIN" flows --read - --format json`);
  expect(r.code).toBe(2);
  expect(r.out).toBe("");
  expect(r.err.trim()).toBe("flowmatrix: /dev/stdin: not a pcap or pcapng file (magic 0x20746f6e)");
});
