/**
 * Queries over live and stored flows through the real API: the query table of the store's own
 * test (src/store/test-specs.ts) run on the live flows of a replay (state=active, the engine) and,
 * after SIGTERM stored them all, on the stored copies (state=ended, the store, serve
 * --no-capture): the same rows in the same order, the same totals, pages and CSV / NDJSON
 * exports. Then live + stored together (state=all, sorted and paged across both), since/until,
 * and injection attempts in q, since and until: refused or harmless, the data intact.
 */
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { QUERIES as ALL_QUERIES } from "../src/store/test-specs.ts";
import { cleanupAll, genPcap, ndjson, replayFinished, serve, tempDir, type Served } from "./history-helpers.ts";

setDefaultTimeout(180_000);

// bps is a live flow's current rate; a stored (ended) flow's is 0 by definition: those queries differ on purpose.
const QUERIES = ALL_QUERIES.filter((q) => !q.includes("bps"));
afterEach(cleanupAll);

/** Fields that differ between a live flow and its stored copy (ended at shutdown). */
const strip = ({ active: _a, end_reason: _e, bps: _b, suspicious: _s, ...rest }: Record<string, unknown>) => rest;

async function rows(s: Served, state: string, q: string, extra = "") {
  const limit = extra.includes("limit=") ? "" : "&limit=10000";
  const r = await s.get(`/api/v1/flows?state=${state}&q=${encodeURIComponent(q)}${limit}${extra}`);
  return { total: r.total as number, flows: (r.flows as Record<string, unknown>[]).map(strip) };
}

test("the query table gives the same rows on live flows and on their stored copies; live + stored merge; injection is harmless", async () => {
  const dir = tempDir();
  const data = join(dir, "data");
  const cap = genPcap(dir, "q.pcap", ["--packets", "40000", "--flows", "4000", "--duration", "4", "--v6", "0.3", "--vlan", "0.2", "--seed", "11"]);
  const a = await serve(["--read", cap, "--speed", "max", "--data-dir", data, "--idle-timeout", "3600"]);
  await replayFinished(a);
  await Bun.sleep(2500); // rates settle at 0 after the last packet (closed TCP flows end 15 s after it: well after the queries)
  const live = new Map<string, Awaited<ReturnType<typeof rows>>>();
  const SORTS = ["&sort_by=bytes&order=desc", "&sort_by=first_seen&order=asc", "&sort_by=src_ip&order=asc", "&sort_by=dst_port&order=desc"];
  expect((await a.get("/api/v1/flows?state=active&limit=0")).total).toBe(4000);
  for (const [k, q] of QUERIES.entries()) live.set(q, await rows(a, "active", q, SORTS[k % SORTS.length]));
  // community_id: of a live flow, looked up on live and stored copies.
  const someone = (await rows(a, "active", "protocol:tcp", "&sort_by=bytes&order=desc&limit=1")).flows[0]!;
  const cidQuery = `community_id:${String(someone.community_id)}`;
  live.set(cidQuery, await rows(a, "active", cidQuery));
  expect(live.get(cidQuery)!.total).toBeGreaterThanOrEqual(1);
  const livePages = await rows(a, "active", "protocol:tcp", "&sort_by=packets&order=desc&offset=100&limit=250");
  const liveCsv = await a.text("/api/v1/flows?state=active&q=ip_version:6&format=csv&sort_by=bytes");
  expect((await a.stop()).code).toBe(0);

  const b = await serve(["--no-capture", "--data-dir", data]);
  expect((await b.get("/api/v1/flows?state=ended&limit=0")).total).toBe(4000);
  let nonTrivial = 0;
  for (const [k, q] of QUERIES.entries()) {
    const stored = await rows(b, "ended", q, SORTS[k % SORTS.length]);
    const want = live.get(q)!;
    if (want.total > 0 && want.total < 4000) nonTrivial++;
    const ids = (x: { flows: Record<string, unknown>[] }) => x.flows.map((f) => f.id).join(",");
    expect({ q, sort: SORTS[k % SORTS.length], ids: ids(stored) }).toEqual({ q, sort: SORTS[k % SORTS.length], ids: ids(want) });
    expect({ q, total: stored.total, flows: stored.flows }).toEqual({ q, total: want.total, flows: want.flows });
  }
  expect(nonTrivial).toBeGreaterThan(QUERIES.length * 0.6);
  expect(await rows(b, "ended", cidQuery)).toEqual(live.get(cidQuery)!);
  expect(await rows(b, "ended", "protocol:tcp", "&sort_by=packets&order=desc&offset=100&limit=250")).toEqual(livePages);
  const storedCsv = await b.text("/api/v1/flows?state=ended&q=ip_version:6&format=csv&sort_by=bytes");
  expect(storedCsv.type).toContain("text/csv");
  const csvIds = (t: string) => t.trim().split("\n").slice(1).map((l) => l.split(",")[0]);
  expect(csvIds(storedCsv.body)).toEqual(csvIds(liveCsv.body));
  expect(csvIds(storedCsv.body).length).toBeGreaterThan(50);
  expect(storedCsv.body.split("\n")[0]).toBe(liveCsv.body.split("\n")[0]);

  // injection attempts: 400 from the grammar / time parser, or bound values; nothing changes
  const hostile = [
    `q=${encodeURIComponent(`src_ip:"1.2.3.4'; DROP TABLE segments; --"`)}`,
    `q=${encodeURIComponent("protocol:tcp' OR '1'='1")}`,
    `q=${encodeURIComponent("bytes>1 OR 1=1; DELETE FROM flows_1")}`,
    `q=${encodeURIComponent("port:80) UNION SELECT * FROM sqlite_master --")}`,
    `since=${encodeURIComponent("2026-01-01'; DROP TABLE segments; --")}`,
    `until=${encodeURIComponent("1) OR 1=1 --")}`,
    `since=${encodeURIComponent("-1h; DELETE FROM meta")}`,
    `sort_by=${encodeURIComponent("bytes; DROP TABLE segments")}`,
  ];
  for (const h of hostile) {
    const r = await b.text(`/api/v1/flows?state=all&${h}`);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error).toBe("bad_request");
  }
  // quoted hostile text inside a valid field value is refused; the data is intact
  expect((await b.get("/api/v1/flows?state=all&limit=0")).total).toBe(4000);
  expect((await b.get("/api/v1/health")).history).toMatchObject({ state: "ok", flows: 4000, errors: 0 });

  // since/until over stored flows: a window holds exactly the flows overlapping it
  const all = ndjson((await b.text("/api/v1/flows?state=ended&format=ndjson&limit=100000")).body);
  const firsts = all.map((f) => Date.parse(f.first_seen)).sort((x, y) => x - y);
  const mid = firsts[2000]! / 1000;
  const win = await b.get(`/api/v1/flows?state=ended&since=${mid}&until=${mid + 5}&limit=0`);
  const expected = all.filter((f) => Date.parse(f.last_seen) >= mid * 1000 && Date.parse(f.first_seen) <= (mid + 5) * 1000).length;
  expect(win.total).toBe(expected);
  expect(expected).toBeGreaterThan(0);
  expect(expected).toBeLessThan(4000);
  const iso = await b.get(`/api/v1/flows?state=ended&since=${new Date(mid * 1000).toISOString()}&until=${new Date((mid + 5) * 1000).toISOString()}&limit=0`);
  expect(iso.total).toBe(expected);
  expect((await b.stop()).code).toBe(0);

  // live + stored together: a new replay into the same store; state=all sorts and pages across both
  const c = await serve(["--read", cap, "--speed", "max", "--data-dir", data, "--idle-timeout", "3600"]);
  await replayFinished(c);
  const merged = await c.get("/api/v1/flows?state=all&sort_by=bytes&order=desc&limit=300");
  expect(merged.total).toBe(8000);
  const kinds = new Set(merged.flows.map((f: { active: boolean }) => f.active));
  expect(kinds).toEqual(new Set([true, false])); // the same capture twice: both copies among the largest
  const bytes = merged.flows.map((f: { bytes: number }) => f.bytes);
  expect(bytes).toEqual([...bytes].sort((x: number, y: number) => y - x));
  const p1 = await c.get("/api/v1/flows?state=all&sort_by=bytes&order=desc&limit=150");
  const p2 = await c.get("/api/v1/flows?state=all&sort_by=bytes&order=desc&limit=150&offset=150");
  expect([...p1.flows, ...p2.flows].map((f: { id: number }) => f.id)).toEqual(merged.flows.map((f: { id: number }) => f.id));
  const exp = ndjson((await c.text("/api/v1/flows?state=all&format=ndjson&sort_by=bytes&order=desc&limit=300")).body);
  expect(exp.map((f) => f.id)).toEqual(merged.flows.map((f: { id: number }) => f.id));
  expect((await c.stop()).code).toBe(0);
});
