/**
 * Number and time formatting for the views. Decimal (SI) units throughout: 1 kB = 1000 B,
 * 1 Mbit/s = 10^6 bit/s. Display strings are short; the `exact*` helpers give the full value
 * for a `title=` tooltip. Non-finite or negative input is shown as "–" (dash), never thrown.
 */

const SI = ["", "k", "M", "G", "T", "P", "E"];
const group = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const group2 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

export const DASH = "–";

function bad(n: number): boolean {
  return typeof n !== "number" || !Number.isFinite(n) || n < 0;
}

/** Scale by 1000 until below 1000: [mantissa, prefix]. Mantissa keeps 3 significant digits. */
function si(n: number): [string, string] {
  let i = 0;
  while (n >= 999.95 && i < SI.length - 1) {
    n /= 1000;
    i++;
  }
  const digits = i === 0 ? 0 : n < 10 ? 2 : n < 100 ? 1 : 0;
  let s = n.toFixed(digits);
  if (digits > 0) s = s.replace(/\.?0+$/, "");
  return [s, SI[i]!];
}

/** 12400000 → "12.4 Mbit/s" */
export function formatBits(bps: number): string {
  if (bad(bps)) return DASH;
  const [m, p] = si(bps);
  return `${m} ${p}bit/s`;
}

/** 3100000000 → "3.1 GB" (decimal) */
export function formatBytes(bytes: number): string {
  if (bad(bytes)) return DASH;
  const [m, p] = si(bytes);
  return `${m} ${p}B`;
}

/** Counts: grouped below 10,000 ("9,876"), SI above ("12.3k", "4.5M"). */
export function formatCount(n: number): string {
  if (bad(n)) return DASH;
  if (n < 10000) return group.format(Math.round(n));
  const [m, p] = si(n);
  return `${m}${p}`;
}

/** 1234.5 → "1,235 pkt/s" */
export function formatPps(pps: number): string {
  if (bad(pps)) return DASH;
  return `${formatCount(pps)} pkt/s`;
}

/** 0.8312 → "83.1 %"; input is a fraction (0..1) unless `isPercent` */
export function formatPercent(v: number, isPercent = false): string {
  if (bad(v)) return DASH;
  const p = isPercent ? v : v * 100;
  return `${p < 10 ? p.toFixed(1) : p.toFixed(0)} %`;
}

/** 850 → "850 ms", 4200 → "4.2s", 134000 → "2m 14s", 3h 05m, 2d 4h */
export function formatDuration(ms: number): string {
  if (bad(ms)) return DASH;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1).replace(/\.0$/, "")}s`;
  if (s < 60) return `${Math.floor(s)}s`;
  const total = Math.floor(s);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  return `${m}m ${String(sec).padStart(2, "0")}s`;
}

/** Parse an ISO string or Unix seconds to epoch ms; NaN if unparseable. */
export function toMs(t: string | number): number {
  return typeof t === "number" ? t * 1000 : Date.parse(t);
}

/** "just now", "12s ago", "5m ago", "3h ago", "2d ago"; future times read "in 5s". */
export function formatRelative(t: string | number, nowMs: number = Date.now()): string {
  const ms = toMs(t);
  if (!Number.isFinite(ms)) return DASH;
  const diff = nowMs - ms;
  if (Math.abs(diff) < 1000) return "just now";
  const text = formatDuration(Math.abs(diff) < 60000 ? Math.floor(Math.abs(diff) / 1000) * 1000 : Math.abs(diff))
    .split(" ")[0]!;
  return diff > 0 ? `${text} ago` : `in ${text}`;
}

/** ISO 8601 UTC for a title (input ISO or Unix seconds). */
export function exactTime(t: string | number): string {
  const ms = toMs(t);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(t);
}

/** "12,400,000 bit/s" */
export function exactBits(bps: number): string {
  return bad(bps) ? DASH : `${group.format(Math.round(bps))} bit/s`;
}

/** "3,100,000,000 bytes" */
export function exactBytes(b: number): string {
  return bad(b) ? DASH : `${group.format(Math.round(b))} bytes`;
}

/** "1,234,567" (up to 2 decimals) */
export function exactCount(n: number): string {
  return bad(n) ? DASH : group2.format(n);
}

/** "1,234 ms" */
export function exactDuration(ms: number): string {
  return bad(ms) ? DASH : `${group.format(Math.round(ms))} ms`;
}

/** Endpoint "10.0.0.1:443", "[2001:db8::1]:443"; port 0 (no ports: ICMP…) prints the address only. */
export function endpoint(ip: string, port: number): string {
  if (!port) return ip;
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Longest name shown in a cell (the full name, at most NAME_TITLE_MAX, goes to title=). */
export const NAME_SHOW_MAX = 48;
/** Longest name carried at all (a DNS name is at most 253 characters). */
export const NAME_TITLE_MAX = 253;

// C0/C1 controls, bidi embeddings/overrides/isolates, line/paragraph separators, BOM.
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/**
 * A name from a packet, a DNS answer or a database, made fit to show: control and bidi-override
 * characters become "?", and at most `max` characters are kept ("…" marks the cut). Names
 * (`keep: "tail"`) keep their end, where a domain's meaningful part is; other text keeps its start.
 * The result still needs HTML escaping (`safe`).
 */
export function cleanText(s: string | null | undefined, max = NAME_TITLE_MAX, keep: "head" | "tail" = "head"): string {
  if (s == null) return "";
  let t = String(s);
  // Cut before cleaning so a 10 MB string costs no more than its kept part.
  if (t.length > max * 2 + 8) t = keep === "tail" ? t.slice(-(max * 2)) : t.slice(0, max * 2);
  t = t.replace(UNSAFE_CHARS, "?");
  const chars = [...t];
  if (chars.length <= max) return t;
  return keep === "tail" ? `…${chars.slice(-(max - 1)).join("")}` : `${chars.slice(0, max - 1).join("")}…`;
}

/** "DE" → 🇩🇪 (regional indicator symbols); null for anything but two ASCII letters. */
export function flagEmoji(code: string | null | undefined): string | null {
  if (typeof code !== "string" || !/^[A-Za-z]{2}$/.test(code)) return null;
  const u = code.toUpperCase();
  return String.fromCodePoint(0x1f1e6 + u.charCodeAt(0) - 65, 0x1f1e6 + u.charCodeAt(1) - 65);
}

/** "AS15169 Google LLC", "AS15169", or "" when unknown. */
export function asText(asn: number | null | undefined, name: string | null | undefined, max = NAME_SHOW_MAX): string {
  const n = typeof asn === "number" && Number.isFinite(asn) && asn >= 0 ? `AS${Math.floor(asn)}` : "";
  const nm = cleanText(name, max);
  return [n, nm].filter(Boolean).join(" ");
}
