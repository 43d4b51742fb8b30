/**
 * Loopback UDP generator for bench/api-live.ts and bench/live-capture.ts: sends 1-byte datagrams
 * to addresses in 127.64.0.0/10 (loopback only), cycling over `--flows` destinations, for
 * `--seconds` seconds (and at most `--max-packets` datagrams, default 1e9), then stops by itself.
 * A receiver bound to 0.0.0.0 on the same port takes them (so the kernel sends no ICMP port
 * unreachable back) and discards them. Prints the port, then the number of datagrams sent and the
 * seconds it took.
 *
 *   bun bench/udp-flood.ts --flows 1000000 --seconds 60            # as fast as it can
 *   bun bench/udp-flood.ts --flows 100000 --seconds 20 --rate 200000 # paced: 200,000 datagrams/s
 *
 * `--port N` binds the receiver (and so the destination port) to N instead of a free port: a
 * capture can then filter on it and ignore other floods on the same machine.
 *
 * `--rate` paces in steps of about 1 ms (batches of up to 256 datagrams, each sent when due); the
 * achieved rate is printed and is lower when the machine cannot keep up.
 */
import { opt } from "./args.ts";

const FLOWS = Math.min(opt("flows", 1_000_000), 1 << 22);
const SECONDS = opt("seconds", 30);
const RATE = opt("rate", 0);
const MAX_PACKETS = opt("max-packets", 1e9);
const WANT_PORT = opt("port", 0);
if (!(SECONDS > 0 && SECONDS <= 3600)) throw new Error("--seconds must be in (0, 3600]");
const receiver = await Bun.udpSocket({ hostname: "0.0.0.0", port: WANT_PORT, socket: { data() {} } });
const PORT = receiver.port;
console.log(JSON.stringify({ port: PORT }));
const socket = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { error() {} } });
const payload = new Uint8Array([0x2a]);
const addrs: string[] = [];
for (let i = 0; i < FLOWS; i++) addrs.push(`127.${64 + ((i >>> 16) & 63)}.${(i >>> 8) & 255}.${i & 255}`);
const t0 = performance.now();
const end = t0 + SECONDS * 1000;
let sent = 0;
let i = 0;
const batch: (Uint8Array | number | string)[] = [];
for (let now = t0; now < end && sent < MAX_PACKETS; now = performance.now()) {
  let n = 256;
  if (RATE > 0) {
    const due = Math.floor(((now - t0) / 1000) * RATE) - sent;
    if (due <= 0) {
      await Bun.sleep(1);
      continue;
    }
    n = Math.min(n, due);
  }
  n = Math.min(n, MAX_PACKETS - sent);
  batch.length = 0;
  for (let k = 0; k < n; k++) {
    batch.push(payload, PORT, addrs[i]!);
    i = i + 1 === FLOWS ? 0 : i + 1;
  }
  sent += socket.sendMany(batch);
  if (RATE === 0 && (sent & 0xffff) < 256) await Bun.sleep(0); // let signals in
}
socket.close();
receiver.close();
console.log(JSON.stringify({ sent, seconds: Number(((performance.now() - t0) / 1000).toFixed(3)) }));
