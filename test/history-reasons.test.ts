/**
 * Flows ended by each cause reach the history store with the same fields as the engine shows them:
 * idle, active_timeout, tcp_close and evicted (a real server replaying a generated capture with
 * short timeouts and a small table), shutdown (its stop), end_of_capture (`flows --read FILE
 * --data-dir D`, then `serve --no-capture --data-dir D` lists them as the CLI printed them).
 */
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { MATCH_ALL } from "../src/flows/query/query.ts";
import type { FlowRecord } from "../src/flows/format/record.ts";
import { FlowmatrixServer } from "../src/server/app.ts";
import { DB_FILE } from "../src/store/data-dir.ts";
import { FlowStore } from "../src/store/flow-store.ts";
import { cleanupAll, genPcap, MAIN, ndjson, onCleanup, serve, storedRows, tempDir, waitFor } from "./history-helpers.ts";
import { PCAPS } from "./shared-paths.ts";

setDefaultTimeout(120_000);
afterEach(cleanupAll);

const all = { query: MATCH_ALL, sortBy: "first_seen" as const, order: "asc" as const, offset: 0, limit: 100_000 };

function byReason(records: FlowRecord[]): Map<string, FlowRecord[]> {
  const m = new Map<string, FlowRecord[]>();
  for (const r of records) m.set(r.end_reason ?? "active", [...(m.get(r.end_reason ?? "active") ?? []), r]);
  return m;
}

/** The causes each engine setting produces (checked one after the other: the cheapest causes win a flow first). */
const RUNS: { engine: { idleTimeout: number; activeTimeout: number; maxFlows: number }; want: string[] }[] = [
  { engine: { idleTimeout: 3, activeTimeout: 4, maxFlows: 65_536 }, want: ["idle", "active_timeout"] },
  { engine: { idleTimeout: 40, activeTimeout: 1800, maxFlows: 65_536 }, want: ["tcp_close"] },
  { engine: { idleTimeout: 40, activeTimeout: 1800, maxFlows: 1000 }, want: ["evicted"] },
];

test("idle, active_timeout, tcp_close, evicted and shutdown flows are stored with the engine's fields", async () => {
  const dir = tempDir();
  // 30 s of capture time with long flows, TCP closes and resets, replayed at full speed
  const cap = genPcap(dir, "mix.pcap", ["--packets", "60000", "--flows", "6000", "--duration", "30", "--seed", "9"]);
  for (const [k, run] of RUNS.entries()) {
    const path = join(dir, `data${k}`, DB_FILE);
    const server = new FlowmatrixServer({
      engine: { source: { kind: "file", path: cap, speed: "max", loop: false }, ...run.engine },
      port: 0, metricsIntervalMs: 1000, alerts: { cpuPercent: 100 }, history: { path },
    });
    let stopped = false;
    onCleanup(async () => {
      if (!stopped) await server.stop();
    });
    await server.start();
    const store = server.ctx.history!.store;
    const groups = await waitFor(`stored flows ended by ${run.want.join(", ")}`, async () => {
      const g = byReason((await store.queryFlows(all)).records);
      return run.want.every((r) => (g.get(r)?.length ?? 0) > 0) ? g : null;
    }, 60_000, 250);
    for (const reason of run.want) {
      for (const s of groups.get(reason)!.slice(0, 100)) {
        const live = await server.ctx.engine.call("flow", { id: s.id });
        expect(live).not.toBeNull();
        expect(s).toEqual(live!);
      }
    }
    // the live flows at stop: stored as shutdown, otherwise as they were
    await waitFor("replay finished", async () => server.ctx.engine.last?.capture.state === "finished");
    const active = (await server.ctx.engine.call("flows", { ...all, state: "active" } as never)).records;
    expect(active.length).toBeGreaterThan(10);
    const sinksBefore = (await server.ctx.engine.call("status", {} as never)).sinks;
    const storeBefore = await store.status();
    await server.stop();
    stopped = true;
    const again = new FlowStore({ path, pruneIntervalMs: 0 });
    again.start();
    onCleanup(() => again.stop());
    // A flow listed as active may still end by a timer between that listing and the stop (idle 3 s in
    // the first run): it is stored with that reason, or, when the store lagged by over 500 ms, refused
    // by its sink (dropped and counted, as documented). Every flow live at the stop is stored as
    // shutdown, exactly as it was listed.
    let shutdown = 0, missing = 0, other = 0;
    for (const a of active) {
      const got = again.findFlow(a.id);
      if (got?.end_reason === "shutdown") {
        expect(got).toEqual({ ...a, active: false, end_reason: "shutdown", bps: 0 });
        shutdown++;
      } else if (got !== null) {
        expect(["idle", "active_timeout", "tcp_close", "evicted"]).toContain(got.end_reason ?? "none");
        other++;
      } else missing++;
    }
    // (This failed now and then with every listed flow "missing": the store Worker closed its
    // database as a zombie that kept its locks, so `again` opened a locked file, came up degraded and
    // answered nothing; see closeNow in src/store/flow-store.ts. The object says where flows went.)
    // With a 40 s idle timeout no timer fires between the listing and the stop (the finished replay's
    // clock stands still): then every listed flow is stored, as shutdown.
    const timers = run.engine.idleTimeout < 30;
    expect({
      run: k, listed: active.length, shutdown, other, missing, enough: shutdown > 10, all: timers || shutdown === active.length,
      restarts: server.ctx.engine.restarts, sinksBefore, storeBefore, storeAfter: again.status(),
    }).toMatchObject({ run: k, enough: true, all: true });
  }
});

test("flows --read FILE --data-dir D stores every flow (end_of_capture included) as printed; serve --no-capture lists them; ids continue", async () => {
  const dir = tempDir();
  const data = join(dir, "data");
  const file = `${PCAPS}zeek__wikipedia.pcap`;
  const run = (f: string) => spawnSync(process.execPath, [MAIN, "flows", "--read", f, "--format", "ndjson", "--data-dir", data], { encoding: "utf8" });
  const r1 = run(file);
  expect(r1.status).toBe(0);
  const printed = ndjson(r1.stdout);
  expect(printed.length).toBeGreaterThan(10);
  expect(printed.every((f) => f.end_reason === "end_of_capture")).toBe(true);
  expect(r1.stderr).toContain(`history: ${printed.length} flows stored in ${join(data, DB_FILE)}`);
  // a second capture into the same store: ids continue after the first one's
  const r2 = run(`${PCAPS}ndpi__gnutella.pcap`);
  expect(r2.status).toBe(0);
  const printed2 = ndjson(r2.stdout);
  expect(Math.min(...printed2.map((f) => f.id))).toBe(printed.length + 1);
  const rows = storedRows(join(data, DB_FILE));
  expect(rows.ids.length).toBe(printed.length + printed2.length);
  expect(new Set(rows.ids).size).toBe(rows.ids.length);

  // the old captures (2011, 1970) are not pruned by age at start (age counts from the newest flow)
  const s = await serve(["--no-capture", "--data-dir", data]);
  await Bun.sleep(1500); // a few retention steps
  const h = await s.get("/api/v1/health");
  expect(h.history).toMatchObject({ state: "ok", flows: rows.ids.length });
  const listed = ndjson((await s.text("/api/v1/flows?state=all&format=ndjson&limit=100000&sort_by=first_seen&order=asc")).body);
  expect(listed.length).toBe(rows.ids.length);
  const byId = new Map(listed.map((f) => [f.id, f]));
  for (const p of [...printed, ...printed2]) {
    const { suspicious: _s, ...stored } = byId.get(p.id);
    expect(stored).toEqual(p);
  }
  // the flows page of the dashboard too
  const page = await s.text("/flows?q=protocol:tcp");
  expect(page.status).toBe(200);
  expect(page.body).toContain(printed.find((f) => f.proto === "tcp")!.src_ip);
  expect((await s.stop()).code).toBe(0);
});

test("flows --data-dir on a directory it cannot use: exit 2, one line, nothing printed", async () => {
  const r = spawnSync(process.execPath, [MAIN, "flows", "--read", `${PCAPS}zeek__wikipedia.pcap`, "--data-dir", "/proc/flowmatrix-nope"], { encoding: "utf8" });
  expect(r.status).toBe(2);
  expect(r.stdout).toBe("");
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toContain("history store unavailable");
});
