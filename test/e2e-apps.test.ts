/**
 * End-to-end (Debian Chromium, playwright-core) for issue 11's dashboard parts, against a real
 * server child (`serve --no-store`) replaying ndpi__android.pcap (TLS, HTTP, DHCP, DNS, SSDP over
 * 102 s) in a loop at speed 10:
 * - the Top applications panel fills from the live push (no reload) with tls, http and dns, each
 *   a link; clicking tls opens Flows filtered on `app:tls`, and every row's App cell says tls;
 * - the Top talkers panel marks the capture's LAN host as a private range;
 * - a flow's details show the Community ID, application and origin.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { closeBrowserAndServers, freePort, RESULTS, startServerAndBrowser, waitFor, type Browser, type ServerProcess } from "./e2e-helpers.ts";

setDefaultTimeout(90_000);
const FILE = join(import.meta.dir, "../../shared/pcaps-l7/ndpi__android.pcap");

let server: ServerProcess;
let browser: Browser;

beforeAll(async () => {
  ({ server, browser } = await startServerAndBrowser({ file: FILE, port: freePort(), loop: true, speed: "10" }));
});

afterAll(() => closeBrowserAndServers(browser));

describe("Top applications (Chromium)", () => {
  test("the panel shows tls, http and dns from the live push; clicking tls filters the flows on app:tls", async () => {
    const page = await browser.context.newPage();
    try {
      await page.goto(`${server.url}/`);
      const apps = () => page.locator("#top-apps tbody tr").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-app")));
      await waitFor(async () => {
        const a = await apps();
        return ["tls", "http", "dns"].every((x) => a.includes(x));
      }, 30_000, `tls, http and dns in #top-apps (have ${JSON.stringify(await apps().catch(() => []))})`);
      await page.screenshot({ path: join(RESULTS, "live-top-apps.png"), fullPage: true });
      // the LAN host of the capture is a private address: a range badge, not a flag
      const badges = await page.locator("#top-talkers .range-badge").allInnerTexts();
      expect(badges.map((b) => b.toLowerCase())).toContain("private");

      await page.click("#top-apps tr[data-app=tls] a");
      await page.waitForURL((u) => u.pathname === "/flows" && u.searchParams.get("q") === "app:tls", { timeout: 5000 });
      expect(await page.locator("nav.tabs a[aria-current=page]").innerText()).toBe("Flows");
      await waitFor(() => page.locator("#flows-table tbody.flow").count(), 10_000, "tls flow rows");
      const cells = await page.locator("#flows-table tr.flow-row td[data-col=app] .app").allInnerTexts();
      expect(cells.length).toBeGreaterThan(0);
      for (const c of cells) expect(c.replace("?", "")).toBe("tls");

      // the details of the first row carry the new fields
      await page.locator("#flows-table tr.flow-row").first().click();
      const details = page.locator("#flows-table tr.flow-details").first();
      await waitFor(() => details.isVisible(), 3000, "details row visible");
      const text = await details.innerText();
      expect(text).toContain("Community ID");
      expect(text).toMatch(/Application\s+tls \((from the payload|guessed from the port)\)/);
      expect(text).toMatch(/Origin\s+packet capture/);
      await page.screenshot({ path: join(RESULTS, "flows-app-tls.png"), fullPage: true });
    } finally {
      await page.close();
    }
  });
});
