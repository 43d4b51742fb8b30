import { describe, expect, test } from "bun:test";
import { HealthIndicators } from "./health.tsx";
import { HeaderStatus } from "./layout.tsx";
import { AlertsList, BandwidthChart, Counters, LivePage, ProtocolMix, TopTalkers } from "./live.tsx";
import { ids, parse } from "./test-dom.ts";
import { alert, bandwidth, counters, health, noAlerts, NOW, talkers } from "./test-fixtures.ts";

const OOB_IDS = ["bandwidth-chart", "counters", "protocol-mix", "top-talkers", "alerts", "health-indicators"];

describe("live page", () => {
  test("every pushed part is present once, with a unique stable id", async () => {
    const d = parse(await (
      <LivePage bandwidth={bandwidth()} counters={counters} talkers={talkers} alerts={noAlerts} health={health()} now={NOW} />
    ));
    const all = ids(d);
    expect(new Set(all).size).toBe(all.length);
    for (const id of OOB_IDS) expect(all.filter((x) => x === id)).toEqual([id]);
    // a page render never carries oob attributes
    expect(d.$$("[hx-swap-oob]").length).toBe(0);
  });

  test("oob renders: hx-swap-oob=true on the element with the id", async () => {
    const html = [
      await (<BandwidthChart bandwidth={bandwidth()} oob />),
      await (<Counters counters={counters} oob />),
      await (<ProtocolMix by_protocol={bandwidth().by_protocol} oob />),
      await (<TopTalkers talkers={talkers} oob />),
      await (<AlertsList alerts={noAlerts} oob />),
      await (<HealthIndicators health={health()} oob />),
      await (<HeaderStatus health={health()} oob />),
    ].join("");
    const d = parse(html);
    const oob = d.$$("[hx-swap-oob]");
    expect(oob.map((e) => e.id)).toEqual([...OOB_IDS, "header-status"]);
    expect(oob.every((e) => e.getAttribute("hx-swap-oob") === "true")).toBe(true);
    // the message is only oob elements at top level: htmx skips the main swap
    expect([...d.document.body.children].every((e) => e.hasAttribute("hx-swap-oob"))).toBe(true);
  });

  test("bandwidth chart: SVG with bps and pps lines, range selector, red when high", async () => {
    const d = parse(await (<BandwidthChart bandwidth={bandwidth()} threshold_bps={5e6} />));
    const box = d.$("#bandwidth-chart")!;
    expect(box.classList.contains("high")).toBe(true); // last bps 6.9 Mbit/s > 5 Mbit/s
    expect(d.$$("svg path.line").length).toBe(2);
    expect(d.$("svg path.s-bps")!.getAttribute("d")!.split("L").length).toBe(60);
    expect(d.$("svg line.threshold")).not.toBeNull();
    expect(d.$$(".range button").map((b) => [b.textContent, b.getAttribute("aria-pressed")])).toEqual(
      [["60 s", "true"], ["15 min", "false"], ["1 h", "false"]]);
    expect(d.$(".range button")!.getAttribute("hx-target")).toBe("#bandwidth-panel");
    const calm = parse(await (<BandwidthChart bandwidth={bandwidth()} threshold_bps={1e9} />));
    expect(calm.$("#bandwidth-chart")!.classList.contains("high")).toBe(false);
  });

  test("other ranges use another id so live pushes do not overwrite them", async () => {
    const d = parse(await (<BandwidthChart bandwidth={bandwidth(900)} range="15m" />));
    expect(d.$("#bandwidth-chart")).toBeNull();
    const box = d.$("#bandwidth-chart-15m")!;
    expect(box.getAttribute("hx-get")).toBe("/live/bandwidth?range=15m");
    expect(box.getAttribute("hx-trigger")).toBe("every 15s");
    // 900 samples are downsampled to at most 300 points
    expect(d.$("svg path.s-bps")!.getAttribute("d")!.split("L").length).toBeLessThanOrEqual(300);
  });

  test("an active bandwidth alert turns the chart and alerts red", async () => {
    const d = parse(await (
      <LivePage bandwidth={bandwidth()} counters={counters} talkers={talkers}
        alerts={{ active: [alert()], recent: [alert({ id: "old", message: "earlier" })] }} health={null} high_bandwidth now={NOW} />
    ));
    expect(d.$("#bandwidth-chart")!.classList.contains("high")).toBe(true);
    expect(d.$("#alerts")!.classList.contains("has-active")).toBe(true);
    const li = d.$("#alerts ul.active > li")!;
    expect(li.classList.contains("level-error")).toBe(true);
    expect(li.textContent).toContain("Bandwidth above 100 Mbit/s");
    expect(li.querySelector("time")!.textContent).toBe("5m ago");
    expect(li.querySelector("time")!.getAttribute("title")).toBe("2026-11-28T11:55:00.000Z");
    expect(li.querySelector("a.alert-link")!.getAttribute("href")).toBe("/flows?q=ip:192.168.1.10");
    expect(d.$("#alerts details.recent")!.textContent).toContain("earlier");
    expect(d.$("#health-indicators")).toBeNull();
  });

  test("counters with exact values on hover; drops red when > 0", async () => {
    const d = parse(await (<Counters counters={{ ...counters, dropped: 3 }} />));
    const dds = d.$$("#counters dd");
    expect(dds.map((x) => x.textContent)).toEqual(["12.4 Mbit/s", "1,500 pkt/s", "1,247", "1.23M", "3"]);
    expect(dds[0]!.getAttribute("title")).toBe("12,400,000 bit/s");
    expect(d.$$(".counter.level-error").length).toBe(1);
  });

  test("top talkers link to the host's flows", async () => {
    const d = parse(await (<TopTalkers talkers={talkers} />));
    const links = d.$$("#top-talkers a");
    expect(links.map((a) => a.getAttribute("href"))).toEqual(["/flows?q=ip:192.168.1.10", "/flows?q=ip:2001:db8::1"]);
    expect(links[0]!.getAttribute("hx-target")).toBe("#main");
    expect(d.$$("#top-talkers tbody tr").length).toBe(2);
    const empty = parse(await (<TopTalkers talkers={[]} />));
    expect(empty.$("#top-talkers .empty")!.textContent).toBe("No hosts seen yet");
  });

  test("protocol mix: shares over the window, largest first", async () => {
    const d = parse(await (<ProtocolMix by_protocol={{ udp: [1, 1], tcp: [3, 3], icmp: [0, 0] }} />));
    expect(d.$$("#protocol-mix .name").map((e) => e.textContent)).toEqual(["tcp", "udp", "icmp"]);
    expect(d.$$("#protocol-mix .pct").map((e) => e.textContent)).toEqual(["75 %", "25 %", "0.0 %"]);
  });
});
