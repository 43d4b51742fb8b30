/**
 * The single binary: `bun build --compile` (the same command as `npm run build`) into a temporary
 * directory, copied alone into an empty directory, and run there. This proves the FFI path (the C
 * shim compiled at start by TinyCC from an embedded file), the pure-TS reader and the embedded
 * assets work without the checkout.
 */
import { beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { binaryInEmptyDir } from "./compiled-binary.ts";
import { PCAPS } from "./shared-paths.ts";
let bin = "";
let empty = "";
beforeAll(() => {
  ({ bin, dir: empty } = binaryInEmptyDir("fm-run-"));
}, 180_000);

function run(args: string[]) {
  const r = Bun.spawnSync([bin, ...args], { cwd: empty, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

test("flows --read works from the binary alone, with the pure-TS reader and with libpcap + BPF", () => {
  const oracle = JSON.parse(readFileSync(`${PCAPS}oracle/zeek__wikipedia.pcap.json`, "utf8"));
  const plain = run(["flows", "--read", `${PCAPS}zeek__wikipedia.pcap`, "--format", "json"]);
  expect(plain.err).toBe("");
  expect(plain.code).toBe(0);
  const doc = JSON.parse(plain.out);
  expect(doc.stats.packets).toBe(oracle.packets_total);
  expect(doc.flows.length).toBe(oracle.flow_count);

  // --filter goes through libpcap: bun:ffi dlopen + the shim compiled by TinyCC at start.
  const tcp = run(["flows", "--read", `${PCAPS}zeek__wikipedia.pcap`, "--filter", "tcp", "--format", "json"]);
  expect(tcp.code).toBe(0);
  const tdoc = JSON.parse(tcp.out);
  const oracleTcp = oracle.flows.filter((f: { proto: number }) => f.proto === 6);
  expect(tdoc.flows.length).toBe(oracleTcp.length);
  expect(tdoc.stats.packets).toBe(oracleTcp.reduce((s: number, f: { packets: number }) => s + f.packets, 0));
});

test("errors are one clear line and exit 2", () => {
  const r = run(["flows", "--read", join(empty, "nope.pcap")]);
  expect(r.code).toBe(2);
  expect(r.err).toContain("nope.pcap");
  const u = run(["flows", "--bogus"]);
  expect(u.code).toBe(2);
  expect(u.err).toBe("flowmatrix: unknown option --bogus — try flowmatrix flows --help\n");
  // A libpcap error (bad filter) is one line with libpcap's text, not minified source.
  const f = run(["flows", "--read", `${PCAPS}zeek__wikipedia.pcap`, "--filter", "tcp port"]);
  expect({ code: f.code, out: f.out, err: f.err }).toEqual({
    code: 2, out: "", err: 'flowmatrix: bad capture filter "tcp port": can\'t parse filter expression: syntax error\n',
  });
  expect(run(["--version"]).out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
});

test("serve from the binary answers with the dashboard and the API", async () => {
  const proc = Bun.spawn([bin, "serve", "--no-store", "--read", `${PCAPS}zeek__wikipedia.pcap`, "--speed", "max", "--port", "0"], {
    cwd: empty, stdout: "pipe", stderr: "pipe",
  });
  try {
    const reader = proc.stdout.getReader();
    let text = "";
    const deadline = Date.now() + 15_000;
    while (!/http:\/\/\S+\//.test(text) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const url = text.match(/(http:\/\/[^\s/]+)\//)![1]!;
    const health = await fetch(`${url}/api/v1/health`);
    expect([200, 503]).toContain(health.status);
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/static/htmx.min.js");
    const css = await fetch(`${url}/static/app.css`);
    expect(css.status).toBe(200);
  } finally {
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  }
});
