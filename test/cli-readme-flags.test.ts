/**
 * README items of the CLI that had no test of their own, each run as a user runs it (the real
 * `src/main.ts` in a child process, real shared captures, loopback only):
 *
 * - `flows --no-expire`: no idle / active / TCP-close split, one record per 5-tuple for the file.
 * - `flows --max-flows N`: a full table evicts (reason `evicted`, counted in the stats) and never
 *   holds more than N flows; without the flag nothing is evicted.
 * - `interfaces` (the table, without `--json`): lo with 127.0.0.1, the same interfaces as `--json`.
 * - `FLOWMATRIX_DEBUG=1`: the error's stack trace after the one-line report (and only then).
 * - Exit code 1 for anything unexpected: stdout on a full device (/dev/full, ENOSPC).
 * - Exit code 2 for a capture file that exists but cannot be read (permission denied), through
 *   both readers (ours, and libpcap's with `--filter`).
 * - `flows --export-ipfix [::1]:PORT` (an IPv6 literal) delivers IPFIX (version 10) over UDP; bad
 *   targets are usage errors (exit 2) naming the flag, before anything is written to stdout.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createSocket } from "node:dgram";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PCAPS } from "./shared-paths.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "fm-cli-readme-"));
const cleanup = [dir];
afterAll(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

/** ~3,900 packets, 760 5-tuples, many of them split by the default timeouts, > 100 at once. */
const GNUTELLA = `${PCAPS}ndpi__gnutella.pcap`;
/** 136 packets, 34 flows. */
const WIKI = `${PCAPS}zeek__wikipedia.pcap`;

/** The environment of a child: ours, without FLOWMATRIX_DEBUG unless `extra` sets it. */
function childEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.FLOWMATRIX_DEBUG;
  return { ...env, ...extra };
}

function run(args: string[], extra: Record<string, string> = {}) {
  const r = Bun.spawnSync([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe", env: childEnv(extra) });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

interface Row {
  proto_num: number;
  vlan: number | null;
  src_ip: string;
  src_port: number | null;
  dst_ip: string;
  dst_port: number | null;
  packets: number;
  bytes: number;
  first_seen: string;
  last_seen: string;
  end_reason: string;
}

interface Stats {
  packets: number;
  flows: number;
  evicted: number;
  active_flows: number;
  ended_flows: number;
}

/** `flows --read FILE --format ndjson …`: the rows, and the flow count of the summary line on stderr. */
function ndjson(file: string, extra: string[] = []): { rows: Row[]; summaryFlows: number; summaryEvicted: number } {
  const r = run(["flows", "--read", file, "--format", "ndjson", ...extra]);
  expect({ extra, code: r.code }).toEqual({ extra, code: 0 });
  const rows = r.out.trimEnd().split("\n").map((l) => JSON.parse(l) as Row);
  const m = /^\d+ packets, \d+ bytes, (\d+) flows \((\d+) evicted\)/.exec(r.err);
  expect(m).not.toBeNull();
  return { rows, summaryFlows: Number(m![1]), summaryEvicted: Number(m![2]) };
}

/** `flows --read FILE --format summary …`: the stats JSON. */
function summary(file: string, extra: string[] = []): Stats {
  const r = run(["flows", "--read", file, "--format", "summary", ...extra]);
  expect({ extra, code: r.code, err: r.err }).toEqual({ extra, code: 0, err: "" });
  return JSON.parse(r.out) as Stats;
}

/** The flow's 5-tuple (and VLAN), the same whichever side is the initiator. */
function tupleKey(r: Row): string {
  const a = `${r.src_ip}|${r.src_port}`, b = `${r.dst_ip}|${r.dst_port}`;
  return `${r.proto_num}|${r.vlan}|${a < b ? `${a}-${b}` : `${b}-${a}`}`;
}

/** Records per 5-tuple, and packets per 5-tuple. */
function perTuple(rows: Row[]): { records: Map<string, number>; packets: Map<string, number> } {
  const records = new Map<string, number>(), packets = new Map<string, number>();
  for (const r of rows) {
    const k = tupleKey(r);
    records.set(k, (records.get(k) ?? 0) + 1);
    packets.set(k, (packets.get(k) ?? 0) + r.packets);
  }
  return { records, packets };
}

function countBy(rows: Row[], field: "end_reason"): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[r[field]] = (out[r[field]] ?? 0) + 1;
  return out;
}

/**
 * A lower bound of the flows in the table at its fullest: the most flows whose [first_seen,
 * last_seen] spans overlap at one instant (each flow is in the table at least over its own span;
 * at equal milliseconds an end is counted before a start, so a flow evicted for the next is not
 * counted twice).
 */
function maxOverlap(rows: Row[]): number {
  const ev: [number, number][] = [];
  for (const r of rows) ev.push([Date.parse(r.first_seen), 1], [Date.parse(r.last_seen), -1]);
  ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let live = 0, most = 0;
  for (const [, d] of ev) most = Math.max(most, (live += d));
  return most;
}

describe("flows --no-expire", () => {
  test("no flow is split by the idle, active or TCP-close timeouts: one record per 5-tuple", () => {
    const plain = ndjson(GNUTELLA);
    const noExpire = ndjson(GNUTELLA, ["--no-expire"]);
    const base = perTuple(plain.rows), one = perTuple(noExpire.rows);

    // Without the flag the default timeouts split 5-tuples into several records.
    expect(Math.max(...base.records.values())).toBeGreaterThan(1);
    expect(plain.rows.length).toBeGreaterThan(base.records.size);
    expect(Object.keys(countBy(plain.rows, "end_reason")).sort()).toEqual(["end_of_capture", "idle", "tcp_close"]);

    // With it: the same 5-tuples, each exactly once, with all of its packets, ended only by the end of the file.
    expect([...one.records.keys()].sort()).toEqual([...base.records.keys()].sort());
    expect([...one.records.values()].every((n) => n === 1)).toBe(true);
    expect(noExpire.rows.length).toBe(base.records.size);
    expect(noExpire.rows.length).toBeLessThan(plain.rows.length);
    expect(noExpire.summaryFlows).toBe(noExpire.rows.length);
    expect(plain.summaryFlows).toBe(plain.rows.length);
    expect(Object.fromEntries([...one.packets].sort())).toEqual(Object.fromEntries([...base.packets].sort()));
    expect(countBy(noExpire.rows, "end_reason")).toEqual({ end_of_capture: noExpire.rows.length });
  });

  test("--no-expire wins over tiny --idle-timeout and --active-timeout", () => {
    const tiny = ["--idle-timeout", "1", "--active-timeout", "1"];
    const split = summary(GNUTELLA, tiny);
    const defaults = summary(GNUTELLA);
    const kept = ndjson(GNUTELLA, [...tiny, "--no-expire"]);
    // The tiny timeouts split even more than the defaults ...
    expect(split.flows).toBeGreaterThan(defaults.flows);
    // ... but not with --no-expire: one record per 5-tuple.
    expect([...perTuple(kept.rows).records.values()].every((n) => n === 1)).toBe(true);
    expect(kept.rows.length).toBe(summary(GNUTELLA, ["--no-expire"]).flows);
    expect(kept.rows.length).toBeLessThan(defaults.flows);
    expect(split.packets).toBe(defaults.packets);
  });
});

describe("flows --max-flows", () => {
  const N = 16; // the smallest table the flag takes

  test("without the flag nothing is evicted (and the capture has more than N flows at once)", () => {
    const s = summary(GNUTELLA);
    expect(s.evicted).toBe(0);
    const { rows } = ndjson(GNUTELLA);
    expect(rows.some((r) => r.end_reason === "evicted")).toBe(false);
    // So the cap below has something to do.
    expect(maxOverlap(rows)).toBeGreaterThan(N);
    expect(maxOverlap(ndjson(GNUTELLA, ["--no-expire"]).rows)).toBeGreaterThan(N);
  });

  test(`--max-flows ${N}: flows are evicted, ended with reason evicted and counted; the table never holds more than ${N}`, () => {
    const s = summary(GNUTELLA, ["--max-flows", String(N)]);
    expect(s.evicted).toBeGreaterThan(0);
    expect(s.packets).toBe(summary(GNUTELLA).packets);
    expect(s.ended_flows).toBe(s.flows);

    for (const extra of [[], ["--no-expire"]]) {
      const { rows, summaryFlows, summaryEvicted } = ndjson(GNUTELLA, ["--max-flows", String(N), ...extra]);
      const reasons = countBy(rows, "end_reason");
      expect({ extra, evictedRows: reasons.evicted ?? 0 }).toEqual({ extra, evictedRows: summaryEvicted });
      expect(summaryEvicted).toBeGreaterThan(0);
      expect(summaryFlows).toBe(rows.length);
      // Still in the table when the file ended: at most N.
      expect(reasons.end_of_capture ?? 0).toBeLessThanOrEqual(N);
      expect(maxOverlap(rows)).toBeLessThanOrEqual(N);
      expect(rows.reduce((n, r) => n + r.packets, 0)).toBe(ndjson(GNUTELLA, extra).rows.reduce((n, r) => n + r.packets, 0));
    }
    // --no-expire: eviction is the only way out of the table before the end of the file.
    const ne = ndjson(GNUTELLA, ["--max-flows", String(N), "--no-expire"]);
    expect(Object.keys(countBy(ne.rows, "end_reason")).sort()).toEqual(["end_of_capture", "evicted"]);
    expect(ne.rows.length - ne.summaryEvicted).toBeLessThanOrEqual(N);
  });
});

describe("interfaces (the table)", () => {
  test("exit 0, lo with 127.0.0.1, and the same interfaces and addresses as --json", () => {
    const table = run(["interfaces"]);
    expect({ code: table.code, err: table.err }).toEqual({ code: 0, err: "" });
    const json = run(["interfaces", "--json"]);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.out) as { default: string; interfaces: { name: string; up: boolean; addresses: { address: string }[] }[] };

    // An interface's line starts at column 0; its addresses (and description) follow, indented.
    const blocks: { name: string; line: string; rest: string[] }[] = [];
    for (const line of table.out.trimEnd().split("\n")) {
      if (/^\S/.test(line)) blocks.push({ name: line.split(/\s+/)[0]!, line, rest: [] });
      else {
        expect(blocks.length).toBeGreaterThan(0);
        blocks.at(-1)!.rest.push(line.trim());
      }
    }
    expect(blocks.map((b) => b.name)).toEqual(doc.interfaces.map((i) => i.name));
    const lo = blocks.find((b) => b.name === "lo");
    expect(lo).toBeDefined();
    expect(lo!.rest.some((l) => l === "127.0.0.1" || l.startsWith("127.0.0.1/"))).toBe(true);
    expect(lo!.line.split(/\s+/)[1]).toBe("up");
    for (const i of doc.interfaces) {
      const b = blocks.find((x) => x.name === i.name)!;
      expect({ name: i.name, up: b.line.split(/\s+/)[1] === "up" }).toEqual({ name: i.name, up: i.up });
      for (const a of i.addresses) {
        expect({ name: i.name, address: a.address, listed: b.rest.some((l) => l === a.address || l.startsWith(`${a.address}/`)) })
          .toEqual({ name: i.name, address: a.address, listed: true });
      }
    }
  });
});

describe("FLOWMATRIX_DEBUG=1", () => {
  const missing = join(dir, "missing.pcap");
  const cases: [string, string[]][] = [
    ["a file error", ["flows", "--read", missing]],
    ["a usage error", ["flows", "--read", WIKI, "--fromat", "csv"]],
    ["a bad --filter", ["flows", "--read", WIKI, "--filter", "tcp port"]],
  ];
  for (const [what, args] of cases) {
    test(`${what}: one line without it, the same line and then the stack trace with it`, () => {
      const plain = run(args);
      expect(plain.code).toBe(2);
      expect(plain.out).toBe("");
      expect(plain.err).toStartWith("flowmatrix: ");
      expect(plain.err.split("\n")).toHaveLength(2); // one line and its newline
      expect(plain.err).not.toMatch(/^\s+at /m);
      // Only "1" turns it on.
      expect(run(args, { FLOWMATRIX_DEBUG: "0" }).err).toBe(plain.err);

      const debug = run(args, { FLOWMATRIX_DEBUG: "1" });
      expect({ code: debug.code, out: debug.out }).toEqual({ code: 2, out: "" });
      const lines = debug.err.trimEnd().split("\n");
      expect(lines[0] + "\n").toBe(plain.err);
      expect(lines.length).toBeGreaterThan(2);
      // The stack: the error's name and message, then frames in our sources.
      expect(lines[1]).toMatch(/^\w*Error: /);
      const frames = lines.filter((l) => /^\s+at /.test(l));
      expect(frames.length).toBeGreaterThan(0);
      expect(frames.some((l) => l.includes("/src/"))).toBe(true);
    });
  }

  test("an unexpected error (exit 1) gets its stack too", () => {
    const full = openSync("/dev/full", "w");
    try {
      const spawn = (env: Record<string, string>) =>
        Bun.spawnSync([process.execPath, MAIN, "flows", "--read", WIKI, "--format", "ndjson"], { stdout: full, stderr: "pipe", env: childEnv(env) });
      const plain = spawn({}), debug = spawn({ FLOWMATRIX_DEBUG: "1" });
      expect(plain.exitCode).toBe(1);
      expect(debug.exitCode).toBe(1);
      const p = plain.stderr.toString(), d = debug.stderr.toString();
      expect(p.split("\n")).toHaveLength(2);
      expect(d).toStartWith(p);
      expect(d.slice(p.length)).toMatch(/^\s+at /m);
    } finally {
      closeSync(full);
    }
  });
});

describe("exit codes", () => {
  test("1 for anything unexpected: stdout on a full device (ENOSPC), one line on stderr, in every format", () => {
    const full = openSync("/dev/full", "w");
    try {
      for (const format of ["json", "ndjson", "csv", "table", "summary"]) {
        const r = Bun.spawnSync([process.execPath, MAIN, "flows", "--read", WIKI, "--format", format], { stdout: full, stderr: "pipe", env: childEnv() });
        const err = r.stderr.toString();
        expect({ format, code: r.exitCode, oneLine: err.split("\n").length === 2 }).toEqual({ format, code: 1, oneLine: true });
        expect(err).toStartWith("flowmatrix: ");
        expect(err).toContain("ENOSPC");
      }
    } finally {
      closeSync(full);
    }
    // The same read to a working stdout is fine: the failure was the write.
    expect(run(["flows", "--read", WIKI, "--format", "summary"]).code).toBe(0);
  });

  test("the other verbs too: a failed write to stdout exits 1 with one line (not dropped), a reader that goes away exits 0", () => {
    const full = openSync("/dev/full", "w");
    try {
      for (const args of [["--version"], ["--help"], ["interfaces"], ["interfaces", "--json"], ["token"], ["config"], ["serve", "--help"], ["flows", "--help"]]) {
        const r = Bun.spawnSync([process.execPath, MAIN, ...args], { stdout: full, stderr: "pipe", env: childEnv() });
        const err = r.stderr.toString();
        expect({ args, code: r.exitCode, oneLine: err.split("\n").length === 2, enospc: err.includes("ENOSPC") }).toEqual({ args, code: 1, oneLine: true, enospc: true });
      }
    } finally {
      closeSync(full);
    }
    // A reader that has gone before the first write (EPIPE) is not a failure: exit 0, nothing on stderr.
    for (const args of ["--help", "interfaces --json", "token"]) {
      const r = Bun.spawnSync(["bash", "-c", `{ sleep 0.3; exec "${process.execPath}" "${MAIN}" ${args}; } | true; echo "\${PIPESTATUS[0]}"`], { stdout: "pipe", stderr: "pipe", env: childEnv() });
      expect({ args, status: r.stdout.toString().trim(), err: r.stderr.toString() }).toEqual({ args, status: "0", err: "" });
    }
  });

  test("2 for a capture file that exists but cannot be read (permission denied), through either reader", () => {
    // A directory (beside `dir`, which is 0700) that whoever runs the CLI below can enter; the copy
    // in it is then made unreadable.
    const sub = mkdtempSync(join(tmpdir(), "fm-cli-readme-perm-"));
    cleanup.push(sub);
    chmodSync(sub, 0o755);
    const file = join(sub, "wiki.pcap");
    copyFileSync(WIKI, file);
    chmodSync(file, 0o000);
    // As root (or with CAP_DAC_OVERRIDE) mode 000 does not stop a read: then run the CLI as nobody.
    let readable = true;
    try {
      readFileSync(file);
    } catch {
      readable = false;
    }
    const prefix = readable ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
    const as = (args: string[]) => {
      const r = Bun.spawnSync([...prefix, process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe", env: childEnv() });
      return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
    };
    for (const extra of [[], ["--filter", "tcp"]]) {
      const r = as(["flows", "--read", file, ...extra]);
      expect({ extra, code: r.code, out: r.out, oneLine: r.err.split("\n").length === 2 }).toEqual({ extra, code: 2, out: "", oneLine: true });
      expect(r.err).toStartWith("flowmatrix: ");
      expect(r.err).toContain(file);
      expect(r.err).toMatch(/EACCES|[Pp]ermission denied/);
    }
    // The same user reads it once it is readable again: it was the permission, nothing else.
    chmodSync(file, 0o644);
    const ok = as(["flows", "--read", file, "--format", "summary"]);
    expect({ code: ok.code, err: ok.err }).toEqual({ code: 0, err: "" });
    expect((JSON.parse(ok.out) as Stats).flows).toBe(34);
  });
});

describe("flows --export-ipfix", () => {
  test("[::1]:PORT (an IPv6 literal): IPFIX messages (version 10) arrive at a collector on ::1", async () => {
    const got: Buffer[] = [];
    const sock = createSocket("udp6");
    sock.on("message", (m) => void got.push(m));
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(0, "::1", () => resolve());
    });
    const port = sock.address().port;
    try {
      const p = Bun.spawn([process.execPath, MAIN, "flows", "--read", WIKI, "--format", "summary", "--export-ipfix", `[::1]:${port}`], {
        stdout: "pipe", stderr: "pipe", env: childEnv(),
      });
      const timer = setTimeout(() => p.kill("SIGKILL"), 20_000);
      const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
      clearTimeout(timer);
      expect({ code, err }).toEqual({
        code: 0,
        err: expect.stringMatching(new RegExp(`^ipfix: 34 flows in \\d+ messages \\(\\d+ with templates\\) to \\[::1\\]:${port} \\(domain 1\\), 0 send errors\\n$`)),
      });
      expect((JSON.parse(out) as Stats).flows).toBe(34);
      for (let n = 0; n < 100 && got.length === 0; n++) await Bun.sleep(20);
      expect(got.length).toBeGreaterThan(0);
      for (const m of got) {
        expect(m.length).toBeGreaterThanOrEqual(16);
        expect(m.readUInt16BE(0)).toBe(10); // IPFIX version
        expect(m.readUInt16BE(2)).toBe(m.length); // message length = the datagram
        expect(m.readUInt32BE(12)).toBe(1); // observation domain (default 1)
      }
    } finally {
      sock.close();
    }
  }, 30_000);

  test("a bad target is a usage error (exit 2) naming the flag, stdout empty", () => {
    // [target, the part of it the message quotes]
    const cases: [string, string][] = [
      ["nonsense", "nonsense"],
      ["127.0.0.1:0", "0"],
      ["127.0.0.1:70000", "70000"],
      ["[::1]", "[::1]"], // no port
      ["[::1]:0", "0"],
      ["::1:4739", "::1:4739"], // an IPv6 literal needs its brackets
      ["", ""],
    ];
    for (const [target, quoted] of cases) {
      const r = run(["flows", "--read", WIKI, "--export-ipfix", target]);
      expect({ target, code: r.code, out: r.out, oneLine: r.err.split("\n").length === 2 }).toEqual({ target, code: 2, out: "", oneLine: true });
      expect(r.err).toStartWith("flowmatrix: --export-ipfix ");
      expect(r.err).toContain(`"${quoted}"`);
    }
  });
});
