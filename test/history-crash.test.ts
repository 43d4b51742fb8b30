/**
 * kill -9 during a full-speed replay (a scan-like capture looping into a small flow table, so
 * flows are evicted and stored continuously): the database opens and passes SQLite's check,
 * every ended flow the API listed about a second before the kill is there, the flows lost are at
 * most about one second's worth, and the next run's ids start after every id the killed run
 * could have shown (live ones included).
 */
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { DB_FILE } from "../src/store/data-dir.ts";
import { cleanupAll, genPcap, ndjson, replayFinished, serve, storedRows, tempDir, waitFor } from "./history-helpers.ts";

setDefaultTimeout(180_000);
afterEach(cleanupAll);

test("kill -9 during a full-speed replay loses at most ~1 s of ended flows, leaves a database that opens, and ids never repeat", async () => {
  const dir = tempDir();
  const data = join(dir, "data");
  const cap = genPcap(dir, "scan.pcap", ["--packets", "300000", "--flows", "280000", "--seed", "2"]);
  const a = await serve(["--read", cap, "--speed", "max", "--loop", "--max-flows", "50000", "--data-dir", data]);
  await waitFor("100,000 stored flows", async () => (await a.get("/api/v1/health")).history.flows > 100_000, 60_000, 200);

  // ~1 s before the kill: the newest ended flows the API lists, and the count
  const listed = await a.get("/api/v1/flows?state=ended&limit=10000&sort_by=last_seen&order=desc");
  const h1 = await a.get("/api/v1/health");
  await Bun.sleep(1000);
  const h2 = await a.get("/api/v1/health");
  expect(h2.capture.state).toBe("active"); // still replaying at full speed
  expect(h2.capture.dropped).toBe(0);
  const rate = (h2.sinks[0].flows - h1.sinks[0].flows) / ((Date.parse(h2.generated_at) - Date.parse(h1.generated_at)) / 1000);
  const shownMaxId = h2.flows.total; // ids 1..total were handed out (some still live)
  const k = await a.stop("SIGKILL");
  expect(k.code).not.toBe(0);

  // the file opens and passes quick_check; nothing the API listed is missing
  const rows = storedRows(join(data, DB_FILE));
  expect(rows.integrity).toBe("ok");
  const have = new Set(rows.ids);
  expect(have.size).toBe(rows.ids.length);
  expect(listed.flows.length).toBe(10000);
  const missing = listed.flows.filter((f: { id: number }) => !have.has(f.id));
  expect(missing).toEqual([]);
  expect(rows.ids.length).toBeGreaterThanOrEqual(listed.total);
  // lost: flows the sink had taken at the last health read, not dropped and counted by the store (queue full), not in the file
  const lost = Math.max(0, h2.sinks[0].flows - h2.history.dropped - rows.ids.length);
  console.log(`kill -9: ${rows.ids.length} stored, sink rate ${Math.round(rate)} flows/s, store drops ${h2.history.dropped}, ` +
    `sink drops ${h2.sinks[0].dropped_flows}, lost after the last health read: ${lost}`);
  expect(lost).toBeLessThanOrEqual(Math.max(rate, 8192));

  // the restarted server reads the same history; new ids start after every id shown before the kill
  const b = await serve(["--read", cap, "--speed", "max", "--max-flows", "50000", "--data-dir", data]);
  const hb = await b.get("/api/v1/health");
  expect(hb.history.state).toBe("ok");
  expect(hb.history.flows).toBeGreaterThanOrEqual(rows.ids.length);
  for (const f of listed.flows.slice(0, 20)) expect((await b.get(`/api/v1/flows/${f.id}`)).id).toBe(f.id);
  await replayFinished(b);
  const live = ndjson((await b.text("/api/v1/flows?state=active&format=ndjson&limit=100000")).body).map((f) => f.id);
  expect(live.length).toBeGreaterThan(1000);
  const minNew = Math.min(...live);
  expect(minNew).toBeGreaterThan(shownMaxId);
  expect(minNew).toBeGreaterThan(rows.ids.reduce((m, x) => Math.max(m, x), 0));
  // kill -9 again, then a clean stop: still no id twice in the file
  await b.stop("SIGKILL");
  const c = await serve(["--no-capture", "--data-dir", data]);
  expect((await c.get("/api/v1/health")).history.state).toBe("ok");
  expect((await c.stop()).code).toBe(0);
  const all = storedRows(join(data, DB_FILE));
  expect(all.integrity).toBe("ok");
  expect(new Set(all.ids).size).toBe(all.ids.length);
});
