/**
 * Export admission: at most 4 CSV/NDJSON exports run and 16 wait; the next one gets 429 with
 * Retry-After at once, while interactive queries are still answered. Slow readers hold their
 * slots: raw loopback sockets that send the request, read the response head and then stop reading
 * (socket paused), so the export's stream backs up through the kernel buffers into the server.
 * A table of 120,000 flows (a finished full-speed replay of a gen-pcap.mjs capture, idle timeout
 * of an hour so nothing expires): every export is ~17 MB of CSV, far more than the loopback
 * buffers hold. Closing a slow reader frees its slot for the first waiting export.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FlowmatrixServer } from "../src/server/app.ts";
import { TOOLS } from "./shared-paths.ts";

let dir: string;
let server: FlowmatrixServer;
let url: string;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fm-slots-"));
  const pcap = join(dir, "big.pcap");
  const g = Bun.spawnSync(["node", `${TOOLS}gen-pcap.mjs`, "--packets", "240000", "--flows", "120000", "--seed", "31", "--out", pcap, "--quiet"]);
  if (g.exitCode !== 0) throw new Error(`gen-pcap: ${g.stderr.toString()}`);
  server = new FlowmatrixServer({
    engine: { source: { kind: "file", path: pcap, speed: "max", loop: false }, idleTimeout: 3600 },
    port: 0,
    alerts: { cpuPercent: 100 },
  });
  url = await server.start();
  port = Number(new URL(url).port);
  for (;;) {
    const h = (await (await fetch(`${url}/api/v1/health`)).json()) as { capture: { state: string } };
    if (h.capture.state === "finished") break;
    await Bun.sleep(50);
  }
}, 60_000);
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A client that sends an export request and, once the response head arrived, stops reading. */
interface SlowReader {
  socket: Socket;
  /** The status line's code, once the head arrived. */
  status: Promise<number>;
}

function slowReader(path: string): SlowReader {
  const socket = connect(port, "127.0.0.1");
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
  const status = new Promise<number>((resolve, reject) => {
    let head = "";
    const onData = (b: Buffer) => {
      head += b.toString("latin1");
      if (!head.includes("\r\n")) return;
      socket.off("data", onData);
      socket.pause(); // a slow reader: nothing more is read
      resolve(Number(head.split(" ")[1]));
    };
    socket.on("data", onData);
    socket.on("error", reject);
  });
  return { socket, status };
}

const settled = async <T,>(p: Promise<T>, ms: number): Promise<T | "pending"> =>
  Promise.race([p, Bun.sleep(ms).then(() => "pending" as const)]);

test("4 exports run, 16 wait, the next gets 429 with Retry-After; a closed reader frees a slot", async () => {
  const path = "/api/v1/flows?format=csv&state=all&limit=100000";
  const running = Array.from({ length: 4 }, () => slowReader(path));
  for (const r of running) expect(await r.status).toBe(200);

  // 16 more are admitted to wait: no answer while the 4 readers hold their slots.
  const waiting = Array.from({ length: 16 }, () => slowReader(path));
  await Bun.sleep(500);
  for (const w of waiting) expect(await settled(w.status, 10)).toBe("pending");

  // The 21st is refused at once, CSV and NDJSON alike.
  for (const format of ["csv", "ndjson"]) {
    const t0 = performance.now();
    const res = await fetch(`${url}/api/v1/flows?format=${format}&limit=100000`);
    expect(res.status).toBe(429);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe("too_many_requests");
    expect(body.message).toContain("4 exports are running and 16 waiting");
  }

  // Interactive queries take no slot and are answered meanwhile.
  const q = await fetch(`${url}/api/v1/flows?sort_by=bytes&limit=100`);
  expect(q.status).toBe(200);
  expect(((await q.json()) as { returned: number }).returned).toBe(100);
  const health = (await (await fetch(`${url}/api/v1/health`)).json()) as { exports: { open: number } };
  expect(health.exports.open).toBe(4); // the engine holds the 4 running exports' cursors

  // A reader that goes away frees its slot: the first waiting export starts.
  running[0]!.socket.destroy();
  expect(await waiting[0]!.status).toBe(200);
  expect(await settled(waiting[1]!.status, 300)).toBe("pending");

  for (const r of [...running, ...waiting]) r.socket.destroy();
  // Every slot comes back: exports are admitted again (closed readers' cursors are closed).
  const t0 = Date.now();
  for (;;) {
    const res = await fetch(`${url}/api/v1/flows?format=csv&limit=10`);
    const text = await res.text();
    if (res.status === 200) {
      expect(text.split("\r\n").length).toBe(12); // header, 10 rows, final CRLF
      break;
    }
    expect(res.status).toBe(429);
    if (Date.now() - t0 > 20_000) throw new Error("export slots were not released after the readers went away");
    await Bun.sleep(100);
  }
}, 60_000);
