/**
 * End-to-end: the dashboard's history views in Debian Chromium against a real server with a
 * history store, across a restart.
 *
 * Run A: `serve --read ndpi__alexa-app.pcapng --speed 10 --idle-timeout 5 --alert-bps 1k` on a temp
 * --data-dir: during the replay (≈ 18 s) flows end by idle timeout (packet clock), the low
 * threshold raises a bandwidth alert, the metrics collector stores samples; the flows still
 * active when the replay is over end at SIGTERM (reason shutdown). A runs until the minute of its first
 * stored sample has passed (the 24 h chart has per-minute points, so a point before the restart's
 * minute can only hold data from before the restart), then gets SIGTERM (the store flushes).
 * Run B: `serve --read ndpi__gnutella.pcap --loop` on the same data dir (other hosts: its flows
 * never match the alexa client 172.16.42.216).
 *
 * In the browser, on B: the Flows tab with "Last 1 h" shows A's flows (every one A listed, all
 * last seen before the restart, as many as the API gives for the range), the URL carries since=-1h, a reload keeps it, sorting keeps it, Export CSV carries it
 * and gives the same rows as the API; a custom range after the restart shows none of them and
 * one around run A shows all; the Health 24 h chart (from the store) has a point in a minute
 * before the restart; the alert history (one click from the Live alerts panel) lists the alert A
 * raised; the Live 1 h chart reads the store. Without a store (--no-store) the same views work on
 * memory: the range filters the engine's flows, the charts and the alert history say "memory", no
 * 7 d range. Screenshots go to test-results/history-*.png.
 *
 * Limits: the wait for A's sample minute to pass makes the run last 20–80 s before the browser
 * part. Network only to loopback.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import type { Page } from "playwright-core";
import { closeBrowserAndServers, freePort, killAll, PCAPS, RESULTS, ServerProcess, startServerAndBrowser, waitFor, type Browser } from "./e2e-helpers.ts";

setDefaultTimeout(120_000);

const ALEXA = PCAPS + "ndpi__alexa-app.pcapng";
const GNUTELLA = PCAPS + "ndpi__gnutella.pcap";
/** The alexa capture's client: every one of its flows, none of gnutella's. */
const Q = "ip:172.16.42.216";

interface FlowsAnswer {
  flows: { id: number; last_seen: string; first_seen: string }[];
  total: number;
}

const DATA = mkdtempSync(join(tmpdir(), "fm-e2e-history-"));
let server: ServerProcess;
let browser: Browser;
/** Run A: flows matching Q, their ids, when it started and when B started (ms). */
let countA = 0;
let idsA: number[] = [];
/** Flows matching Q in the last hour as B serves them (run A's, from the store). */
let countAfter = 0;
let startA = 0;
let restartAt = 0;

beforeAll(async () => {
  const port = freePort();
  try {
    startA = Date.now();
    const a = new ServerProcess({ port, dataDir: DATA, file: ALEXA, loop: false, speed: "10", args: ["--quiet", "--idle-timeout", "5", "--alert-bps", "1k"] });
    server = a;
    await a.start();
    // The replay ends (≈ 18 s) and its flows end by idle timeout; the bandwidth alert is raised.
    await waitFor(async () => (await a.json<{ capture: { state: string } }>("/api/v1/health")).capture.state === "finished",
      60_000, "run A's replay to finish", 500);
    // Most of its flows have ended by idle timeout; the rest end at SIGTERM (reason shutdown), all stored.
    expect((await a.json<FlowsAnswer>(`/api/v1/flows?q=${encodeURIComponent(Q)}&state=ended`)).total).toBeGreaterThan(0);
    await waitFor(async () => {
      const al = await a.json<{ history: { event: string; alert: { rule: string } }[] }>("/api/v1/alerts?state=all");
      return al.history.some((e) => e.event === "raised" && e.alert.rule === "bandwidth");
    }, 30_000, "run A's bandwidth alert", 500);
    // A stored metric sample, and its minute over (a 24 h point wholly before the restart).
    const firstSample = await waitFor(async () => {
      const h = await a.json<{ t: number[]; series: { cpu_percent: (number | null)[] } }>("/api/v1/metrics/history?duration=15m&points=900");
      const k = h.series.cpu_percent.findIndex((v) => v !== null);
      return k >= 0 ? h.t[k]! : null;
    }, 30_000, "a stored metrics sample", 500);
    const minuteOver = (Math.floor(firstSample / 60) + 1) * 60_000 + 500;
    if (Date.now() < minuteOver) await Bun.sleep(minuteOver - Date.now());
    const before = await a.json<FlowsAnswer>(`/api/v1/flows?q=${encodeURIComponent(Q)}&state=all&limit=10000`);
    countA = before.total;
    idsA = before.flows.map((f) => f.id).sort((x, y) => x - y);
    expect(countA).toBeGreaterThan(100);
    expect(await a.kill("SIGTERM")).toBe(0);

    restartAt = Date.now();
    ({ server, browser } = await startServerAndBrowser({ port, dataDir: DATA, file: GNUTELLA, loop: true, speed: "1", args: ["--quiet"] }));
  } catch (e) {
    await killAll();
    throw e;
  }
});

afterAll(async () => {
  try {
    await closeBrowserAndServers(browser);
  } finally {
    rmSync(DATA, { recursive: true, force: true });
  }
});

async function flowIds(page: Page): Promise<number[]> {
  return page.locator("#flows-table tbody.flow").evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-flow-id"))));
}

/** The total in "Showing 1–100 of 163 flows" (0 for the empty state). */
async function shownTotal(page: Page): Promise<number> {
  const text = await page.locator("#flows-table .count").innerText();
  const m = /of ([\d,]+) flows/.exec(text);
  return m ? Number(m[1]!.replace(/,/g, "")) : 0;
}

/** datetime-local value (UTC, seconds) for a time in ms. */
const utcInput = (ms: number) => new Date(ms).toISOString().slice(0, 19);
/** The same as Chromium submits it: whole minutes without the ":00" seconds. */
const submitted = (ms: number) => utcInput(ms).replace(/:00$/, "");

describe("history in the dashboard after a restart", () => {
  test("Flows: last 1 h shows run A's flows; the range is in the URL, survives a reload, sorting and Export CSV", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/flows`);
    await page.fill("#flow-q", Q);
    await page.click("form.search button[type=submit]");
    await page.waitForURL((u) => u.searchParams.get("q") === Q, { timeout: 5000 });
    await waitFor(() => page.locator("#flows-table tbody.flow").count(), 10_000, "rows for the query");
    expect(await page.locator("#time-range").getAttribute("data-range")).toBe("live");

    // The control follows the search (re-sent out of band): its links carry the query.
    const oneHour = page.locator("#time-range a[data-range='-1h']");
    expect(new URL(await oneHour.getAttribute("href") ?? "", server.url).searchParams.get("q")).toBe(Q);
    await oneHour.click();
    await page.waitForURL((u) => u.searchParams.get("since") === "-1h" && u.searchParams.get("q") === Q, { timeout: 5000 });
    await waitFor(async () => (await page.locator("#time-range").getAttribute("data-range")) === "-1h", 5000, "1 h current");
    expect(await page.locator("#time-range a[aria-current=true]").innerText()).toBe("Last 1 h");
    // What the store holds for the query over the last hour: every flow run A listed, and only run A's.
    const api = await server.json<FlowsAnswer>(`/api/v1/flows?q=${encodeURIComponent(Q)}&since=-1h&limit=10000`);
    const apiIds = api.flows.map((f) => f.id).sort((x, y) => x - y);
    for (const id of idsA) expect(apiIds).toContain(id);
    for (const f of api.flows) expect(Date.parse(f.last_seen)).toBeLessThan(restartAt);
    countAfter = api.total;
    expect(await shownTotal(page)).toBe(countAfter);
    const ids = await flowIds(page);
    expect(ids.length).toBe(Math.min(100, countAfter));
    for (const id of ids) expect(apiIds).toContain(id);
    expect(await page.locator("#time-range .window-note").innerText()).toContain("ended flows from the history store");
    await page.screenshot({ path: join(RESULTS, "history-flows-1h.png"), fullPage: true });

    // A reload lands on the same view.
    await page.reload();
    expect(new URL(page.url()).searchParams.get("since")).toBe("-1h");
    expect(await page.locator("#time-range").getAttribute("data-range")).toBe("-1h");
    expect(await page.inputValue("#flow-q")).toBe(Q);
    expect(await shownTotal(page)).toBe(countAfter);

    // Server-side sort keeps the range (and the query).
    await page.click("#flows-table th a.server-sort[aria-label*='packets']");
    await page.waitForURL((u) => u.searchParams.get("sort_by") === "packets" && u.searchParams.get("since") === "-1h" && u.searchParams.get("q") === Q, { timeout: 5000 });
    expect(await shownTotal(page)).toBe(countAfter);

    // Export CSV carries the range: the same rows as the API for the same range, all from before the restart.
    const href = await page.locator("#flows-table a.export").getAttribute("href");
    const hp = new URL(href!, server.url).searchParams;
    expect([hp.get("q"), hp.get("since"), hp.get("format")]).toEqual([Q, "-1h", "csv"]);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#flows-table a.export")]);
    const rows = parse(readFileSync((await download.path())!, "utf8"), { columns: true }) as Record<string, string>[];
    expect(rows.length).toBe(countAfter);
    expect(rows.map((r) => Number(r.id)).sort((x, y) => x - y)).toEqual(apiIds);
    for (const r of rows) expect(Date.parse(r.last_seen!)).toBeLessThan(restartAt);
    await page.close();
  });

  test("Flows: a custom range after the restart has none of run A's flows, one around run A has all", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/flows?q=${encodeURIComponent(Q)}`);
    await page.click("#time-range summary");
    await page.fill("#time-range input[name=since]", utcInput(restartAt + 1000));
    await page.click("#time-range form button[type=submit]");
    await page.waitForURL((u) => u.searchParams.get("since") === submitted(restartAt + 1000) && u.searchParams.get("q") === Q, { timeout: 5000 });
    await waitFor(() => page.locator("#flows-table .empty-state").count(), 5000, "empty state");
    expect(await page.locator("#time-range").getAttribute("data-range")).toBe("custom");
    expect(await page.locator("#flows-table .empty").innerText()).toBe("No flows match criteria");
    expect(await page.locator("#flows-table .hint").innerText()).toContain("wider time range");

    expect(await page.locator("#time-range details").getAttribute("open")).not.toBeNull(); // open when custom
    await page.fill("#time-range input[name=since]", utcInput(startA - 60_000));
    // The inputs hold whole seconds: round the restart up, or flows run A started in its last
    // fraction of a second would (rightly) fall outside the range.
    const untilMs = Math.ceil(restartAt / 1000) * 1000;
    await page.fill("#time-range input[name=until]", utcInput(untilMs));
    await page.click("#time-range form button[type=submit]");
    await page.waitForURL((u) => u.searchParams.get("until") === submitted(untilMs), { timeout: 5000 });
    await waitFor(() => page.locator("#flows-table tbody.flow").count(), 5000, "rows in the custom range");
    const shown = await shownTotal(page);
    if (shown !== countAfter) {
      const u = new URL(page.url());
      const api = await server.json<FlowsAnswer>(`/api/v1/flows${u.search}&limit=10000`);
      console.log("custom range mismatch", u.search, await page.locator("#time-range .window-note").innerText(), { startA, restartAt, api: api.total });
    }
    expect(await shownTotal(page)).toBe(countAfter);
    expect(await page.locator("#time-range .window-note").innerText()).toContain(`${utcInput(untilMs).replace("T", " ")} UTC`);
    await page.screenshot({ path: join(RESULTS, "history-flows-custom.png"), fullPage: true });
    // The link is shareable: a fresh page on it shows the same.
    const again = await browser.context.newPage();
    await again.goto(page.url());
    expect(await shownTotal(again)).toBe(countAfter);
    expect(await again.locator("#time-range").getAttribute("data-range")).toBe("custom");
    await again.close();
    await page.close();
  });

  test("Health: the 24 h chart reads the store and has a point from before the restart; 7 d is offered", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/health`);
    expect(await page.locator("#health-history .range button").allInnerTexts()).toEqual(["15m", "1h", "6h", "24h", "7d"]);
    await page.click("#health-history .range button:text-is('24h')");
    await waitFor(async () => (await page.locator("#health-history .range button[aria-pressed=true]").innerText()) === "24h", 5000, "24 h range");
    const cov = page.locator("#health-history p.coverage");
    expect(await cov.getAttribute("data-source")).toBe("history");
    const first = Date.parse((await cov.locator("time.first").getAttribute("datetime"))!);
    // per-minute points: one whose minute ended before B started holds run A's samples only
    expect(Number(await cov.getAttribute("data-step"))).toBe(60);
    expect(first + 60_000).toBeLessThanOrEqual(restartAt);
    expect(Number(await cov.getAttribute("data-points"))).toBeGreaterThanOrEqual(2);
    expect(await page.locator("#health-history figure svg path.line.s-cpu").getAttribute("d")).toMatch(/^M/);
    await page.screenshot({ path: join(RESULTS, "history-health-24h.png"), fullPage: true });
    await page.close();
  });

  test("Alerts: the history (one click from the Live alerts panel) lists the alert raised before the restart", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/`);
    await page.click("#alerts .history-link a");
    await page.waitForURL((u) => u.pathname === "/health" && u.hash === "#alerts-history", { timeout: 5000 });
    const row = page.locator("#alerts-history tr.alert-event[data-rule=bandwidth][data-event=raised]").first();
    await waitFor(() => row.count(), 5000, "the bandwidth alert in the history");
    const at = Date.parse((await row.locator("time").getAttribute("datetime"))!);
    expect(at).toBeLessThan(restartAt);
    expect(at).toBeGreaterThanOrEqual(startA);
    expect(await row.locator("td.sev").innerText()).toBe("error");
    expect(await row.locator("td.msg").innerText()).toContain("High bandwidth");
    expect(await page.locator("#alerts-history").getAttribute("data-source")).toBe("history");
    const link = new URL((await row.locator("a.alert-link").getAttribute("href"))!, server.url);
    expect(link.pathname).toBe("/flows");
    // the hosts at raise time (run A's client first), so the link finds run A's flows in the store
    expect(link.searchParams.get("q")).toMatch(/^ip:172\.16\.42\.216( OR ip:\S+){0,4}$/);
    expect(Date.parse(link.searchParams.get("since")!)).toBeLessThan(at);
    await page.locator("#alerts-history").screenshot({ path: join(RESULTS, "history-alerts.png") });
    await page.close();
  });

  test("Live: the 1 h chart reads the store", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/`);
    await page.click("#bandwidth-chart .range button:has-text('1 h')");
    await waitFor(() => page.locator("#bandwidth-chart-1h").count(), 5000, "1 h chart");
    expect(await page.locator("#bandwidth-chart-1h").getAttribute("data-source")).toBe("history");
    expect(await page.locator("#bandwidth-chart-1h path.line.s-bps").getAttribute("d")).toMatch(/^M/);
    await page.screenshot({ path: join(RESULTS, "history-live-1h.png"), fullPage: true });
    await page.close();
  });
});

describe("the same views without a store (--no-store)", () => {
  let mem: ServerProcess;
  let memStart = 0;

  beforeAll(async () => {
    memStart = Date.now();
    mem = new ServerProcess({ file: ALEXA, port: freePort(), loop: true, speed: "10", args: ["--alert-bps", "1k"] });
    try {
      await mem.start();
      await waitFor(async () => {
        const r = await fetch(`${mem.url}/api/v1/alerts`);
        const al = (await r.json()) as { recent: { rule: string }[] };
        return al.recent.some((a) => a.rule === "bandwidth");
      }, 30_000, "a bandwidth alert", 500);
    } catch (e) {
      await killAll();
      throw e;
    }
  });

  afterAll(async () => {
    await killAll();
  });

  test("Flows: the range filters the engine's flows; a range before the server started is empty", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${mem.url}/flows?since=-15m`);
    expect(await page.locator("#time-range").getAttribute("data-range")).toBe("-15m");
    await waitFor(() => page.locator("#flows-table tbody.flow").count(), 10_000, "rows in the last 15 min");
    expect(await page.locator("#time-range .window-note").innerText()).toContain("recently ended flows kept in memory (no history store)");
    const before = `${utcInput(memStart - 7_200_000)}`;
    const beforeEnd = `${utcInput(memStart - 3_600_000)}`;
    await page.goto(`${mem.url}/flows?since=${before}&until=${beforeEnd}`);
    expect(await page.locator("#time-range").getAttribute("data-range")).toBe("custom");
    expect(await page.locator("#flows-table .empty").innerText()).toBe("No flows match criteria");
    await page.click("#time-range a[data-range=live]");
    await page.waitForURL((u) => !u.searchParams.has("since") && !u.searchParams.has("until"), { timeout: 5000 });
    await waitFor(() => page.locator("#flows-table tbody.flow").count(), 5000, "live rows");
    await page.close();
  });

  test("Health and Live: memory history (no 7 d), the alert history from this run's list", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${mem.url}/health`);
    expect(await page.locator("#health-history .range button").allInnerTexts()).toEqual(["15m", "1h", "6h", "24h"]);
    expect(await page.locator("#health-history p.coverage").getAttribute("data-source")).toBe("memory");
    expect(await page.locator("#alerts-history").getAttribute("data-source")).toBe("memory");
    const row = page.locator("#alerts-history tr.alert-event[data-rule=bandwidth][data-event=raised]").first();
    expect(await row.count()).toBe(1);
    expect(Date.parse((await row.locator("time").getAttribute("datetime"))!)).toBeGreaterThanOrEqual(memStart - 1000);
    await page.goto(`${mem.url}/`);
    await page.click("#bandwidth-chart .range button:has-text('1 h')");
    await waitFor(() => page.locator("#bandwidth-chart-1h").count(), 5000, "1 h chart");
    expect(await page.locator("#bandwidth-chart-1h").getAttribute("data-source")).toBe("memory");
    await page.close();
  });
});
