/**
 * The kernel buffer behind `flows`' stdout (src/cli/output-buffer.ts): a pipe is widened to 1 MiB
 * (or the system's pipe-max-size, if lower) before the rows are written, a socket's send buffer to
 * 1 MiB; a file or /dev/null is left alone. The real CLI in a child process writing into a
 * real pipe (a FIFO this test creates), whose size is read back from the reading end.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { dlopen, FFIType } from "bun:ffi";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OUTPUT_KERNEL_BUFFER, widenOutputBuffer } from "../src/cli/output-buffer.ts";
import { PCAPS } from "./shared-paths.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const WIKI = `${PCAPS}zeek__wikipedia.pcap`;
const dir = mkdtempSync(join(tmpdir(), "fm-out-pipe-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const libc = dlopen("libc.so.6", { fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 } });
const F_GETPIPE_SZ = 1032;
const pipeMax = Number(readFileSync("/proc/sys/fs/pipe-max-size", "utf8").trim());

/** Runs `flows --read WIKI --format F` into a fresh FIFO; returns the output and the pipe's size after the run. */
async function flowsIntoFifo(format: string): Promise<{ out: string; pipeBytes: number; code: number }> {
  const fifo = join(dir, `out-${format}.fifo`);
  rmSync(fifo, { force: true });
  expect(Bun.spawnSync(["mkfifo", "-m", "600", fifo]).exitCode).toBe(0);
  const r = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const w = openSync(fifo, constants.O_WRONLY);
  try {
    expect(libc.symbols.fcntl(r, F_GETPIPE_SZ, 0)).toBe(65536); // the kernel's default, before
    const p = Bun.spawn([process.execPath, MAIN, "flows", "--read", WIKI, "--format", format], { stdout: w, stderr: "pipe" });
    closeSync(w);
    const out = await new Response(Bun.file(r).stream()).text();
    const code = await p.exited;
    return { out, pipeBytes: libc.symbols.fcntl(r, F_GETPIPE_SZ, 0), code };
  } finally {
    closeSync(r);
  }
}

describe("flows' stdout buffer", () => {
  test("a pipe is widened to 1 MiB before the rows; every row arrives", async () => {
    const { out, pipeBytes, code } = await flowsIntoFifo("json");
    expect(code).toBe(0);
    expect(pipeBytes).toBe(Math.min(OUTPUT_KERNEL_BUFFER, pipeMax));
    expect(pipeBytes).toBeGreaterThan(65536);
    const doc = JSON.parse(out) as { flows: unknown[]; stats: { flows: number } };
    expect(doc.flows.length).toBe(doc.stats.flows);
    expect(doc.flows.length).toBe(34);
  });

  test("--format summary (one line) leaves the pipe as it is", async () => {
    const { out, pipeBytes, code } = await flowsIntoFifo("summary");
    expect(code).toBe(0);
    expect(pipeBytes).toBe(65536);
    expect((JSON.parse(out) as { packets: number }).packets).toBe(136);
  });

  test("a socket's send buffer (Bun.spawn's stdout pipe is a socketpair) is asked for 1 MiB", async () => {
    const code = `const { widenOutputBuffer } = await import(${JSON.stringify(new URL("../src/cli/output-buffer.ts", import.meta.url).pathname)});
process.stderr.write(JSON.stringify(widenOutputBuffer(1)));`;
    const p = Bun.spawn([process.execPath, "-e", code], { stdout: "pipe", stderr: "pipe" });
    const [err, exit] = await Promise.all([new Response(p.stderr).text(), p.exited, new Response(p.stdout).text()]);
    expect(exit).toBe(0);
    const r = JSON.parse(err) as { kind: string; bytes: number };
    expect(r.kind).toBe("socket");
    // Linux caps the request at net.core.wmem_max and reports twice what it keeps (for its bookkeeping).
    const wmemMax = Number(readFileSync("/proc/sys/net/core/wmem_max", "utf8").trim());
    expect(r.bytes).toBe(2 * Math.min(OUTPUT_KERNEL_BUFFER, wmemMax));
  });

  test("a file or /dev/null is not a pipe: nothing is changed", () => {
    const f = openSync(join(dir, "plain.out"), "w");
    const n = openSync("/dev/null", "w");
    try {
      expect(widenOutputBuffer(f)).toBeNull();
      expect(widenOutputBuffer(n)).toBeNull();
    } finally {
      closeSync(f);
      closeSync(n);
    }
  });
});
