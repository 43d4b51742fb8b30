import { expect, test } from "bun:test";
import { FlowTable } from "../table/table.ts";
import { findScans, ScanDetector } from "./scan.ts";
import { pkt } from "../test-packets.ts";

function tcp(t: FlowTable, src: string, sport: number, dst: string, dport: number, flags: number, ts: number) {
  t.add(pkt(src, sport, dst, dport, 6, flags), ts, 60);
}

function table(): FlowTable {
  const t = new FlowTable();
  // A port scan: 120 SYNs to different ports of one host; 30 refused (RST-ACK), the rest unanswered.
  for (let n = 0; n < 120; n++) {
    tcp(t, "10.9.9.9", 40000 + n, "10.0.0.1", 1 + n, 2, 1);
    if (n < 30) tcp(t, "10.0.0.1", 1 + n, "10.9.9.9", 40000 + n, 20, 1.01);
  }
  // An address sweep from another source: 25 hosts, port 22.
  for (let n = 0; n < 25; n++) tcp(t, "10.8.8.8", 50000 + n, `10.0.1.${n}`, 22, 2, 1);
  // A busy but normal client: 40 answered connections.
  for (let n = 0; n < 40; n++) {
    tcp(t, "10.7.7.7", 30000 + n, "10.0.0.2", 443, 2, 1);
    tcp(t, "10.0.0.2", 443, "10.7.7.7", 30000 + n, 18, 1.01);
  }
  // A few unanswered attempts: below the threshold.
  for (let n = 0; n < 5; n++) tcp(t, "10.6.6.6", 20000 + n, "10.0.0.3", 80 + n, 2, 1);
  return t;
}

test("scan detection reports the port scan and the address sweep, not normal or sparse sources", () => {
  const found = findScans(table());
  expect(found).toEqual([
    { src_ip: "10.9.9.9", attempts: 120, unanswered: 90, dst_hosts: 1, dst_ports: 120 },
    { src_ip: "10.8.8.8", attempts: 25, unanswered: 25, dst_hosts: 25, dst_ports: 1 },
  ]);
});

test("a pass in small slices gives the same result as one pass", () => {
  const t = table();
  const d = new ScanDetector();
  d.begin();
  let slices = 0;
  while (d.step(t, 7)) slices++;
  expect(slices).toBeGreaterThan(20);
  expect(d.result).toEqual(findScans(t));
});
