/**
 * Health page (/health): indicators, history charts and the alert history.
 *   #health-indicators  HealthIndicators (push with oob every metrics tick)
 *   #health-history     HealthHistory (refreshes itself every 30 s from /health/history?range=…);
 *                       from the history store when there is one (filled after a restart; 7 d
 *                       range), else this run's memory rings
 *   #alerts-history     AlertHistory: every raise and clear, newest first (refreshes every 30 s
 *                       from /health/alerts), each with a link to its flows
 *   #collector          CollectorPanel (with --collect-netflow): listen address, state, totals,
 *                       and per exporter packets, records, errors (reasons on hover), records
 *                       lost, sampling rate, last seen; rendered with the page (not pushed)
 * Levels: ok (green), warning (amber: CPU > 80 %, memory > 90 %, flow table > 90 % or evicting),
 * error (red: any kernel/interface drop → "Packet capture degraded - check interface"),
 * critical (interface down → "System offline"). Thresholds are constants here, not config.
 */
import { LineChart } from "./chart.tsx";
import {
  exactBytes, exactCount, exactTime, formatBits, formatBytes, formatCount, formatPercent, formatPps, formatRelative,
} from "./format.ts";
import type { AlertHistoryEvent, AlertHistoryJson, CollectorView, HealthJson, HistoryRange, MetricsHistoryJson } from "./types.ts";
import { cleanText } from "./format.ts";
import { MEMORY_HISTORY_RANGES } from "./types.ts";
import { flowsPageHref, historyHref, ROUTES } from "./urls.ts";

export type Level = "ok" | "warning" | "error" | "critical";
export const CPU_WARN_PERCENT = 80;
export const MEMORY_WARN_FRACTION = 0.9;
export const FLOW_TABLE_WARN_FRACTION = 0.9;
export const DROPS_MESSAGE = "Packet capture degraded - check interface";
export const OFFLINE_MESSAGE = "System offline";

export interface Indicator {
  key: "capture" | "drops" | "cpu" | "memory" | "flows";
  name: string;
  level: Level;
  value: string;
  /** exact value / details for title= */
  exact: string;
  note?: string | undefined;
}

/** The five indicators with their levels (pure; exported for tests and the server). */
export function indicators(h: HealthJson): Indicator[] {
  const c = h.capture;
  const drops = c.dropped + c.if_dropped;
  const mem = h.system.memory_total > 0 ? h.system.memory_used / h.system.memory_total : 0;
  const fill = h.flows.capacity > 0 ? h.flows.active / h.flows.capacity : 0;
  const cpu = h.system.cpu_percent;
  return [
    {
      key: "capture", name: "Capture",
      level: c.state === "down" ? "critical" : c.state === "stopped" ? "error" : "ok",
      value: c.state,
      exact: `${c.source} ${c.interface}, linktype ${c.linktype}, ${exactCount(c.packets)} packets`,
      note: c.state === "down" ? `${OFFLINE_MESSAGE}: interface ${c.interface} is down – restart capture` : undefined,
    },
    {
      key: "drops", name: "Drops",
      level: drops > 0 ? "error" : "ok",
      value: drops > 0 ? `${formatCount(drops)} (${formatPercent(c.drop_rate)})` : "0",
      exact: `${exactCount(c.dropped)} dropped by capture, ${exactCount(c.if_dropped)} by interface`,
      note: drops > 0 ? DROPS_MESSAGE : undefined,
    },
    {
      key: "cpu", name: "CPU",
      level: cpu > CPU_WARN_PERCENT ? "warning" : "ok",
      value: formatPercent(cpu, true),
      exact: `system ${cpu.toFixed(1)} %, process ${h.system.process_cpu.toFixed(1)} %, load ${h.system.load.map((l) => l.toFixed(2)).join(" ")}`,
      note: cpu > CPU_WARN_PERCENT ? `CPU above ${CPU_WARN_PERCENT} %` : undefined,
    },
    {
      key: "memory", name: "Memory",
      level: mem > MEMORY_WARN_FRACTION ? "warning" : "ok",
      value: `${formatBytes(h.system.memory_used)} / ${formatBytes(h.system.memory_total)}`,
      exact: `${exactBytes(h.system.memory_used)} used, process RSS ${exactBytes(h.system.process_rss)}`,
      note: mem > MEMORY_WARN_FRACTION ? `memory ${formatPercent(mem)} used` : undefined,
    },
    {
      key: "flows", name: "Flow table",
      level: fill > FLOW_TABLE_WARN_FRACTION || h.flows.evicted > 0 ? "warning" : "ok",
      value: `${formatCount(h.flows.active)} / ${formatCount(h.flows.capacity)}`,
      exact: `${exactCount(h.flows.active)} active, ${exactCount(h.flows.ended)} ended, ${exactCount(h.flows.evicted)} evicted`,
      note: h.flows.evicted > 0 ? `table full: ${exactCount(h.flows.evicted)} flows evicted` : undefined,
    },
  ];
}

const LEVEL_TEXT: Record<Level, string> = { ok: "OK", warning: "Warning", error: "Error", critical: "Critical" };
const RANK: Record<Level, number> = { ok: 0, warning: 1, error: 2, critical: 3 };

export function worstLevel(levels: Level[]): Level {
  return levels.reduce<Level>((w, l) => (RANK[l] > RANK[w] ? l : w), "ok");
}

export interface HealthIndicatorsProps {
  health: HealthJson;
  oob?: boolean;
}

/** The flows that carry the most bytes: where to look first when the monitor is under pressure. */
const TOP_CONSUMERS = flowsPageHref({ sort_by: "bytes", order: "desc", limit: 10 });

export function HealthIndicators({ health, oob }: HealthIndicatorsProps): JSX.Element {
  const list = indicators(health);
  const worst = worstLevel(list.map((i) => i.level));
  const offline = health.capture.state === "down";
  return (
    <section id="health-indicators" class={`panel health level-${worst}`} data-level={worst}
      hx-swap-oob={oob ? "true" : undefined}>
      <h2>System health</h2>
      {offline && (
        <p class="banner level-critical" role="alert">
          <strong safe>{OFFLINE_MESSAGE.toUpperCase()}</strong>{" "}
          <span safe>{`interface ${health.capture.interface} is down`}</span>
        </p>
      )}
      <ul class="indicators">
        {list.map((i) => (
          <li class={`indicator level-${i.level}`} data-key={i.key} data-level={i.level} title={i.exact}>
            <span class="dot" aria-hidden="true"></span>
            <span class="name" safe>{i.name}</span>
            <span class="value" safe>{i.value}</span>
            <span class="level-text" safe>{LEVEL_TEXT[i.level]}</span>
            {i.note ? <span class="note" safe>{i.note}</span> : ""}
          </li>
        ))}
      </ul>
      {health.reasons.length > 0 && (
        <ul class="reasons">{health.reasons.map((r) => <li safe>{r}</li>)}</ul>
      )}
      {worst !== "ok" && (
        <p class="investigate">
          <a id="top-consumers" href={TOP_CONSUMERS} hx-get={TOP_CONSUMERS} hx-target="#main" hx-push-url="true">
            Investigate: top bandwidth consumers →
          </a>
        </p>
      )}
    </section>
  );
}

export interface HealthHistoryProps {
  history: MetricsHistoryJson;
  range?: HistoryRange;
  /** Range buttons offered (default the memory rings' 15m … 24h; 7d too with the history store). */
  ranges?: readonly HistoryRange[];
  oob?: boolean;
}

/** Index of the first and last point where any series has a value; null when there is none. */
export function coverage(hi: MetricsHistoryJson): { first: number; last: number; points: number } | null {
  const all = Object.values(hi.series);
  let first = -1, last = -1, points = 0;
  for (let i = 0; i < hi.t.length; i++) {
    if (!all.some((vs) => vs[i] != null && Number.isFinite(vs[i]))) continue;
    if (first < 0) first = i;
    last = i;
    points++;
  }
  return first < 0 ? null : { first, last, points };
}

const utc = (sec: number) => `${exactTime(sec).slice(0, 19).replace("T", " ")} UTC`;

const num = (v: number) => formatCount(v);
const pct = (v: number) => formatPercent(v, true);

export function HealthHistory({ history: hi, range = "15m", ranges = MEMORY_HISTORY_RANGES, oob }: HealthHistoryProps): JSX.Element {
  const s = hi.series;
  const cov = coverage(hi);
  const source = hi.source === "history" ? "stored history" : "this run (memory)";
  const charts = [
    { label: "CPU", series: [{ name: "cpu", values: s.cpu_percent, cls: "s-cpu", format: pct }] },
    { label: "Memory used", series: [{ name: "memory", values: s.memory_used, cls: "s-mem", format: formatBytes }] },
    { label: "Process RSS", series: [{ name: "rss", values: s.process_rss, cls: "s-rss", format: formatBytes }] },
    { label: "Drops", series: [{ name: "drops", values: s.dropped, cls: "s-drops", format: num }] },
    {
      label: "Bandwidth", series: [
        { name: "bps", values: s.bps, cls: "s-bps", format: formatBits },
        { name: "pps", values: s.pps, cls: "s-pps", format: formatPps },
      ],
    },
    { label: "Active flows", series: [{ name: "flows", values: s.active_flows, cls: "s-flows", format: num }] },
  ];
  return (
    <section id="health-history" class="panel history" hx-swap-oob={oob ? "true" : undefined}
      hx-get={historyHref(range)} hx-trigger="every 30s" hx-swap="outerHTML">
      <div class="panel-head">
        <h2>History</h2>
        <div class="range" role="group" aria-label="History range">
          {ranges.map((r) => (
            <button type="button" hx-get={historyHref(r)} hx-target="#health-history" hx-swap="outerHTML"
              aria-pressed={r === range ? "true" : "false"}>{r}</button>
          ))}
        </div>
      </div>
      <p class="coverage" data-source={hi.source ?? "memory"} data-points={String(cov?.points ?? 0)} data-step={String(hi.step)}>
        {cov ? (
          <>
            <span safe>{`${cov.points} points (${formatCount(hi.step)} s each) from `}</span>
            <time class="first" datetime={exactTime(hi.t[cov.first]!)} safe>{utc(hi.t[cov.first]!)}</time>
            {" to "}
            <time class="last" datetime={exactTime(hi.t[cov.last]!)} safe>{utc(hi.t[cov.last]!)}</time>
            <span safe>{`, ${source}`}</span>
          </>
        ) : <span safe>{`No samples in the last ${range} (${source})`}</span>}
      </p>
      <div class="charts">
        {charts.map((c) => (
          <figure class="mini-chart">
            <figcaption safe>{c.label}</figcaption>
            <LineChart label={`${c.label}, last ${range}`} t={hi.t} series={c.series} width={420} height={140} />
          </figure>
        ))}
      </div>
    </section>
  );
}

function HistoryItem({ e, now }: { e: AlertHistoryEvent; now: number }): JSX.Element {
  const a = e.alert;
  // The flows behind the alert, around the time it happened (flows that overlap it).
  const sinceSec = Math.floor(Date.parse(a.since) / 1000) - 60;
  const endSec = e.event === "cleared" ? Math.ceil(Date.parse(e.at) / 1000) + 60 : null;
  const iso = (sec: number) => `${new Date(sec * 1000).toISOString().slice(0, 19)}Z`;
  const href = a.q && Number.isFinite(sinceSec)
    ? flowsPageHref({ q: a.q, since: iso(sinceSec), until: endSec != null && Number.isFinite(endSec) ? iso(endSec) : undefined })
    : null;
  return (
    <tr class={`alert-event event-${e.event} level-${a.severity}`} data-event={e.event} data-rule={a.rule}>
      <td><time datetime={exactTime(e.at)} title={formatRelative(e.at, now)} safe>{utc(Date.parse(e.at) / 1000)}</time></td>
      <td class="event" safe>{String(e.event)}</td>
      <td class="sev" safe>{String(a.severity)}</td>
      <td class="rule" safe>{a.rule}</td>
      <td class="msg" safe>{a.message}</td>
      <td>
        {href ? (
          <a class="alert-link" href={href} hx-get={href} hx-target="#main" hx-push-url="true" title={`Flows matching ${a.q}`}>
            <code safe>{a.q}</code>
          </a>
        ) : ""}
      </td>
    </tr>
  );
}

export interface AlertHistoryProps {
  history: AlertHistoryJson;
  /** epoch ms for relative times (tests pin it) */
  now?: number;
  oob?: boolean;
}

/**
 * id="alerts-history": every raise and clear, newest first: time (UTC), event, severity, rule,
 * message, and the alert's flow filter as a link to /flows?q=…&since=… (around the event).
 */
export function AlertHistory({ history: h, now, oob }: AlertHistoryProps): JSX.Element {
  const t = now ?? Date.now();
  return (
    <section id="alerts-history" class="panel alert-history" hx-swap-oob={oob ? "true" : undefined}
      hx-get={ROUTES.alertsHistory} hx-trigger="every 30s" hx-swap="outerHTML" data-source={h.source}>
      <div class="panel-head">
        <h2>Alert history</h2>
        <span class="source" safe>{h.source === "history"
          ? `newest ${h.limit} events, stored across restarts`
          : `this run only (no history store), newest ${h.limit}`}</span>
      </div>
      {h.events.length === 0 ? (
        <p class="empty">No alerts raised yet</p>
      ) : (
        <table class="alert-events">
          <thead>
            <tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Severity</th><th scope="col">Rule</th><th scope="col">Message</th><th scope="col">Flows</th></tr>
          </thead>
          <tbody>{h.events.map((e) => <HistoryItem e={e} now={t} />)}</tbody>
        </table>
      )}
    </section>
  );
}

/** "bad_template 3, truncated 1" (largest first), or "" without errors. */
function reasonsText(r: Record<string, number>): string {
  return Object.entries(r).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${cleanText(k, 40)} ${exactCount(n)}`).join(", ");
}

export interface CollectorPanelProps {
  collector: CollectorView;
  /** epoch ms for "last seen" (tests pin it) */
  now?: number;
}

/** id="collector": the NetFlow/IPFIX collector and the exporters it hears from. */
export function CollectorPanel({ collector: c, now }: CollectorPanelProps): JSX.Element {
  const t = now ?? Date.now();
  const level: Level = c.state === "failed" ? "error" : c.errors > 0 ? "warning" : "ok";
  const reasons = reasonsText(c.error_reasons);
  const exporters = [...c.exporters].sort((a, b) => b.last_seen - a.last_seen);
  return (
    <section id="collector" class={`panel collector level-${level}`} data-state={c.state}>
      <div class="panel-head">
        <h2>NetFlow/IPFIX collector</h2>
        <span class="source" safe>{`${cleanText(c.listen, 64)} · ${cleanText(c.state, 16)}`}</span>
      </div>
      {c.error ? <p class="banner level-error" role="alert" safe>{cleanText(c.error, 200)}</p> : ""}
      <p class="collector-totals">
        <span safe>{`${exactCount(c.packets)} datagrams, ${exactCount(c.records)} records, ${exactCount(c.errors)} errors`}</span>
        {reasons ? <span class="reasons-text" safe>{` (${reasons})`}</span> : ""}
      </p>
      {exporters.length === 0 ? (
        <p class="empty">No exporter heard from yet</p>
      ) : (
        <table class="exporters">
          <thead>
            <tr><th scope="col">Exporter</th><th scope="col">Version</th><th scope="col">Packets</th><th scope="col">Records</th><th scope="col">Errors</th><th scope="col">Lost</th><th scope="col">Sampling</th><th scope="col">Last seen</th></tr>
          </thead>
          <tbody>
            {exporters.map((e) => {
              const er = reasonsText(e.error_reasons);
              const ms = e.last_seen * 1000;
              const sampling: string = e.sampling_rate > 1 ? `1:${exactCount(e.sampling_rate)}` : "none";
              return (
                <tr class={e.errors > 0 ? "exporter level-warning" : "exporter"} data-exporter={cleanText(e.address, 64)}>
                  <td class="address" safe>{cleanText(e.address, 64)}</td>
                  <td safe>{e.versions.map((v) => (v === 10 ? "IPFIX" : `v${v}`)).join(", ")}</td>
                  <td class="num" safe>{exactCount(e.packets)}</td>
                  <td class="num" safe>{exactCount(e.records)}</td>
                  <td class="num errors" title={er || undefined} safe>{exactCount(e.errors)}</td>
                  <td class="num" safe>{exactCount(e.lost)}</td>
                  <td class="num sampling" title={e.sampling_rate > 1 ? `1 in ${e.sampling_rate} packets: counts scaled by ${e.sampling_rate}` : "not sampled"}
                    safe>{sampling}</td>
                  <td><time datetime={exactTime(e.last_seen)} title={exactTime(e.last_seen)} safe>{formatRelative(ms / 1000, t)}</time></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

export interface HealthPageProps {
  health: HealthJson;
  history: MetricsHistoryJson;
  range?: HistoryRange;
  ranges?: readonly HistoryRange[];
  alerts?: AlertHistoryJson;
  now?: number;
}

/** Body of /health (goes inside Layout or HtmxPage). */
export function HealthPage(p: HealthPageProps): JSX.Element {
  return (
    <div class="page health-page">
      <HealthIndicators health={p.health} />
      {p.health.collector ? <CollectorPanel collector={p.health.collector} now={p.now} /> : ""}
      <HealthHistory history={p.history} range={p.range} ranges={p.ranges} />
      {p.alerts ? <AlertHistory history={p.alerts} now={p.now} /> : ""}
    </div>
  );
}
