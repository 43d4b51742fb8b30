/**
 * The IPFIX encoder's message rules on real flows (the shared captures): every message ≤ 1400 bytes
 * (or the configured size), lengths consistent down to each set, sequence number = data records
 * sent before the message, templates first and again after the refresh interval, observation
 * domain in every header. (What a real collector makes of the records: ipfix-nfdump.test.ts.)
 */
import { expect, test } from "bun:test";
import { FileSource } from "../src/capture/file-source.ts";
import { FlowColumns } from "../src/flows/table/columns.ts";
import { FlowEngine } from "../src/flows/engine.ts";
import { IpfixEncoder } from "../src/export/ipfix-encoder.ts";
import { TEMPLATE_V4, TEMPLATE_V6 } from "../src/export/ipfix-templates.ts";
import { PCAPS } from "./shared-paths.ts";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { communityId } from "../src/flows/table/community-id.ts";
import { FlowSide } from "../src/flows/table/extras.ts";
import { toRecord } from "../src/flows/format/record.ts";
import type { EndedFlowSink } from "../src/flows/sinks.ts";
import { FlowAnnotator } from "../src/l7/annotate.ts";

const L7 = join(import.meta.dir, "..", "..", "shared", "pcaps-l7") + "/";

function endedFlows(): { cols: FlowColumns; n: number } {
  const cols = new FlowColumns(1 << 13);
  let n = 0;
  for (const f of ["ndpi__gnutella.pcap", "zeek__communityid_icmp6.pcap"]) {
    const e = new FlowEngine({ recentEnded: 1, rates: false });
    e.onEnded((c, i) => cols.copyFrom(c, i, n++));
    new FileSource({ path: PCAPS + f }).readSync(e);
    e.finish();
  }
  return { cols, n };
}

test("messages: size bound, set lengths, sequence numbers, domain, template refresh", () => {
  const { cols, n } = endedFlows();
  let clock = 1_000_000;
  for (const max of [1400, 576]) {
    const enc = new IpfixEncoder({ domainId: 0xdeadbeef, maxMessage: max, templateRefreshSec: 60, now: () => clock });
    const msgs: Uint8Array[] = [];
    const half = n >> 1;
    enc.encode(cols, 0, half, (m) => msgs.push(m));
    clock += 61_000; // past the refresh interval: the next encode starts with the templates again
    enc.encode(cols, half, n, (m) => msgs.push(m));
    let records = 0, templates = 0, v6 = 0;
    for (const m of msgs) {
      const v = new DataView(m.buffer, m.byteOffset, m.length);
      expect(v.getUint16(0)).toBe(10);
      expect(v.getUint16(2)).toBe(m.length);
      expect(m.length).toBeLessThanOrEqual(max);
      expect(v.getUint32(8)).toBe(records); // data records sent before this message
      expect(v.getUint32(12)).toBe(0xdeadbeef);
      let p = 16;
      while (p < m.length) {
        const id = v.getUint16(p), len = v.getUint16(p + 2);
        expect(len).toBeGreaterThan(4);
        if (id === 2) templates++;
        else {
          expect([TEMPLATE_V4, TEMPLATE_V6]).toContain(id);
          // Walk the records: fixed part, then the 1-byte length of the Community ID string, then
          // applicationName and serverName (empty here: no extras given).
          let q = p + 4;
          while (q < p + len) {
            const fixed = id === TEMPLATE_V4 ? 69 : 93;
            const cl = m[q + fixed]!;
            const cid = new TextDecoder().decode(m.subarray(q + fixed + 1, q + fixed + 1 + cl));
            expect(cid).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
            q += fixed + 1 + cl;
            expect([m[q], m[q + 1]]).toEqual([0, 0]);
            q += 2;
            records++;
            if (id === TEMPLATE_V6) v6++;
          }
          expect(q).toBe(p + len);
        }
        p += len;
      }
      expect(p).toBe(m.length);
    }
    expect(records).toBe(n);
    expect(v6).toBeGreaterThan(0);
    expect(templates).toBe(2); // at start and after the refresh interval
    expect(msgs[0]!.length).toBeLessThan(400); // the first message is the template set alone
  }
});

test("applicationName (IANA 96) and serverName (enterprise 32473/2) carry each flow's app and server name", async () => {
  const records: { app: string | null; server_name: string | null; cid: string }[] = [];
  const got: { app: string; name: string; cid: string }[] = [];
  const enc = new IpfixEncoder({ domainId: 1 });
  const sink: EndedFlowSink = {
    name: "test",
    offer: (b) => {
      enc.encode(FlowColumns.wrap(b.key, b.rec), 0, b.count, (m) => got.push(...dataRecords(m)), b.side ? FlowSide.fromData(b.side) : null);
      return true;
    },
  };
  for (const f of ["ndpi__tls_ech.pcapng", "ndpi__wireguard.pcap", "ndpi__chrome.pcap", "ndpi__quic-v2.pcapng"].filter((x) => existsSync(L7 + x))) {
    const e = new FlowEngine({ recentEnded: 1, rates: false, sinks: [sink] });
    const a = new FlowAnnotator(e, { ring: false });
    e.onEnded((c, i) => void records.push({ ...toRecord(c, i), cid: communityId(c, i) }));
    a.attach();
    new FileSource({ path: L7 + f }).readSync(e);
    e.finish();
    await e.closeSinks();
    a.detach();
  }
  expect(records.length).toBeGreaterThan(0);
  expect(got.map((g) => [g.cid, g.app, g.name])).toEqual(records.map((r) => [r.cid, r.app ?? "", r.server_name ?? ""]));
  expect(got.some((g) => g.app === "tls" && g.name !== "")).toBe(true);
});

/** Community ID, applicationName, serverName of every data record of a message (templates of ipfix-templates.ts). */
function dataRecords(m: Uint8Array): { app: string; name: string; cid: string }[] {
  const v = new DataView(m.buffer, m.byteOffset, m.length);
  const out: { app: string; name: string; cid: string }[] = [];
  const dec = new TextDecoder();
  let p = 16;
  while (p < m.length) {
    const id = v.getUint16(p), len = v.getUint16(p + 2);
    if (id !== 2) {
      let q = p + 4;
      while (q < p + len) {
        q += id === TEMPLATE_V4 ? 69 : 93;
        const strs: string[] = [];
        for (let k = 0; k < 3; k++) {
          let n = m[q++]!;
          if (n === 255) { n = v.getUint16(q); q += 2; }
          strs.push(dec.decode(m.subarray(q, q + n)));
          q += n;
        }
        out.push({ cid: strs[0]!, app: strs[1]!, name: strs[2]! });
      }
    }
    p += len;
  }
  return out;
}
