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
import { PCAPS, TOOLS } from "./shared-paths.ts";
import { statSync } from "node:fs";
import { MIN_BYTES } from "../src/capture/read-ahead.ts";
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

test("flows --read of a file large enough for the read-ahead Worker (an entry of the build): the same totals as libpcap's reader", () => {
  const f = join(empty, "large.pcap");
  const g = Bun.spawnSync(["node", `${TOOLS}gen-pcap.mjs`, "--packets", "40000", "--flows", "3000", "--seed", "9", "--out", f, "--quiet"]);
  expect(g.exitCode).toBe(0);
  expect(statSync(f).size).toBeGreaterThanOrEqual(MIN_BYTES);
  const ahead = run(["flows", "--read", f, "--format", "summary"]);
  expect(ahead.err).toBe("");
  expect(ahead.code).toBe(0);
  const a = JSON.parse(ahead.out);
  expect(a.reader).toBe("flowmatrix");
  expect(a.read_ahead).toBe(true);
  expect(a.packets).toBe(40000);
  // `greater 0` passes every packet: libpcap's reader (no read-ahead) sees the whole file.
  const pcap = JSON.parse(run(["flows", "--read", f, "--filter", "greater 0", "--format", "summary"]).out);
  expect(pcap.reader).toBe("libpcap");
  expect(pcap.read_ahead).toBe(false);
  for (const k of ["packets", "bytes", "flows", "ended_flows"]) expect([k, a[k]]).toEqual([k, pcap[k]]);
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
