/**
 * ExportCursor and the Selector's page ordering on a real table (a shared capture read into a
 * FlowEngine: live flows and recently ended ones).
 *
 * - Still table: the cursor, stepped in small slices and read in small pages, yields exactly the
 *   page selectFlows gives, which equals an independent sort of every record (sort key, then id),
 *   for several keys, both orders, offsets and limits (the page is ordered by popping the heap).
 * - Moving table: flows that end after the snapshot are read from the recently-ended list (same
 *   id, end reason set); flows created after it are not in the export; no id twice.
 * - Raw pages (ExportRows / exportBatchRecords, what the engine Worker sends the server thread):
 *   the records made from them on a thread without the engine's extras resolver and origin table
 *   equal the engine's own records (apps, names, countries, NetFlow exporters included).
 */
import { describe, expect, test } from "bun:test";
import { FileSource } from "../../capture/file-source.ts";
import { PCAPS } from "../../../test/shared-paths.ts";
import { FlowEngine } from "../engine.ts";
import { ExportCursor, ExportRows, exportBatchRecords, type ExportBatch } from "./export-cursor.ts";
import { FlowAnnotator } from "../../l7/annotate.ts";
import { ExporterRegistry } from "../../collect/exporters.ts";
import { CollectedFlow } from "../../collect/flow-record.ts";
import { clearOrigins } from "../../collect/origins.ts";
import type { FlowQuery, SortKey } from "./flow-query.ts";
import { compileScan } from "./query-compile.ts";
import { parseQuery } from "./query.ts";
import { toRecord, type FlowRecord } from "../format/record.ts";
import { selectFlows } from "./select.ts";

function engine(): FlowEngine {
  const e = new FlowEngine({ recentEnded: 100_000 });
  new FileSource({ path: `${PCAPS}ndpi__gnutella.pcap` }).readSync(e);
  return e;
}

const q = (o: Partial<FlowQuery> & { text?: string } = {}): FlowQuery => ({
  query: parseQuery(o.text ?? ""), state: "all", sortBy: "bytes", order: "desc", offset: 0, limit: 100, ...o,
});

/** Every record of the table and the ring, as the independent reference. */
function allRecords(e: FlowEngine): FlowRecord[] {
  const out: FlowRecord[] = [];
  e.table.forEach((c, i) => void out.push(toRecord(c, i)));
  e.recent.forEach((c, i) => void out.push(toRecord(c, i)));
  return out;
}

const VALUE: Partial<Record<SortKey, (r: FlowRecord) => number>> = {
  bytes: (r) => r.bytes, packets: (r) => r.packets, src_port: (r) => r.src_port, dst_port: (r) => r.dst_port, protocol: (r) => r.proto_num,
};

function readAll(cur: ExportCursor, pageSize: number): number[] {
  const ids: number[] = [];
  while (!cur.done) for (const r of cur.next(pageSize)) ids.push(r.id);
  return ids;
}

describe("still table", () => {
  const e = engine();
  const all = allRecords(e);
  test("the capture gives live and ended flows", () => {
    expect(e.table.count).toBeGreaterThan(20);
    expect(e.recent.size).toBeGreaterThan(100);
  });

  for (const key of Object.keys(VALUE) as SortKey[]) {
    for (const order of ["desc", "asc"] as const) {
      test(`${key} ${order}: cursor pages = selectFlows = an independent sort`, () => {
        const val = VALUE[key]!;
        const sign = order === "desc" ? -1 : 1;
        const ref = [...all].sort((a, b) => sign * (val(a) - val(b)) || a.id - b.id).map((r) => r.id);
        for (const [offset, limit] of [[0, 100], [0, 1_000_000], [37, 250], [all.length - 5, 100], [all.length + 3, 10], [0, 0]] as const) {
          const query = q({ sortBy: key, order, offset, limit });
          const want = ref.slice(offset, offset + limit);
          expect(selectFlows(e.table, e.recent, compileScan(query.query), query).records.map((r) => r.id)).toEqual(want);
          const cur = new ExportCursor(e.table, e.recent, compileScan(query.query), query);
          let steps = 0;
          while (!cur.step(97)) steps++;
          if (want.length > 50) expect(steps).toBeGreaterThan(5); // it was sliced
          expect(cur.size).toBe(want.length);
          expect(readAll(cur, 33)).toEqual(want);
        }
      });
    }
  }

  test("a filter and state=active / ended select from the table or the ring only", () => {
    for (const state of ["active", "ended"] as const) {
      const query = q({ text: "protocol:udp", state, limit: 1_000_000 });
      const want = all.filter((r) => r.proto === "udp" && r.active === (state === "active")).map((r) => r.id);
      const cur = new ExportCursor(e.table, e.recent, compileScan(query.query), query);
      while (!cur.step(64));
      expect(readAll(cur, 10).sort((a, b) => a - b)).toEqual(want.sort((a, b) => a - b));
    }
  });
});

test("moving table: flows that end after the snapshot come from the ring, new flows are not exported", () => {
  const e = engine();
  const query = q({ state: "active", limit: 1_000_000 });
  const cur = new ExportCursor(e.table, e.recent, compileScan(query.query), query);
  while (!cur.step(128));
  const live = new Set<number>();
  e.table.forEach((c, i) => void live.add(c.id(i)));
  expect(cur.size).toBe(live.size);
  const first = cur.next(10).map((r) => r.id);
  // Every live flow ends now (idle far past its timeout): they move to the recently-ended ring.
  e.advance(e.now + 10_000);
  e.advance(e.now + 1);
  expect(e.table.count).toBe(0);
  // A new flow after the snapshot (a packet of the same capture, replayed later) is not in the export.
  new FileSource({ path: `${PCAPS}ndpi__gnutella.pcap` }).readSync(e);
  const created = new Set<number>();
  e.table.forEach((c, i) => void created.add(c.id(i)));
  expect(created.size).toBeGreaterThan(0);
  const rest = readAll(cur, 50);
  const ids = [...first, ...rest];
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.sort((a, b) => a - b)).toEqual([...live].sort((a, b) => a - b));
  for (const id of created) expect(live.has(id)).toBe(false);
});

test("a flow that ends while the snapshot is taken (seen live, then again in the ring) is exported once", () => {
  const e = engine();
  const query = q({ state: "all", limit: 1_000_000 });
  const before = new Set<number>();
  e.table.forEach((c, i) => void before.add(c.id(i)));
  e.recent.forEach((c, i) => void before.add(c.id(i)));
  const cur = new ExportCursor(e.table, e.recent, compileScan(query.query), query);
  // The live table's slots in one step: the ring is still to be scanned.
  expect(cur.step(e.table.hwm)).toBe(false);
  // Every live flow ends now: the ring step will see them again.
  e.advance(e.now + 10_000);
  e.advance(e.now + 1);
  expect(e.table.count).toBe(0);
  while (!cur.step(128));
  const ids = readAll(cur, 50);
  expect(ids.length).toBe(before.size);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.sort((a, b) => a - b)).toEqual([...before].sort((a, b) => a - b));
});

test("raw pages (nextBatch, as the engine Worker sends them) make the same records on a thread without the engine's extras or origins", () => {
  // Application, names and country from the annotator; 2,500 flows from two NetFlow exporters (origins),
  // so a page grows past its first 2,048 rows.
  const e = new FlowEngine({ recentEnded: 100_000 });
  const annotator = new FlowAnnotator(e, {});
  annotator.attach();
  new FileSource({ path: `${PCAPS}ndpi__sites.pcapng` }).readSync(e);
  const reg = new ExporterRegistry();
  const origins = [reg.exporter("192.0.2.1")!.domain(7, e.now)!.origin, reg.exporter("2001:db8::9")!.domain(0, e.now)!.origin];
  for (let k = 1; k <= 2500; k++) {
    const f = new CollectedFlow();
    f.src[0] = 0x0b000000 + k; f.dst[0] = 0x0a000002; f.proto = 17; f.sport = 1000; f.dport = 53;
    f.first = e.now; f.last = e.now + 1; f.packets = 3; f.bytes = 100 + k;
    e.table.addRecord(f, origins[k % 2]!);
  }
  const query = q({ limit: 1_000_000 });
  const a = new ExportCursor(e.table, e.recent, compileScan(query.query), query);
  const b = new ExportCursor(e.table, e.recent, compileScan(query.query), query);
  while (!a.step(500));
  while (!b.step(500));
  const want: FlowRecord[] = [];
  while (!a.done) want.push(...a.next(37));
  expect(want.some((r) => r.app !== null)).toBe(true);
  const collected = want.filter((r) => r.source === "netflow");
  expect(collected.length).toBe(2500);
  expect(new Set(collected.map((r) => `${r.exporter}/${r.exporter_domain}`))).toEqual(new Set(["192.0.2.1/7", "2001:db8::9/0"]));
  const batches: ExportBatch[] = [];
  while (!b.done) {
    const rows = new ExportRows(3000); // grows past its first 2,048 rows
    while (!rows.full && !b.done) b.nextBatch(Math.min(41, 3000 - rows.count), rows);
    batches.push(structuredClone(rows.batch()));
  }
  // The receiving thread: no extras resolver, no origin table.
  annotator.detach();
  clearOrigins();
  expect(batches.flatMap((x) => exportBatchRecords(x))).toEqual(want);
});
