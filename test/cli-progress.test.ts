/** `flows --read` progress on stderr: drawn on a terminal (a pseudo-terminal from script(1)), never into a pipe. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatProgress } from "../src/cli/progress.ts";
import { TOOLS } from "./shared-paths.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "fm-cli-progress-"));
const FILE = join(dir, "p.pcap");

beforeAll(() => {
  const r = Bun.spawnSync(["node", `${TOOLS}gen-pcap.mjs`, "--packets", "200000", "--flows", "5000", "--seed", "5", "--snaplen", "96", "--out", FILE, "--quiet"]);
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
}, 30_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A quick read draws nothing for its first half second; FLOWMATRIX_PROGRESS_DELAY=0 draws from the start.
const env = { ...process.env, FLOWMATRIX_PROGRESS_DELAY: "0" };

test("on a terminal: percent of the file, packets/s and time left, redrawn in place, cleared at the end", () => {
  for (const filter of [[], ["--filter", "ip or ip6"]]) {
    const cmd = [process.execPath, MAIN, "flows", "--read", FILE, "--format", "summary", ...filter].map((a) => `'${a}'`).join(" ");
    const r = Bun.spawnSync(["script", "-qec", cmd, "/dev/null"], { stdout: "pipe", stderr: "pipe", env });
    expect(r.exitCode).toBe(0);
    const tty = r.stdout.toString();
    const lines = [...tty.matchAll(/\r(\d+)% of [\d.]+MB · [\d.]+k? packets · [\d.]+[kM]? packets\/s · (\d+s|\?) left\x1b\[K/g)];
    expect({ filter, drawn: lines.length > 3 }).toEqual({ filter, drawn: true });
    const pct = lines.map((m) => Number(m[1]));
    expect(pct.every((p, i) => p >= 0 && p <= 100 && (i === 0 || p >= pct[i - 1]!))).toBe(true);
    // The line is cleared before the output, and the JSON summary follows intact.
    const rest = tty.slice(tty.lastIndexOf("\r\x1b[K") + 4);
    const stats = JSON.parse(rest) as { records: number; reader: string };
    expect(stats).toMatchObject(filter.length ? { reader: "libpcap" } : { reader: "flowmatrix", records: 200_000 });
  }
});

test("not a terminal: no progress at all", () => {
  const r = Bun.spawnSync([process.execPath, MAIN, "flows", "--read", FILE, "--format", "csv"], { stdout: "pipe", stderr: "pipe", env });
  expect(r.exitCode).toBe(0);
  expect(r.stderr.toString()).toMatch(/^200000 packets, \d+ bytes, \d+ flows \(0 evicted\), \d+ non-IP, malformed: .*\n$/);
});

test("the progress line", () => {
  expect(formatProgress({ done: 250e6, total: 1e9, packets: 1_500_000, elapsed: 2 })).toBe("25% of 1.0GB · 1.5M packets · 750.0k packets/s · 6s left");
  expect(formatProgress({ done: 0, total: 5e6, packets: 0, elapsed: 0 })).toBe("0% of 5.0MB · 0 packets · 0 packets/s · ? left");
  expect(formatProgress({ done: 9e9, total: 8e9, packets: 7e6, elapsed: 3700 })).toBe("100% of 8.0GB · 7.0M packets · 1.9k packets/s · 0s left");
  expect(formatProgress({ done: 1, total: 100, packets: 10, elapsed: 60 })).toContain("1h39m left");
});
