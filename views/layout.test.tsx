import { describe, expect, test } from "bun:test";
import { HeaderStatus, HtmxPage, Layout, NavTabs } from "./layout.tsx";
import { ids, parse, tick, withHyperscript } from "./test-dom.ts";
import { health } from "./test-fixtures.ts";
import type { HealthJson } from "./types.ts";

describe("layout", () => {
  test("document shell: scripts, css, htmx config, ws connection on a wrapper of header and main", async () => {
    const d = parse(await (<Layout title="Flows" active="flows" health={health()}><p id="body">x</p></Layout>));
    expect(d.document.title).toBe("Flows · Flowmatrix");
    const srcs = d.$$("script").map((s) => s.getAttribute("src"));
    expect(srcs).toEqual(["/static/_hyperscript.min.js", "/static/htmx.min.js", "/static/hx-ws.js"]);
    // blocking, in <head>: htmx must initialize after its ws/sse extension has registered
    expect(d.$$("head > script").length).toBe(3);
    expect(d.$$("script[defer]").length).toBe(0);
    expect(d.$("link[rel=stylesheet]")!.getAttribute("href")).toBe("/static/app.css");
    const cfg = JSON.parse(d.$("meta[name=htmx-config]")!.getAttribute("content")!);
    expect(cfg.ws.reconnectMaxDelay).toBe(10000);
    expect(cfg.sse.reconnectDelay).toBe(500);
    const app = d.$("#app")!;
    expect(app.getAttribute("hx-ws:connect")).toBe("/ws");
    expect(app.hasAttribute("hx-sse:connect")).toBe(false);
    expect(app.getAttribute("hx-swap")).toBe("none");
    expect(app.querySelector("#conn-status")).not.toBeNull();
    expect(app.querySelector("#main #body")).not.toBeNull();
    const all = ids(d);
    expect(new Set(all).size).toBe(all.length);
  });

  test("sse transport swaps the extension and the connect attribute", async () => {
    const d = parse(await (<Layout title="Live" active="live" transport="sse"><p>x</p></Layout>));
    expect(d.$$("script").map((s) => s.getAttribute("src"))).toContain("/static/hx-sse.js");
    expect(d.$("#app")!.getAttribute("hx-sse:connect")).toBe("/sse");
    expect(d.$("#app")!.hasAttribute("hx-ws:connect")).toBe(false);
  });

  test("nav tabs: hx-get + push-url into #main, the active one marked", async () => {
    const d = parse(await (<NavTabs active="health" />));
    const links = d.$$("nav.tabs a");
    expect(links.map((a) => a.getAttribute("href"))).toEqual(["/", "/flows", "/health"]);
    for (const a of links) {
      expect(a.getAttribute("hx-get")).toBe(a.getAttribute("href"));
      expect(a.getAttribute("hx-target")).toBe("#main");
      expect(a.getAttribute("hx-push-url")).toBe("true");
    }
    expect(d.$$("a[aria-current=page]").map((a) => a.textContent)).toEqual(["Health"]);
  });

  test("htmx page fragment: title, nav out of band, body", async () => {
    const d = parse(await (<HtmxPage title="Flows" active="flows"><div id="page">p</div></HtmxPage>));
    expect(d.$("title")!.textContent).toBe("Flows · Flowmatrix");
    expect(d.$("#nav-tabs")!.getAttribute("hx-swap-oob")).toBe("true");
    expect(d.$("#nav-tabs a[aria-current=page]")!.textContent).toBe("Flows");
    expect(d.$("#page")).not.toBeNull();
  });

  test("header status shows interface, state and uptime; oob when pushed", async () => {
    const d = parse(await (<HeaderStatus health={health({ capture: { interface: "wlan0", state: "down" } })} oob />));
    const h = d.$("#header-status")!;
    expect(h.getAttribute("hx-swap-oob")).toBe("true");
    expect(h.textContent).toContain("wlan0");
    expect(h.textContent).toContain("down");
    expect(h.textContent).toContain("1h 02m");
    expect(h.classList.contains("level-critical")).toBe(true);
    expect(h.querySelector(".iface")!.textContent!.replace(/\s+/g, " ").trim()).toBe("if wlan0");
    // A replay names its file, a serve without capture (collector only, or history only) says so.
    const f = parse(await (<HeaderStatus health={health({ capture: { source: "file", interface: "/data/x.pcap" } })} />));
    expect(f.$(".iface")!.textContent!.replace(/\s+/g, " ").trim()).toBe("file /data/x.pcap");
    const n = parse(await (<HeaderStatus health={health({ capture: { source: "none", interface: "" } })} />));
    expect(n.$(".iface")!.textContent!.replace(/\s+/g, " ").trim()).toBe("capture none");
    const e = parse(await (<HeaderStatus health={null} />));
    expect(e.$("#header-status")!.textContent).toBe("starting…");
  });

  test("header status shows a replay's position in its file: percent, loop pass, packet and offset on hover", async () => {
    const replay = { pass: 2, packets: 190, total: 518, percent: 36, offset_s: 65, span_s: 600, loop: true, done: false };
    const d = parse(await (<HeaderStatus health={health({ capture: { source: "file", interface: "x.pcap" }, replay })} oob />));
    const r = d.$("#header-status .replay")!;
    expect(r.textContent!.replace(/\s+/g, " ").trim()).toBe("replay 36 % · loop 2");
    expect(r.getAttribute("title")).toBe("packet 190 of 518 · 1m 05s of 10m 00s of capture");
    // no loop, total unknown (BPF filter), finished
    const once = { ...replay, pass: 1, total: null, percent: 100, offset_s: 600, loop: false, done: true };
    const e = parse(await (<HeaderStatus health={health({ replay: once })} />));
    expect(e.$(".replay")!.textContent!.replace(/\s+/g, " ").trim()).toBe("replay 100 %");
    expect(e.$(".replay")!.getAttribute("title")).toBe("packet 190 · 10m 00s of 10m 00s of capture · done");
    // a live capture has none
    expect(parse(await (<HeaderStatus health={health()} />)).$(".replay")).toBeNull();
    expect(parse(await (<HeaderStatus health={health({ replay: null })} />)).$(".replay")).toBeNull();
  });

  test("replay position text is escaped", async () => {
    const evil = { pass: "<b>2</b>", packets: 1, total: 2, percent: "<img src=x onerror=alert(1)>", offset_s: 0, span_s: 0, loop: true, done: false };
    const html = await (<HeaderStatus health={health({ replay: evil as unknown as HealthJson["replay"] })} />);
    const d = parse(html);
    expect(d.$("#header-status img")).toBeNull();
    expect(d.$("#header-status b")).toBeNull();
    expect(d.$(".replay")!.textContent).toContain("<img src=x onerror=alert(1)> %");
  });

  test("offline indicator follows htmx ws/sse connection events", async () => {
    const d = parse(await (<Layout title="Live" active="live"><p>x</p></Layout>));
    withHyperscript(d);
    const st = d.$("#conn-status")!;
    const fire = async (name: string) => {
      d.$("#app")!.dispatchEvent(new d.window.CustomEvent(name, { bubbles: true }) as unknown as Event);
      await tick();
    };
    expect(st.getAttribute("data-state")).toBe("connecting");
    await fire("htmx:ws:after:connection");
    expect([st.getAttribute("data-state"), st.textContent]).toEqual(["live", "live"]);
    await fire("htmx:ws:close");
    expect(st.getAttribute("data-state")).toBe("offline");
    expect(st.textContent).toContain("offline");
    expect(d.$("#app")!.classList.contains("stale")).toBe(true);
    // Retries keep the indicator offline until a connection is made again.
    await fire("htmx:ws:before:connection");
    expect(st.getAttribute("data-state")).toBe("offline");
    expect(st.textContent).toContain("offline");
    await fire("htmx:ws:after:connection");
    expect(st.getAttribute("data-state")).toBe("live");
    expect(d.$("#app")!.classList.contains("stale")).toBe(false);
    await fire("htmx:ws:error");
    expect(st.getAttribute("data-state")).toBe("offline");
    await fire("htmx:sse:after:connection");
    expect(st.getAttribute("data-state")).toBe("live");
    await fire("htmx:sse:error");
    expect(st.getAttribute("data-state")).toBe("offline");
  });

  test("clicking a tab marks it current right away", async () => {
    const d = parse(await (<Layout title="Live" active="live"><p>x</p></Layout>));
    withHyperscript(d);
    (d.$$("nav.tabs a")[1] as HTMLAnchorElement).dispatchEvent(new d.window.MouseEvent("click", { bubbles: true, cancelable: true }) as unknown as Event);
    await tick();
    expect(d.$$("a[aria-current=page]").map((a) => a.textContent)).toEqual(["Flows"]);
  });
});
