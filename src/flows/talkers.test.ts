import { expect, test } from "bun:test";
import { DecodedPacket } from "../capture/packet.ts";
import { FlowEngine } from "./engine.ts";
import { v4 } from "./test-packets.ts";

/** Feed `seconds` seconds of UDP traffic where host 10.0.0.h sends h × 100 bytes per second to 10.9.9.9. */
function feed(engine: FlowEngine, seconds: number, t0: number) {
  const p = new DecodedPacket();
  p.proto = 17;
  p.dst[0] = v4("10.9.9.9");
  for (let s = 0; s < seconds; s++) {
    for (let h = 1; h <= 30; h++) {
      p.src[0] = v4(`10.0.0.${h}`);
      p.sport = 1000 + h;
      p.dport = 53;
      engine.table.add(p, t0 + s + 0.5, h * 100);
    }
    engine.advance(t0 + s + 1);
  }
}

test("top talkers: running 60 s window equals a full merge, and old seconds leave it", () => {
  const engine = new FlowEngine({ talkers: true, idleTimeout: 1e9 });
  engine.advance(1000);
  feed(engine, 90, 1000);
  const t = engine.talkers!;
  const live = t.top("src", 60, 5, engine.now);
  // Brute force: in the last 60 s, host h sent 60 × h × 100 bytes.
  expect(live.map((x) => x.host)).toEqual(["10.0.0.30", "10.0.0.29", "10.0.0.28", "10.0.0.27", "10.0.0.26"]);
  expect(live[0]!.bytes).toBe(60 * 3000);
  expect(live[0]!.bps).toBe(3000 * 8);
  // The merge path (another window) agrees on its own window.
  const merged = t.top("src", 30, 5, engine.now);
  expect(merged[0]!.bytes).toBe(30 * 3000);
  // by=host counts both directions: 10.9.9.9 received everything.
  const hosts = t.top("host", 60, 1, engine.now);
  expect(hosts[0]!.host).toBe("10.9.9.9");
  expect(hosts[0]!.bytes).toBe(60 * 100 * (30 * 31) / 2);
  // After 60 quiet seconds the running window is empty.
  for (let s = 0; s < 61; s++) engine.advance(engine.now + 1);
  expect(t.top("src", 60, 5, engine.now)).toEqual([]);
});

test("a second with more hosts than the per-second cap keeps the biggest ones", () => {
  const engine = new FlowEngine({ talkers: true, idleTimeout: 1e9 });
  engine.advance(2000);
  const p = new DecodedPacket();
  p.proto = 17;
  p.dst[0] = v4("10.200.0.1");
  // 5,000 sources; source n sends (n % 997) + 1 packets of 100 bytes in the same second.
  for (let n = 0; n < 5000; n++) {
    p.src[0] = v4(`10.1.${n >> 8}.${n & 255}`);
    p.sport = 2000;
    p.dport = 53;
    for (let k = 0; k <= n % 997; k++) engine.table.add(p, 2000.5, 100);
  }
  engine.advance(2001);
  const top = engine.talkers!.top("src", 60, 3, engine.now);
  expect(top.map((t) => t.bytes)).toEqual([99_700, 99_700, 99_700]);
  const expected = [996, 1993, 2990, 3987, 4984].map((n) => `10.1.${n >> 8}.${n & 255}`);
  expect(expected).toEqual(expect.arrayContaining(top.map((t) => t.host)));
});
