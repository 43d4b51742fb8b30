/**
 * `serve` fails fast: a capture that cannot start is a configuration error reported in one line
 * before any dashboard URL (exit 2; 3 for missing libpcap or no capture permission), and a port
 * another instance holds is refused. The real CLI in real processes: an unknown interface, a
 * missing / non-capture file, a bad BPF filter (live and file), capture as an unprivileged user
 * (setpriv), libpcap hidden in a mount namespace this test creates (unshare), two servers on one port.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { realpathSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { PCAPS } from "./shared-paths.ts";
import { serve } from "../src/server/security/test-serve.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const CAPTURE = `${PCAPS}ndpi__gnutella.pcap`;

setDefaultTimeout(25_000);

type Run = { code: number | null; out: string; err: string };

/** Runs `serve` to its end (it must exit on its own: a start failure). */
async function serveFails(args: string[], prefix: string[] = [], env?: Record<string, string>): Promise<Run> {
  const proc = Bun.spawn([...prefix, process.execPath, MAIN, "serve", "--no-store", "--port", "0", ...args], {
    stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, out, err };
}

/** One clear line on stderr, no dashboard URL on stdout, no stack trace. */
function expectOneLine(r: Run, code: number, ...says: string[]): void {
  const lines = r.err.trim().split("\n");
  expect({ code: r.code, out: r.out, lines: lines.length }).toEqual({ code, out: "", lines: 1 });
  for (const s of says) expect(lines[0]).toContain(s);
  expect(r.err).not.toMatch(/^\s+at /m);
}

test("an unknown interface: exit 2, the available interfaces named, no URL", async () => {
  const r = await serveFails(["--interface", "fmnosuch0"]);
  expectOneLine(r, 2, 'no such interface "fmnosuch0"', "Available interfaces:");
  const names = r.err.split("Available interfaces:")[1]!.split(",").map((s) => s.trim());
  expect(names).toContain("lo");
});

test("a missing file and a file that is not a capture: exit 2, the file named", async () => {
  const missing = await serveFails(["--read", "/nonexistent/flowmatrix.pcap"]);
  expectOneLine(missing, 2, "/nonexistent/flowmatrix.pcap", "ENOENT");
  const notCapture = await serveFails(["--read", MAIN]);
  expectOneLine(notCapture, 2, MAIN, "not a pcap or pcapng file");
});

test("a bad BPF filter: exit 2 with libpcap's reason, live and replay", async () => {
  const live = await serveFails(["--interface", "lo", "--filter", "tcp port"]);
  expectOneLine(live, 2, 'bad capture filter "tcp port"', "syntax error");
  const replay = await serveFails(["--read", CAPTURE, "--filter", "tcp port"]);
  expectOneLine(replay, 2, 'bad capture filter "tcp port"', "syntax error");
});

test("no capture permission (an unprivileged user): exit 3 with the setcap command", async () => {
  const r = await serveFails(["--interface", "lo"],
    ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"], { HOME: "/tmp" });
  expectOneLine(r, 3, 'permission denied capturing on "lo"', "setcap cap_net_raw,cap_net_admin=eip");
});

test("libpcap missing (hidden in a private mount namespace): exit 3 with what to install", async () => {
  const libs = new Set(
    spawnSync("ldconfig", ["-p"], { encoding: "utf8" }).stdout.split("\n")
      .map((l) => l.match(/^\s*libpcap\.\S+ .*=> (\S+)$/)?.[1])
      .filter((p): p is string => p !== undefined)
      .map((p) => realpathSync(p)),
  );
  expect(libs.size).toBeGreaterThan(0);
  const hide = [...libs].map((f) => `mount --bind /dev/null '${f}'`).join(" && ");
  for (const args of [["--interface", "lo"], ["--read", CAPTURE, "--filter", "tcp"]]) {
    const r = await serveFails(args, ["unshare", "--mount", "--propagation", "private", "sh", "-c", `${hide} && exec "$@"`, "sh"]);
    expectOneLine(r, 3, "libpcap not found", "apt-get install libpcap0.8");
  }
});

test("a second serve on the same port is refused (port N is in use); the first keeps serving", async () => {
  const first = await serve({ args: ["--no-store", "--read", CAPTURE, "--loop", "--port", "0", "--quiet"] });
  try {
    const second = await serveFails(["--read", CAPTURE, "--port", String(first.port)]);
    expectOneLine(second, 2, `port ${first.port} is in use`);
    // Every request reaches the first server (with SO_REUSEPORT the kernel would split them).
    for (let i = 0; i < 8; i++) expect((await fetch(`${first.url}/api/v1/health`)).status).toBe(200);
    expect(first.proc.exitCode).toBeNull();
  } finally {
    await first.stop();
  }
}, 30_000);

test("a good start still prints the dashboard URL and serves", async () => {
  // serve() resolves once stdout says "dashboard at <url>/"
  const s = await serve({ args: ["--no-store", "--read", CAPTURE, "--port", "0", "--max-gap", "2"] });
  try {
    expect((await fetch(`${s.url}/api/v1/flows?limit=1`)).status).toBe(200);
  } finally {
    await s.stop();
  }
});

test("--max-gap takes a positive number of seconds", async () => {
  for (const bad of ["0", "soon", "Infinity"]) {
    const r = await serveFails(["--read", CAPTURE, "--max-gap", bad]);
    expect({ bad, code: r.code, out: r.out, says: r.err.includes("--max-gap must be a positive number of seconds") })
      .toEqual({ bad, code: 2, out: "", says: true });
  }
});

test("a SIGTERM at once after the URL stops cleanly (exit 0, 'stopped'), never killed", async () => {
  // Found by a README-flags test: the handlers were registered after the URL and the start event,
  // so a SIGTERM in between killed serve (exit 143) without its shutdown (live flows not stored).
  // (A SIGTERM before the modules have loaded still ends the process by default: nothing to keep.)
  const codes: (number | null)[] = [];
  for (let k = 0; k < 10; k++) {
    const proc = Bun.spawn([process.execPath, MAIN, "serve", "--no-store", "--port", "0", "--read", CAPTURE, "--speed", "max"], { stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
    const errText = new Response(proc.stderr).text();
    const reader = proc.stdout.getReader();
    let seen = "";
    while (!seen.includes("dashboard at")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    proc.kill("SIGTERM");
    reader.releaseLock();
    const code = await proc.exited;
    clearTimeout(timer);
    codes.push(code);
    expect(await errText).toContain("stopped");
  }
  expect(codes).toEqual(codes.map(() => 0));
});
