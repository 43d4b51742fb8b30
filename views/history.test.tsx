/**
 * The history parts of the dashboard, rendered and parsed with happy-dom: the flows time range
 * (control, URL round trip, every link and form keeping since/until, the CSV export), the time
 * error, the health history from the store (7 d range, coverage line, gaps), the alert history
 * list, the stored 1 h bandwidth chart, and escaping of everything that comes from a URL or an
 * alert.
 */
import { describe, expect, test } from "bun:test";
import { flowsParams } from "../src/server/page-data.ts";
import { FlowsPage, FlowsTable, rangeKind, TimeRange, utcInputValue } from "./flows.tsx";
import { AlertHistory, coverage, HealthHistory, HealthPage } from "./health.tsx";
import { AlertsList, BandwidthChart, ProtocolMix } from "./live.tsx";
import { ids, parse } from "./test-dom.ts";
import { alert, bandwidth, EVIL, flow, health, history, noAlerts, NOW } from "./test-fixtures.ts";
import type { AlertHistoryJson, FlowsView } from "./types.ts";
import { HISTORY_RANGES } from "./types.ts";
import { flowsCsvHref, flowsPageHref, flowsTableHref } from "./urls.ts";

const HOUR_AGO = NOW / 1000 - 3600;

function view(over: Partial<FlowsView> = {}): FlowsView {
  return {
    params: { q: "protocol:tcp", sort_by: "bytes", order: "desc", since: "-1h" }, limit: 2, total: 5,
    flows: [flow({ id: 1 }), flow({ id: 2, active: false, end_reason: "idle" })],
    window: { since: HOUR_AGO, until: null }, stored: true,
    ...over,
  };
}

/** The query parameters of a link, as the server reads them. */
function paramsOf(href: string | null): Record<string, string> {
  return Object.fromEntries(new URL(href ?? "", "http://localhost").searchParams);
}

describe("flows time range", () => {
  test("the URL carries since/until in the API's forms and reads back the same", () => {
    const p = { q: "ip:10.0.0.1 bytes>1M", since: "2026-11-28T11:00:00Z", until: "-15m" };
    const href = flowsPageHref(p);
    expect(href).toBe("/flows?q=ip:10.0.0.1+bytes%3E1M&since=2026-11-28T11:00:00Z&until=-15m");
    const back = flowsParams(new URL(href, "http://localhost").searchParams);
    expect(back.q).toBe(p.q);
    expect(back.since).toBe(p.since);
    expect(back.until).toBe(p.until);
    // blank values are no bound
    expect(flowsParams(new URLSearchParams("since=&until=+")).since).toBeUndefined();
    expect(flowsParams(new URLSearchParams("since=&until=+")).until).toBeUndefined();
    expect(flowsTableHref({ since: "-24h" })).toBe("/flows/table?since=-24h");
  });

  test("which range is current: live, a preset, or custom", () => {
    expect(rangeKind({})).toBe("live");
    expect(rangeKind({ since: "-15m" })).toBe("-15m");
    expect(rangeKind({ since: "-1h" })).toBe("-1h");
    expect(rangeKind({ since: "-24h" })).toBe("-24h");
    expect(rangeKind({ since: "-2h" })).toBe("custom");
    expect(rangeKind({ since: "-1h", until: "now" })).toBe("custom");
    expect(rangeKind({ until: "2026-11-28T11:00:00Z" })).toBe("custom");
    expect(utcInputValue(Date.parse("2026-11-28T11:00:05.700Z") / 1000)).toBe("2026-11-28T11:00:05");
    expect(utcInputValue(null)).toBe("");
    expect(utcInputValue(Number.NaN)).toBe("");
  });

  test("control: live and three presets keep q and sort, drop the page, mark the current one", async () => {
    const d = parse(await (<FlowsPage view={view({ params: { q: "protocol:tcp", sort_by: "bytes", order: "desc", offset: 100, since: "-1h" } })} now={NOW} />));
    const ctl = d.$("#time-range")!;
    expect(ctl.getAttribute("data-range")).toBe("-1h");
    const links = d.$$("#time-range a.range-choice");
    expect(links.map((a) => a.textContent)).toEqual(["Live", "Last 15 min", "Last 1 h", "Last 24 h"]);
    expect(links.map((a) => paramsOf(a.getAttribute("href")).since ?? null)).toEqual([null, "-15m", "-1h", "-24h"]);
    for (const a of links) {
      const p = paramsOf(a.getAttribute("href"));
      expect(p.q).toBe("protocol:tcp");
      expect(p.sort_by).toBe("bytes");
      expect(p.offset).toBeUndefined();
      expect(a.getAttribute("hx-get")).toBe(a.getAttribute("href"));
      expect(a.getAttribute("hx-target")).toBe("#main");
      expect(a.getAttribute("hx-push-url")).toBe("true");
    }
    expect(d.$$("#time-range [aria-current=true]").map((a) => a.getAttribute("data-range"))).toEqual(["-1h"]);
    expect(d.$("#time-range details")!.hasAttribute("open")).toBe(false);
    expect(d.$("#time-range .window-note")!.textContent).toBe(
      "Flows active between 2026-11-28 11:00:00 UTC and now: live flows and ended flows from the history store");
    const all = ids(d);
    expect(new Set(all).size).toBe(all.length);
  });

  test("custom from–to: a GET form on /flows into #main with datetime-local inputs in UTC, open when custom", async () => {
    const since = Date.parse("2026-11-28T10:00:00Z") / 1000;
    const until = Date.parse("2026-11-28T10:30:15Z") / 1000;
    const d = parse(await (<FlowsPage view={view({
      params: { q: "ip:10.0.0.1", limit: 50, since: "2026-11-28T10:00:00Z", until: "2026-11-28T10:30:15Z" },
      window: { since, until },
    })} now={NOW} />));
    expect(d.$("#time-range")!.getAttribute("data-range")).toBe("custom");
    expect(d.$("#time-range details")!.hasAttribute("open")).toBe(true);
    expect(d.$("#time-range summary")!.getAttribute("aria-current")).toBe("true");
    const form = d.$("#time-range form")!;
    expect(form.getAttribute("action")).toBe("/flows");
    expect(form.getAttribute("method")).toBe("get");
    expect(form.getAttribute("hx-get")).toBe("/flows");
    expect(form.getAttribute("hx-target")).toBe("#main");
    const field = (n: string) => form.querySelector(`[name=${n}]`) as unknown as HTMLInputElement;
    expect(field("q").value).toBe("ip:10.0.0.1");
    expect(field("limit").value).toBe("50");
    expect(field("since").getAttribute("type")).toBe("datetime-local");
    expect(field("since").value).toBe("2026-11-28T10:00:00");
    expect(field("until").value).toBe("2026-11-28T10:30:15");
    expect(d.$("#time-range .window-note")!.textContent).toContain("between 2026-11-28 10:00:00 UTC and 2026-11-28 10:30:15 UTC");
  });

  test("sorting, paging, search and Export CSV keep the range", async () => {
    const v = view({ params: { q: "protocol:tcp", since: "2026-11-28T11:00:00Z", until: "now" } });
    const d = parse(await (<FlowsPage view={v} now={NOW} />));
    const sortLinks = d.$$("th a.server-sort");
    expect(sortLinks.length).toBeGreaterThan(0);
    for (const a of sortLinks) {
      for (const attr of ["href", "hx-get", "hx-push-url"]) {
        const p = paramsOf(a.getAttribute(attr));
        expect(p.since).toBe("2026-11-28T11:00:00Z");
        expect(p.until).toBe("now");
      }
    }
    const next = d.$(".pagination a[rel=next]")!;
    expect(paramsOf(next.getAttribute("hx-get"))).toMatchObject({ since: "2026-11-28T11:00:00Z", until: "now", offset: "2" });
    const search = d.$("form.search")!;
    expect((search.querySelector("input[name=since]") as unknown as HTMLInputElement).value).toBe("2026-11-28T11:00:00Z");
    expect((search.querySelector("input[name=until]") as unknown as HTMLInputElement).value).toBe("now");
    const csv = d.$("a.export")!.getAttribute("href")!;
    expect(csv.startsWith("/api/v1/flows?")).toBe(true);
    expect(paramsOf(csv)).toEqual({ q: "protocol:tcp", since: "2026-11-28T11:00:00Z", until: "now", format: "csv" });
    expect(csv).toBe(flowsCsvHref(v.params));
    // live: no bounds anywhere
    const live = parse(await (<FlowsPage view={view({ params: { q: "" }, window: null })} now={NOW} />));
    expect(live.$("#time-range")!.getAttribute("data-range")).toBe("live");
    expect(live.$("form.search input[name=since]")).toBeNull();
    expect(paramsOf(live.$("a.export")!.getAttribute("href"))).toEqual({ format: "csv" });
    expect(live.$("#time-range .window-note")!.textContent).toBe("Live: active flows and ended flows from the history store, no time bounds");
  });

  test("without a store the note says ended flows are this run's, in memory", async () => {
    const d = parse(await (<TimeRange view={view({ stored: false })} />));
    expect(d.$(".window-note")!.textContent).toContain("recently ended flows kept in memory (no history store)");
  });

  test("the table fragment re-sends the control out of band", async () => {
    const d = parse(await (<TimeRange view={view()} oob />));
    expect(d.$("#time-range")!.getAttribute("hx-swap-oob")).toBe("true");
  });

  test("a bad time is a time range error (no caret), and an empty range hints at widening it", async () => {
    const d = parse(await (<FlowsTable view={view({
      params: { q: "", since: "yesterday" }, flows: [], total: null, window: null,
      error: { message: `since: "yesterday" is not a time (ISO 8601 …)`, position: 0, field: "since" },
    })} />));
    expect(d.$("#flows-error")!.getAttribute("data-field")).toBe("since");
    expect(d.$("#flows-error")!.textContent).toContain("Time range error");
    expect(d.$("#flows-error pre.caret")).toBeNull();
    const empty = parse(await (<FlowsTable view={view({ params: { q: "", since: "-15m" }, flows: [], total: 0 })} />));
    expect(empty.$(".empty-state .hint")!.textContent).toContain("No flows in this time range");
  });

  test("hostile since/until and q are escaped in the control, the form, the links and the note", async () => {
    const d = parse(await (<FlowsPage view={view({ params: { q: EVIL, since: EVIL, until: EVIL }, window: null })} now={NOW} />));
    expect(d.$$("script").length).toBe(0);
    expect(d.$$("img").length).toBe(0);
    expect(d.$$("[onerror]").length).toBe(0);
    expect((d.$("form.search input[name=since]") as unknown as HTMLInputElement).value).toBe(EVIL);
    expect((d.$("#time-range input[name=q]") as unknown as HTMLInputElement).value).toBe(EVIL);
    expect(d.$("#time-range .window-note")!.textContent).toBe(`Range ${EVIL} to ${EVIL}`);
    expect(paramsOf(d.$("a.export")!.getAttribute("href")).until).toBe(EVIL);
    const err = parse(await (<FlowsTable view={view({ params: { q: "", until: EVIL }, flows: [], total: null, error: { message: `until: "${EVIL}" is not a time`, position: 0, field: "until" } })} />));
    expect(err.$$("script").length + err.$$("img").length).toBe(0);
    expect(err.$("#flows-error .msg")!.textContent).toBe(`until: "${EVIL}" is not a time`);
  });
});

describe("health history from the store", () => {
  test("7 d only when offered; the coverage line names the first and last point and the source", async () => {
    const h = { ...history(), source: "history" as const };
    const d = parse(await (<HealthHistory history={h} range="7d" ranges={HISTORY_RANGES} />));
    expect(d.$$(".range button").map((b) => b.textContent)).toEqual(["15m", "1h", "6h", "24h", "7d"]);
    expect(d.$(".range button[aria-pressed=true]")!.textContent).toBe("7d");
    expect(d.$("#health-history")!.getAttribute("hx-get")).toBe("/health/history?range=7d");
    const cov = d.$("p.coverage")!;
    expect(cov.getAttribute("data-source")).toBe("history");
    expect(cov.getAttribute("data-points")).toBe("90");
    expect(cov.getAttribute("data-step")).toBe("10");
    expect(d.$("p.coverage time.first")!.getAttribute("datetime")).toBe(new Date(h.t[0]! * 1000).toISOString());
    expect(d.$("p.coverage time.last")!.getAttribute("datetime")).toBe(new Date(h.t[89]! * 1000).toISOString());
    expect(cov.textContent).toContain("stored history");
    const mem = parse(await (<HealthHistory history={history()} />));
    expect(mem.$$(".range button").map((b) => b.textContent)).toEqual(["15m", "1h", "6h", "24h"]);
    expect(mem.$("p.coverage")!.getAttribute("data-source")).toBe("memory");
  });

  test("coverage skips leading and trailing gaps; no samples at all says so", async () => {
    const h = history(10);
    for (const k of Object.keys(h.series) as (keyof typeof h.series)[]) {
      h.series[k] = h.series[k].map((v, i) => (i < 3 || i > 7 ? null : v));
    }
    expect(coverage(h)).toEqual({ first: 3, last: 7, points: 5 });
    for (const k of Object.keys(h.series) as (keyof typeof h.series)[]) h.series[k] = h.series[k].map(() => null);
    expect(coverage(h)).toBeNull();
    const d = parse(await (<HealthHistory history={h} range="24h" />));
    expect(d.$("p.coverage")!.getAttribute("data-points")).toBe("0");
    expect(d.$("p.coverage")!.textContent).toContain("No samples in the last 24h");
  });
});

const events: AlertHistoryJson = {
  source: "history", limit: 100,
  events: [
    { at: "2026-11-28T11:58:00.000Z", event: "cleared", alert: alert({ cleared: "2026-11-28T11:58:00.000Z" }) },
    { at: "2026-11-28T11:55:00.000Z", event: "raised", alert: alert({ id: "a2", rule: "scan", severity: "warning", message: "Scan suspected from 10.0.0.9", q: "src_ip:10.0.0.9" }) },
    { at: "2026-11-28T11:50:00.000Z", event: "raised", alert: alert({ id: "a3", rule: "cpu", severity: "warning", message: "High CPU", q: "" }) },
  ],
};

describe("alert history", () => {
  test("one row per raise and clear, in the order given (newest first): time, event, severity, rule, message, link", async () => {
    const d = parse(await (<AlertHistory history={events} now={NOW} />));
    const sec = d.$("#alerts-history")!;
    expect(sec.getAttribute("hx-get")).toBe("/health/alerts");
    expect(sec.getAttribute("hx-trigger")).toBe("every 30s");
    expect(sec.getAttribute("data-source")).toBe("history");
    const rows = d.$$("tr.alert-event");
    expect(rows.map((r) => Array.from(r.querySelectorAll("td")).slice(0, 5).map((c) => c.textContent))).toEqual([
      ["2026-11-28 11:58:00 UTC", "cleared", "error", "high_bandwidth", "Bandwidth above 100 Mbit/s"],
      ["2026-11-28 11:55:00 UTC", "raised", "warning", "scan", "Scan suspected from 10.0.0.9"],
      ["2026-11-28 11:50:00 UTC", "raised", "warning", "cpu", "High CPU"],
    ]);
    expect(rows[0]!.querySelector("time")!.getAttribute("datetime")).toBe("2026-11-28T11:58:00.000Z");
    expect(rows[0]!.querySelector("time")!.getAttribute("title")).toBe("2m ago");
    // The flows behind the alert, around when it happened: a minute before it was raised, to a minute after it cleared.
    const cleared = rows[0]!.querySelector("a.alert-link")!;
    expect(paramsOf(cleared.getAttribute("href"))).toEqual({ q: "ip:192.168.1.10", since: "2026-11-28T11:54:00Z", until: "2026-11-28T11:59:00Z" });
    expect(cleared.getAttribute("hx-target")).toBe("#main");
    expect(cleared.textContent).toBe("ip:192.168.1.10");
    expect(paramsOf(rows[1]!.querySelector("a.alert-link")!.getAttribute("href"))).toEqual({ q: "src_ip:10.0.0.9", since: "2026-11-28T11:54:00Z" });
    expect(rows[2]!.querySelector("a")).toBeNull(); // no filter, no link
  });

  test("empty list and the memory-only note", async () => {
    const d = parse(await (<AlertHistory history={{ events: [], source: "memory", limit: 100 }} />));
    expect(d.$(".empty")!.textContent).toBe("No alerts raised yet");
    expect(d.$(".source")!.textContent).toContain("this run only");
  });

  test("on the Health page, ids unique; the Live alerts panel links to it in one click", async () => {
    const d = parse(await (<HealthPage health={health()} history={history()} alerts={events} now={NOW} />));
    expect(d.$("#alerts-history")).not.toBeNull();
    const all = ids(d);
    expect(new Set(all).size).toBe(all.length);
    const live = parse(await (<AlertsList alerts={noAlerts} />));
    expect(live.$("#alerts .history-link a")!.getAttribute("href")).toBe("/health#alerts-history");
  });

  test("hostile alert text and filter are escaped", async () => {
    const evil: AlertHistoryJson = {
      source: "history", limit: 100,
      events: [{ at: "2026-11-28T11:58:00.000Z", event: "raised", alert: alert({ rule: EVIL, message: EVIL, q: EVIL }) }],
    };
    const d = parse(await (<AlertHistory history={evil} />));
    expect(d.$$("script").length + d.$$("img").length + d.$$("[onerror]").length).toBe(0);
    expect(d.$("td.msg")!.textContent).toBe(EVIL);
    expect(d.$("td.rule")!.textContent).toBe(EVIL);
    expect(d.$("a.alert-link code")!.textContent).toBe(EVIL);
    expect(paramsOf(d.$("a.alert-link")!.getAttribute("href")).q).toBe(EVIL);
    expect(d.$("tr.alert-event")!.getAttribute("data-rule")).toBe(EVIL);
  });
});

describe("bandwidth from the store", () => {
  test("1 h chart marked as stored history; a gap (null) breaks the line; protocol mix ignores gaps", async () => {
    const b = { ...bandwidth(30), source: "history" as const };
    b.bps = b.bps.map((v, i) => (i >= 10 && i < 15 ? null : v));
    b.pps = b.pps.map((v, i) => (i >= 10 && i < 15 ? null : v));
    b.by_protocol = { tcp: b.bps.map((v) => v), udp: b.t.map((_, i) => (i === 29 ? null : 1e5)) };
    const d = parse(await (<BandwidthChart bandwidth={b} range="1h" />));
    const chart = d.$("#bandwidth-chart-1h")!;
    expect(chart.getAttribute("data-source")).toBe("history");
    expect(d.$(".legend .source")!.textContent).toBe("from stored history");
    expect(d.$("path.s-bps")!.getAttribute("d")!.match(/M/g)!.length).toBe(2);
    const mix = parse(await (<ProtocolMix by_protocol={b.by_protocol} />));
    expect(mix.$$("li .name").map((e) => e.textContent)).toEqual(["tcp", "udp"]);
    expect(mix.$$("li .now").map((e) => e.textContent)).toEqual(["3.9 Mbit/s", "0 bit/s"]);
    const mem = parse(await (<BandwidthChart bandwidth={bandwidth(30)} range="15m" />));
    expect(mem.$("#bandwidth-chart-15m")!.getAttribute("data-source")).toBe("memory");
    expect(mem.$(".legend .source")).toBeNull();
  });
});
