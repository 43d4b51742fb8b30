/**
 * Live capture on `lo` into the flow table, compared with tcpdump on the same filter.
 *
 * The test starts an HTTP server on 127.0.0.1 (port 0), starts our capture AND tcpdump with the
 * filter `tcp port P`, makes N requests each on a new connection, stops both, and checks:
 * - one TCP flow per connection, initiated by the client towards port P, each established/closed;
 * - our packet and byte totals equal those of the pcap tcpdump wrote (read back with our reader);
 * - per connection (client port), packets per direction equal tcpdump's.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LiveSource } from "../src/capture/live-source.ts";
import { FlowEngine } from "../src/flows/engine.ts";
import { toRecord, type FlowRecord } from "../src/flows/format/record.ts";
import { FileSource } from "../src/capture/file-source.ts";

const dir = mkdtempSync(join(tmpdir(), "fm-live-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function flowsOf(engine: FlowEngine): FlowRecord[] {
  const out: FlowRecord[] = [];
  engine.table.forEach((c, i) => out.push(toRecord(c, i)));
  engine.recent.forEach((c, i) => out.push(toRecord(c, i)));
  return out;
}

test("live capture on lo: one flow per HTTP connection, counts equal tcpdump's", async () => {
  const N = 20;
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("x".repeat(2000)) });
  const port = server.port!;
  const filter = `tcp port ${port}`;
  const pcapPath = join(dir, "tcpdump.pcap");
  const tcpdump = Bun.spawn(["tcpdump", "-i", "lo", "--immediate-mode", "-U", "-n", "-w", pcapPath, filter], { stderr: "pipe" });
  const engine = new FlowEngine({ noExpire: true });
  const live = new LiveSource({ interface: "lo", filter, timeoutMs: 50 });
  const running = live.start(engine);
  try {
    // Both capturers are listening once tcpdump says so and our handle is active.
    const reader = tcpdump.stderr.getReader();
    let said = "";
    while (!said.includes("listening on")) {
      const { value, done } = await reader.read();
      if (done) break;
      said += new TextDecoder().decode(value);
    }
    await sleep(300);
    for (let n = 0; n < N; n++) {
      const r = await fetch(`http://127.0.0.1:${port}/${n}`, { headers: { connection: "close" }, keepalive: false });
      expect(r.status).toBe(200);
      await r.text();
    }
    await sleep(700);
  } finally {
    live.stop();
    await running;
    tcpdump.kill("SIGINT");
    await tcpdump.exited;
    server.stop(true);
  }

  const ours = flowsOf(engine).filter((f) => f.proto === "tcp");
  expect(ours.length).toBe(N);
  for (const f of ours) {
    expect(f.dst_port).toBe(port);
    expect(f.src_ip).toBe("127.0.0.1");
    expect(["established", "closing", "closed"]).toContain(f.state);
    expect(f.tcp_flags).toContain("S");
  }

  // tcpdump's file, read back with our file reader, into a second table.
  const ref = new FlowEngine({ noExpire: true });
  new FileSource({ path: pcapPath }).readSync(ref);
  const theirs = flowsOf(ref);
  expect(live.stats().packets).toBe(ref.packets);
  expect(engine.stats().bytes).toBe(ref.stats().bytes);
  const key = (f: FlowRecord) => `${f.src_port}>${f.dst_port}`;
  const byKey = new Map(theirs.map((f) => [key(f), f]));
  for (const f of ours) {
    const t = byKey.get(key(f));
    expect(t ? key(f) : `missing ${key(f)}`).toBe(key(f));
    expect([f.src_packets, f.dst_packets, f.src_bytes, f.dst_bytes]).toEqual([t!.src_packets, t!.dst_packets, t!.src_bytes, t!.dst_bytes]);
  }
  // pcap_stats on lo counts each packet twice (libpcap drops the outgoing copy in user space).
  expect(live.stats().dropped).toBe(0);
});
