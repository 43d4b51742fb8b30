/**
 * The names' string table between the IPFIX sink and its Worker: ids on one side resolve to the
 * same strings on the other, across batches (a name is sent once) and across the table's restart
 * at MAX_NAMES distinct names.
 */
import { expect, test } from "bun:test";
import { SIDE_STRS, type FlowSideData } from "../flows/table/extras.ts";
import { MAX_NAMES, NameInterner, NameTable, type ExportBatch } from "./ipfix-protocol.ts";

function side(names: [string | null, string | null][]): FlowSideData {
  const strs = new Array<string | null>(names.length * SIDE_STRS).fill(null);
  names.forEach(([app, name], j) => {
    strs[j * SIDE_STRS] = app;
    strs[j * SIDE_STRS + 1] = app === null ? null : "payload"; // app_source: never exported
    strs[j * SIDE_STRS + 2] = name;
  });
  return { count: names.length, asn: new Float64Array(names.length * 3), strs };
}

function batch(ni: NameInterner, s: FlowSideData): ExportBatch {
  return { count: s.count, at: 0, ...ni.intern({ side: s }, s.count), ...ni.take() };
}

test("ids resolve to the same names on the Worker's side, each string sent once, across the restart at MAX_NAMES", () => {
  const ni = new NameInterner(), table = new NameTable();
  let sent = 0, named = 0;
  const per = 4096;
  // Enough distinct server names to pass MAX_NAMES twice; apps repeat.
  for (let k = 0; k < Math.ceil((2.5 * MAX_NAMES) / per); k++) {
    const names: [string | null, string | null][] = [];
    for (let j = 0; j < per; j++) names.push([j % 3 === 0 ? null : ["tls", "dns", "http"][j % 3]!, j % 5 === 0 ? null : `h${k * per + j}.example`]);
    const b = batch(ni, side(names));
    sent += b.strings.length;
    named += names.filter(([, n]) => n !== null).length;
    const src = table.update(b)!;
    names.forEach(([app, name], j) => {
      expect(src.app(j)).toBe(app);
      expect(src.serverName(j)).toBe(name);
    });
  }
  // Every distinct server name once (all are distinct here); applications travel as ids, never as strings.
  expect(sent).toBe(named);
});

test("a batch without any name carries no ids", () => {
  const ni = new NameInterner(), table = new NameTable();
  const b = batch(ni, side([[null, null], [null, null]]));
  expect(b.names).toBeNull();
  expect(b.strings).toEqual([]);
  expect(table.update(b)).toBeNull();
});
