/**
 * Page shell: <Layout> renders the whole document for a normal request; <HtmxPage> renders what
 * an htmx tab switch (request with the HX-Request header) swaps into #main: a <title>, the nav
 * tabs out of band, then the page body. Page bodies (LivePage, FlowsPage, HealthPage) are
 * exported from their own files and go in as children of either.
 *
 * Live updates: `#app` carries hx-ws:connect="/ws" (or hx-sse:connect="/sse") with
 * hx-swap="none", so pushed messages only act through out-of-band elements
 * (`hx-swap-oob="true"` + a stable id) and never replace the page. Limit: every element the
 * server pushes must already exist on the current tab, otherwise htmx ignores it.
 */
import type { PropsWithChildren } from "@kitajs/html";
import { CONN_STATUS_HS, NAV_TAB_HS } from "./behaviors.ts";
import { formatDuration } from "./format.ts";
import type { HealthJson, ReplayView, Tab, Transport } from "./types.ts";
import { ROUTES, STATIC } from "./urls.ts";

/** Reconnect faster than htmx's 60 s default cap: a monitor should come back within seconds. */
export const HTMX_CONFIG = JSON.stringify({
  ws: { reconnectDelay: 500, reconnectMaxDelay: 10000, reconnectJitter: 0.3 },
  sse: { reconnectDelay: 500, reconnectMaxDelay: 10000, reconnectJitter: 0.3 },
});

export const PRODUCT = "Flowmatrix";

/**
 * Server-wide facts the shell shows, set once by the server when it starts listening (one server
 * per process): `auth` adds the Log out button, `insecureNoAuth` the red "no authentication"
 * banner (a non-loopback --host started with --insecure-no-auth).
 */
export const shell = { auth: false, insecureNoAuth: false };
export function configureShell(s: { auth: boolean; insecureNoAuth: boolean }): void {
  shell.auth = s.auth;
  shell.insecureNoAuth = s.insecureNoAuth;
}

/** The warning banner shown on every page while the server runs without authentication off loopback. */
export function InsecureBanner(): JSX.Element {
  return (
    <div id="insecure-banner" class="insecure-banner" role="alert">
      No authentication (--insecure-no-auth): anyone who can reach this address sees this traffic.
    </div>
  );
}

/** POST /logout (a form: no script, and a cross-site page cannot log you out). */
export function LogoutButton(): JSX.Element {
  return (
    <form id="logout" class="logout" method="post" action="/logout">
      <button type="submit">Log out</button>
    </form>
  );
}

const TABS: { tab: Tab; href: string; label: string }[] = [
  { tab: "live", href: ROUTES.live, label: "Live" },
  { tab: "flows", href: ROUTES.flows, label: "Flows" },
  { tab: "health", href: ROUTES.health, label: "Health" },
];

export interface NavTabsProps {
  active: Tab;
  /** render with hx-swap-oob="true" (for htmx fragments) */
  oob?: boolean;
}

/** id="nav-tabs". Links carry href (works without JS / on reload) plus hx-get → #main. */
export function NavTabs({ active, oob }: NavTabsProps): JSX.Element {
  return (
    <nav id="nav-tabs" class="tabs" aria-label="Views" hx-swap-oob={oob ? "true" : undefined}>
      {TABS.map((t) => (
        <a href={t.href} hx-get={t.href} hx-target="#main" hx-push-url="true"
          aria-current={t.tab === active ? "page" : undefined} _={NAV_TAB_HS}>
          <span safe>{t.label}</span>
        </a>
      ))}
    </nav>
  );
}

export interface HeaderStatusProps {
  /** null before the first health sample */
  health: HealthJson | null;
  oob?: boolean;
}

/** id="header-status": interface, capture state, replay position, uptime, version. Pushed every second. */
export function HeaderStatus({ health, oob }: HeaderStatusProps): JSX.Element {
  const oobAttr = oob ? "true" : undefined;
  if (!health) {
    return <div id="header-status" class="header-status" hx-swap-oob={oobAttr}>starting…</div>;
  }
  const c = health.capture;
  const level = c.state === "down" ? "critical" : health.status === "ok" ? "ok" : health.status === "degraded" ? "warning" : "critical";
  return (
    <div id="header-status" class={`header-status level-${level}`} hx-swap-oob={oobAttr}>
      <span class="iface" title={`capture source: ${c.source}`}>
        <span class="label">{c.source === "file" ? "file" : c.source === "live" ? "if" : "capture"}</span>{" "}
        <span safe>{c.source === "none" ? "none" : c.interface}</span>
      </span>
      <span class={`capture-state state-${c.state}`} safe>{String(c.state)}</span>
      {health.replay ? <ReplayPosition replay={health.replay} /> : ""}
      <span class="uptime" title={`${Math.round(health.uptime_s)} s`}>
        <span class="label">up</span> <span safe>{formatDuration(health.uptime_s * 1000)}</span>
      </span>
      <span class="version" safe>{`v${health.version}`}</span>
    </div>
  );
}

/**
 * A replay's position in its file: "replay 37 %", "· loop 2" when looping; the title gives the
 * packet ("packet 190 of 518") and the capture offset ("1m 05s of 10m 00s").
 */
export function ReplayPosition({ replay: r }: { replay: ReplayView }): JSX.Element {
  const packet = r.total !== null ? `packet ${r.packets} of ${r.total}` : `packet ${r.packets}`;
  const title = `${packet} · ${formatDuration(r.offset_s * 1000)} of ${formatDuration(r.span_s * 1000)} of capture${r.done ? " · done" : ""}`;
  return (
    <span class="replay" title={title}>
      <span class="label">replay</span> <span class="replay-percent" safe>{`${r.percent} %`}</span>
      {r.loop ? <>{" · "}<span class="replay-pass" safe>{`loop ${r.pass}`}</span></> : ""}
    </span>
  );
}

/** id="conn-status": driven only by _hyperscript (see CONN_STATUS_HS); never pushed. */
export function ConnStatus(): JSX.Element {
  return (
    <span id="conn-status" class="conn-status" role="status" aria-live="polite" data-state="connecting"
      _={CONN_STATUS_HS}>
      connecting…
    </span>
  );
}

export interface LayoutProps {
  /** page name, shown as "<title> · Flowmatrix" */
  title: string;
  active: Tab;
  transport?: Transport;
  health?: HealthJson | null;
}

export function Layout(props: PropsWithChildren<LayoutProps>): JSX.Element {
  const transport = props.transport ?? "ws";
  return (
    <>
      {"<!doctype html>"}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="color-scheme" content="dark" />
          <meta name="htmx-config" content={HTMX_CONFIG} />
          <title safe>{`${props.title} · ${PRODUCT}`}</title>
          <link rel="stylesheet" href={STATIC.css} />
          {/* Not `defer`: a blocking script runs while the document is still loading, so htmx
              initializes on DOMContentLoaded, after the ws/sse extension has registered. With
              `defer`, htmx initializes from a setTimeout that can run before the extension script
              has loaded, and then no live connection is made. _hyperscript first, so #conn-status
              listens before any connection event. In <head> (not at the end of body) so an htmx
              history restore, which swaps <body>, does not load the scripts a second time. */}
          <script src={STATIC.hyperscript}></script>
          <script src={STATIC.htmx}></script>
          <script src={transport === "sse" ? STATIC.sse : STATIC.ws}></script>
        </head>
        <body>
          <div class="rain" aria-hidden="true"></div>
          <a class="skip" href="#main">Skip to content</a>
          {shell.insecureNoAuth ? <InsecureBanner /> : ""}
          <div id="app" hx-swap="none"
            hx-ws:connect={transport === "ws" ? ROUTES.ws : undefined}
            hx-sse:connect={transport === "sse" ? ROUTES.sse : undefined}>
            <header class="top">
              <span class="brand" safe>{PRODUCT.toUpperCase()}</span>
              <HeaderStatus health={props.health ?? null} />
              <ConnStatus />
              {shell.auth ? <LogoutButton /> : ""}
            </header>
            <NavTabs active={props.active} />
            <main id="main" tabindex="-1">{props.children}</main>
          </div>
        </body>
      </html>
    </>
  );
}

export interface HtmxPageProps {
  title: string;
  active: Tab;
}

/** The body-only answer to an htmx tab request: <title>, nav tabs (out of band), page body. */
export function HtmxPage(props: PropsWithChildren<HtmxPageProps>): JSX.Element {
  return (
    <>
      <title safe>{`${props.title} · ${PRODUCT}`}</title>
      <NavTabs active={props.active} oob />
      {props.children}
    </>
  );
}
