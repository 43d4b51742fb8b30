/**
 * Hostile strings in every packet-, query- or config-derived field must come out as text:
 * no <script>/<img> element appears, no attribute is broken out of, and the text reads back intact.
 */
import { describe, expect, test } from "bun:test";
import { FlowsPage } from "./flows.tsx";
import { HealthPage } from "./health.tsx";
import { HtmxPage, Layout } from "./layout.tsx";
import { LivePage } from "./live.tsx";
import { parse } from "./test-dom.ts";
import { alert, bandwidth, counters, EVIL, flow, health, history, NOW } from "./test-fixtures.ts";

const IMG = "<img src=x onerror=alert(1)>";

function assertInert(html: string) {
  const d = parse(html);
  // only our own (src-bearing) scripts; no injected elements or handlers
  expect(d.$$("script").every((s) => s.getAttribute("src")?.startsWith("/static/"))).toBe(true);
  expect(d.$$("img").length).toBe(0);
  expect(d.$$("[onerror]").length).toBe(0);
  expect(d.$$("*").every((e) => Array.from(e.attributes).every((a) => !a.name.startsWith("on")))).toBe(true);
  return d;
}

describe("xss: hostile strings are escaped", () => {
  test("flow fields, suspicious reasons and the query", async () => {
    const f = flow({ proto: EVIL, src_ip: IMG, dst_ip: EVIL, state: EVIL as never, suspicious: [EVIL, IMG], end_reason: EVIL, tcp_flags: EVIL, src_tcp_flags: IMG, dst_tcp_flags: EVIL, active: false });
    const html = await (
      <Layout title={EVIL} active="flows" health={health({ capture: { interface: EVIL }, version: EVIL })}>
        <FlowsPage view={{ params: { q: EVIL }, limit: 100, flows: [f], total: 1 }} now={NOW} />
      </Layout>
    );
    const d = assertInert(html);
    expect(d.document.title).toBe(`${EVIL} · Flowmatrix`);
    expect((d.$("input[name=q]") as HTMLInputElement).value).toBe(EVIL);
    expect(d.$("tr.flow-row")!.getAttribute("title")).toBe(`Suspicious: ${EVIL}, ${IMG}`);
    expect(d.$("td[data-col=src] .ep")!.textContent).toBe(`${IMG}:51234`);
    expect(d.$("td[data-col=proto]")!.textContent).toContain(EVIL);
    expect(d.$("td[data-col=state]")!.textContent).toBe(EVIL);
    expect(d.$(".flow-details")!.textContent).toContain(`${EVIL}, ${IMG}`);
    expect(d.$("#header-status")!.textContent).toContain(EVIL);
    expect(new URL(d.$("a.export")!.getAttribute("href")!, "http://x.test").searchParams.get("q")).toBe(EVIL);
  });

  test("parse error message and empty-state query", async () => {
    const html = await (
      <HtmxPage title={IMG} active="flows">
        <FlowsPage view={{ params: { q: EVIL }, limit: 100, flows: [], total: 0, error: { message: IMG, position: 3 } }} />
      </HtmxPage>
    );
    const d = assertInert(html);
    expect(d.$("#flows-error .msg")!.textContent).toBe(IMG);
    expect(d.$("#flows-error pre")!.textContent!.startsWith(EVIL)).toBe(true);
  });

  test("talkers, alerts, protocol names, health reasons", async () => {
    const a = alert({ message: EVIL, rule: IMG, q: EVIL, id: EVIL, flows: [flow({ proto: EVIL, src_ip: IMG })] });
    const html = await (
      <LivePage bandwidth={{ ...bandwidth(), by_protocol: { [EVIL]: [1, 2] } }} counters={counters}
        talkers={[{ host: EVIL, bytes: 1, packets: 1, flows: 1, bps: 1 }, { host: IMG, bytes: 1, packets: 1, flows: 1, bps: 1 }]}
        alerts={{ active: [a], recent: [a] }} health={health({ reasons: [EVIL], capture: { interface: IMG, state: "down" } })} now={NOW} />
    );
    const d = assertInert(html);
    expect(d.$$("#top-talkers a").map((x) => x.textContent)).toEqual([EVIL, IMG]);
    expect(new URL(d.$("#top-talkers a")!.getAttribute("href")!, "http://x.test").searchParams.get("q")).toBe(`ip:${EVIL}`);
    expect(d.$("#alerts .msg")!.textContent).toBe(EVIL);
    expect(d.$("#alerts .alert-flows")!.textContent).toContain(IMG);
    expect(d.$("#protocol-mix .name")!.textContent).toBe(EVIL);
    expect(d.$("#health-indicators .reasons")!.textContent).toBe(EVIL);
    expect(d.$("#health-indicators .banner")!.textContent).toContain(IMG);
  });

  test("health page with a hostile interface name and version", async () => {
    const html = await (<HealthPage health={health({ capture: { interface: EVIL, linktype: EVIL }, version: IMG })} history={history()} />);
    const d = assertInert(html);
    expect(d.$(".indicator[data-key=capture]")!.getAttribute("title")).toContain(EVIL);
  });
});
