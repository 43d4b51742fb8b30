/**
 * softflowd (Debian package) → our collector on 127.0.0.1, compared with our own capture of the
 * same file. softflowd reads the capture (`-r`, times of the file: `-a`) and exports NetFlow v5, v9
 * or IPFIX (`-v 5|9|10`; `-b`: IPFIX biflow records) to a NetflowCollector bound to a free port;
 * the records go into a FlowTable through addRecord (pairing), as in serve.
 *
 * What must match (README "NetFlow/IPFIX collector", differences):
 * - records received = the records softflowd says it exported, no decode error;
 * - flows after pairing = softflowd's own flow count (it tracks flows bidirectionally and exports
 *   one record per direction): unidirectional records are paired back into exactly its flows;
 * - per conversation, packets and bytes per direction = our capture's packets and IP bytes
 *   (NetFlow counts IP total length; our `bytes` are wire bytes, link header included);
 * - first/last times within 2 ms (v5: uptime in ms against a header time cut to ms; IPFIX:
 *   systemInitTime + uptime ms, both cut to ms), within 1 s for v9 (its header time has no
 *   sub-second part);
 * - v5 carries IPv4 only (softflowd leaves IPv6 out);
 * - times are not compared for a capture spanning more than 24.8 days (uptime fields are ms
 *   modulo 2^32: the collector takes the reading nearest the export time, right for routers,
 *   wrong for a year-long file flushed at its end);
 * - flow counts differ from our capture by softflowd's rules: reading a file it never expires a flow
 *   by time (every flow is "flushed" at the end), so a conversation with a silence longer than our
 *   idle timeout (60 s) is one softflowd flow and several of ours (ndpi__gnutella: 760 vs 1045).
 */
import { describe, expect, test } from "bun:test";
import { NetflowCollector } from "../src/collect/collector.ts";
import { FlowTable } from "../src/flows/table/table.ts";
import { FlowEngine } from "../src/flows/engine.ts";
import { FileSource } from "../src/capture/file-source.ts";
import { captureConversations, softflowd, softflowdExported, tableConversations, type Conv } from "./collect-helpers.ts";
import { PCAPS } from "./shared-paths.ts";

const CAPTURES = ["zeek__wikipedia.pcap", "zeek__communityid_icmp.pcap", "ndpi__quic.pcap", "ndpi__KakaoTalk_talk.pcap", "ndpi__gnutella.pcap"];

/** Captures spanning more than 24.8 days: their uptime-based times are ambiguous (see compare). */
const LONG_SPAN = new Set(["ndpi__quic.pcap"]);

async function collect(pcap: string, version: 5 | 9 | 10, extra: string[] = []) {
  const table = new FlowTable({});
  const collector = new NetflowCollector({ host: "127.0.0.1", port: 0, onFlow: (f, origin) => table.addRecord(f, origin) });
  await collector.start();
  try {
    const out = await softflowd(collector, pcap, version, extra);
    return { table, stats: collector.stats(), exported: softflowdExported(out) };
  } finally {
    collector.stop();
  }
}

/** softflowd's flows beyond ours: an ICMP echo conversation is two of its flows (request 8/0, reply 0/0; ICMPv6 128/129). */
function icmpExtra(t: FlowTable): number {
  let n = 0;
  t.forEach((c, i) => {
    const p = c.proto(i);
    if ((p === 1 || p === 58) && c.dirPackets(i, 0) > 0 && c.dirPackets(i, 1) > 0) n++;
  });
  return n;
}

function compare(ours: Map<string, Conv>, got: Map<string, Conv>, v4only: boolean, timeTolerance: number): void {
  let compared = 0;
  for (const [k, o] of ours) {
    if (v4only && k.includes(":")) {
      expect(got.has(k)).toBe(false);
      continue;
    }
    const g = got.get(k);
    expect(g, k).toBeDefined();
    expect({ k, packets: g!.packets, bytes: g!.bytes }).toEqual({ k, packets: o.packets, bytes: o.ipBytes });
    if (timeTolerance >= 0) {
      expect(Math.abs(g!.first - o.first), `${k} first`).toBeLessThanOrEqual(timeTolerance);
      expect(Math.abs(g!.last - o.last), `${k} last`).toBeLessThanOrEqual(timeTolerance);
    }
    compared++;
  }
  for (const k of got.keys()) expect(ours.has(k), `collected conversation ${k} not in our capture`).toBe(true);
  expect(compared).toBeGreaterThan(0);
}

describe("softflowd → collector, against our capture of the same file", () => {
  for (const file of CAPTURES) {
    test(file, async () => {
      const ours = await captureConversations(PCAPS + file);
      const v4 = [...ours.keys()].filter((k) => !k.includes(":")).length;
      for (const [version, extra, tolerance] of [[5, [], 0.0021], [9, [], 1.001], [10, [], 0.0021], [10, ["-b"], 0.0021]] as const) {
        const { table, stats, exported } = await collect(PCAPS + file, version, [...extra]);
        const what = `${file} v${version}${extra.join("")}`;
        expect(stats.errors, what).toBe(0);
        expect(stats.records, what).toBe(exported.records);
        expect(stats.packets, what).toBe(exported.packets);
        expect(stats.exporters.map((e) => e.address)).toEqual(["127.0.0.1"]);
        expect(stats.exporters[0]!.versions).toEqual([version]);
        // Paired back into softflowd's own flows: one per conversation (it flushes each at the end of
        // the file), except ICMP, which softflowd keys by type and code (an echo request and its
        // reply are two of its flows) and we pair into one ports-0 flow per host pair.
        expect(table.created, what).toBe(version === 5 ? v4 : ours.size);
        if (version !== 5) expect(exported.flows, what).toBe(ours.size + icmpExtra(table));
        if ((extra as readonly string[]).includes("-b")) expect(stats.records, what).toBe(exported.flows); // biflow: one record per flow
        // Uptime-based times (v5, v9, IPFIX 21/22) are milliseconds modulo 2^32 (49.7 days): a capture
        // spanning more than that (ndpi__quic.pcap: a year) cannot be exported with its times.
        compare(ours, tableConversations(table), version === 5, LONG_SPAN.has(file) ? -1 : tolerance);
      }
    }, 60_000);
  }

  test("flow counts differ by softflowd's rules: no time-based expiry when reading a file (documented figures)", async () => {
    const engine = new FlowEngine({ rates: false });
    await new FileSource({ path: `${PCAPS}ndpi__gnutella.pcap` }).start(engine);
    const { table } = await collect(`${PCAPS}ndpi__gnutella.pcap`, 10);
    expect(engine.table.created).toBe(1045); // our idle timeout (60 s) splits long-silent UDP conversations
    expect(table.created).toBe(760); // softflowd: one flow per conversation, flushed at the end
  }, 60_000);

  test("an announced sampling rate (softflowd -s 4) scales the counts and is shown per exporter", async () => {
    const ours = await captureConversations(`${PCAPS}ndpi__gnutella.pcap`);
    let truePackets = 0;
    for (const c of ours.values()) truePackets += c.packets[0] + c.packets[1];
    for (const version of [5, 9, 10] as const) {
      const { table, stats } = await collect(`${PCAPS}ndpi__gnutella.pcap`, version, ["-s", "4"]);
      const e = stats.exporters[0]!;
      expect(e.sampling_rate).toBe(4);
      let packets = 0;
      table.forEach((c, i) => {
        expect(c.packets(i) % 4).toBe(0);
        packets += c.packets(i);
      });
      expect(packets).toBe(e.flow_packets);
      // 1-in-4 systematic sampling: the scaled total estimates the true count (IPv4 only in v5).
      expect(packets).toBeGreaterThan(truePackets * (version === 5 ? 0.5 : 0.8));
      expect(packets).toBeLessThan(truePackets * 1.2);
    }
  }, 60_000);
});
