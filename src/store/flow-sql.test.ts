import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { compileScan } from "../flows/query/query-compile.ts";
import { parseQuery, type QueryNode } from "../flows/query/query.ts";
import { FlowStore } from "./flow-store.ts";
import { queryToSql } from "./flow-sql.ts";
import { columnsOf } from "./synthetic-flows.ts";
import { tempDir } from "./test-dir.ts";
import { QUERIES, variedFlows } from "./test-specs.ts";

const N = 4000;
const specs = variedFlows(N, 21);
const cols = columnsOf(specs);
const t = tempDir();
const store = new FlowStore({ path: join(t.dir, "q.db"), pruneIntervalMs: 0, segmentRows: 1500 });

beforeAll(() => {
  store.start();
  expect(store.insertColumns(cols, N)).toBe(N);
});
afterAll(() => {
  store.stop();
  t.cleanup();
});

function liveIds(node: QueryNode): number[] {
  const out = new Uint32Array(N);
  const n = compileScan(node)(cols, 0, N, out, false);
  return Array.from(out.subarray(0, n), (i) => cols.id(i)).sort((a, b) => a - b);
}

function storedIds(node: QueryNode): { ids: number[]; total: number } {
  const page = store.queryFlows({ query: node, sortBy: "bps", order: "asc", offset: 0, limit: N });
  return { ids: page.records.map((r) => r.id), total: page.total };
}



describe("stored queries match the live predicate (compileScan) on the same flows", () => {
  test(`${QUERIES.length} queries`, () => {
    expect(QUERIES.length).toBeGreaterThanOrEqual(40);
    let nonTrivial = 0;
    for (const q of QUERIES) {
      const node = parseQuery(q);
      const want = liveIds(node);
      const got = storedIds(node);
      if (want.length > 0 && want.length < N) nonTrivial++;
      expect({ q, ids: got.ids, total: got.total }).toEqual({ q, ids: want, total: want.length });
    }
    // the table is meaningful: most queries select a proper subset
    expect(nonTrivial).toBeGreaterThan(QUERIES.length * 0.75);
  });
});

describe("no query text reaches SQL", () => {
  const attempts = [
    `src_ip:"1.2.3.4'; DROP TABLE segments; --"`,
    `protocol:"tcp' OR '1'='1"`,
    `state:"established') OR 1=1 --"`,
    `vlan:"1; DELETE FROM flows_1"`,
    `bytes>"1 OR 1=1"`,
    `port:"80) UNION SELECT * FROM sqlite_master --"`,
    `ip:"::1'/*"`,
  ];
  test("injection attempts are refused by the grammar", () => {
    for (const q of attempts) expect(() => parseQuery(q)).toThrow();
  });

  test("hand-built ASTs with hostile values are refused or bound as parameters; the data is intact", () => {
    const hostile: QueryNode[] = [
      { kind: "proto", proto: "6 OR 1=1" as unknown as number },
      { kind: "cmp", field: "bytes", op: ">", value: "0; DROP TABLE segments" as unknown as number },
      { kind: "cmp", field: "bytes; DROP TABLE segments" as never, op: ">", value: 1 },
      { kind: "cmp", field: "bytes", op: "> 0 OR 1=1 --" as never, value: 1 },
      { kind: "ip", field: "src_ip", version: 4, addr: "1.2.3.4' OR 1=1 --", prefix: 32 },
      { kind: "state", state: "x' OR 1=1 --" as never },
      { kind: "ip", field: "src_ip) OR (1=1" as never, version: 4, addr: "1.2.3.4", prefix: 32 },
    ];
    for (const node of hostile) expect(() => queryToSql(node)).toThrow();
    // the store refuses them before any SQL runs: a caller's bug, not a store fault
    for (const node of hostile) expect(() => store.queryFlows({ query: node, sortBy: "bytes", order: "desc", offset: 0, limit: 5 })).toThrow(TypeError);
    expect(store.status()).toMatchObject({ state: "ok", flows: N, errors: 0 });
    expect(store.queryFlows({ query: parseQuery(""), sortBy: "bytes", order: "desc", offset: 0, limit: 1 }).total).toBe(N);
  });

  test("the SQL text holds no value from the query: every value is a bound parameter", () => {
    const node = parseQuery("src_ip:203.0.113.77/32 port:31337 bytes>123456789 vlan:4001 protocol:132 duration>98765ms");
    const { sql, params } = queryToSql(node);
    for (const v of ["203", "31337", "123456789", "4001", "132", "98765"]) expect(sql).not.toContain(v);
    expect(params).toContain(31337);
    expect(params).toContain(123456789);
    expect(params).toContain(98765);
  });
});
