/**
 * A data directory the store cannot use, through real `serve` processes: read-only (a tmpfs
 * mounted `ro` by the test: root ignores permissions) and full (a 1 MiB tmpfs). Health is
 * degraded with a clear reason while the capture runs to its end and the live API answers.
 * Retention through the serve flags: --retention-size keeps the file under the limit while flows
 * keep coming; --retention-days drops flows older than the newest stored one by more than that.
 * Needs root (mount).
 */
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { DB_FILE } from "../src/store/data-dir.ts";
import { cleanupAll, genPcap, MAIN, onCleanup, replayFinished, serve, storedRows, tempDir, waitFor } from "./history-helpers.ts";

setDefaultTimeout(120_000);
afterEach(cleanupAll);

function mount(opts: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", opts, "tmpfs", dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`mount -o ${opts} ${dir} failed (these tests need root): ${r.stderr}`);
  onCleanup(() => void spawnSync("umount", ["-l", dir]));
}

test("read-only data directory: health degraded naming it, capture and live API go on", async () => {
  const dir = tempDir();
  const ro = join(dir, "ro");
  mount("ro,size=1m", ro);
  const cap = genPcap(dir, "c.pcap", ["--packets", "20000", "--flows", "2000", "--duration", "10", "--seed", "3"]);
  const s = await serve(["--read", cap, "--speed", "max", "--data-dir", join(ro, "data"), "--alert-cpu", "100"]);
  const h = await replayFinished(s);
  expect(h.status).toBe("degraded");
  expect(h.capture).toMatchObject({ state: "finished", packets: 20000, dropped: 0 });
  const r = h.reasons.find((x: { code: string }) => x.code === "history_degraded");
  expect(r.message).toMatch(/History store degraded: cannot open .*(read-only|EROFS)/i);
  expect(r.message).toContain("capture and live data go on");
  expect(h.history.state).toBe("degraded");
  // live data answers: the flows, a flow by id, bandwidth
  const f = await s.get("/api/v1/flows?state=all&limit=5");
  expect(f.total).toBe(2000);
  expect((await s.get(`/api/v1/flows/${f.flows[0].id}`)).id).toBe(f.flows[0].id);
  expect((await s.get("/api/v1/bandwidth?duration=60s")).bps.some((v: number) => v > 0)).toBe(true);
  expect((await s.stop()).code).toBe(0);
});

test("full data directory: degraded (disk full), drops counted, capture unaffected, stored flows still readable", async () => {
  const dir = tempDir();
  const small = join(dir, "small");
  mount("size=1m", small);
  // 40,000 flows evicted from a 1000-slot table: far more than 1 MiB of history
  const cap = genPcap(dir, "c.pcap", ["--packets", "60000", "--flows", "40000", "--duration", "10", "--seed", "4"]);
  const s = await serve(["--read", cap, "--speed", "max", "--max-flows", "1000", "--data-dir", join(small, "data"), "--alert-cpu", "100"]);
  const h = await replayFinished(s);
  const full = await waitFor("disk full", async () => {
    const x = await s.get("/api/v1/health");
    return x.history.state === "degraded" ? x : null;
  }, 20_000);
  expect(full.status).toBe("degraded");
  expect(full.history.reason).toMatch(/disk full|full/i);
  expect(full.history.dropped).toBeGreaterThan(0);
  expect(full.history.flows).toBeGreaterThan(0);
  expect(h.capture).toMatchObject({ state: "finished", packets: 60000, dropped: 0 });
  expect(full.reasons.map((x: { code: string }) => x.code)).toContain("history_degraded");
  // the live table answers; what was stored is still listed
  expect((await s.get("/api/v1/flows?state=active&limit=1")).total).toBeGreaterThan(0);
  expect((await s.get("/api/v1/flows?state=ended&limit=1")).total).toBeGreaterThan(0);
  expect((await s.stop()).code).toBe(0);
});

test("--retention-size keeps the database under the limit while flows keep coming (newest kept)", async () => {
  const dir = tempDir();
  const data = join(dir, "data");
  const cap = genPcap(dir, "scan.pcap", ["--packets", "200000", "--flows", "190000", "--seed", "8"]);
  const s = await serve(["--read", cap, "--speed", "max", "--loop", "--max-flows", "20000", "--data-dir", data, "--retention-size", "4MiB"]);
  await waitFor("100,000 flows inserted", async () => (await s.get("/api/v1/health")).history.inserted > 100_000, 60_000, 250);
  await Bun.sleep(2000); // retention steps every second
  const h = await s.get("/api/v1/health");
  expect(h.history.inserted).toBeGreaterThan(100_000);
  expect(h.history.flows).toBeLessThan(h.history.inserted / 2);
  expect(h.history.bytes).toBeLessThanOrEqual(4 * 1024 * 1024 * 1.25);
  expect(h.capture.dropped).toBe(0);
  expect((await s.stop()).code).toBe(0);
  expect(statSync(join(data, DB_FILE)).size).toBeLessThanOrEqual(4 * 1024 * 1024 * 1.25);
  const rows = storedRows(join(data, DB_FILE));
  expect(rows.integrity).toBe("ok");
  // the newest flows are kept: the highest ids are in the file
  expect(rows.ids.reduce((m, x) => Math.max(m, x), 0)).toBeGreaterThan(h.history.inserted);
});

test("--retention-days drops flows older than that (counted back from the newest flow), keeps the rest", async () => {
  const dir = tempDir();
  const data = join(dir, "data");
  const day = 86400;
  const now = Math.floor(Date.now() / 1000);
  // two old captures, 10 days apart, loaded offline; then serve keeps 5 days
  const old = genPcap(dir, "old.pcap", ["--packets", "2000", "--flows", "200", "--duration", "10", "--start", String(now - 40 * day)]);
  const newer = genPcap(dir, "newer.pcap", ["--packets", "2000", "--flows", "300", "--duration", "10", "--start", String(now - 30 * day)]);
  for (const f of [old, newer]) {
    expect(spawnSync(process.execPath, [MAIN, "flows", "--read", f, "--format", "summary", "--data-dir", data]).status).toBe(0);
  }
  expect(storedRows(join(data, DB_FILE)).ids.length).toBe(500);
  const s = await serve(["--no-capture", "--data-dir", data, "--retention-days", "5"]);
  await waitFor("the old capture's flows pruned", async () => (await s.get("/api/v1/health")).history.flows === 300, 15_000);
  const h = await s.get("/api/v1/health");
  expect(Date.parse(h.history.oldest)).toBeGreaterThanOrEqual((now - 30 * day - 60) * 1000);
  expect((await s.get("/api/v1/flows?state=all&limit=0")).total).toBe(300);
  expect((await s.stop()).code).toBe(0);
  // with the wall-clock rule every flow (30 and 40 days old) would have gone: the 300 stay
  expect(storedRows(join(data, DB_FILE)).ids.length).toBe(300);
});
