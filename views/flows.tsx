/**
 * Flows page (/flows?q=…): search form, parse-error area, flow table, CSV export, paging.
 * `FlowsTable` (id="flows-table") is also the /flows/table fragment the form swaps in
 * (outerHTML). The form has hx-push-url="true": the /flows/table route must answer with
 * `HX-Push-Url: flowsPageHref(params)` so the address bar shows /flows?q=… (a reload then lands
 * on the full page). Client-side sort (FLOWS_TABLE_HS) reorders the current page only; the ⇅
 * links next to each header ask the server to sort all matches (sort_by/order; State has no
 * server sort key, so client sort only).
 * Time range (`TimeRange`, id="time-range"): Live (no bounds: the live table plus the recently
 * ended / stored flows), last 15 min / 1 h / 24 h (`since=-15m|-1h|-24h`), or a custom from–to
 * (`since`/`until`, datetime-local inputs read as UTC). The range lives in the URL, in the forms
 * the API takes, so every link here (sort, paging, search, CSV) carries it; choosing a range
 * swaps #main (the whole page, search form included). The /flows/table fragment re-sends
 * TimeRange out of band so its links follow a new search.
 * Annotations (issue 11/12): next to each address its country flag (or special-range badge) and
 * passive-DNS name; an App column (the application, port-guessed ones marked "?", and the server
 * name under it); the row details list Community ID, application and how it was decided, server
 * name, names, countries, ASNs and AS names of both ends, and the origin (capture or a NetFlow
 * exporter). The address itself is in `.ep` (what the CSV has).
 * Limits: IPv6 sort keys are approximate (first 48 bits); CSV export carries q/sort/range, not paging;
 * the App column sorts this page only, on the first letters of the name.
 */
import ipaddr from "ipaddr.js";
import { STATES } from "../src/flows/table/state.ts";
import { AppBadge, Geo, GeoAttribution, Name } from "./annotations.tsx";
import { FLOWS_TABLE_HS } from "./behaviors.ts";
import {
  asText, cleanText, endpoint, exactBits, exactBytes, exactCount, exactDuration, exactTime, formatBits, formatBytes, formatCount,
  formatDuration, formatRelative,
} from "./format.ts";
import type { FlowSortKey, FlowsParams, FlowsView, FlowView, QueryError, TimeWindow } from "./types.ts";
import { TIME_PRESETS } from "./types.ts";
import { flowsCsvHref, flowsPageHref, flowsTableHref, ROUTES } from "./urls.ts";

export const EMPTY_TEXT = "No flows match criteria";
/** Grammar: src/flows/query/query.ts. */
export const QUERY_EXAMPLES = [
  "src_ip:192.168.1.0/24 protocol:tcp",
  "ip:10.0.0.5 -port:53",
  "dst_port:443 OR dst_port:80",
  "bytes>1M state:established",
];

interface Column {
  /** client-side column id (data-col) */
  key: string;
  /** server sort key; none: client sort only */
  sortBy?: FlowSortKey;
  label: string;
  num: boolean;
  sortValue: (f: FlowView) => number;
}

/** Numeric sort key of an address: IPv4 as its 32-bit value, IPv6 after all IPv4 by its first 48 bits. */
export function ipSortKey(ip: string): number {
  try {
    const b = ipaddr.parse(ip).toByteArray();
    if (b.length === 4) return ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
    let v = 0;
    for (let i = 0; i < 6; i++) v = v * 256 + b[i]!;
    return 2 ** 32 + v / 65536;
  } catch {
    return 0;
  }
}

/** Sort key of a short name (client sort): its first 6 letters in base 37, unknown last. */
export function textSortKey(s: string | null | undefined): number {
  if (!s) return 37 ** 6;
  let v = 0;
  for (let i = 0; i < 6; i++) {
    const c = s.charCodeAt(i);
    const d = c >= 97 && c <= 122 ? c - 96 : c >= 65 && c <= 90 ? c - 64 : c >= 48 && c <= 57 ? 27 + c - 48 : i < s.length ? 36 : 0;
    v = v * 37 + d;
  }
  return v;
}

export const COLUMNS: Column[] = [
  { key: "proto", sortBy: "protocol", label: "Protocol", num: false, sortValue: (f) => f.proto_num },
  { key: "src", sortBy: "src_ip", label: "Source", num: false, sortValue: (f) => ipSortKey(f.src_ip) * 65536 + f.src_port },
  { key: "dst", sortBy: "dst_ip", label: "Destination", num: false, sortValue: (f) => ipSortKey(f.dst_ip) * 65536 + f.dst_port },
  { key: "bytes", sortBy: "bytes", label: "Bytes", num: true, sortValue: (f) => f.bytes },
  { key: "packets", sortBy: "packets", label: "Packets", num: true, sortValue: (f) => f.packets },
  { key: "bps", sortBy: "bps", label: "Rate", num: true, sortValue: (f) => f.bps },
  { key: "duration", sortBy: "duration", label: "Duration", num: true, sortValue: (f) => f.duration_ms },
  { key: "state", label: "State", num: false, sortValue: (f) => STATES.indexOf(f.state) },
  { key: "app", label: "App", num: false, sortValue: (f) => textSortKey(f.app) },
];

function tableLink(p: Partial<FlowsParams>): Record<string, string> {
  return {
    href: flowsPageHref(p),
    "hx-get": flowsTableHref(p),
    "hx-target": "#flows-table",
    "hx-swap": "outerHTML",
    "hx-push-url": flowsPageHref(p),
  };
}

export interface SearchFormProps {
  params: FlowsParams;
}

/** The filter form; works without JS (GET /flows) and with htmx (GET /flows/table → #flows-table). */
export function SearchForm({ params }: SearchFormProps): JSX.Element {
  return (
    <form class="search" role="search" action={ROUTES.flows} method="get" hx-get={ROUTES.flowsTable}
      hx-target="#flows-table" hx-swap="outerHTML" hx-push-url="true">
      <label for="flow-q">Filter</label>
      <input id="flow-q" name="q" type="search" value={params.q} placeholder={QUERY_EXAMPLES[0]}
        autocomplete="off" spellcheck="false" aria-describedby="flows-error query-help" />
      {params.sort_by ? <input type="hidden" name="sort_by" value={params.sort_by} /> : ""}
      {params.order ? <input type="hidden" name="order" value={params.order} /> : ""}
      {params.limit != null ? <input type="hidden" name="limit" value={String(params.limit)} /> : ""}
      {params.since ? <input type="hidden" name="since" value={params.since} /> : ""}
      {params.until ? <input type="hidden" name="until" value={params.until} /> : ""}
      <button type="submit">Search</button>
      <details id="query-help" class="query-help">
        <summary>Query syntax</summary>
        <p><code>field:value</code> terms; a space means AND, also <code>OR</code>, <code>-term</code> (NOT), parentheses and <code>&gt; &gt;= &lt; &lt;=</code>. Fields: ip, src_ip, dst_ip, port, src_port, dst_port, protocol, vlan, state, ip_version, bytes, packets, duration, bps, app, name (glob over server and passive-DNS names), country, asn, community_id, source, exporter. Examples:</p>
        <ul>{QUERY_EXAMPLES.map((e) => <li><code safe>{e}</code></li>)}</ul>
      </details>
    </form>
  );
}

export interface ParseErrorProps {
  q: string;
  error: QueryError | null | undefined;
}

/** id="flows-error": the parse error with a caret under the 0-based position; empty when none. */
export function ParseError({ q, error }: ParseErrorProps): JSX.Element {
  if (!error) return <div id="flows-error" class="parse-error" role="alert"></div>;
  if (error.field === "since" || error.field === "until") {
    return (
      <div id="flows-error" class="parse-error" role="alert" data-field={error.field}>
        <p><strong>Time range error</strong>: <span class="msg" safe>{error.message}</span></p>
      </div>
    );
  }
  const pos = Math.max(0, Math.min(error.position, q.length));
  return (
    <div id="flows-error" class="parse-error" role="alert">
      <p>
        <strong>Query error</strong> at position <span class="pos" safe>{String(pos + 1)}</span>:{" "}
        <span class="msg" safe>{error.message}</span>
      </p>
      <pre class="caret" aria-hidden="true" safe>{`${q}\n${" ".repeat(pos)}^`}</pre>
    </div>
  );
}

function Dir({ label, packets, bytes, flags }: { label: string; packets: number; bytes: number; flags: string }): JSX.Element {
  return (
    <>
      <dt safe>{label}</dt>
      <dd>
        <span title={exactCount(packets)} safe>{`${formatCount(packets)} packets`}</span>,{" "}
        <span title={exactBytes(bytes)} safe>{formatBytes(bytes)}</span>
        {flags ? <> , flags <code safe>{flags}</code></> : ""}
      </dd>
    </>
  );
}

/** One end in the details: `name (address)`, country or range, AS number and name. */
function EndInfo({ label, ip, name, country, asn, asName }: {
  label: string; ip: string; name: string | null | undefined; country: string | null | undefined;
  asn: number | null | undefined; asName: string | null | undefined;
}): JSX.Element {
  const as = asText(asn, asName, 253);
  return (
    <>
      <dt safe>{label}</dt>
      <dd class="end-info">
        <span class="end-host" safe>{name ? `${cleanText(name, 253, "tail")} (${ip})` : ip}</span>
        {country ? <>{", "}<Geo country={country} />{" "}<span class="country-text" safe>{cleanText(country, 16)}</span></> : ""}
        {as ? <>{", "}<span class="as-text" safe>{as}</span></> : ""}
      </dd>
    </>
  );
}

function originText(f: FlowView): string {
  if (f.source === "netflow") {
    const dom = f.exporter_domain != null ? `, observation domain ${f.exporter_domain}` : "";
    return `NetFlow/IPFIX exporter ${cleanText(f.exporter ?? "unknown", 64)}${dom}`;
  }
  return f.source === "capture" ? "packet capture" : "unknown";
}

/**
 * The hidden details row (full 5-tuple, VLAN, per-direction counts and flags, times, reasons,
 * and the issue 11/12 fields when the record has them).
 */
export function FlowDetails({ flow: f, now }: { flow: FlowView; now: number }): JSX.Element {
  const src = endpoint(f.src_ip, f.src_port);
  const dst = endpoint(f.dst_ip, f.dst_port);
  const reasons = f.suspicious.join(", ");
  const serverText: string = f.server_name ? cleanText(f.server_name, 253, "tail") : "none";
  const appText = f.app ? `${cleanText(f.app, 32)} (${f.app_source === "port" ? "guessed from the port" : "from the payload"})` : "unknown";
  return (
    <tr class="flow-details" id={`flow-${f.id}-details`} hidden>
      <td colspan={String(COLUMNS.length)}>
        <dl class="details">
          <dt>5-tuple</dt>
          <dd safe>{`${f.proto} (${f.proto_num}) ${src} → ${dst}, IPv${f.ip_version}`}</dd>
          <dt>VLAN</dt>
          <dd safe>{f.vlan == null ? "none" : String(f.vlan)}</dd>
          <Dir label={`${src} → ${dst}`} packets={f.src_packets} bytes={f.src_bytes} flags={f.src_tcp_flags} />
          <Dir label={`${dst} → ${src}`} packets={f.dst_packets} bytes={f.dst_bytes} flags={f.dst_tcp_flags} />
          <dt>State</dt>
          <dd safe>{f.active ? `${f.state} (active)` : `${f.state} (ended: ${f.end_reason ?? "unknown"})`}</dd>
          <dt>First seen</dt>
          <dd><time datetime={f.first_seen} title={formatRelative(f.first_seen, now)} safe>{exactTime(f.first_seen)}</time></dd>
          <dt>Last seen</dt>
          <dd><time datetime={f.last_seen} title={formatRelative(f.last_seen, now)} safe>{exactTime(f.last_seen)}</time></dd>
          <dt>Duration</dt>
          <dd title={exactDuration(f.duration_ms)} safe>{formatDuration(f.duration_ms)}</dd>
          <dt>Suspicious</dt>
          <dd class={reasons ? "level-error" : undefined} safe>{reasons || "no"}</dd>
          {f.community_id !== undefined ? <><dt>Community ID</dt><dd><code safe>{cleanText(f.community_id ?? "none", 64)}</code></dd></> : ""}
          {f.app !== undefined ? <><dt>Application</dt><dd class="app-info" safe>{appText}</dd></> : ""}
          {f.server_name !== undefined ? <><dt>Server name</dt><dd class="server-name" safe>{serverText}</dd></> : ""}
          {f.src_name !== undefined || f.src_country !== undefined || f.src_asn !== undefined
            ? <EndInfo label="Source host" ip={f.src_ip} name={f.src_name} country={f.src_country} asn={f.src_asn} asName={f.src_as_name} /> : ""}
          {f.dst_name !== undefined || f.dst_country !== undefined || f.dst_asn !== undefined
            ? <EndInfo label="Destination host" ip={f.dst_ip} name={f.dst_name} country={f.dst_country} asn={f.dst_asn} asName={f.dst_as_name} /> : ""}
          {f.source !== undefined ? <><dt>Origin</dt><dd class="origin" safe>{originText(f)}</dd></> : ""}
        </dl>
        {f.src_as_name || f.dst_as_name ? <GeoAttribution /> : ""}
      </td>
    </tr>
  );
}

/** An address cell: flag or range badge, the endpoint (`.ep`), the passive-DNS name under it. */
function EndCell({ ip, port, name, country }: { ip: string; port: number; name: string | null | undefined; country: string | null | undefined }): JSX.Element {
  return (
    <>
      {country ? <><Geo country={country} />{" "}</> : ""}
      <span class="ep" safe>{endpoint(ip, port)}</span>
      {name ? <Name name={name} /> : ""}
    </>
  );
}

/** One flow = one <tbody class="flow"> holding its row and its details row (sorted together). */
export function FlowRow({ flow: f, now }: { flow: FlowView; now: number }): JSX.Element {
  const sus = f.suspicious.length > 0;
  const rate = f.active ? formatBits(f.bps) : "–";
  const cell = (key: string) => ({ "data-col": key, "data-sort-value": String(COLUMNS.find((c) => c.key === key)!.sortValue(f)) });
  return (
    <tbody class="flow" data-flow-id={String(f.id)}>
      <tr class={["flow-row", sus && "suspicious", f.active && "active"]}
        title={sus ? `Suspicious: ${f.suspicious.join(", ")}` : undefined}>
        <td {...cell("proto")}>
          <button type="button" class="expand" aria-expanded="false" aria-controls={`flow-${f.id}-details`}
            aria-label="Show flow details">▸</button>{" "}
          {sus ? <span class="warn-mark" aria-label="suspicious">⚠</span> : ""}
          <span safe>{f.proto}</span>
        </td>
        <td {...cell("src")}><EndCell ip={f.src_ip} port={f.src_port} name={f.src_name} country={f.src_country} /></td>
        <td {...cell("dst")}><EndCell ip={f.dst_ip} port={f.dst_port} name={f.dst_name} country={f.dst_country} /></td>
        <td class="num" {...cell("bytes")} title={exactBytes(f.bytes)} safe>{formatBytes(f.bytes)}</td>
        <td class="num" {...cell("packets")} title={exactCount(f.packets)} safe>{formatCount(f.packets)}</td>
        <td class="num" {...cell("bps")} title={exactBits(f.bps)} safe>{rate}</td>
        <td class="num" {...cell("duration")} title={exactDuration(f.duration_ms)} safe>{formatDuration(f.duration_ms)}</td>
        <td {...cell("state")} safe>{String(f.state)}</td>
        <td {...cell("app")}>
          <AppBadge app={f.app} source={f.app_source} />
          {f.server_name ? <Name name={f.server_name} cls="server-name" /> : ""}
        </td>
      </tr>
      <FlowDetails flow={f} now={now} />
    </tbody>
  );
}

function HeaderCell({ col, params }: { col: Column; params: FlowsParams }): JSX.Element {
  const current = col.sortBy != null && params.sort_by === col.sortBy;
  const nextOrder = current && params.order !== "asc" ? "asc" : "desc";
  const link = col.sortBy ? tableLink({ ...params, sort_by: col.sortBy, order: nextOrder, offset: 0 }) : null;
  const name = col.label.toLowerCase();
  return (
    <th scope="col" class={col.num ? "num" : undefined}
      aria-sort={current ? (params.order === "asc" ? "ascending" : "descending") : undefined}>
      <button type="button" class="sort" data-col={col.key} title="Sort the rows on this page" safe>{col.label}</button>
      {link ? (
        <a class="server-sort" {...link} title={`Sort all matching flows by ${name}, ${nextOrder}ending`}
          aria-label={`Sort all by ${name}, ${nextOrder}ending`}>⇅</a>
      ) : ""}
    </th>
  );
}

function Pagination({ view }: { view: FlowsView }): JSX.Element {
  const p = view.params;
  const limit = view.limit;
  const offset = p.offset ?? 0;
  const hasPrev = offset > 0;
  const hasNext = view.total == null ? view.flows.length >= limit : offset + view.flows.length < view.total;
  if (!hasPrev && !hasNext) return "";
  return (
    <nav class="pagination" aria-label="Pages">
      {hasPrev ? <a rel="prev" {...tableLink({ ...p, limit, offset: Math.max(0, offset - limit) })}>← Previous</a> : ""}
      {hasNext ? <a rel="next" {...tableLink({ ...p, limit, offset: offset + limit })}>Next →</a> : ""}
    </nav>
  );
}

export interface FlowsTableProps {
  view: FlowsView;
  /** epoch ms for relative times (tests pin it) */
  now?: number;
  oob?: boolean;
}

/** id="flows-table": error area, count, export link, table or empty state, paging. */
export function FlowsTable({ view, now, oob }: FlowsTableProps): JSX.Element {
  const t = now ?? Date.now();
  const p = view.params;
  const offset = p.offset ?? 0;
  const n = view.flows.length;
  const count = n === 0 ? "0 flows" :
    `Showing ${offset + 1}–${offset + n}` + (view.total != null ? ` of ${exactCount(view.total)} flows` : " flows");
  return (
    <section id="flows-table" class="flows-results" hx-swap-oob={oob ? "true" : undefined} aria-live="polite">
      <ParseError q={p.q} error={view.error} />
      {!view.error && (
        <div class="table-tools">
          <span class="count" safe>{count}</span>
          <a class="export" href={flowsCsvHref(p)} download="flows.csv">Export CSV</a>
        </div>
      )}
      {view.error ? "" : n === 0 ? (
        <div class="empty-state">
          <p class="empty">{EMPTY_TEXT}</p>
          <p class="hint">
            {p.since || p.until
              ? <>No flows in this time range: choose a wider time range above{p.q ? " or remove a filter term" : ""}.</>
              : p.q
                ? <>Remove a filter term or widen a range, and check the query syntax (e.g. <code safe>{QUERY_EXAMPLES[0]}</code>).</>
                : <>No flows captured yet: check that the capture is running on the Health tab.</>}
          </p>
        </div>
      ) : (
        <table class="flows" _={FLOWS_TABLE_HS}>
          <thead>
            <tr>{COLUMNS.map((c) => <HeaderCell col={c} params={p} />)}</tr>
          </thead>
          {view.flows.map((f) => <FlowRow flow={f} now={t} />)}
        </table>
      )}
      {view.error ? "" : <Pagination view={view} />}
    </section>
  );
}

export interface FlowsPageProps {
  view: FlowsView;
  now?: number;
}

/** Body of /flows (goes inside Layout or HtmxPage). */
export function FlowsPage({ view, now }: FlowsPageProps): JSX.Element {
  return (
    <div class="page flows-page">
      <h1 class="visually-hidden">Flows</h1>
      <SearchForm params={view.params} />
      <TimeRange view={view} />
      <FlowsTable view={view} now={now} />
    </div>
  );
}

/** Which range button is current: "live", a preset's `since` (e.g. "-1h"), or "custom". */
export function rangeKind(p: Pick<FlowsParams, "since" | "until">): string {
  if (!p.since && !p.until) return "live";
  if (!p.until && TIME_PRESETS.some((x) => x.since === p.since)) return p.since!;
  return "custom";
}

/** Seconds since the epoch → the value of a datetime-local input, in UTC ("2026-12-01T03:12:00"). */
export function utcInputValue(sec: number | null | undefined): string {
  if (sec == null || !Number.isFinite(sec)) return "";
  const d = new Date(Math.floor(sec) * 1000);
  return Number.isFinite(d.getTime()) ? d.toISOString().slice(0, 19) : "";
}

function utcText(sec: number): string {
  return `${utcInputValue(sec).replace("T", " ")} UTC`;
}

/** What the current range covers, in words. */
function windowText(p: FlowsParams, kind: string, w: TimeWindow | null | undefined, stored: boolean | undefined): string {
  const ended = stored === true ? "ended flows from the history store"
    : stored === false ? "recently ended flows kept in memory (no history store)" : "ended flows";
  if (kind === "live") return `Live: active flows and ${ended}, no time bounds`;
  if (!w) return `Range ${p.since ?? "(oldest)"} to ${p.until ?? "now"}`;
  const from = w.since != null ? utcText(w.since) : "the oldest";
  const to = w.until != null ? utcText(w.until) : "now";
  return `Flows active between ${from} and ${to}: live flows and ${ended}`;
}

export interface TimeRangeProps {
  view: Pick<FlowsView, "params" | "window" | "stored">;
  /** render with hx-swap-oob="true" (in the /flows/table fragment) */
  oob?: boolean;
}

/**
 * id="time-range": Live / Last 15 min / 1 h / 24 h links and a Custom from–to form. Each choice
 * keeps the query, sort and page size and goes back to the first page; it loads /flows into
 * #main and pushes its URL (a reload or a shared link lands on the same range).
 */
export function TimeRange({ view, oob }: TimeRangeProps): JSX.Element {
  const p = view.params;
  const kind = rangeKind(p);
  const base: Partial<FlowsParams> = { q: p.q, sort_by: p.sort_by, order: p.order, limit: p.limit };
  const link = (since: string | undefined, label: string, key: string) => {
    const href = flowsPageHref({ ...base, since });
    return (
      <a class="range-choice" href={href} hx-get={href} hx-target="#main" hx-push-url="true" data-range={key}
        aria-current={kind === key ? "true" : undefined} safe>{label}</a>
    );
  };
  const w = view.window;
  return (
    <div id="time-range" class="time-range" role="group" aria-label="Time range" data-range={kind}
      hx-swap-oob={oob ? "true" : undefined}>
      <span class="label">Time</span>
      {link(undefined, "Live", "live")}
      {TIME_PRESETS.map((x) => link(x.since, x.label, x.since))}
      <details class="custom-range" open={kind === "custom"}>
        <summary data-range="custom" aria-current={kind === "custom" ? "true" : undefined}>Custom</summary>
        <form action={ROUTES.flows} method="get" hx-get={ROUTES.flows} hx-target="#main" hx-push-url="true">
          {p.q ? <input type="hidden" name="q" value={p.q} /> : ""}
          {p.sort_by ? <input type="hidden" name="sort_by" value={p.sort_by} /> : ""}
          {p.order ? <input type="hidden" name="order" value={p.order} /> : ""}
          {p.limit != null ? <input type="hidden" name="limit" value={String(p.limit)} /> : ""}
          <label>From <input type="datetime-local" name="since" step="1" value={utcInputValue(w?.since)} /></label>
          <label>To <input type="datetime-local" name="until" step="1" value={utcInputValue(w?.until)} /></label>
          <span class="tz">UTC</span>
          <button type="submit">Apply</button>
        </form>
      </details>
      <p class="window-note" safe>{windowText(p, kind, w, view.stored)}</p>
    </div>
  );
}
