import { describe, expect, test } from "bun:test";
import { HeaderStatus, HtmxPage, Layout, NavTabs } from "./layout.tsx";
import { ids, parse, tick, withHyperscript } from "./test-dom.ts";
import { health } from "./test-fixtures.ts";

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
    const e = parse(await (<HeaderStatus health={null} />));
    expect(e.$("#header-status")!.textContent).toBe("starting…");
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
