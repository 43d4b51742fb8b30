/**
 * Cost of the flow-export work, per flow, on one core:
 * - Community ID (flows/table/community-id.ts) from a flow slot: one SHA-1 + base64 per flow;
 * - IPFIX encoding (export/ipfix-encoder.ts): Community ID included, messages ≤ 1400 bytes;
 * - the exporter's sender (export/ipfix-sender.ts, what runs in the exporter Worker): encode + UDP
 *   sends (sendMany) to a socket on 127.0.0.1 (a receiver in this process that only counts
 *   datagrams), in flows/s, and the datagrams the receiver saw;
 * - the sink on the capture thread (export/ipfix-sink.ts, lossless as in `flows --read`): time for
 *   offer() of every batch and, separately, until the Worker has sent them all.
 * Flows are the ended flows of the shared captures, repeated to N flows (default 1,000,000).
 *
 *   bun bench/ipfix-export.ts [N]
 */
import { FileSource } from "../src/capture/file-source.ts";
import { FlowColumns, KEY_WORDS } from "../src/flows/table/columns.ts";
import { communityId } from "../src/flows/table/community-id.ts";
import { FlowEngine } from "../src/flows/engine.ts";
import { IpfixEncoder } from "../src/export/ipfix-encoder.ts";
import { IpfixSink } from "../src/export/ipfix-sink.ts";
import { IpfixSender } from "../src/export/ipfix-sender.ts";
import { BATCH_FLOWS } from "../src/flows/sinks.ts";
import { loadavg } from "node:os";

const N = Number(process.argv[2] ?? 1_000_000);
const PCAPS = new URL("../../shared/pcaps/", import.meta.url).pathname;

// Ended flows of a few captures, copied into one column set, then repeated to N slots.
const seed = new FlowColumns(1 << 14);
let n0 = 0;
for (const f of ["ndpi__gnutella.pcap", "ndpi__quic.pcap", "ndpi__KakaoTalk_talk.pcap", "zeek__communityid_icmp6.pcap"]) {
  const e = new FlowEngine({ recentEnded: 1, rates: false });
  e.onEnded((c, i) => seed.copyFrom(c, i, n0++));
  new FileSource({ path: PCAPS + f }).readSync(e);
  e.finish();
}
const cols = new FlowColumns(N);
for (let i = 0; i < N; i++) cols.copyFrom(seed, i % n0, i);
console.log(`${N.toLocaleString("en-US")} flows (${n0} distinct, from 4 shared captures)`);

function time(label: string, fn: () => void): number {
  fn(); // warm up
  const t = performance.now();
  fn();
  const s = (performance.now() - t) / 1000;
  console.log(`${label.padEnd(34)} ${((s * 1e9) / N).toFixed(0).padStart(6)} ns/flow  ${(N / s / 1e6).toFixed(2)} M flows/s`);
  return s;
}

let sink = 0;
time("community id (slot)", () => {
  for (let i = 0; i < N; i++) sink += communityId(cols, i).length;
});
let bytes = 0, msgs = 0;
time("ipfix encode (with community id)", () => {
  const enc = new IpfixEncoder({ domainId: 1 });
  bytes = 0;
  msgs = 0;
  enc.encode(cols, 0, N, (m) => {
    bytes += m.length;
    msgs++;
  });
});
console.log(`  ${msgs.toLocaleString("en-US")} messages, ${(bytes / msgs).toFixed(0)} bytes each on average, ${(bytes / N).toFixed(1)} bytes/flow`);

// The sender alone (as in the exporter Worker): a receiver on 127.0.0.1 counting datagrams.
let got = 0;
const rx = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data: () => void got++ } });
const M = Math.min(N, 200_000);
const batch = (from: number, to: number) => ({
  count: to - from,
  cols: FlowColumns.wrap(cols.key.slice(from * KEY_WORDS, to * KEY_WORDS), cols.f64.buffer.slice(from * 64, to * 64)),
});
const sender = await new IpfixSender({ host: "127.0.0.1", port: rx.port, domainId: 1 }).open();
const warm = batch(0, BATCH_FLOWS);
sender.sendBatch({ count: warm.count, at: 0, apps: null, names: null, strings: [], reset: false }, warm.cols);
const bs: ReturnType<typeof batch>[] = [];
for (let f = 0; f < M; f += BATCH_FLOWS) bs.push(batch(f, Math.min(M, f + BATCH_FLOWS)));
let t = performance.now();
for (const b of bs) sender.sendBatch({ count: b.count, at: 0, apps: null, names: null, strings: [], reset: false }, b.cols);
let s = (performance.now() - t) / 1000;
await Bun.sleep(300);
console.log(`${"ipfix sender (encode + sendMany)".padEnd(34)} ${((s * 1e9) / M).toFixed(0).padStart(6)} ns/flow  ${(M / s / 1e6).toFixed(2)} M flows/s` +
  `  (${M.toLocaleString("en-US")} flows, ${sender.encoder.messages} datagrams, ${sender.sendErrors} send errors; the receiver, in this process and not reading during the burst, saw ${got}: UDP beyond its socket buffer is lost)`);
sender.close();

// The sink (capture thread) with its Worker: offer() time, then until everything is sent.
for (let round = 0; round < 2; round++) {
  const sink = await new IpfixSink({ host: "127.0.0.1", port: rx.port, domainId: 1 }, true).open();
  const copies = bs.map((b) => ({ count: b.count, key: b.cols.key.slice(), rec: b.cols.f64.buffer.slice(0) as ArrayBuffer }));
  t = performance.now();
  for (const b of copies) sink.offer(b);
  s = (performance.now() - t) / 1000;
  await sink.close();
  const all = (performance.now() - t) / 1000;
  const st = sink.stats();
  console.log(`${`ipfix sink, round ${round + 1}: offer() (capture thread)`.padEnd(34)} ${((s * 1e9) / M).toFixed(0).padStart(6)} ns/flow;` +
    ` until sent ${((all * 1e9) / M).toFixed(0)} ns/flow (${st.flows.toLocaleString("en-US")} flows, ${st.messages} datagrams, ${st.send_errors} send errors)`);
}
rx.close();
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
if (sink < 0) console.log(sink);
