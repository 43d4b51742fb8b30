/**
 * Live page (/) and its parts. Every part that changes each second is its own component with a
 * stable id, so the server can push it over WS/SSE with `oob` set (→ hx-swap-oob="true"):
 *   #bandwidth-chart  BandwidthChart (60 s range only; other ranges use #bandwidth-chart-<range>
 *                     and refresh themselves every 15 s, so pushes do not overwrite them)
 *   #counters         Counters          #protocol-mix  ProtocolMix
 *   #top-talkers      TopTalkers        #alerts        AlertsList
 *   #top-apps         TopApps (bytes per application over the last 60 summaries; each row links
 *                     to /flows?q=app:NAME; port-guessed bytes marked)
 *   #health-indicators HealthIndicators (from health.tsx, also shown here)
 * The 15 min / 1 h charts come from the history store when there is one (so they are filled
 * after a restart; `source` "history", gaps where nothing was recorded), else from the engine's
 * memory. The alerts panel links to the alert history on the Health page (ALERTS_HISTORY_HREF).
 * Limits: the protocol mix shares are over the samples given (the chart window), not all time.
 */
import { LineChart } from "./chart.tsx";
import {
  endpoint, exactBits, exactBytes, exactCount, exactTime, formatBits, formatBytes, formatCount, formatPps,
  formatRelative,
} from "./format.ts";
import { AsNote, Geo, GeoAttribution, Name } from "./annotations.tsx";
import { cleanText } from "./format.ts";
import { HealthIndicators } from "./health.tsx";
import type { Alert, AlertsJson, AppUsage, BandwidthJson, ChartRange, CountersView, HealthJson, TalkerInfo } from "./types.ts";
import { CHART_RANGES } from "./types.ts";
import { ALERTS_HISTORY_HREF, appFlowsHref, bandwidthHref, flowsPageHref, hostFlowsHref } from "./urls.ts";

const RANGE_LABEL: Record<ChartRange, string> = { "60s": "60 s", "15m": "15 min", "1h": "1 h" };

export function bandwidthChartId(range: ChartRange): string {
  return range === "60s" ? "bandwidth-chart" : `bandwidth-chart-${range}`;
}

export interface BandwidthChartProps {
  bandwidth: BandwidthJson;
  range?: ChartRange;
  /** red state; defaults to "last bps above threshold_bps" */
  high?: boolean;
  threshold_bps?: number;
  oob?: boolean;
}

export function BandwidthChart(props: BandwidthChartProps): JSX.Element {
  const range = props.range ?? "60s";
  const b = props.bandwidth;
  const lastBps = b.bps.length ? (b.bps[b.bps.length - 1] ?? 0) : 0;
  const high = props.high ?? (props.threshold_bps != null && lastBps > props.threshold_bps);
  const selfRefresh = range !== "60s";
  return (
    <div id={bandwidthChartId(range)} class={["panel", "bandwidth", high && "high"]}
      data-source={b.source ?? "memory"}
      hx-swap-oob={props.oob ? "true" : undefined}
      hx-get={selfRefresh ? bandwidthHref(range) : undefined}
      hx-trigger={selfRefresh ? "every 15s" : undefined}
      hx-target={selfRefresh ? "#bandwidth-panel" : undefined}>
      <div class="panel-head">
        <h2>Bandwidth{high ? <span class="badge level-error">high</span> : ""}</h2>
        <div class="range" role="group" aria-label="Chart range">
          {CHART_RANGES.map((r) => (
            <button type="button" hx-get={bandwidthHref(r)} hx-target="#bandwidth-panel"
              aria-pressed={r === range ? "true" : "false"}>
              <span safe>{RANGE_LABEL[r]}</span>
            </button>
          ))}
        </div>
      </div>
      <LineChart label={`Bandwidth, last ${RANGE_LABEL[range]}`} t={b.t} threshold={props.threshold_bps}
        series={[
          { name: "bps", values: b.bps, cls: "s-bps", format: formatBits },
          { name: "pps", values: b.pps, cls: "s-pps", format: formatPps },
        ]} />
      <p class="legend">
        <span class="s-bps">━ bits/s (left)</span> <span class="s-pps">━ packets/s (right)</span>
        {b.source === "history" ? <span class="source">from stored history</span> : ""}
      </p>
    </div>
  );
}

export interface CountersProps {
  counters: CountersView;
  oob?: boolean;
}

function Counter(p: { label: string; value: string; exact: string; cls?: string }): JSX.Element {
  return (
    <div class={["counter", p.cls]}>
      <dt safe>{p.label}</dt>
      <dd title={p.exact} safe>{p.value}</dd>
    </div>
  );
}

export function Counters({ counters: c, oob }: CountersProps): JSX.Element {
  return (
    <dl id="counters" class="panel counters" hx-swap-oob={oob ? "true" : undefined}>
      <Counter label="Bandwidth" value={formatBits(c.bps)} exact={exactBits(c.bps)} />
      <Counter label="Packets/s" value={formatPps(c.pps)} exact={`${exactCount(c.pps)} packets/s`} />
      <Counter label="Active flows" value={formatCount(c.active_flows)} exact={exactCount(c.active_flows)} />
      <Counter label="Packets" value={formatCount(c.packets)} exact={exactCount(c.packets)} />
      <Counter label="Drops" value={formatCount(c.dropped)} exact={exactCount(c.dropped)}
        cls={c.dropped > 0 ? "level-error" : undefined} />
    </dl>
  );
}

export interface ProtocolMixProps {
  /** bits/s per protocol, one value per sample (BandwidthJson.by_protocol); null = no sample */
  by_protocol: Record<string, (number | null)[]>;
  oob?: boolean;
}

export function ProtocolMix({ by_protocol, oob }: ProtocolMixProps): JSX.Element {
  const rows = Object.entries(by_protocol).map(([name, vs]) => ({
    name,
    sum: vs.reduce<number>((a, v) => a + (v != null && Number.isFinite(v) ? v : 0), 0),
    now: vs.length ? (vs[vs.length - 1] ?? 0) : 0,
  }));
  const total = rows.reduce((a, r) => a + r.sum, 0);
  rows.sort((a, b) => b.sum - a.sum);
  return (
    <section id="protocol-mix" class="panel protocol-mix" hx-swap-oob={oob ? "true" : undefined}>
      <h2>Protocol mix</h2>
      {total === 0 ? (
        <p class="empty">No traffic in this window</p>
      ) : (
        <ul>
          {rows.map((r) => {
            const pct = (r.sum / total) * 100;
            return (
              <li title={`${r.name}: ${pct.toFixed(2)} % of bits, now ${exactBits(r.now)}`}>
                <span class="name" safe>{r.name}</span>
                <span class="bar" aria-hidden="true"><span style={`width:${pct.toFixed(1)}%`}></span></span>
                <span class="pct" safe>{`${pct.toFixed(pct < 10 ? 1 : 0)} %`}</span>
                <span class="now" safe>{formatBits(r.now)}</span>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

export interface TopTalkersProps {
  /** Talker rows; name / country / AS when the engine annotated them. */
  talkers: TalkerInfo[];
  oob?: boolean;
}

/**
 * Each host links to /flows?q=ip:<host> (an htmx swap into #main, a normal link without JS).
 * With a passive-DNS name the cell reads `name (address)` (the link is the address); a country
 * flag or special-range badge comes first, the AS after.
 */
export function TopTalkers({ talkers, oob }: TopTalkersProps): JSX.Element {
  const withAs = talkers.some((t) => t.as_name);
  return (
    <section id="top-talkers" class="panel talkers" hx-swap-oob={oob ? "true" : undefined}>
      <h2>Top talkers</h2>
      {talkers.length === 0 ? (
        <p class="empty">No hosts seen yet</p>
      ) : (
        <table>
          <thead>
            <tr><th scope="col">Host</th><th scope="col">Rate</th><th scope="col">Bytes</th><th scope="col">Packets</th><th scope="col">Flows</th></tr>
          </thead>
          <tbody>
            {talkers.map((t) => (
              <tr>
                <td class="host">
                  <Geo country={t.country ?? t.special} />{t.country || t.special ? " " : ""}
                  {t.name ? <><Name name={t.name} />{" ("}</> : ""}
                  <a href={hostFlowsHref(t.host)} hx-get={hostFlowsHref(t.host)} hx-target="#main" hx-push-url="true"
                    safe>{t.host}</a>
                  {t.name ? ")" : ""}
                  {t.asn != null || t.as_name ? <>{" "}<AsNote asn={t.asn} name={t.as_name} /></> : ""}
                </td>
                <td class="num" title={exactBits(t.bps)} safe>{formatBits(t.bps)}</td>
                <td class="num" title={exactBytes(t.bytes)} safe>{formatBytes(t.bytes)}</td>
                <td class="num" title={exactCount(t.packets)} safe>{formatCount(t.packets)}</td>
                <td class="num" safe>{formatCount(t.flows)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {withAs ? <GeoAttribution /> : ""}
    </section>
  );
}

/** An app name the grammar takes as `app:NAME` (the engine's names are all of this form). */
const APP_TOKEN = /^[A-Za-z0-9_.-]{1,32}$/;

export interface TopAppsProps {
  /** TickSummary.apps: the top 10 by bytes over the last 60 s. */
  apps: AppUsage[];
  oob?: boolean;
}

/**
 * id="top-apps": bytes per application over the last 60 s, a bar per row (share of the panel's
 * total), the current rate, and how the app was known: from the payload, or guessed from a
 * well-known port ("port" badge; a mix shows the guessed share). Each name links to
 * /flows?q=app:NAME (an htmx swap into #main).
 */
export function TopApps({ apps, oob }: TopAppsProps): JSX.Element {
  const total = apps.reduce((a, x) => a + (Number.isFinite(x.bytes) && x.bytes > 0 ? x.bytes : 0), 0);
  return (
    <section id="top-apps" class="panel top-apps" hx-swap-oob={oob ? "true" : undefined}>
      <h2>Top applications <span class="window">60 s</span></h2>
      {total === 0 ? (
        <p class="empty">No application traffic in the last 60 s</p>
      ) : (
        <table>
          <thead>
            <tr><th scope="col">Application</th><th scope="col">Share</th><th scope="col">Bytes</th><th scope="col">Rate</th></tr>
          </thead>
          <tbody>
            {apps.map((a) => {
              const name = cleanText(a.app, 32);
              const pct = total > 0 ? (Math.max(0, a.bytes) / total) * 100 : 0;
              const portShare = a.bytes > 0 ? a.port_bytes / a.bytes : 0;
              // "unknown" bytes have no source (neither a payload match nor a listed port)
              const source = a.app === "unknown" ? "none" : portShare >= 0.999 ? "port" : portShare <= 0.001 ? "payload" : "mixed";
              const how = source === "none" ? "neither a payload match nor a listed port"
                : source === "port" ? "guessed from the port"
                : source === "payload" ? "identified from the payload"
                : `${(portShare * 100).toFixed(0)} % of the bytes guessed from the port`;
              const href = appFlowsHref(a.app);
              return (
                <tr data-app={name} data-app-source={source} title={`${name}: ${how}`}>
                  <td class="app-name">
                    {a.app === "unknown" || !APP_TOKEN.test(a.app)
                      ? <span class="app app-unknown" safe>{name}</span>
                      : <a href={href} hx-get={href} hx-target="#main" hx-push-url="true" safe>{name}</a>}
                    {source === "port" ? <span class="app-src port"> port</span>
                      : source === "mixed" ? <span class="app-src mixed" safe>{` ${(portShare * 100).toFixed(0)} % port`}</span> : ""}
                  </td>
                  <td class="share">
                    <span class="bar" aria-hidden="true"><span style={`width:${pct.toFixed(1)}%`}></span></span>
                    <span class="pct" safe>{`${pct.toFixed(pct < 10 ? 1 : 0)} %`}</span>
                  </td>
                  <td class="num" title={exactBytes(a.bytes)} safe>{formatBytes(a.bytes)}</td>
                  <td class="num" title={exactBits(a.bps)} safe>{formatBits(a.bps)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

function AlertItem({ alert: a, now }: { alert: Alert; now: number }): JSX.Element {
  return (
    <li class={`alert level-${a.severity}`}>
      <span class="sev" safe>{String(a.severity)}</span>{" "}
      <strong class="msg" safe>{a.message}</strong>{" "}
      <span class="rule" safe>{a.rule}</span>{" "}
      <time datetime={exactTime(a.since)} title={exactTime(a.since)} safe>{formatRelative(a.since, now)}</time>
      {a.flows.length > 0 && (
        <ul class="alert-flows">
          {a.flows.slice(0, 3).map((f) => (
            <li>
              <span safe>{`${f.proto} ${endpoint(f.src_ip, f.src_port)} → ${endpoint(f.dst_ip, f.dst_port)}`}</span>{" "}
              <span title={exactBytes(f.bytes)} safe>{formatBytes(f.bytes)}</span>{" "}
              <span title={exactBits(f.bps)} safe>{formatBits(f.bps)}</span>
            </li>
          ))}
        </ul>
      )}
      {a.q ? (
        <a class="alert-link" href={flowsPageHref({ q: a.q })} hx-get={flowsPageHref({ q: a.q })} hx-target="#main"
          hx-push-url="true">show flows</a>
      ) : ""}
    </li>
  );
}

export interface AlertsListProps {
  alerts: AlertsJson;
  /** epoch ms used for "5m ago" (tests pin it) */
  now?: number;
  oob?: boolean;
}

export function AlertsList({ alerts, now, oob }: AlertsListProps): JSX.Element {
  const t = now ?? Date.now();
  return (
    <section id="alerts" class={["panel", "alerts", alerts.active.length > 0 && "has-active"]}
      hx-swap-oob={oob ? "true" : undefined} aria-live="polite">
      <h2>Alerts</h2>
      {alerts.active.length === 0 ? (
        <p class="empty">No active alerts</p>
      ) : (
        <ul class="active">{alerts.active.map((a) => <AlertItem alert={a} now={t} />)}</ul>
      )}
      {alerts.recent.length > 0 && (
        <details class="recent">
          <summary safe>{`Recent (${alerts.recent.length})`}</summary>
          <ul>{alerts.recent.map((a) => <AlertItem alert={a} now={t} />)}</ul>
        </details>
      )}
      <p class="history-link"><a href={ALERTS_HISTORY_HREF}>History: every raise and clear →</a></p>
    </section>
  );
}

export interface LivePageProps {
  bandwidth: BandwidthJson;
  counters: CountersView;
  talkers: TalkerInfo[];
  /** Top applications (TickSummary.apps); absent = the empty panel. */
  apps?: AppUsage[];
  alerts: AlertsJson;
  health: HealthJson | null;
  range?: ChartRange;
  threshold_bps?: number;
  /** A bandwidth alert is active (the server's view model decides which alerts are about bandwidth). */
  high_bandwidth?: boolean;
  now?: number;
}

/** Body of / (goes inside Layout or HtmxPage). */
export function LivePage(p: LivePageProps): JSX.Element {
  const high = p.high_bandwidth === true ||
    (p.threshold_bps != null && (p.bandwidth.bps.at(-1) ?? 0) > p.threshold_bps);
  return (
    <div class="page live">
      <div class="col-main">
        <section id="bandwidth-panel" aria-label="Bandwidth chart">
          <BandwidthChart bandwidth={p.bandwidth} range={p.range} high={high} threshold_bps={p.threshold_bps} />
        </section>
        <Counters counters={p.counters} />
        <TopTalkers talkers={p.talkers} />
        <TopApps apps={p.apps ?? []} />
      </div>
      <div class="col-side">
        <AlertsList alerts={p.alerts} now={p.now} />
        <ProtocolMix by_protocol={p.bandwidth.by_protocol} />
        {p.health ? <HealthIndicators health={p.health} /> : ""}
      </div>
    </div>
  );
}
