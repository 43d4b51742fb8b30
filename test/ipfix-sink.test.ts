/**
 * The IPFIX sink and its exporter Worker (src/export/ipfix-sink.ts, ipfix-worker.ts): real Worker,
 * real UDP sockets on 127.0.0.1, flows of the shared captures.
 * - What arrives: every record's Community ID, application and server name, as the flows had them
 *   (names travel to the Worker as pairs, not through the encoder test's FlowSide).
 * - Lossless mode (`flows --read`): a synchronous loop offering far more than the queue holds,
 *   never yielding, loses nothing: offer() waits for the Worker (shared-memory counter).
 * - Bounded mode (serve): offers beyond the queue are refused at once (the batcher counts them),
 *   except the final flush of shutdown, which waits for room; everything accepted is sent before
 *   close() returns.
 * - Nothing is transferred: batches are copied into a shared ring (wrapping at its end) and their
 *   own buffers handed straight back to the batcher.
 * - No collector listening: `flows --read` still exits 0 and counts the refused datagrams.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FileSource } from "../src/capture/file-source.ts";
import { EndReason, FlowColumns, KEY_WORDS, REC_U32, U_FLAGS } from "../src/flows/table/columns.ts";
import { FlowEngine } from "../src/flows/engine.ts";
import { communityId } from "../src/flows/table/community-id.ts";
import { toRecord } from "../src/flows/format/record.ts";
import { BATCH_FLOWS, type EndedBatch } from "../src/flows/sinks.ts";
import { FlowAnnotator } from "../src/l7/annotate.ts";
import { IpfixSink } from "../src/export/ipfix-sink.ts";
import { TEMPLATE_V4, TEMPLATE_V6 } from "../src/export/ipfix-templates.ts";
import { PCAPS } from "./shared-paths.ts";

const L7 = join(import.meta.dir, "..", "..", "shared", "pcaps-l7") + "/";
const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

/** A UDP receiver on 127.0.0.1 keeping every datagram. */
async function receiver() {
  const got: Uint8Array[] = [];
  const sock = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data: (_s, d) => void got.push(new Uint8Array(d)) } });
  return { port: sock.port, got, close: () => sock.close() };
}
const rx = await receiver();
afterAll(() => rx.close());

/** Ended flows of a few shared captures, copied into one column set. */
function seedFlows(): { cols: FlowColumns; n: number } {
  const cols = new FlowColumns(1 << 14);
  let n = 0;
  for (const f of ["ndpi__gnutella.pcap", "ndpi__quic.pcap", "zeek__communityid_icmp6.pcap"]) {
    const e = new FlowEngine({ recentEnded: 1, rates: false });
    e.onEnded((c, i) => cols.copyFrom(c, i, n++));
    new FileSource({ path: PCAPS + f }).readSync(e);
    e.finish();
  }
  return { cols, n };
}
const seed = seedFlows();

/** `count` flows (the seed's, repeated) as a batch of their own buffers; `shutdown`: its flows ended at stop. */
function batch(count: number, shutdown = false): EndedBatch {
  const c = new FlowColumns(count);
  for (let i = 0; i < count; i++) {
    c.copyFrom(seed.cols, i % seed.n, i);
    if (shutdown) {
      const o = i * REC_U32 + U_FLAGS;
      c.u32[o] = (c.u32[o]! & ~(0xf << 20)) | (EndReason.shutdown << 20);
    }
  }
  return { count, key: c.key.slice(0, count * KEY_WORDS), rec: c.f64.buffer.slice(0, count * 64) as ArrayBuffer };
}

/** Community ID, applicationName and serverName of every data record of a message. */
function records(m: Uint8Array): { cid: string; app: string; name: string }[] {
  const v = new DataView(m.buffer, m.byteOffset, m.length);
  const out: { cid: string; app: string; name: string }[] = [];
  const dec = new TextDecoder();
  for (let p = 16; p < m.length;) {
    const id = v.getUint16(p), len = v.getUint16(p + 2);
    if (id === TEMPLATE_V4 || id === TEMPLATE_V6) {
      for (let q = p + 4; q < p + len;) {
        q += id === TEMPLATE_V4 ? 69 : 93;
        const s: string[] = [];
        for (let k = 0; k < 3; k++) {
          let n = m[q++]!;
          if (n === 255) {
            n = v.getUint16(q);
            q += 2;
          }
          s.push(dec.decode(m.subarray(q, q + n)));
          q += n;
        }
        out.push({ cid: s[0]!, app: s[1]!, name: s[2]! });
      }
    }
    p += len;
  }
  return out;
}

test("through the Worker: every flow arrives with its Community ID, application and server name", async () => {
  const files = ["ndpi__tls_ech.pcapng", "ndpi__chrome.pcap", "ndpi__quic-v2.pcapng"].filter((f) => existsSync(L7 + f));
  expect(files.length).toBeGreaterThan(0);
  rx.got.length = 0;
  const want: { cid: string; app: string; name: string }[] = [];
  for (const f of files) {
    const before = want.length;
    const sink = await new IpfixSink({ host: "127.0.0.1", port: rx.port, domainId: 3 }, true).open();
    const e = new FlowEngine({ recentEnded: 1, rates: false, sinks: [sink] });
    const a = new FlowAnnotator(e, { ring: false });
    e.onEnded((c, i) => {
      const r = toRecord(c, i);
      want.push({ cid: communityId(c, i), app: r.app ?? "", name: r.server_name ?? "" });
    });
    a.attach();
    new FileSource({ path: L7 + f }).readSync(e);
    e.finish();
    await e.closeSinks();
    a.detach();
    expect(sink.stats()).toMatchObject({ flows: want.length - before, send_errors: 0, queued: 0, domain_id: 3 });
  }
  for (let i = 0; i < 50 && rx.got.flatMap(records).length < want.length; i++) await Bun.sleep(20);
  const got = rx.got.flatMap(records);
  expect(got).toEqual(want);
  expect(got.some((g) => g.app === "tls" && g.name !== "")).toBe(true);
});

test("lossless: a synchronous loop offering 16x the queue never drops; offer() waits for the Worker", async () => {
  const sink = await new IpfixSink({ host: "127.0.0.1", port: rx.port, domainId: 1, maxQueuedFlows: 4096 }, true).open();
  const batches = Array.from({ length: 64 }, () => batch(1024));
  let accepted = 0;
  for (const b of batches) if (sink.offer(b)) accepted += b.count; // no await: this thread takes no message meanwhile
  expect(accepted).toBe(64 * 1024);
  expect(sink.stats().queued).toBeLessThanOrEqual(4096);
  await sink.close();
  const st = sink.stats();
  expect(st.flows).toBe(64 * 1024);
  expect(st.queued).toBe(0);
  expect(st.send_errors).toBe(0);
  expect(st.messages).toBeGreaterThan((64 * 1024) / 14);
});

test("nothing is transferred: a batch's own buffers go straight back to the batcher, intact, and the ring wraps", async () => {
  const got: { key: Int32Array; rec: ArrayBuffer }[] = [];
  rx.got.length = 0;
  // A ring of 1,024 flows (the least): batches of 300 and 700 flows wrap around its end many times.
  const sink = new IpfixSink({ host: "127.0.0.1", port: rx.port, domainId: 1, maxQueuedFlows: 1024 }, true);
  sink.setRecycler((key, rec) => void got.push({ key, rec }));
  await sink.open();
  const sent: string[] = [];
  for (let k = 0; k < 12; k++) {
    const b = batch(k % 2 === 0 ? 300 : 700);
    const c = FlowColumns.wrap(b.key, b.rec);
    for (let j = 0; j < b.count; j++) sent.push(communityId(c, j));
    expect(sink.offer(b)).toBe(true);
    // Handed back during offer(), not detached: the batcher refills these very buffers.
    expect(got.at(-1)!.rec).toBe(b.rec);
    expect(got.at(-1)!.key).toBe(b.key);
    expect(b.rec.byteLength).toBe(b.count * 64);
    expect(FlowColumns.wrap(b.key, b.rec).id(b.count - 1)).toBe(c.id(b.count - 1));
    // Let the receiver (this thread) read before the next batch: UDP beyond its buffer is lost.
    while (sink.stats().queued > 0) await Bun.sleep(5);
    await Bun.sleep(20);
  }
  await sink.close();
  expect(sink.stats()).toMatchObject({ flows: sent.length, queued: 0, send_errors: 0 });
  // Every flow arrived once, in order, whole (its Community ID is computed from the copied key).
  for (let i = 0; i < 50 && rx.got.flatMap(records).length < sent.length; i++) await Bun.sleep(20);
  expect(rx.got.flatMap(records).map((r) => r.cid)).toEqual(sent);
});

test("bounded: offers beyond the queue are refused at once; the shutdown flush waits for room instead, and everything taken is sent", async () => {
  const sink = await new IpfixSink({ host: "127.0.0.1", port: rx.port, domainId: 1, maxQueuedFlows: 8192 }).open();
  let accepted = 0, refused = 0;
  for (let k = 0; k < 20; k++) {
    const b = batch(8192);
    if (sink.offer(b)) accepted += b.count;
    else refused += b.count;
  }
  expect(accepted).toBeGreaterThanOrEqual(8192);
  expect(refused).toBeGreaterThan(0);
  // The final flush at stop: three ring-fulls, each taken once the Worker has made room.
  for (let k = 0; k < 3; k++) {
    expect(sink.offer(batch(8192, true))).toBe(true);
    accepted += 8192;
    expect(sink.stats().queued).toBeLessThanOrEqual(8192);
  }
  await sink.close();
  expect(sink.stats()).toMatchObject({ flows: accepted, queued: 0, send_errors: 0 });
});

test("no collector listening: flows --read exits 0, every flow encoded, refused datagrams counted with the error", async () => {
  const probe = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  const port = probe.port;
  probe.close(); // nobody listens there now
  const p = Bun.spawn([process.execPath, MAIN, "flows", "--read", `${PCAPS}ndpi__gnutella.pcap`, "--format", "summary", "--export-ipfix", `127.0.0.1:${port}`], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect(code).toBe(0);
  const flows = (JSON.parse(out) as { flows: number }).flows;
  const m = /ipfix: (\d+) flows in (\d+) messages .* (\d+) send errors \(last: (.*)\)/.exec(err);
  expect(m).not.toBeNull();
  expect(Number(m![1])).toBe(flows);
  expect(Number(m![3])).toBeGreaterThan(0);
  expect(Number(m![3])).toBeLessThanOrEqual(Number(m![2]));
  expect(m![4]).toContain("ECONNREFUSED");
  expect(err).not.toContain("NOT exported");
});

test("flows --format summary inspects payloads only for a reader: alone none (no hook_bytes), with --export-ipfix the records carry json's apps and names", async () => {
  const file = L7 + "ndpi__chrome.pcap";
  expect(existsSync(file)).toBe(true);
  const cli = async (args: string[]) => {
    const p = Bun.spawn([process.execPath, MAIN, "flows", "--read", file, ...args], { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(code).toBe(0);
    return { out, err };
  };
  const alone = JSON.parse((await cli(["--format", "summary"])).out) as { flows: number; hook_bytes?: number };
  expect(alone.hook_bytes).toBeUndefined();
  const json = JSON.parse((await cli(["--format", "json"])).out) as { flows: { community_id: string; app: string | null; server_name: string | null }[]; stats: { flows: number; hook_bytes?: number } };
  expect(json.stats.hook_bytes).toBeGreaterThan(0);
  expect(json.stats.flows).toBe(alone.flows);
  rx.got.length = 0;
  const exp = await cli(["--format", "summary", "--export-ipfix", `127.0.0.1:${rx.port}`]);
  const withExport = JSON.parse(exp.out) as { flows: number; hook_bytes?: number };
  expect(withExport.hook_bytes).toBeGreaterThan(0);
  expect(exp.err).toContain(`ipfix: ${alone.flows} flows in `);
  for (let i = 0; i < 50 && rx.got.flatMap(records).length < alone.flows; i++) await Bun.sleep(20);
  const got = rx.got.flatMap(records).sort((a, b) => a.cid.localeCompare(b.cid));
  const want = json.flows.map((f) => ({ cid: f.community_id, app: f.app ?? "", name: f.server_name ?? "" })).sort((a, b) => a.cid.localeCompare(b.cid));
  expect(got).toEqual(want);
  expect(got.filter((g) => g.app === "tls" && g.name !== "").length).toBeGreaterThan(5);
});
