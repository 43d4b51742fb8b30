/**
 * XSS through the served pages (not just the views): a real FlowmatrixServer replays a crafted
 * pcap (Ethernet/IPv4/UDP packets whose payloads carry markup) from a PATH containing
 * `<b>x</b>"><img src=x onerror=alert(1)>` — the path is the "interface" shown in the header.
 * Packet-derived text reaching the pages is numeric (addresses, ports), so the hostile input is
 * mostly the file path and the query: `q=<img src=x onerror=alert(1)>` and a bad query with
 * `"><script>` must come back as text on /flows, in the parse error, in the /flows/table
 * fragment (and its HX-Push-Url header) and in the live push.
 * Checks: parsed with happy-dom, no injected element/handler; the hostile text reads back
 * intact; and Chromium opens the pages without any dialog (alert) firing.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FlowmatrixServer } from "../src/server/app.ts";
import { parse } from "../views/test-dom.ts";
import { craftPcap, type CraftedPacket } from "./fixtures/crafted-pcap.ts";
import { launchBrowser, waitFor } from "./e2e-helpers.ts";

setDefaultTimeout(60_000);

const IMG = "<img src=x onerror=alert(1)>";
const SCRIPT_Q = `ip:"><script>alert(1)</script>`;
/** File name part: "/" cannot appear in a name, so `</b>` splits into a directory and a file. */
const DIR_PART = "<b>x<";
const FILE_PART = `b>"><img src=x onerror=alert(1)>.pcap`;

let dir = "";
let path = "";
let server: FlowmatrixServer;
let url = "";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fm-xss-"));
  mkdirSync(join(dir, DIR_PART));
  path = join(dir, DIR_PART, FILE_PART);
  const t0 = Math.floor(Date.now() / 1000) - 100;
  const packets: CraftedPacket[] = [];
  for (let i = 0; i < 40; i++) {
    packets.push({ ts: t0 + i * 0.25, src: "10.66.0.1", dst: "10.66.0.2", sport: 40000 + (i % 4), dport: 53, payload: `<script>alert(${i})</script>${IMG}` });
    packets.push({ ts: t0 + i * 0.25 + 0.01, src: "10.66.0.2", dst: "10.66.0.1", sport: 53, dport: 40000 + (i % 4), payload: `"><svg onload=alert(1)>` });
  }
  writeFileSync(path, craftPcap(packets));
  server = new FlowmatrixServer({
    engine: { source: { kind: "file", path, speed: "max", loop: false } },
    port: 0,
    metricsIntervalMs: 1000,
    alerts: { cpuPercent: 100 },
  });
  url = await server.start();
  await waitFor(async () => ((await (await fetch(`${url}/api/v1/health`)).json()) as { capture: { state: string } }).capture.state === "finished", 10_000, "replay finished");
});

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** No element or attribute that was not ours: only /static scripts, no img/svg/b, no on* handlers. */
function assertInert(html: string) {
  const d = parse(html);
  expect(d.$$("script").every((s) => s.getAttribute("src")?.startsWith("/static/"))).toBe(true);
  expect(d.$$("img, svg[onload], b, iframe, object").length).toBe(0);
  expect(d.$$("*").every((e) => Array.from(e.attributes).every((a) => !a.name.toLowerCase().startsWith("on")))).toBe(true);
  return d;
}

const get = async (p: string, headers: Record<string, string> = {}) => {
  const res = await fetch(url + p, { headers });
  return { res, html: await res.text() };
};

describe("pages escape hostile text", () => {
  test("the crafted capture is replayed (its flows are listed, numerically)", async () => {
    const { html } = await get("/flows?q=ip:10.66.0.1");
    const d = assertInert(html);
    expect(d.$$("#flows-table tbody.flow").length).toBe(4);
    expect(d.$("#flows-table td[data-col=src] .ep")!.textContent).toMatch(/^10\.66\.0\.[12]:\d+$/);
  });

  test("file path with HTML in the header (every page, the htmx fragment and the live push)", async () => {
    for (const p of ["/", "/flows", "/health"]) {
      const { html, res } = await get(p);
      expect(res.status).toBe(200);
      const d = assertInert(html);
      expect(d.$("#header-status .iface span:last-child")!.textContent).toBe(path);
    }
    const ws = new WebSocket(url.replace("http", "ws") + "/ws");
    const first = await new Promise<string>((resolve, reject) => {
      ws.onmessage = (e) => resolve(String(e.data));
      ws.onerror = () => reject(new Error("ws error"));
    });
    ws.close();
    const d = assertInert(first);
    expect(d.$("#header-status .iface span:last-child")!.textContent).toBe(path);
    expect(d.$("#health-indicators [data-key=capture]")!.getAttribute("title")).toContain(path);
  });

  test(`q=${IMG} on /flows: input value and parse error as text, no element`, async () => {
    const q = encodeURIComponent(IMG);
    const { html, res } = await get(`/flows?q=${q}`);
    expect(res.status).toBe(200);
    const d = assertInert(html);
    expect((d.$("#flow-q") as unknown as { value: string }).value).toBe(IMG);
    // not a valid query either: the parse error (position 1) shows it as text
    expect(d.$("#flows-error .pos")!.textContent).toBe("1");
    expect(d.$("#flows-error pre.caret")!.textContent!.split("\n")[0]).toBe(IMG);
    expect(d.$("#flows-error .msg")!.textContent).toContain('"<img"');
  });

  test(`bad query with "><script>: parse error with position, escaped; fragment and HX-Push-Url too`, async () => {
    const q = encodeURIComponent(SCRIPT_Q);
    const { html, res } = await get(`/flows?q=${q}`);
    expect(res.status).toBe(200);
    const d = assertInert(html);
    expect(d.$("#flows-error")!.textContent).toContain("Query error");
    expect(d.$("#flows-error pre.caret")!.textContent!.split("\n")[0]).toBe(SCRIPT_Q);
    expect(Number(d.$("#flows-error .pos")!.textContent)).toBeGreaterThan(0);
    expect((d.$("#flow-q") as unknown as { value: string }).value).toBe(SCRIPT_Q);
    const frag = await get(`/flows/table?q=${q}`, { "HX-Request": "true" });
    assertInert(frag.html);
    const push = frag.res.headers.get("hx-push-url")!;
    expect(push).not.toMatch(/[<>"\s]/);
    expect(new URL(push, url).searchParams.get("q")).toBe(SCRIPT_Q);
    const tab = await get(`/flows?q=${q}`, { "HX-Request": "true" });
    assertInert(tab.html);
    expect(tab.html).not.toContain("<html");
  });

  test("Chromium renders the hostile pages without running anything", async () => {
    const b = await launchBrowser();
    try {
      const page = await b.context.newPage();
      const dialogs: string[] = [];
      page.on("dialog", (dlg) => {
        dialogs.push(dlg.message());
        void dlg.dismiss();
      });
      for (const p of ["/", `/flows?q=${encodeURIComponent(IMG)}`, `/flows?q=${encodeURIComponent(SCRIPT_Q)}`, "/health"]) {
        await page.goto(url + p);
        await Bun.sleep(700);
        expect(await page.locator("img, b").count()).toBe(0);
        expect(await page.locator("#header-status .iface").innerText()).toContain(path);
      }
      expect(dialogs).toEqual([]);
    } finally {
      await b.close();
    }
  });
});
