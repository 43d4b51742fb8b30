/**
 * The IPFIX encoder's message rules on real flows (the shared captures): every message ≤ 1400 bytes
 * (or the configured size), lengths consistent down to each set, sequence number = data records
 * sent before the message, templates first and again after the refresh interval, observation
 * domain in every header. (What a real collector makes of the records: ipfix-nfdump.test.ts.)
 */
import { expect, test } from "bun:test";
import { FileSource } from "../src/capture/file-source.ts";
import { FlowColumns } from "../src/flows/columns.ts";
import { FlowEngine } from "../src/flows/engine.ts";
import { IpfixEncoder } from "../src/export/ipfix-encoder.ts";
import { TEMPLATE_V4, TEMPLATE_V6 } from "../src/export/ipfix-templates.ts";
import { PCAPS } from "./shared-paths.ts";

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
          // Walk the records: fixed part, then the 1-byte length of the Community ID string.
          let q = p + 4;
          while (q < p + len) {
            const fixed = id === TEMPLATE_V4 ? 69 : 93;
            const cl = m[q + fixed]!;
            const cid = new TextDecoder().decode(m.subarray(q + fixed + 1, q + fixed + 1 + cl));
            expect(cid).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
            q += fixed + 1 + cl;
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
