/**
 * End to end in Debian Chromium (playwright-core), under the Content-Security-Policy every
 * response carries:
 * - `bun src/main.ts serve` with a token: the dashboard redirects to the login page; a wrong token
 *   is refused; the right one sets an HttpOnly SameSite=Strict cookie and lands on the dashboard,
 *   whose live link (WebSocket, then SSE) connects with that cookie and updates the numbers (htmx
 *   OOB swaps), whose _hyperscript indicator turns "live", and whose tabs swap through htmx — with
 *   no CSP violation reported by the browser; logout returns to the login page and the session
 *   is gone.
 * - The compiled binary (`npm run build`'s command into a temporary directory), copied alone into
 *   an empty directory and started there with a config file and a token file: the same login
 *   through the UI.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { binaryInEmptyDir } from "./compiled-binary.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { launchBrowser, pagePackets, PCAPS, RESULTS, waitFor, type Browser } from "./e2e-helpers.ts";
import { serve, type Served } from "../src/server/security/test-serve.ts";

setDefaultTimeout(120_000);

const FILE = `${PCAPS}ndpi__alexa-app.pcapng`;
const TOKEN = "e2e-admin-token-0123456789abcdefghij";
const dir = mkdtempSync(join(tmpdir(), "fm-e2e-login-"));
const tokenFile = join(dir, "token");
writeFileSync(tokenFile, TOKEN + "\n");
chmodSync(tokenFile, 0o600);

let browser: Browser;
beforeAll(async () => {
  mkdirSync(RESULTS, { recursive: true });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Console messages about CSP (Chromium logs every blocked script, style, eval or connection). */
function watchCsp(page: Page): string[] {
  const seen: string[] = [];
  page.on("console", (m) => {
    const t = m.text();
    if (/Content Security Policy|Refused to (load|execute|apply|connect|evaluate)/i.test(t)) seen.push(t);
  });
  page.on("pageerror", (e) => seen.push(`pageerror: ${e.message}`));
  return seen;
}

/** Logs in through the form, checks the dashboard is live and updating under the CSP. */
async function loginAndUse(page: Page, url: string, shot: string): Promise<void> {
  const csp = watchCsp(page);
  await page.goto(`${url}/`);
  expect(new URL(page.url()).pathname).toBe("/login");
  expect(new URL(page.url()).searchParams.get("next")).toBe("/");
  await page.fill("#token", "not-the-right-token-at-all");
  await page.click("button[type=submit]");
  await page.waitForSelector(".login-error");
  expect(await page.locator(".login-error").textContent()).toContain("Wrong token.");

  await page.fill("#token", TOKEN);
  await Promise.all([page.waitForURL(`${url}/`), page.click("button[type=submit]")]);
  const cookies = await page.context().cookies(url);
  const session = cookies.find((c) => c.name === "flowmatrix_session");
  expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict" });
  expect(await page.evaluate(() => document.cookie)).not.toContain("flowmatrix_session");

  // _hyperscript drives the indicator from htmx's WebSocket events: live means both run and the
  // WebSocket (same origin, the session cookie) was accepted.
  await waitFor(async () => (await page.locator("#conn-status").getAttribute("data-state")) === "live", 15_000, "live over WebSocket");
  const first = await pagePackets(page);
  await waitFor(async () => (await pagePackets(page)) > first, 20_000, "the packet counter to move (htmx OOB swaps)");
  await page.screenshot({ path: join(RESULTS, `${shot}-live.png`), fullPage: true });

  // Tabs: htmx hx-get swaps #main and pushes the URL; _hyperscript marks the tab current.
  await page.click("nav.tabs a[href='/flows']");
  await page.waitForURL(`${url}/flows`);
  await page.waitForSelector("#flows-table");
  expect(await page.locator("nav.tabs a[href='/flows']").getAttribute("aria-current")).toBe("page");
  // Sorting the table is _hyperscript too.
  if ((await page.locator("#flows-table tbody.flow").count()) > 1) {
    await page.locator("#flows-table button.sort").first().click();
    await waitFor(async () => (await page.locator("#flows-table th[aria-sort]").count()) === 1, 3000, "a sorted column");
  }

  // SSE with the same cookie.
  await page.goto(`${url}/?transport=sse`);
  await waitFor(async () => (await page.locator("#conn-status").getAttribute("data-state")) === "live", 15_000, "live over SSE");
  const before = await pagePackets(page);
  await waitFor(async () => (await pagePackets(page)) > before, 20_000, "updates over SSE");

  expect(csp).toEqual([]);
  // The watcher does see violations: an injected inline script and a foreign image are refused.
  await page.evaluate(() => {
    const sc = document.createElement("script");
    sc.textContent = "window.__inlineRan = true";
    document.body.append(sc);
    document.body.insertAdjacentHTML("beforeend", '<img alt="" src="http://evil.example/x.png">');
  });
  await waitFor(() => csp.length >= 2, 5000, "the two CSP reports");
  expect(await page.evaluate(() => (window as unknown as { __inlineRan?: boolean }).__inlineRan)).toBeUndefined();
  expect(csp.some((m) => m.includes("script"))).toBe(true);
  expect(csp.some((m) => m.includes("img-src") || m.includes("image"))).toBe(true);
  csp.length = 0;

  // Log out: back to the login page; the old session no longer opens the dashboard.
  await Promise.all([page.waitForURL(/\/login\?bye=1$/), page.click("#logout button")]);
  expect(await page.locator(".login-notice").textContent()).toContain("Logged out.");
  const resp = await page.request.get(`${url}/api/v1/health`, { headers: { cookie: `flowmatrix_session=${session!.value}` } });
  expect(resp.status()).toBe(401);
  await page.goto(`${url}/health`);
  expect(new URL(page.url()).pathname).toBe("/login");
  expect(csp).toEqual([]);
}

describe("from the checkout", () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve({ args: ["--no-store", "--read", FILE, "--loop", "--speed", "4", "--port", "0", "--quiet", "--auth-token-file", tokenFile] });
  });
  afterAll(async () => {
    await s?.stop();
  });

  test("login, live dashboard over WebSocket and SSE, htmx and _hyperscript under the CSP, logout", async () => {
    const page = await browser.context.newPage();
    try {
      await loginAndUse(page, s.url, "login-checkout");
    } finally {
      await page.close();
    }
  });

  test("the login page itself: no script, focusable field, a bad next= ignored", async () => {
    const page = await browser.context.newPage();
    try {
      const csp = watchCsp(page);
      await page.goto(`${s.url}/login?next=//evil.example/`);
      expect(await page.locator("script").count()).toBe(0);
      expect(await page.locator("input[name=next]").getAttribute("value")).toBe("/");
      await page.fill("#token", TOKEN);
      await Promise.all([page.waitForURL(`${s.url}/`), page.click("button[type=submit]")]);
      expect(csp).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe("the compiled binary, from an empty directory, with a config file and a token", () => {
  let bin = "";
  let empty = "";
  let s: Served | null = null;

  beforeAll(async () => {
    ({ bin, dir: empty } = binaryInEmptyDir("fm-e2e-run-"));
    copyFileSync(tokenFile, join(empty, "token"));
    chmodSync(join(empty, "token"), 0o600);
    writeFileSync(join(empty, "flowmatrix.toml"), [
      `read = "${FILE}"`, "loop = true", "speed = 4", "port = 0", "no-store = true", "quiet = true",
      `auth-token-file = "${join(empty, "token")}"`, `log-format = "json"`, "",
    ].join("\n"));
    s = await serve({ bin: [bin], args: ["--config", "flowmatrix.toml"], cwd: empty, env: { FLOWMATRIX_AUTH_TOKEN: undefined } });
  }, 180_000);

  afterAll(async () => {
    await s?.stop();
  });

  test("logs in through the UI; the API wants the token; JSON log lines on stderr", async () => {
    const page = await browser.context.newPage();
    try {
      await loginAndUse(page, s!.url, "login-binary");
    } finally {
      await page.close();
    }
    expect((await fetch(`${s!.url}/api/v1/health`)).status).toBe(401);
    const ok = await fetch(`${s!.url}/api/v1/flows?limit=1`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    const events = s!.err().trim().split("\n").map((l) => JSON.parse(l) as { event: string });
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(["start", "auth_failure", "login", "logout"]));
  });
});
