/**
 * Issue 11/12 in the views: Top applications panel, annotated talkers, flags / names / App column
 * and the new fields in the flow details, the collector section on Health. Hostile names (HTML,
 * control characters, bidi overrides, 10 kB) must come out as inert, bounded text.
 */
import { describe, expect, test } from "bun:test";
import { AppBadge, Geo } from "./annotations.tsx";
import { cleanText, flagEmoji, NAME_SHOW_MAX, NAME_TITLE_MAX } from "./format.ts";
import { FlowsPage } from "./flows.tsx";
import { CollectorPanel, HealthPage } from "./health.tsx";
import { LivePage, TopApps, TopTalkers } from "./live.tsx";
import { parse } from "./test-dom.ts";
import { bandwidth, counters, EVIL, flow, health, history, noAlerts, NOW } from "./test-fixtures.ts";
import type { AppUsage, CollectorView, TalkerInfo } from "./types.ts";

const LONG = "a".repeat(10_000) + ".evil.example";
const CTRL = "bad\u0000na\u0007me\u001b[31m\u202etxt.exe\u2028x";

function inert(html: string) {
  const d = parse(html);
  expect(d.$$("script").length).toBe(0);
  expect(d.$$("img").length).toBe(0);
  expect(d.$$("*").every((e) => Array.from(e.attributes).every((a) => !a.name.startsWith("on")))).toBe(true);
  return d;
}

const apps: AppUsage[] = [
  { app: "tls", bytes: 6e6, payload_bytes: 6e6, port_bytes: 0, bps: 8e5 },
  { app: "dns", bytes: 3e6, payload_bytes: 1.5e6, port_bytes: 1.5e6, bps: 1e4 },
  { app: "ssh", bytes: 1e6, payload_bytes: 0, port_bytes: 1e6, bps: 0 },
  { app: "unknown", bytes: 5e5, payload_bytes: 0, port_bytes: 5e5, bps: 0 },
];

describe("format helpers", () => {
  test("flagEmoji: two ASCII letters → regional indicators; anything else → null", () => {
    expect(flagEmoji("DE")).toBe("🇩🇪");
    expect(flagEmoji("us")).toBe("🇺🇸");
    for (const x of ["private", "D", "DEU", "1A", "É1", "", null, undefined, "<b"]) expect(flagEmoji(x)).toBeNull();
  });

  test("cleanText: controls and bidi overrides → ?, bounded, tail kept for names", () => {
    expect(cleanText(CTRL)).toBe("bad?na?me?[31m?txt.exe?x");
    const t = cleanText(LONG, 40, "tail");
    expect([...t].length).toBe(40);
    expect(t.startsWith("…")).toBe(true);
    expect(t.endsWith(".evil.example")).toBe(true);
    const h = cleanText(LONG, 40);
    expect(h.endsWith("…")).toBe(true);
    expect(cleanText(null)).toBe("");
    expect(cleanText("x".repeat(10_000_000)).length).toBe(NAME_TITLE_MAX);
  });
});

describe("Top applications panel", () => {
  test("rows by bytes, each a link to /flows?q=app:NAME into #main; payload / port / mixed marked", async () => {
    const d = parse(await (<TopApps apps={apps} />));
    const rows = d.$$("#top-apps tbody tr");
    expect(rows.map((r) => r.getAttribute("data-app"))).toEqual(["tls", "dns", "ssh", "unknown"]);
    expect(rows.map((r) => r.getAttribute("data-app-source"))).toEqual(["payload", "mixed", "port", "none"]);
    const a = d.$("#top-apps tr[data-app=tls] a")!;
    expect(a.getAttribute("href")).toBe("/flows?q=app:tls");
    expect(a.getAttribute("hx-get")).toBe("/flows?q=app:tls");
    expect(a.getAttribute("hx-target")).toBe("#main");
    expect(a.getAttribute("hx-push-url")).toBe("true");
    expect(d.$("tr[data-app=dns] .app-src")!.textContent).toBe(" 50 % port");
    expect(d.$("tr[data-app=ssh] .app-src")!.textContent).toBe(" port");
    expect(d.$("tr[data-app=ssh]")!.getAttribute("title")).toBe("ssh: guessed from the port");
    expect(d.$("tr[data-app=tls] .app-src")).toBeNull();
    // "unknown" is not a grammar value: no link
    expect(d.$("tr[data-app=unknown] a")).toBeNull();
    expect(d.$("tr[data-app=unknown] .app-src")).toBeNull();
    // shares of the panel total, bytes and the current rate
    expect(d.$("tr[data-app=tls] .pct")!.textContent).toBe("57 %");
    expect(d.$("tr[data-app=tls] .bar span")!.getAttribute("style")).toBe("width:57.1%");
    expect(d.$("tr[data-app=tls] td.num")!.textContent).toBe("6 MB");
    expect(d.$$("tr[data-app=tls] td.num")[1]!.textContent).toBe("800 kbit/s");
  });

  test("empty: a message, no table; oob render carries hx-swap-oob", async () => {
    const d = parse(await (<TopApps apps={[]} oob />));
    expect(d.$("#top-apps .empty")!.textContent).toContain("No application traffic");
    expect(d.$("#top-apps table")).toBeNull();
    expect(d.$("#top-apps")!.getAttribute("hx-swap-oob")).toBe("true");
  });

  test("on the Live page, once, without oob", async () => {
    const d = parse(await (
      <LivePage bandwidth={bandwidth()} counters={counters} talkers={[]} apps={apps} alerts={noAlerts} health={health()} now={NOW} />
    ));
    expect(d.$$("#top-apps").length).toBe(1);
    expect(d.$("#top-apps")!.hasAttribute("hx-swap-oob")).toBe(false);
  });

  test("hostile app names are escaped, cleaned and bounded", async () => {
    const html = await (<TopApps apps={[
      { app: EVIL, bytes: 10, payload_bytes: 10, port_bytes: 0, bps: 0 },
      { app: LONG, bytes: 5, payload_bytes: 0, port_bytes: 5, bps: 0 },
      { app: CTRL, bytes: 1, payload_bytes: 1, port_bytes: 0, bps: 0 },
    ]} />);
    expect(html.length).toBeLessThan(6000);
    const d = inert(html);
    // not names the grammar takes: shown as text, never as a link
    expect(d.$$("#top-apps a").length).toBe(0);
    const names = d.$$("#top-apps .app-name .app");
    expect(names[0]!.textContent).toBe(cleanText(EVIL, 32));
    expect([...names[1]!.textContent!].length).toBe(32);
    expect(names[2]!.textContent).not.toMatch(/[\u0000-\u001f\u202e]/);
  });
});

describe("talkers: names, flags, AS", () => {
  const rows: TalkerInfo[] = [
    { host: "93.184.216.34", bytes: 3e6, packets: 2000, flows: 4, bps: 1e6, name: "www.example.com", country: "US", special: null, asn: 15133, as_name: "EDGECAST" },
    { host: "192.168.1.10", bytes: 2e6, packets: 1000, flows: 5, bps: 5e5, name: null, country: null, special: "private", asn: null, as_name: null },
    { host: "10.9.9.9", bytes: 1, packets: 1, flows: 1, bps: 0 },
  ];

  test("name (address) with the address as the link, flag or range badge, AS note, attribution", async () => {
    const d = parse(await (<TopTalkers talkers={rows} />));
    const cells = d.$$("#top-talkers td.host");
    expect(cells[0]!.textContent!.replace(/\s+/g, " ").trim()).toBe("🇺🇸 www.example.com (93.184.216.34) AS15133 EDGECAST");
    expect(cells[0]!.querySelector("a")!.textContent).toBe("93.184.216.34");
    expect(cells[0]!.querySelector("a")!.getAttribute("href")).toBe("/flows?q=ip:93.184.216.34");
    expect(cells[0]!.querySelector(".flag")!.getAttribute("data-country")).toBe("US");
    expect(cells[1]!.querySelector(".range-badge")!.textContent).toBe("private");
    expect(cells[1]!.querySelector(".flag")).toBeNull();
    expect(cells[1]!.textContent!.trim()).toBe("private 192.168.1.10");
    expect(cells[2]!.textContent!.trim()).toBe("10.9.9.9");
    expect(d.$("#top-talkers .attribution a")!.textContent).toContain("DB-IP");
    // no AS names, no attribution
    const plain = parse(await (<TopTalkers talkers={[rows[1]!, rows[2]!]} />));
    expect(plain.$(".attribution")).toBeNull();
  });

  test("hostile names, countries and AS names: escaped, cleaned, bounded (10 kB)", async () => {
    const html = await (<TopTalkers talkers={[
      { host: "1.2.3.4", bytes: 1, packets: 1, flows: 1, bps: 1, name: EVIL, country: EVIL, special: null, asn: 1, as_name: EVIL },
      { host: "1.2.3.5", bytes: 1, packets: 1, flows: 1, bps: 1, name: LONG, country: null, special: LONG, asn: null, as_name: LONG },
      { host: "1.2.3.6", bytes: 1, packets: 1, flows: 1, bps: 1, name: CTRL, country: null, special: null, asn: null, as_name: CTRL },
    ]} />);
    expect(html.length).toBeLessThan(8000);
    const d = inert(html);
    const names = d.$$("#top-talkers .host-name");
    expect(names[0]!.textContent).toBe(cleanText(EVIL, NAME_SHOW_MAX, "tail"));
    expect(names[0]!.getAttribute("title")).toBe(EVIL);
    expect(d.$$("#top-talkers .range-badge")[0]!.textContent).toBe(cleanText(EVIL, 16));
    expect([...names[1]!.textContent!].length).toBe(NAME_SHOW_MAX);
    expect(names[1]!.getAttribute("title")!.length).toBeLessThanOrEqual(NAME_TITLE_MAX);
    expect(names[2]!.textContent).toBe(cleanText(CTRL, NAME_SHOW_MAX, "tail"));
    expect(d.$("#top-talkers")!.textContent).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u202e]/);
  });
});

describe("flow table and details", () => {
  const f = flow({
    id: 7, src_ip: "192.168.1.10", dst_ip: "142.250.74.14", src_name: null, dst_name: "www.google.com",
    src_country: "private", dst_country: "US", src_asn: null, dst_asn: 15169, src_as_name: null, dst_as_name: "GOOGLE",
    app: "quic", app_source: "payload", server_name: "www.google.com", community_id: "1:abc=",
    source: "capture", exporter: null, exporter_domain: null,
  });

  test("flags and names next to the addresses, App column with the server name", async () => {
    const d = parse(await (<FlowsPage view={{ params: { q: "" }, limit: 100, flows: [f, flow({ id: 8, app: "ssh", app_source: "port", server_name: null })], total: 2 }} now={NOW} />));
    const src = d.$("tbody.flow[data-flow-id='7'] td[data-col=src]")!;
    const dst = d.$("tbody.flow[data-flow-id='7'] td[data-col=dst]")!;
    expect(src.querySelector(".ep")!.textContent).toBe("192.168.1.10:51234");
    expect(src.querySelector(".range-badge")!.textContent).toBe("private");
    expect(dst.querySelector(".flag")!.textContent).toBe("🇺🇸");
    expect(dst.querySelector(".host-name")!.textContent).toBe("www.google.com");
    const app = d.$("tbody.flow[data-flow-id='7'] td[data-col=app]")!;
    expect(app.querySelector(".app")!.textContent).toBe("quic");
    expect(app.querySelector(".app")!.getAttribute("data-app-source")).toBe("payload");
    expect(app.querySelector(".server-name")!.textContent).toBe("www.google.com");
    const guessed = d.$("tbody.flow[data-flow-id='8'] td[data-col=app] .app")!;
    expect(guessed.textContent).toBe("ssh?");
    expect(guessed.getAttribute("title")).toBe("ssh: guessed from the port");
  });

  test("details list every new field", async () => {
    const d = parse(await (<FlowsPage view={{ params: { q: "" }, limit: 100, flows: [f], total: 1 }} now={NOW} />));
    const det = d.$("#flow-7-details")!;
    const pairs = new Map(Array.from(det.querySelectorAll("dt")).map((dt) => [dt.textContent!, dt.nextElementSibling!.textContent!.replace(/\s+/g, " ").trim()]));
    expect(pairs.get("Community ID")).toBe("1:abc=");
    expect(pairs.get("Application")).toBe("quic (from the payload)");
    expect(pairs.get("Server name")).toBe("www.google.com");
    expect(pairs.get("Source host")).toBe("192.168.1.10, private private");
    expect(pairs.get("Destination host")).toBe("www.google.com (142.250.74.14), 🇺🇸 US, AS15169 GOOGLE");
    expect(pairs.get("Origin")).toBe("packet capture");
    expect(det.querySelector(".attribution")).not.toBeNull();
    const nf = parse(await (<FlowsPage view={{ params: { q: "" }, limit: 100, total: 1, flows: [
      flow({ id: 9, source: "netflow", exporter: "10.0.0.1", exporter_domain: 256, app: null, app_source: null, server_name: null, dst_as_name: null }),
    ] }} now={NOW} />));
    const p2 = new Map(Array.from(nf.$("#flow-9-details")!.querySelectorAll("dt")).map((dt) => [dt.textContent!, dt.nextElementSibling!.textContent!]));
    expect(p2.get("Origin")).toBe("NetFlow/IPFIX exporter 10.0.0.1, observation domain 256");
    expect(p2.get("Application")).toBe("unknown");
    expect(p2.get("Server name")).toBe("none");
  });

  test("a record without the new fields renders as before (no empty rows)", async () => {
    const old = flow({ id: 3 });
    for (const k of ["community_id", "app", "app_source", "server_name", "src_name", "dst_name", "src_country", "dst_country",
      "src_asn", "dst_asn", "src_as_name", "dst_as_name", "source", "exporter", "exporter_domain"] as const) delete old[k];
    const d = parse(await (<FlowsPage view={{ params: { q: "" }, limit: 100, flows: [old], total: 1 }} now={NOW} />));
    const dts = d.$$("#flow-3-details dt").map((x) => x.textContent);
    for (const k of ["Community ID", "Application", "Server name", "Source host", "Destination host", "Origin"]) expect(dts).not.toContain(k);
    expect(d.$("td[data-col=src]")!.textContent).toBe("192.168.1.10:51234");
  });

  test("hostile names, server names, AS names and exporters: escaped, cleaned, bounded (10 kB)", async () => {
    const evil = flow({
      id: 5, server_name: EVIL, src_name: LONG, dst_name: CTRL, src_country: EVIL, dst_country: LONG, app: EVIL,
      src_as_name: LONG, dst_as_name: EVIL, src_asn: 1, dst_asn: 2, community_id: EVIL, source: "netflow", exporter: EVIL, exporter_domain: 1,
    });
    const html = await (<FlowsPage view={{ params: { q: "" }, limit: 100, flows: [evil], total: 1 }} now={NOW} />);
    // three 10 kB strings, each shown at most a few times and bounded to ≤ 253 characters
    expect(html.length).toBeLessThan(20_000);
    const d = inert(html);
    expect(d.$("td[data-col=app] .server-name")!.textContent).toBe(cleanText(EVIL, NAME_SHOW_MAX, "tail"));
    expect(d.$("td[data-col=app] .server-name")!.getAttribute("title")).toBe(EVIL);
    expect(d.$("td[data-col=app] .app")!.textContent).toBe(cleanText(EVIL, 32));
    expect([...d.$("td[data-col=src] .host-name")!.textContent!].length).toBe(NAME_SHOW_MAX);
    expect(d.$("td[data-col=dst] .host-name")!.textContent).toBe(cleanText(CTRL, NAME_SHOW_MAX, "tail"));
    expect(d.$("td[data-col=src] .range-badge")!.textContent).toBe(cleanText(EVIL, 16));
    const det = d.$("#flow-5-details")!.textContent!;
    expect(det).toContain(EVIL);
    expect(det).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u202e]/);
    for (const dd of d.$$("#flow-5-details dd")) expect(dd.textContent!.length).toBeLessThan(700);
  });

  test("Geo and AppBadge alone", async () => {
    expect(await (<Geo country={null} />)).toBe("");
    expect(await (<Geo country="de" />)).toContain('data-country="DE"');
    expect(await (<AppBadge app={null} source={null} />)).toBe("");
  });
});

describe("Health: collector section", () => {
  const col: CollectorView = {
    listen: "127.0.0.1:2055", state: "active", error: null, packets: 120, records: 3400, errors: 3,
    error_reasons: { unknown_template: 2, truncated: 1 },
    exporters: [
      { address: "10.0.0.1", versions: [9], packets: 100, records: 3000, errors: 3, error_reasons: { unknown_template: 2, truncated: 1 }, lost: 0, sampling_rate: 1, last_seen: NOW / 1000 - 5 },
      { address: "10.0.0.2", versions: [5, 10], packets: 20, records: 400, errors: 0, error_reasons: {}, lost: 7, sampling_rate: 100, last_seen: NOW / 1000 - 1 },
    ],
  };

  test("exporters with packets, records, errors, lost, sampling, last seen (newest first)", async () => {
    const d = parse(await (<CollectorPanel collector={col} now={NOW} />));
    expect(d.$("#collector h2")!.textContent).toBe("NetFlow/IPFIX collector");
    expect(d.$("#collector .source")!.textContent).toBe("127.0.0.1:2055 · active");
    expect(d.$(".collector-totals")!.textContent).toBe("120 datagrams, 3,400 records, 3 errors (unknown_template 2, truncated 1)");
    const rows = d.$$("#collector tbody tr").map((tr) => Array.from(tr.querySelectorAll("td")).map((td) => td.textContent));
    expect(rows).toEqual([
      ["10.0.0.2", "v5, IPFIX", "20", "400", "0", "7", "1:100", "1s ago"],
      ["10.0.0.1", "v9", "100", "3,000", "3", "0", "none", "5s ago"],
    ]);
    expect(d.$("tr[data-exporter='10.0.0.1'] td.errors")!.getAttribute("title")).toBe("unknown_template 2, truncated 1");
    expect(d.$("tr[data-exporter='10.0.0.2'] td.sampling")!.getAttribute("title")).toBe("1 in 100 packets: counts scaled by 100");
    expect(d.$("#collector")!.classList.contains("level-warning")).toBe(true);
  });

  test("on the Health page only when health has a collector; no exporters yet says so; failed is red", async () => {
    const withCol = parse(await (<HealthPage health={health({ collector: col })} history={history()} now={NOW} />));
    expect(withCol.$$("#collector").length).toBe(1);
    const without = parse(await (<HealthPage health={health()} history={history()} now={NOW} />));
    expect(without.$("#collector")).toBeNull();
    const failed = parse(await (<CollectorPanel collector={{ ...col, state: "failed", error: "address in use", exporters: [] }} now={NOW} />));
    expect(failed.$("#collector")!.classList.contains("level-error")).toBe(true);
    expect(failed.$("#collector .banner")!.textContent).toBe("address in use");
    expect(failed.$("#collector .empty")!.textContent).toBe("No exporter heard from yet");
  });

  test("hostile exporter text is escaped and bounded", async () => {
    const html = await (<CollectorPanel now={NOW} collector={{
      ...col, listen: EVIL, error: LONG, error_reasons: { [EVIL]: 1 },
      exporters: [{ ...col.exporters[0]!, address: EVIL, error_reasons: { [LONG]: 1 } }],
    }} />);
    expect(html.length).toBeLessThan(6000);
    const d = inert(html);
    expect(d.$("#collector td.address")!.textContent).toBe(cleanText(EVIL, 64));
  });
});
