/**
 * History across a clean restart, with real `serve` processes on one --data-dir: SIGTERM ends
 * every live flow (reason shutdown) and stores everything within 5 s; the next start (with and
 * without a capture) has every flow (count before = count after), the metrics history, the
 * bandwidth history and the alerts; /api/v1/flows/:id finds a flow ended before the restart; ids
 * of the next run continue after the stored ones and never repeat.
 * Control: the same restart with --no-store keeps nothing (what happened before the store).
 */
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { DB_FILE } from "../src/store/data-dir.ts";
import { cleanupAll, genPcap, ndjson, replayFinished, serve, storedRows, tempDir, waitFor, type Served } from "./history-helpers.ts";

setDefaultTimeout(120_000);
afterEach(cleanupAll);

const nonNull = (a: (number | null)[]) => a.filter((v) => v !== null && v > 0).length;
const sum = (a: (number | null)[]) => a.reduce<number>((s, v) => s + (v ?? 0), 0);

/** What the API says about history: metrics points, bandwidth, alert events. */
async function historyFigures(s: Served) {
  const m = await s.get("/api/v1/metrics/history?duration=24h");
  const b = await s.get("/api/v1/bandwidth?duration=24h");
  const a = await s.get(`/api/v1/alerts?state=all&since=-1h&limit=1000`);
  return { cpuPoints: nonNull(m.series.cpu_percent), rssPoints: nonNull(m.series.process_rss), bits: sum(b.bps), events: a.history as { event: string; alert: { id: string; rule: string } }[] };
}

test("a clean restart keeps every flow (active ones ended as shutdown), metrics, bandwidth and alerts; ids continue", async () => {
  const dir = tempDir();
  const data = join(dir, "data");
  // 40,000 flows over 30 s of capture time, replayed at full speed: some end during the replay, most are live at SIGTERM
  const cap = genPcap(dir, "mix.pcap", ["--packets", "200000", "--flows", "40000", "--duration", "30", "--seed", "5"]);
  const a = await serve(["--read", cap, "--speed", "max", "--data-dir", data, "--alert-memory", "1"]);
  const h = await replayFinished(a);
  const created: number = h.flows.total;
  expect(created).toBe(40000);
  // a memory alert (threshold 1 %) is raised at the first system sample (every 5 s); metrics are stored with it
  const before = await waitFor("an alert and metrics in history", async () => {
    const f = await historyFigures(a);
    return f.events.length > 0 && f.cpuPoints > 0 && f.bits > 0 ? f : null;
  }, 30_000, 500);
  const active = (await a.get("/api/v1/flows?state=active&limit=0")).total;
  const endedBefore = await a.get("/api/v1/flows?state=ended&limit=20&sort_by=first_seen&order=asc");
  expect(active).toBeGreaterThan(1000);
  expect(endedBefore.total).toBeGreaterThan(0);
  // live + stored: every flow but those ended in the last second or so, on their way to the store (flow-source.ts)
  const listed = (await a.get("/api/v1/flows?state=all&limit=0")).total;
  expect(listed).toBeLessThanOrEqual(created);
  expect(listed).toBeGreaterThan(created - 2000);

  const stopped = await a.stop("SIGTERM");
  expect(stopped.code).toBe(0);
  expect(stopped.ms).toBeLessThan(5000);
  expect(a.stderr()).toContain("SIGTERM, stopping");

  // the file: every flow once, ids 1..created, the live ones ended as shutdown (reason 6)
  const rows = storedRows(join(data, DB_FILE));
  expect(rows.integrity).toBe("ok");
  expect(rows.ids.length).toBe(created);
  expect(new Set(rows.ids).size).toBe(created);
  expect(Math.min(...rows.ids)).toBe(1);
  expect(Math.max(...rows.ids)).toBe(created);
  expect(rows.reasons.get(6)).toBeGreaterThanOrEqual(active - 200);
  expect(rows.reasons.get(6)).toBeLessThanOrEqual(active);

  // serve --no-capture over the same directory: the same flows, metrics, bandwidth and alerts
  const b = await serve(["--no-capture", "--data-dir", data]);
  const hb = await b.get("/api/v1/health");
  expect(hb.history).toMatchObject({ state: "ok", flows: created });
  expect(hb.capture.source).toBe("none");
  expect((await b.get("/api/v1/flows?state=all&limit=0")).total).toBe(created);
  expect((await b.get("/api/v1/flows?state=ended&limit=0")).total).toBe(created);
  const exported = ndjson((await b.text("/api/v1/flows?state=all&format=ndjson&limit=100000")).body);
  expect(exported.length).toBe(created);
  expect(exported.filter((f) => f.end_reason === "shutdown").length).toBe(rows.reasons.get(6)!);
  expect(exported.every((f) => f.active === false)).toBe(true);
  // a flow that had ended before the restart, by id, with the same fields
  for (const f of endedBefore.flows) {
    const again = await b.get(`/api/v1/flows/${f.id}`);
    expect(again).toEqual(f);
  }
  const after = await historyFigures(b);
  expect(after.cpuPoints).toBeGreaterThanOrEqual(before.cpuPoints);
  expect(after.rssPoints).toBeGreaterThan(0);
  expect(after.bits).toBeGreaterThanOrEqual(before.bits * 0.999);
  for (const e of before.events) expect(after.events).toContainEqual(e);
  expect((await b.stop()).code).toBe(0);

  // a new run with a capture: ids continue right after the stored ones, none repeats
  const c = await serve(["--read", cap, "--speed", "max", "--data-dir", data]);
  await replayFinished(c);
  const live = ndjson((await c.text("/api/v1/flows?state=active&format=ndjson&limit=100000")).body);
  expect(live.length).toBeGreaterThan(1000);
  const ids = live.map((f) => f.id);
  expect(Math.min(...ids)).toBe(created + 1);
  expect((await c.stop()).code).toBe(0);
  const all = storedRows(join(data, DB_FILE));
  expect(all.ids.length).toBe(2 * created);
  expect(new Set(all.ids).size).toBe(2 * created);
});

test("control: with --no-store a restart keeps no flow, no bandwidth and no alert history, and ids start at 1 again", async () => {
  const dir = tempDir();
  const cap = genPcap(dir, "small.pcap", ["--packets", "20000", "--flows", "2000", "--duration", "10", "--seed", "6"]);
  const a = await serve(["--read", cap, "--speed", "max", "--no-store"]);
  await replayFinished(a);
  expect((await a.stop()).code).toBe(0);
  const b = await serve(["--read", cap, "--speed", "max", "--no-store"]);
  const h = await replayFinished(b);
  expect(h.history).toBeNull();
  const f = await b.get("/api/v1/flows?state=all&limit=0");
  expect(f.total).toBe(2000);
  const ids = ndjson((await b.text("/api/v1/flows?state=all&format=ndjson&limit=100000")).body).map((x) => x.id);
  expect(Math.min(...ids)).toBe(1);
});
