/**
 * The bandwidth alert's link finds its flows live and once they are only in history: run A
 * (`serve --read ndpi__alexa-app.pcapng --speed 20 --alert-bps 1k` on a temp --data-dir) raises
 * the alert; its filter names the top hosts (`ip:a OR …`, at most 5), which match flows live and
 * ended; after SIGTERM, run B (`serve --no-capture` on the same directory) lists the alert in
 * the alert history, and that row's link (built by the real views: q plus the alert's time
 * range) opens a Flows page with those flows, from the store alone. Before, the filter was
 * `bps>0`, which no stored flow matches. Network only to loopback (no traffic at all: a replay).
 */
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { PCAPS } from "./shared-paths.ts";
import { cleanupAll, replayFinished, serve, tempDir, waitFor } from "./history-helpers.ts";

setDefaultTimeout(120_000);
afterEach(cleanupAll);

const ALEXA = PCAPS + "ndpi__alexa-app.pcapng";

interface Flows {
  flows: { id: number; src_ip: string; dst_ip: string; bytes: number; bps: number }[];
  total: number;
}

const ids = (f: Flows) => f.flows.map((x) => x.id).sort((a, b) => a - b);
const bytes = (f: Flows) => f.flows.reduce((s, x) => s + x.bytes, 0);

test("the bandwidth alert's link names its hosts: the flows are found live, and from the store after a restart", async () => {
  const dir = tempDir();
  const a = await serve(["--read", ALEXA, "--speed", "20", "--idle-timeout", "5", "--alert-bps", "1k", "--data-dir", dir]);
  const alert = await waitFor("the bandwidth alert", async () =>
    ((await a.get("/api/v1/alerts")).recent as { rule: string; q: string; since: string }[]).find((x) => x.rule === "bandwidth"));
  const hosts = alert.q.split(" OR ").map((t) => t.replace(/^ip:/, ""));
  expect(alert.q).toMatch(/^ip:\S+( OR ip:\S+){0,4}$/);
  // the alexa client is in every flow of the capture: the top talker
  expect(hosts[0]).toBe("172.16.42.216");
  await replayFinished(a);

  // What the history link will ask for: the alert's query from a minute before it was raised.
  const since = new Date(Math.floor(Date.parse(alert.since) / 1000) * 1000 - 60_000).toISOString().slice(0, 19) + "Z";
  const qs = (q: string) => `/api/v1/flows?q=${encodeURIComponent(q)}&since=${since}&state=all&limit=10000`;
  const before = await a.get<Flows>(qs(alert.q));
  const everything = await a.get<Flows>(qs(""));
  expect(before.total).toBeGreaterThan(100);
  expect(before.total).toBe(before.flows.length);
  // the named hosts carry the traffic of the range (here 99.9 % of its bytes; a few flows of other hosts)
  expect(bytes(before)).toBeGreaterThan(0.9 * bytes(everything));
  expect(before.total).toBeLessThanOrEqual(everything.total);
  for (const h of hosts) expect(before.flows.some((f) => f.src_ip === h || f.dst_ip === h)).toBe(true);
  expect((await a.stop("SIGTERM")).code).toBe(0);

  // Run B: the store alone.
  const b = await serve(["--no-capture", "--data-dir", dir]);
  const frag = await b.text("/health/alerts");
  const row = /<tr [^>]*data-event="raised" data-rule="bandwidth"[^>]*>[\s\S]*?<\/tr>/.exec(frag.body)?.[0];
  expect(row).toBeDefined();
  const href = /<a class="alert-link" href="([^"]+)"/.exec(row!)?.[1]?.replace(/&amp;/g, "&");
  expect(href).toBeDefined();
  const link = new URL(href!, b.url);
  expect(link.pathname).toBe("/flows");
  expect(link.searchParams.get("q")).toBe(alert.q);
  expect(link.searchParams.get("since")).toBe(since);
  // the link's query over the store: exactly the flows run A showed for it
  const params = new URLSearchParams(link.search);
  params.set("state", "all");
  params.set("limit", "10000");
  const after = await b.get<Flows>(`/api/v1/flows?${params}`);
  expect(ids(after)).toEqual(ids(before));
  expect(after.flows.every((f) => f.bps === 0)).toBe(true); // stored: no current rate, so `bps>0` found none of them
  // and the page the link opens lists them
  const page = await b.text(link.pathname + link.search);
  expect(page.status).toBe(200);
  const shown = [...page.body.matchAll(/data-flow-id="(\d+)"/g)].map((m) => Number(m[1]));
  expect(shown.length).toBe(Math.min(100, after.total));
  for (const id of shown) expect(ids(after)).toContain(id);
});
