#!/usr/bin/env bun
/**
 * Collector throughput (serve --collect-netflow), on one core: flow records per second.
 *
 *   bun bench/collect-throughput.ts [--flows N] [--rounds N] [--udp-seconds S]
 *
 * Datagrams are built once, as exporters send them: NetFlow v5 (30 records of 48 bytes), v9 and
 * IPFIX (template sets first, then data sets of 30 records: IPv4 addresses, ports, protocol, TCP
 * flags, packets, octets and two times — v9 uptime, IPFIX flowStart/EndMilliseconds). Each of
 * `--flows` conversations (default 200,000) is exported as two unidirectional records, one per
 * direction, so the table pairs them.
 *
 * Measured, median of --rounds (default 5), each over every datagram:
 *   decode        NetflowDecoder alone (records handed to a no-op)
 *   decode+table  decode, FlowTable.addRecord (pairing into bidirectional flows) and the traffic
 *                 totals, as the engine Worker does — a fresh table each round
 *   udp           a second process sends every datagram over 127.0.0.1 as fast as it can for
 *                 --udp-seconds; records/s the collector decoded into the table, and the share of
 *                 sent datagrams lost (kernel receive buffer overflow: the sender is not paced)
 * Target (issue 12): ≥ 300,000 records/s on one core for decode+table.
 */
import { parseArgs } from "node:util";
import { NetflowCollector } from "../src/collect/collector.ts";
import { FlowTable } from "../src/flows/table/table.ts";
import { Totals } from "../src/flows/stats/totals.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    flows: { type: "string", default: "200000" },
    rounds: { type: "string", default: "5" },
    "udp-seconds": { type: "string", default: "3" },
    send: { type: "string" },
    port: { type: "string" },
  },
});

const FLOWS = Number(values.flows);
const PER = 30;
const T0 = Math.floor(Date.now() / 1000);

class W {
  b: Uint8Array;
  p = 0;
  constructor(n: number) {
    this.b = new Uint8Array(n);
  }
  u8(v: number) { this.b[this.p++] = v & 255; }
  u16(v: number) { this.u8(v >>> 8); this.u8(v); }
  u32(v: number) { this.u16((v >>> 16) & 0xffff); this.u16(v & 0xffff); }
  u64(v: number) { this.u32(Math.floor(v / 4294967296)); this.u32(v >>> 0); }
  done() { return this.b.slice(0, this.p); }
}

/** Record r (0 .. 2·FLOWS-1): conversation r >> 1, direction r & 1. */
function endpoints(r: number): [number, number, number, number] {
  const c = r >> 1;
  const a = (0x0a000000 | (c & 0xffff)) >>> 0, b = (0xc0a80000 | ((c >>> 16) & 0xff)) >>> 0;
  const pa = 1024 + (c % 50000), pb = 443;
  return r & 1 ? [b, a, pb, pa] : [a, b, pa, pb];
}

function datagramsV5(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let r0 = 0, seq = 0; r0 < FLOWS * 2; r0 += PER) {
    const n = Math.min(PER, FLOWS * 2 - r0);
    const w = new W(24 + n * 48);
    w.u16(5); w.u16(n); w.u32(3_600_000); w.u32(T0); w.u32(0); w.u32(seq); w.u32(0);
    for (let r = r0; r < r0 + n; r++) {
      const [s, d, ps, pd] = endpoints(r);
      w.u32(s); w.u32(d); w.u32(0); w.u16(1); w.u16(2); w.u32(10); w.u32(5000); w.u32(3_590_000); w.u32(3_595_000);
      w.u16(ps); w.u16(pd); w.u8(0); w.u8(0x1b); w.u8(6); w.u8(0); w.u16(0); w.u16(0); w.u8(24); w.u8(24); w.u16(0);
    }
    seq += n;
    out.push(w.done());
  }
  return out;
}

function templated(version: 9 | 10): Uint8Array[] {
  const out: Uint8Array[] = [];
  const fields: [number, number][] = version === 9
    ? [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [6, 1], [2, 4], [1, 4], [22, 4], [21, 4]]
    : [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [6, 1], [2, 8], [1, 8], [152, 8], [153, 8]];
  const recLen = fields.reduce((n, f) => n + f[1], 0);
  let seq = 0, pkt = 0;
  for (let r0 = 0; r0 < FLOWS * 2; r0 += PER) {
    const n = Math.min(PER, FLOWS * 2 - r0);
    const w = new W(64 + fields.length * 4 + n * recLen + 16);
    const withTemplate = pkt % 20 === 0; // templates every 20 messages, as exporters refresh them
    if (version === 9) {
      w.u16(9); w.u16(n + (withTemplate ? 1 : 0)); w.u32(3_600_000); w.u32(T0); w.u32(pkt); w.u32(1);
    } else {
      w.u16(10); w.u16(0); w.u32(T0); w.u32(seq); w.u32(1);
    }
    if (withTemplate) {
      w.u16(version === 9 ? 0 : 2); w.u16(8 + fields.length * 4); w.u16(256); w.u16(fields.length);
      for (const [id, len] of fields) { w.u16(id); w.u16(len); }
    }
    w.u16(256); w.u16(4 + n * recLen);
    for (let r = r0; r < r0 + n; r++) {
      const [s, d, ps, pd] = endpoints(r);
      w.u32(s); w.u32(d); w.u16(ps); w.u16(pd); w.u8(6); w.u8(0x1b);
      if (version === 9) { w.u32(10); w.u32(5000); w.u32(3_590_000); w.u32(3_595_000); }
      else { w.u64(10); w.u64(5000); w.u64(T0 * 1000 - 10_000); w.u64(T0 * 1000 - 5000); }
    }
    const b = w.done();
    if (version === 10) { b[2] = b.length >>> 8; b[3] = b.length & 255; }
    out.push(b);
    seq += n;
    pkt++;
  }
  return out;
}

const SETS = { v5: datagramsV5(), v9: templated(9), ipfix: templated(10) };

if (values.send) {
  // Sender process: blast one set's datagrams at the collector for --udp-seconds.
  const dgrams = SETS[values.send as keyof typeof SETS];
  const sock = await Bun.udpSocket({ connect: { hostname: "127.0.0.1", port: Number(values.port) } });
  const end = Date.now() + Number(values["udp-seconds"]) * 1000;
  let sent = 0;
  while (Date.now() < end) {
    for (let i = 0; i < dgrams.length && Date.now() < end; i += 64) {
      for (let j = i; j < Math.min(i + 64, dgrams.length); j++) if (sock.send(dgrams[j]!)) sent++;
      await Bun.sleep(0);
    }
  }
  console.log(JSON.stringify({ sent }));
  sock.close();
  process.exit(0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rounds = Number(values.rounds);
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

console.log(`collector throughput: ${fmt(FLOWS)} conversations, ${fmt(FLOWS * 2)} records per pass, ${rounds} rounds, one core (${Bun.version})`);
for (const [name, dgrams] of Object.entries(SETS)) {
  const decodeRates: number[] = [], tableRates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let records = 0;
    const c1 = new NetflowCollector({ host: "127.0.0.1", port: 0, onFlow: () => void records++ });
    let t = performance.now();
    for (const d of dgrams) c1.feed(d, "192.0.2.1", 2055, T0);
    decodeRates.push(records / ((performance.now() - t) / 1000));

    const table = new FlowTable({ maxFlows: FLOWS * 2 });
    const totals = new Totals();
    let n2 = 0;
    const c2 = new NetflowCollector({
      host: "127.0.0.1", port: 0,
      onFlow: (f, o) => {
        table.addRecord(f, o);
        totals.flowRecord(f.bytes + f.rbytes, f.packets + f.rpackets, f.proto);
        n2++;
      },
    });
    t = performance.now();
    for (const d of dgrams) c2.feed(d, "192.0.2.1", 2055, T0);
    tableRates.push(n2 / ((performance.now() - t) / 1000));
    if (table.count !== FLOWS) throw new Error(`${name}: ${table.count} flows after pairing, expected ${FLOWS}`);
  }

  // UDP over loopback from another process.
  const table = new FlowTable({ maxFlows: FLOWS * 2, noExpire: true });
  let got = 0;
  const col = new NetflowCollector({ host: "127.0.0.1", port: 0, onFlow: (f, o) => { table.addRecord(f, o); got++; } });
  await col.start();
  const t0 = performance.now();
  const sender = Bun.spawn([process.execPath, import.meta.path, "--send", name, "--port", String(col.port), "--flows", String(FLOWS), "--udp-seconds", String(values["udp-seconds"])], { stdout: "pipe" });
  const sentOut = await new Response(sender.stdout).text();
  await sender.exited;
  await Bun.sleep(200);
  const secs = (performance.now() - t0) / 1000 - 0.2;
  col.stop();
  const sent = (JSON.parse(sentOut) as { sent: number }).sent;
  const recv = col.stats().packets;
  console.log(
    `${name.padEnd(6)} decode ${fmt(median(decodeRates)).padStart(11)} rec/s   decode+table ${fmt(median(tableRates)).padStart(11)} rec/s` +
    `   udp ${fmt(got / secs).padStart(11)} rec/s (${fmt(recv)} of ${fmt(sent)} datagrams, ${((1 - recv / Math.max(1, sent)) * 100).toFixed(1)} % lost)`,
  );
}
