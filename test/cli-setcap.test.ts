/**
 * The README's setcap command, run as written on a copy of this checkout's bun (laid out as npm lays
 * it out: node_modules/.bin/bun → ../bun/bin/bun.exe): afterwards an unprivileged user (nobody)
 * captures on `lo`; without it the same user gets exit 3 and the hint.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = join(ROOT, "src/main.ts");
const dir = mkdtempSync(join(tmpdir(), "fm-setcap-"));
const bun = join(dir, "node_modules/bun/bin/bun.exe");
const home = join(dir, "home");
const NOBODY = 65534;

beforeAll(() => {
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, "node_modules/bun/bin"), { recursive: true });
  mkdirSync(join(dir, "node_modules/.bin"), { recursive: true });
  copyFileSync(realpathSync(join(ROOT, "node_modules/.bin/bun")), bun);
  chmodSync(bun, 0o755);
  symlinkSync("../bun/bin/bun.exe", join(dir, "node_modules/.bin/bun"));
  mkdirSync(home);
  chownSync(home, NOBODY, NOBODY);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The setcap command from the README's first section, as a user would paste it. */
function readmeSetcap(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const m = /`(sudo setcap cap_net_raw,cap_net_admin=eip [^`]*node_modules[^`]*)`/.exec(readme);
  if (!m) throw new Error("README has no setcap command for node_modules");
  return m[1]!;
}

function asNobody(args: string[]) {
  return ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--inh-caps=-all", "env", `HOME=${home}`, `TMPDIR=${home}`, bun, MAIN, ...args];
}

test("the README's node_modules path exists in this checkout", () => {
  expect(readmeSetcap()).toBe('sudo setcap cap_net_raw,cap_net_admin=eip "$(readlink -f node_modules/.bin/bun)"');
  expect(realpathSync(join(ROOT, "node_modules/.bin/bun"))).toBe(join(ROOT, "node_modules/bun/bin/bun.exe"));
});

test("without the capabilities: exit 3 and the setcap hint; with the README's command: nobody captures on lo", async () => {
  const denied = Bun.spawnSync(asNobody(["serve", "--no-store", "--interface", "lo", "--port", "0", "--quiet"]), { stdout: "pipe", stderr: "pipe" });
  expect(denied.exitCode).toBe(3);
  expect(denied.stderr.toString()).toBe(
    `flowmatrix: permission denied capturing on "lo" (socket: Operation not permitted). Run as root, or grant the capture capabilities once: sudo setcap cap_net_raw,cap_net_admin=eip ${bun}\n`,
  );

  // The README's command, run in the copy's "checkout" (we are root: no sudo needed).
  const set = Bun.spawnSync(["bash", "-c", readmeSetcap().replace(/^sudo /, "")], { cwd: dir, stderr: "pipe" });
  expect(set.stderr.toString()).toBe("");
  expect(set.exitCode).toBe(0);
  expect(Bun.spawnSync(["getcap", bun]).stdout.toString()).toContain("cap_net_admin,cap_net_raw=eip");

  const proc = Bun.spawn(asNobody(["serve", "--no-store", "--interface", "lo", "--port", "0", "--quiet"]), { stdout: "pipe", stderr: "pipe" });
  try {
    const reader = proc.stdout.getReader();
    let text = "";
    while (!/http:\/\/\S+\//.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`serve as nobody exited: ${await new Response(proc.stderr).text()}`);
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain("capturing on lo");
    const url = text.match(/(http:\/\/[^\s/]+)\//)![1]!;
    const sink = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    const sock = await Bun.udpSocket({ hostname: "127.0.0.1" });
    const port = sink.port;
    let seen = 0;
    for (let n = 0; n < 40 && seen === 0; n++) {
      sock.send("flowmatrix setcap test", port, "127.0.0.1");
      await Bun.sleep(250);
      const doc = (await (await fetch(`${url}/api/v1/flows?q=${encodeURIComponent(`dst_port:${port} protocol:udp`)}`)).json()) as { total: number };
      seen = doc.total;
    }
    sock.close();
    sink.close();
    expect(seen).toBeGreaterThan(0);
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
  }
}, 30_000);
