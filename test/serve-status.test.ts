/**
 * `serve` prints a status line (packets, flows, drops, clients) every 10 s when stderr is a
 * terminal — the real CLI in a pseudo-terminal made by script(1) — and none with --quiet or when
 * its output goes to pipes.
 */
import { expect, test } from "bun:test";
import { PCAPS } from "./shared-paths.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const CAPTURE = `${PCAPS}ndpi__gnutella.pcap`;
const STATUS = /flowmatrix: [\d,]+ packets · [\d,]+ flows \([\d,]+ active\) · [\d,]+ drops · (\d+) clients?/;

/** serve, in a pseudo-terminal (script) or with pipes; `text()` is all it wrote so far. */
function serve(tty: boolean, extra: string[] = []) {
  const cmd = ["timeout", "40", process.execPath, MAIN, "serve", "--no-store", "--read", CAPTURE, "--loop", "--speed", "4", "--port", "0", ...extra];
  const proc = Bun.spawn(tty ? ["script", "-qfec", cmd.join(" "), "/dev/null"] : cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let text = "";
  for (const stream of [proc.stdout, proc.stderr]) {
    void (async () => {
      const r = stream.getReader();
      for (let c = await r.read(); !c.done; c = await r.read()) text += new TextDecoder().decode(c.value);
    })();
  }
  return { proc, text: () => text };
}

test("a status line every 10 s on a terminal (clients counted); none with --quiet or without a terminal", async () => {
  const onTty = serve(true);
  const quiet = serve(true, ["--quiet"]);
  const piped = serve(false);
  const all = [onTty, quiet, piped];
  let sse: AbortController | null = null;
  try {
    const started = Date.now();
    while (!all.every((s) => /dashboard at http/.test(s.text())) && Date.now() - started < 15_000) await Bun.sleep(100);
    const url = onTty.text().match(/dashboard at (http:\/\/[^\s/]+)\//)?.[1];
    expect(url).toBeDefined();
    // One live client on the terminal one: the status line counts it.
    sse = new AbortController();
    const res = await fetch(`${url}/sse`, { signal: sse.signal });
    expect(res.status).toBe(200);
    const body = res.body!.getReader();
    expect((await body.read()).done).toBe(false); // the snapshot: the client is connected
    void (async () => {
      while (!(await body.read().catch(() => ({ done: true }))).done);
    })();
    const end = Date.now() + 13_000;
    while (!STATUS.test(onTty.text()) && Date.now() < end) await Bun.sleep(200);
    const line = onTty.text().match(STATUS);
    expect(line?.[0]).toBeDefined();
    expect(line![1]).toBe("1");
    expect(line![0]).toContain("1 client");
    expect(onTty.text()).not.toMatch(/\x1b\[/); // a plain line, no colour codes
    expect(quiet.text()).toContain("dashboard at");
    expect(quiet.text()).not.toMatch(STATUS);
    expect(piped.text()).toContain("dashboard at");
    expect(piped.text()).not.toMatch(STATUS);
  } finally {
    sse?.abort();
    for (const s of all) s.proc.kill("SIGTERM");
    await Promise.all(all.map((s) => s.proc.exited));
  }
}, 40_000);
