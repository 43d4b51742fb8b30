/**
 * selectFlows with sort_by=bytes takes the fused scan (compileTopScan: the heap's entry test inside
 * the generated loop). Checked on real captures (live flows and recently ended ones) against an
 * independent reference: the plain predicate (compileQuery) over every slot, then a full sort of
 * the records by bytes and id. Filters of every kind, both orders, limits small enough that the
 * entry limit rejects most matches (and limits past the end), and the total of matches.
 */
import { describe, expect, test } from "bun:test";
import { FileSource } from "../../capture/file-source.ts";
import { PCAPS } from "../../../test/shared-paths.ts";
import { FlowEngine } from "../engine.ts";
import type { FlowQuery } from "./flow-query.ts";
import { compileQuery, compileScan } from "./query-compile.ts";
import { parseQuery } from "./query.ts";
import { toRecord, type FlowRecord } from "../format/record.ts";
import { selectFlows } from "./select.ts";

function engine(pcap: string): FlowEngine {
  const e = new FlowEngine({ recentEnded: 100_000 });
  new FileSource({ path: `${PCAPS}${pcap}` }).readSync(e);
  return e;
}

/** Matching records of the table (unless ended) and the ring (unless active), by the plain predicate. */
function reference(e: FlowEngine, text: string, state: FlowQuery["state"]): FlowRecord[] {
  const pred = compileQuery(parseQuery(text));
  const out: FlowRecord[] = [];
  if (state !== "ended") e.table.forEach((c, i) => void (pred(c, i) && out.push(toRecord(c, i))));
  if (state !== "active") e.recent.forEach((c, i) => void (pred(c, i) && out.push(toRecord(c, i))));
  return out;
}

const FILTERS = ["", "proto:udp", "-proto:tcp", "port:53", "bytes>=1000", "bytes<=200", "packets>2 -proto:udp", "state:established", "ip_version:6", "proto:tcp port:80-443"];

for (const pcap of ["ndpi__gnutella.pcap", "zeek__wikipedia.pcap", "ndpi__sites.pcapng"]) {
  describe(`sort_by=bytes on ${pcap}: the fused scan = filter, then an independent sort`, () => {
    const e = engine(pcap);
    test("the capture gives live and ended flows", () => {
      expect(e.table.count + e.recent.size).toBeGreaterThan(20);
    });
    for (const text of FILTERS) {
      test(`"${text}"`, () => {
        for (const state of ["all", "active", "ended"] as const) {
          const all = reference(e, text, state);
          for (const order of ["desc", "asc"] as const) {
            const sign = order === "desc" ? -1 : 1;
            const want = [...all].sort((a, b) => sign * (a.bytes - b.bytes) || a.id - b.id).map((r) => r.id);
            for (const [offset, limit] of [[0, 1], [0, 10], [5, 20], [0, 1_000_000], [all.length + 1, 5]] as const) {
              const query: FlowQuery = { query: parseQuery(text), state, sortBy: "bytes", order, offset, limit };
              const got = selectFlows(e.table, e.recent, compileScan(query.query), query);
              expect(got.total).toBe(all.length);
              expect(got.records.map((r) => r.id)).toEqual(want.slice(offset, offset + limit));
            }
          }
        }
      });
    }
  });
}
