/** CaptureRunner on a real interface (lo): the live source's settings reach libpcap. Requires root. */
import { expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { CaptureRunner } from "./capture-runner.ts";

test("--snaplen reaches libpcap: a 600-byte datagram arrives cut to the snaplen, with its wire length", async () => {
  const port = 40000 + (process.pid % 20000);
  const seen: { caplen: number; wirelen: number }[] = [];
  let opened!: () => void;
  const ready = new Promise<void>((r) => (opened = r));
  const runner = new CaptureRunner({
    source: { kind: "live", interface: "lo", snaplen: 96, bufferSizeMiB: 4 },
    filter: `udp and dst port ${port}`,
    sink: { packet: (_b, _o, caplen, wirelen) => void seen.push({ caplen, wirelen }) },
    onStart: (err) => (err ? Promise.reject(err) : opened()),
  });
  const running = runner.start();
  await ready;
  const s = createSocket("udp4");
  await new Promise<void>((r) => s.send(Buffer.alloc(600, 0x61), port, "127.0.0.1", () => r()));
  s.close();
  const end = Date.now() + 5000;
  while (seen.length === 0 && Date.now() < end) await Bun.sleep(50);
  runner.stop();
  await running;
  expect(seen.length).toBeGreaterThan(0);
  // 14 (Ethernet on lo) + 20 (IPv4) + 8 (UDP) + 600 bytes on the wire; 96 captured.
  expect(seen[0]).toEqual({ caplen: 96, wirelen: 642 });
});
