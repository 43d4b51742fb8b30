import { describe, expect, test } from "bun:test";
import { EMPTY_TEXT, FlowsPage, FlowsTable, ipSortKey } from "./flows.tsx";
import { ids, parse, tick, withHyperscript } from "./test-dom.ts";
import { flow, NOW } from "./test-fixtures.ts";
import type { FlowsView } from "./types.ts";

const three: FlowsView = {
  params: { q: "protocol:tcp" }, limit: 100,
  total: 3,
  flows: [
    flow({ id: 1, bytes: 5000 }),
    flow({ id: 2, bytes: 900000, suspicious: ["high_rate", "scan"], src_ip: "10.0.0.9" }),
    flow({ id: 3, bytes: 70, proto: "udp", proto_num: 17, active: false, end_reason: "idle", state: "oneway" }),
  ],
};

describe("flows page", () => {
  test("one row and one hidden details row per flow, ids unique", async () => {
    const d = parse(await (<FlowsPage view={three} now={NOW} />));
    expect(d.$$("tr.flow-row").length).toBe(3);
    expect(d.$$("tr.flow-details").length).toBe(3);
    expect(d.$$("tr.flow-details").every((r) => r.hasAttribute("hidden"))).toBe(true);
    expect(d.$$("tbody.flow").length).toBe(3);
    const all = ids(d);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toContain("flows-table");
    expect(all).toContain("flows-error");
    expect(d.$$("thead th").map((th) => th.textContent!.replace("⇅", "").trim())).toEqual(
      ["Protocol", "Source", "Destination", "Bytes", "Packets", "Rate", "Duration", "State", "App"]);
  });

  test("details row holds the 5-tuple, per-direction counts and flags, times, reasons", async () => {
    const d = parse(await (<FlowsTable view={three} now={NOW} />));
    const det = d.$("#flow-2-details")!.textContent!;
    expect(det).toContain("tcp (6) 10.0.0.9:51234 → 93.184.216.34:443, IPv4");
    expect(det).toContain("60 packets");
    expect(det).toContain("SPA");
    expect(det).toContain("FSPA");
    expect(det).toContain("2026-11-28T11:57:46.000Z");
    expect(det).toContain("2m 14s");
    expect(det).toContain("high_rate, scan");
    expect(d.$("#flow-3-details")!.textContent).toContain("oneway (ended: idle)");
    expect(d.$("#flow-1-details")!.textContent).toContain("VLAN");
  });

  test("suspicious rows have a class and a title with the reasons", async () => {
    const d = parse(await (<FlowsTable view={three} now={NOW} />));
    const sus = d.$$("tr.flow-row.suspicious");
    expect(sus.length).toBe(1);
    expect(sus[0]!.getAttribute("title")).toBe("Suspicious: high_rate, scan");
    expect(d.$$("tr.flow-row:not(.suspicious)").every((r) => !r.hasAttribute("title"))).toBe(true);
  });

  test("form, export link and server-sort links keep the filters", async () => {
    const view: FlowsView = { ...three, params: { q: "src_ip:192.168.1.0/24 protocol:tcp", sort_by: "bytes", order: "desc" } };
    const d = parse(await (<FlowsPage view={view} now={NOW} />));
    const form = d.$("form.search")!;
    expect(form.getAttribute("hx-get")).toBe("/flows/table");
    expect(form.getAttribute("hx-target")).toBe("#flows-table");
    expect(form.getAttribute("hx-push-url")).toBe("true");
    expect((d.$("input[name=q]") as HTMLInputElement).value).toBe("src_ip:192.168.1.0/24 protocol:tcp");
    const csv = d.$("a.export")!;
    expect(csv.hasAttribute("download")).toBe(true);
    const u = new URL(csv.getAttribute("href")!, "http://x.test");
    expect(u.pathname).toBe("/api/v1/flows");
    expect(u.searchParams.get("q")).toBe("src_ip:192.168.1.0/24 protocol:tcp");
    expect(u.searchParams.get("format")).toBe("csv");
    expect(u.searchParams.get("sort_by")).toBe("bytes");
    const bytesTh = d.$$("thead th")[3]!;
    expect(bytesTh.getAttribute("aria-sort")).toBe("descending");
    const link = bytesTh.querySelector("a.server-sort")!;
    const lu = new URL(link.getAttribute("href")!, "http://x.test");
    expect([lu.pathname, lu.searchParams.get("sort_by"), lu.searchParams.get("order"), lu.searchParams.get("q")])
      .toEqual(["/flows", "bytes", "asc", "src_ip:192.168.1.0/24 protocol:tcp"]);
    expect(link.getAttribute("hx-get")!.startsWith("/flows/table?")).toBe(true);
    expect(link.getAttribute("hx-push-url")).toBe(link.getAttribute("href"));
  });

  test("pagination links step by limit", async () => {
    const view: FlowsView = { ...three, total: 10, limit: 3, params: { q: "", limit: 3, offset: 3 } };
    const d = parse(await (<FlowsTable view={view} now={NOW} />));
    expect(d.$(".count")!.textContent).toBe("Showing 4–6 of 10 flows");
    const prev = new URL(d.$("a[rel=prev]")!.getAttribute("href")!, "http://x.test");
    const next = new URL(d.$("a[rel=next]")!.getAttribute("href")!, "http://x.test");
    expect(prev.searchParams.get("offset")).toBeNull();
    expect(next.searchParams.get("offset")).toBe("6");
    expect(next.searchParams.get("limit")).toBe("3");
  });

  test("empty result: message and a hint, no table", async () => {
    const d = parse(await (<FlowsTable view={{ params: { q: "port:1" }, limit: 100, flows: [], total: 0 }} />));
    expect(d.$(".empty-state .empty")!.textContent).toBe(EMPTY_TEXT);
    expect(EMPTY_TEXT).toBe("No flows match criteria");
    expect(d.$(".empty-state .hint")!.textContent).toContain("Remove a filter");
    expect(d.$("table")).toBeNull();
  });

  test("parse error shows the message and a caret at the position", async () => {
    const view: FlowsView = { params: { q: "src_ip:300.1" }, limit: 100, flows: [], total: null, error: { message: "bad address", position: 7 } };
    const d = parse(await (<FlowsTable view={view} />));
    const err = d.$("#flows-error")!;
    expect(err.getAttribute("role")).toBe("alert");
    expect(err.textContent).toContain("bad address");
    expect(err.querySelector(".pos")!.textContent).toBe("8");
    expect(err.querySelector("pre")!.textContent).toBe("src_ip:300.1\n       ^");
    expect(d.$(".empty-state")).toBeNull();
    expect(d.$("a.export")).toBeNull();
  });

  test("IP sort keys order IPv4 numerically and IPv6 after IPv4", () => {
    expect(ipSortKey("10.0.0.2")).toBeGreaterThan(ipSortKey("9.255.255.255"));
    expect(ipSortKey("255.255.255.255")).toBe(2 ** 32 - 1);
    expect(ipSortKey("::1")).toBeGreaterThan(ipSortKey("255.255.255.255"));
    expect(ipSortKey("2001:db9::")).toBeGreaterThan(ipSortKey("2001:db8::"));
  });
});

describe("flows table behaviour (_hyperscript in happy-dom)", () => {
  const order = (d: ReturnType<typeof parse>) => d.$$("tbody.flow").map((b) => b.getAttribute("data-flow-id"));

  test("header click sorts the rows numerically by data-sort-value, toggling the direction", async () => {
    const d = parse(await (<FlowsTable view={three} now={NOW} />));
    withHyperscript(d);
    const bytes = d.$("button.sort[data-col=bytes]") as HTMLButtonElement;
    bytes.click();
    await tick();
    expect(order(d)).toEqual(["2", "1", "3"]);
    expect(d.$$("thead th")[3]!.getAttribute("aria-sort")).toBe("descending");
    bytes.click();
    await tick();
    expect(order(d)).toEqual(["3", "1", "2"]);
    expect(d.$$("thead th")[3]!.getAttribute("aria-sort")).toBe("ascending");
    // details rows travel with their flow
    expect(d.$$("tbody.flow").every((b) => b.querySelector("tr.flow-details")!.id === `flow-${b.getAttribute("data-flow-id")}-details`)).toBe(true);
    (d.$("button.sort[data-col=src]") as HTMLButtonElement).click();
    await tick();
    expect(order(d)[0]).toBe("1"); // 192.168.1.10 > 10.0.0.9 in descending order
    expect(d.$$("th[aria-sort]").length).toBe(1);
  });

  test("row click expands and collapses its details row", async () => {
    const d = parse(await (<FlowsTable view={three} now={NOW} />));
    withHyperscript(d);
    const cell = d.$$("tr.flow-row")[1]!.querySelector("td[data-col=bytes]") as HTMLElement;
    cell.click();
    await tick();
    expect(d.$("#flow-2-details")!.hasAttribute("hidden")).toBe(false);
    expect(d.$$("tr.flow-row")[1]!.querySelector("button.expand")!.getAttribute("aria-expanded")).toBe("true");
    expect(d.$("#flow-1-details")!.hasAttribute("hidden")).toBe(true);
    (d.$$("tr.flow-row")[1]!.querySelector("button.expand") as HTMLButtonElement).click();
    await tick();
    expect(d.$("#flow-2-details")!.hasAttribute("hidden")).toBe(true);
    expect(d.$$("tr.flow-row")[1]!.querySelector("button.expand")!.getAttribute("aria-expanded")).toBe("false");
  });
});
