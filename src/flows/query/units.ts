/**
 * Numbers with units, as written in flow queries.
 *
 * - Sizes, counts and rates: decimal multipliers k/K = 1e3, M = 1e6, G = 1e9, T = 1e12 (KB/MB/GB/TB
 *   are the same decimal values; suffixes are case-insensitive, so "1m" is also 1e6), binary
 *   KiB/MiB/GiB/TiB = 2^10..2^40. A trailing "B" is allowed ("500B"). Rates also accept a
 *   trailing "bps" or "bit/s" ("1Mbps").
 * - Durations: ms, s, m (minutes), h, d; a bare number is seconds. Results are in milliseconds.
 *
 * Limits: no signs, no exponent notation ("1e6"), no space between number and unit. Decimal
 * multipliers are applied through the decimal exponent, so "1.1M" is exactly 1100000.
 */

const NUMBER_WITH_UNIT = /^(\d+(?:\.\d*)?|\.\d+)([A-Za-z/]*)$/;

const DECIMAL = new Map<string, number>([
  ["", 0], ["b", 0], ["k", 3], ["kb", 3], ["m", 6], ["mb", 6], ["g", 9], ["gb", 9], ["t", 12], ["tb", 12],
]);
const BINARY = new Map<string, number>([["kib", 10], ["mib", 20], ["gib", 30], ["tib", 40]]);
const DURATION_SECONDS = new Map<string, number>([["", 1], ["s", 1], ["m", 60], ["h", 3600], ["d", 86400]]);

function split(text: string): [string, string] | undefined {
  const m = NUMBER_WITH_UNIT.exec(text.trim());
  return m ? [m[1]!, m[2]!.toLowerCase()] : undefined;
}

/** Size or count ("1M", "500k", "1.5G", "2GiB", "1200"); undefined when not a size. */
export function parseSize(text: string): number | undefined {
  const parts = split(text);
  if (!parts) return undefined;
  const [num, unit] = parts;
  const dec = DECIMAL.get(unit);
  if (dec !== undefined) return Number(`${num}e${dec}`);
  const bin = BINARY.get(unit);
  if (bin !== undefined) return Number(num) * 2 ** bin;
  return undefined;
}

/** Rate in bits/s ("1M", "500k", "1.5Gbps", "10kbit/s"); undefined when not a rate. */
export function parseRate(text: string): number | undefined {
  const t = text.trim();
  const stripped = t.replace(/(bps|bit\/s)$/i, "");
  if (stripped !== t && stripped === "") return undefined;
  return parseSize(stripped);
}

/** Duration in milliseconds ("250ms", "10s", "2m", "1h", "1d", "1.5" = 1500); undefined when not one. */
export function parseDurationMs(text: string): number | undefined {
  const parts = split(text);
  if (!parts) return undefined;
  const [num, unit] = parts;
  if (unit === "ms") return Number(num);
  const sec = DURATION_SECONDS.get(unit);
  if (sec === undefined) return undefined;
  return Number(`${num}e3`) * sec;
}

/** Decimal text without exponent notation. */
function plain(n: number): string {
  const s = String(n);
  if (!s.includes("e")) return s;
  return n.toLocaleString("en-US", { useGrouping: false, maximumFractionDigits: 100 });
}

/** Shortest exact text with a decimal unit ("1M", "1500k", "999"); parseSize gives `n` back. */
export function formatSize(n: number): string {
  if (Number.isInteger(n) && n !== 0) {
    for (const [exp, unit] of [[12, "T"], [9, "G"], [6, "M"], [3, "k"]] as const) {
      if (n % 10 ** exp === 0) return `${plain(n / 10 ** exp)}${unit}`;
    }
  }
  return plain(n);
}

/** Exact text for a duration in ms ("2m", "90s", "250ms"); parseDurationMs gives `ms` back. */
export function formatDurationMs(ms: number): string {
  if (Number.isInteger(ms) && ms !== 0) {
    for (const [size, unit] of [[86_400_000, "d"], [3_600_000, "h"], [60_000, "m"], [1000, "s"]] as const) {
      if (ms % size === 0) return `${plain(ms / size)}${unit}`;
    }
  }
  return `${plain(ms)}ms`;
}
