import { afterAll, beforeAll, expect, test } from "bun:test";
import { CapturePermissionError } from "./capture-permission-error.ts";
import { LiveSource } from "./live-source.ts";
import { PcapError } from "./pcap-error.ts";

const ROOT = `${import.meta.dir}/../..`;
const NETNS = `fmtest${process.pid}`;
const run = (...cmd: string[]) => Bun.spawnSync(cmd, { stderr: "pipe" });

/** A child process capturing on `iface` inside our network namespace; prints "ready" then its outcome. */
const CHILD = `
  import { LiveSource } from "./src/capture/live-source.ts";
  const src = new LiveSource({ interface: process.argv[1], timeoutMs: 100 });
  let n = 0;
  const done = src.start({ packet() { n++; } });
  setTimeout(() => console.log("ready " + n + ";"), 300);
  done.then(() => console.log("resolved"), (e) => console.log("rejected " + e.name + " " + e.code + " " + e.message + " after " + n));
`;

beforeAll(() => {
  run("ip", "netns", "add", NETNS);
  run("ip", "netns", "exec", NETNS, "ip", "link", "add", "fma", "type", "veth", "peer", "name", "fmb");
  run("ip", "netns", "exec", NETNS, "ip", "link", "set", "fma", "up");
  run("ip", "netns", "exec", NETNS, "ip", "link", "set", "fmb", "up");
  run("ip", "netns", "exec", NETNS, "ip", "addr", "add", "10.77.0.1/24", "dev", "fmb");
});

/** Sends UDP from fmb's side to unresolved neighbours: each makes an ARP request that fma receives. */
const SEND = `
  const s = await Bun.udpSocket({});
  for (const ip of ["10.77.0.2", "10.77.0.3", "10.77.0.4"]) s.send("x", 9, ip);
  await Bun.sleep(50);
  s.close();
`;
afterAll(() => void run("ip", "netns", "del", NETNS));

test("a nonexistent interface gives a clear error naming it and listing the available ones", async () => {
  const err = await new LiveSource({ interface: "nosuch0" }).start({ packet() {} }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PcapError);
  expect((err as PcapError).code).toBe(-5);
  expect((err as Error).message).toMatch(/^no such interface "nosuch0" \(.+\)\. Available interfaces: .*\blo\b/);
});

test("a bad BPF filter rejects with libpcap's message", async () => {
  const err = await new LiveSource({ interface: "lo", filter: "tcp port 99999999" }).start({ packet() {} }).catch((e) => e);
  expect(err).toBeInstanceOf(PcapError);
  expect((err as Error).message).toMatch(/^bad capture filter "tcp port 99999999": .*port/);
});

test("stop() ends an idle capture within the timeout; stats and linktype are reported", async () => {
  const src = new LiveSource({ interface: "lo", filter: "udp port 9", timeoutMs: 100 });
  const done = src.start({ packet() {} });
  await Bun.sleep(150);
  expect(src.linktypes()).toEqual([1]); // lo is DLT_EN10MB on Linux
  const t0 = performance.now();
  src.stop();
  await done;
  expect(performance.now() - t0).toBeLessThan(250);
  expect(src.stats()).toEqual({ packets: 0, received: 0, dropped: 0, ifDropped: 0 });
});

test("without privileges: CapturePermissionError with the setcap hint", () => {
  const code =
    'import { LiveSource } from "./src/capture/live-source.ts";' +
    'try { await new LiveSource({ interface: "lo" }).start({ packet() {} }); } catch (e) { console.log(e.name + ": " + e.message); }';
  const r = Bun.spawnSync(
    ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", process.execPath, "-e", code],
    { cwd: ROOT },
  );
  const out = r.stdout.toString();
  expect(out).toStartWith('CapturePermissionError: permission denied capturing on "lo"');
  expect(out).toContain("Run as root, or grant the capture capabilities once: sudo setcap cap_net_raw,cap_net_admin=eip /");
});

test("interface taken down: libpcap keeps the handle, capture resumes when up; deleted: start() rejects", async () => {
  const child = Bun.spawn(["ip", "netns", "exec", NETNS, process.execPath, "-e", CHILD, "fma"], { cwd: ROOT, stdout: "pipe" });
  const reader = child.stdout.getReader();
  let out = "";
  const readUntil = async (s: string) => {
    while (!out.includes(s)) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
  };
  try {
    await readUntil("ready");
    run("ip", "netns", "exec", NETNS, "ip", "link", "set", "fma", "down");
    await Bun.sleep(300);
    run("ip", "netns", "exec", NETNS, "ip", "link", "set", "fma", "up");
    await Bun.sleep(300);
    run("ip", "netns", "exec", NETNS, process.execPath, "-e", SEND);
    await Bun.sleep(300);
    expect(out).not.toContain("rejected");
    const before = Number(/ready (\d+);/.exec(out)![1]);
    run("ip", "netns", "exec", NETNS, "ip", "link", "del", "fma");
    await Promise.race([readUntil("rejected"), Bun.sleep(3000)]);
    expect(out).toContain('rejected PcapError -1 capture on "fma" failed: The interface disappeared');
    expect(Number(/after (\d+)/.exec(out)![1])).toBeGreaterThanOrEqual(before + 3);
  } finally {
    child.kill();
    await child.exited;
  }
}, 10_000);

test("under load the loop drains in pauses of drainIntervalMs: every packet arrives, few wake-ups, stop() is prompt", async () => {
  const port = 40_000 + (process.pid % 20_000);
  const src = new LiveSource({ interface: "lo", filter: `udp and dst port ${port}`, timeoutMs: 100, drainIntervalMs: 20 });
  let n = 0;
  let batches = 0; // times the count was seen to grow, sampled every ms: an upper bound on drains
  let last = 0;
  const done = src.start({ packet: () => void n++ });
  const counter = setInterval(() => {
    if (n !== last) batches++;
    last = n;
  }, 1);
  await Bun.sleep(200);
  // A receiver on the port, so the kernel sends no ICMP port unreachable back.
  const rx = await Bun.udpSocket({ hostname: "127.0.0.1", port, socket: { data() {} } });
  const sock = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { error() {} } });
  const SENT = 20_000;
  const t0 = performance.now();
  for (let i = 0; i < SENT; i += 500) {
    const burst: (Uint8Array | number | string)[] = [];
    for (let k = 0; k < 500; k++) burst.push(new Uint8Array([k & 255]), port, "127.0.0.1");
    sock.sendMany(burst);
    await Bun.sleep(1); // ~0.2 s of traffic at a steady rate
  }
  const sendMs = performance.now() - t0;
  sock.close();
  rx.close();
  for (let w = 0; w < 30 && n < SENT; w++) await Bun.sleep(50);
  clearInterval(counter);
  expect(n).toBe(SENT); // nothing lost to the pauses (lo: the outgoing copies are discarded by libpcap)
  expect(src.stats().dropped).toBe(0);
  // Deliveries came in drains at least ~drainIntervalMs apart, not once per kernel block or packet.
  expect(batches).toBeLessThanOrEqual(Math.ceil(sendMs / 20) + 8);
  const t1 = performance.now();
  src.stop();
  await done;
  expect(performance.now() - t1).toBeLessThan(250);
});

test("the sink gets at most snap bytes (libpcap's snaplen follows snap, so the kernel copies no more); wirelen stays the real length", async () => {
  const port = 41_000 + (process.pid % 20_000);
  const src = new LiveSource({ interface: "lo", filter: `udp and dst port ${port}`, snap: 128 });
  const seen: [number, number][] = [];
  const done = src.start({ packet: (_b: Uint8Array, _o: number, caplen: number, wirelen: number) => void seen.push([caplen, wirelen]) });
  await Bun.sleep(200);
  const rx = await Bun.udpSocket({ hostname: "127.0.0.1", port, socket: { data() {} } });
  const sock = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { error() {} } });
  sock.send(new Uint8Array(1000), port, "127.0.0.1");
  sock.send(new Uint8Array(10), port, "127.0.0.1");
  for (let w = 0; w < 20 && seen.length < 2; w++) await Bun.sleep(50);
  sock.close();
  rx.close();
  src.stop();
  await done;
  // 14 Ethernet + 20 IPv4 + 8 UDP + payload on the wire.
  expect(seen).toEqual([[128, 1042], [52, 52]]);
});
