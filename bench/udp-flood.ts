/**
 * Loopback UDP generator for bench/api-live.ts: sends 1-byte datagrams to addresses in
 * 127.64.0.0/10 (loopback only), cycling over `--flows` destinations, for `--seconds` seconds.
 * A receiver bound to 0.0.0.0 on the same port takes them (so the kernel sends no ICMP port
 * unreachable back) and discards them. Prints the port, then the number of datagrams sent.
 *
 *   bun bench/udp-flood.ts --flows 1000000 --seconds 60
 */
import { opt } from "./args.ts";

const FLOWS = Math.min(opt("flows", 1_000_000), 1 << 22);
const SECONDS = opt("seconds", 30);
const receiver = await Bun.udpSocket({ hostname: "0.0.0.0", socket: { data() {} } });
const PORT = receiver.port;
console.log(JSON.stringify({ port: PORT }));
const socket = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { error() {} } });
const payload = new Uint8Array([0x2a]);
const addrs: string[] = [];
for (let i = 0; i < FLOWS; i++) addrs.push(`127.${64 + ((i >>> 16) & 63)}.${(i >>> 8) & 255}.${i & 255}`);
const end = Date.now() + SECONDS * 1000;
let sent = 0;
let i = 0;
const batch: (Uint8Array | number | string)[] = [];
while (Date.now() < end) {
  batch.length = 0;
  for (let n = 0; n < 256; n++) {
    batch.push(payload, PORT, addrs[i]!);
    i = i + 1 === FLOWS ? 0 : i + 1;
  }
  sent += socket.sendMany(batch);
  if ((sent & 0xffff) < 256) await Bun.sleep(0); // let signals in
}
socket.close();
receiver.close();
console.log(JSON.stringify({ sent }));
