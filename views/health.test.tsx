import { describe, expect, test } from "bun:test";
import { DROPS_MESSAGE, HealthHistory, HealthIndicators, HealthPage } from "./health.tsx";
import { ids, parse } from "./test-dom.ts";
import { health, history } from "./test-fixtures.ts";
import type { HealthJson } from "./types.ts";

async function levels(h: HealthJson) {
  const d = parse(await (<HealthIndicators health={h} />));
  return { d, lv: Object.fromEntries(d.$$(".indicator").map((e) => [e.getAttribute("data-key"), e.getAttribute("data-level")])) };
}

describe("health", () => {
  test("all green when healthy", async () => {
    const { d, lv } = await levels(health());
    expect(lv).toEqual({ capture: "ok", drops: "ok", cpu: "ok", memory: "ok", flows: "ok" });
    expect(d.$("#health-indicators")!.getAttribute("data-level")).toBe("ok");
    expect(d.$$(".indicator .level-text").every((e) => e.textContent === "OK")).toBe(true);
  });

  test("CPU above 80 % is an amber warning", async () => {
    const { lv, d } = await levels(health({ system: { cpu_percent: 81 } }));
    expect(lv.cpu).toBe("warning");
    expect(d.$("#health-indicators")!.getAttribute("data-level")).toBe("warning");
    // The workflow's next step: the top bandwidth consumers, one click away.
    expect(d.$("#top-consumers")!.getAttribute("href")).toBe("/flows?sort_by=bytes&order=desc&limit=10");
    const calm = await levels(health({ system: { cpu_percent: 80 } }));
    expect(calm.lv.cpu).toBe("ok");
    expect(calm.d.$("#top-consumers")).toBeNull();
  });

  test("drops are a red error with the degraded message", async () => {
    const { lv, d } = await levels(health({ capture: { dropped: 2, drop_rate: 0.001 } }));
    expect(lv.drops).toBe("error");
    expect(d.$(".indicator[data-key=drops] .note")!.textContent).toBe(DROPS_MESSAGE);
    expect(DROPS_MESSAGE).toBe("Packet capture degraded - check interface");
    expect((await levels(health({ capture: { if_dropped: 1 } }))).lv.drops).toBe("error");
  });

  test("interface down is critical: system offline banner", async () => {
    const { lv, d } = await levels(health({ status: "critical", capture: { state: "down" }, reasons: ["interface eth0 down"] }));
    expect(lv.capture).toBe("critical");
    expect(d.$("#health-indicators")!.getAttribute("data-level")).toBe("critical");
    expect(d.$(".banner.level-critical")!.textContent).toContain("SYSTEM OFFLINE");
    expect(d.$(".reasons")!.textContent).toContain("interface eth0 down");
  });

  test("flow table near capacity or evicting is a warning", async () => {
    expect((await levels(health({ flows: { active: 95, capacity: 100 } }))).lv.flows).toBe("warning");
    expect((await levels(health({ flows: { evicted: 4 } }))).lv.flows).toBe("warning");
  });

  test("history: six charts, range selector, self refresh, gaps break lines", async () => {
    const d = parse(await (<HealthHistory history={history()} range="1h" />));
    const sec = d.$("#health-history")!;
    expect(sec.getAttribute("hx-get")).toBe("/health/history?range=1h");
    expect(sec.getAttribute("hx-trigger")).toBe("every 30s");
    expect(d.$$("figure.mini-chart figcaption").map((e) => e.textContent)).toEqual(
      ["CPU", "Memory used", "Process RSS", "Drops", "Bandwidth", "Active flows"]);
    expect(d.$$("figure svg").length).toBe(6);
    expect(d.$$(".range button").map((b) => b.textContent)).toEqual(["15m", "1h", "6h", "24h"]);
    expect(d.$(".range button[aria-pressed=true]")!.textContent).toBe("1h");
    const cpu = d.$("svg path.s-cpu")!.getAttribute("d")!;
    expect(cpu.match(/M/g)!.length).toBe(2); // one null sample → two segments
  });

  test("page ids are unique", async () => {
    const d = parse(await (<HealthPage health={health()} history={history()} />));
    const all = ids(d);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toContain("health-indicators");
    expect(all).toContain("health-history");
  });
});
