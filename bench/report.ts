/** Result shapes (also the JSON written to bench/.cache/results-*.json) and the stdout report. */
import type { CaptureSpec } from "./captures.ts";
import { fmtBytes } from "./captures.ts";
import type { Figures } from "./procs.ts";

export interface SideRun {
  wallSeconds: number;
  /** The read loop as the program reports it (C; ours in summary and json); NaN when not reported. */
  loopSeconds: number;
  maxRssBytes: number | null;
  cpuSeconds: number | null;
  figures: Figures;
}

export interface SideResult {
  error?: string;
  runs: SideRun[];
  median: {
    wallSeconds: number;
    loopSeconds: number | null;
    /** Largest peak RSS over the rounds (not a median: the worst case is what matters). */
    maxRssBytes: number | null;
    cpuSeconds: number | null;
    packetsPerSecondWall: number;
  } | null;
}

/** One output format of ours on one capture. */
export interface FormatResult {
  format: string;
  ours: SideResult;
  /** Bytes written to stdout (median over the rounds; null with --sink null). */
  outputBytes: number | null;
  outputStable: boolean;
  ratios: { wall: number | null; cpu: number | null; loop: number | null };
  packetsAgree: boolean | null;
  oursPackets: number | null;
  oursFlows: number | null;
  stableAcrossRounds: boolean;
  tableBytesPerFlow: number | null;
}

export interface CaptureResult {
  name: string;
  file: string;
  sizeBytes: number;
  spec: CaptureSpec;
  c: SideResult;
  cPackets: number | null;
  cFlows: number | null;
  cStable: boolean;
  cTableBytesPerFlow: number | null;
  formats: FormatResult[];
}

const NA = "n/a";
const sec = (x: number | null | undefined) => (x == null || !Number.isFinite(x) ? NA : `${x.toFixed(3)}`);
const mib = (x: number | null | undefined) => (x == null ? NA : `${(x / 2 ** 20).toFixed(0)} MiB`);
const int = (x: number | null | undefined) => (x == null ? NA : x.toLocaleString("en-US"));
const rat = (x: number | null | undefined) => (x == null || !Number.isFinite(x) ? NA : x.toFixed(2));

/** The wall-time target of a format: summary is held to maxRatio, printing formats to maxOutputRatio. */
export function wallTarget(spec: CaptureSpec, format: string): number {
  return format === "summary" ? spec.maxRatio : spec.maxOutputRatio;
}

function flag(x: number | null, max: number | undefined): string {
  return x === null || max === undefined || !Number.isFinite(x) ? " " : x <= max ? " " : "!";
}

function row(cols: string[], widths: number[]): string {
  return cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
}

export function printCapture(r: CaptureResult): void {
  const s = r.spec;
  const c = r.c.median;
  const snap = s.snaplen !== undefined ? `, snaplen ${s.snaplen}` : "";
  console.log(`== ${r.name}: ${int(s.packets)} packets, ${int(s.flows)} flows, seed ${s.seed}${snap} ` +
    `— ${fmtBytes(r.sizeBytes)} (${r.file})`);
  const n = r.c.runs.length;
  console.log(`  C (limit agg, median of ${n}): wall ${sec(c?.wallSeconds)} s, CPU ${sec(c?.cpuSeconds)} s, ` +
    `read loop ${sec(c?.loopSeconds)} s, peak RSS ${mib(c?.maxRssBytes)}, ${int(r.cPackets)} packets, ${int(r.cFlows)} flows` +
    (r.cTableBytesPerFlow != null ? `, table ${r.cTableBytesPerFlow.toFixed(1)} B/flow` : ""));
  if (r.c.error) console.log(`  C FAILED: ${indent(r.c.error)}`);
  const w = [8, 8, 7, 7, 8, 7, 7, 9, 10, 8, 9];
  console.log("  " + row(["format", "wall s", "ours/C", "target", "CPU s", "ours/C", "target", "peak RSS", "stdout", "loop s", "packets"], w));
  for (const f of r.formats) {
    const o = f.ours.median;
    const wt = wallTarget(s, f.format);
    const rssFlag = s.maxRssMiB !== undefined && o?.maxRssBytes != null ? flag(o.maxRssBytes / 2 ** 20, s.maxRssMiB) : " ";
    console.log("  " + row([
      f.format,
      sec(o?.wallSeconds),
      rat(f.ratios.wall) + flag(f.ratios.wall, wt),
      `≤ ${wt.toFixed(2)}`,
      sec(o?.cpuSeconds),
      rat(f.ratios.cpu) + flag(f.ratios.cpu, s.maxCpuRatio),
      `≤ ${s.maxCpuRatio.toFixed(2)}`,
      mib(o?.maxRssBytes) + rssFlag,
      f.outputBytes == null ? NA : fmtBytes(f.outputBytes),
      sec(o?.loopSeconds),
      f.packetsAgree === null ? (f.ours.error ? "FAILED" : NA) : f.packetsAgree ? "agree" : "MISMATCH",
    ], w));
    if (f.ours.error) console.log(`    ${f.format} FAILED: ${indent(f.ours.error)}`);
    if (!f.stableAcrossRounds || !f.outputStable) console.log(`    WARNING: ${f.format}: packet/flow counts or output size changed between rounds`);
  }
  if (!r.cStable) console.log("  WARNING: C's packet/flow counts changed between rounds");
  const sum = r.formats.find((f) => f.format === "summary");
  if (sum) {
    const o = sum.ours.runs.at(-1)?.figures.extra;
    const keys = ["evicted", "active_flows", "ended_flows", "non_ip_packets", "malformed_packets"].filter((k) => o && k in o);
    console.log(`  summary: read-loop ratio ${rat(sum.ratios.loop)} (target ≤ ${s.maxRatio.toFixed(2)}), ` +
      `table ${sum.tableBytesPerFlow == null ? NA : sum.tableBytesPerFlow.toFixed(1)} B/flow, ` +
      `${int(sum.oursFlows)} flows (C ${int(r.cFlows)}, informational)` +
      (keys.length ? `; ${keys.map((k) => `${k}=${JSON.stringify(o![k])}`).join(" ")}` : ""));
  }
  const inc = outputIncrement(r);
  if (inc) console.log(`  ${inc}`);
  const perRound = (runs: { wallSeconds: number; cpuSeconds: number | null }[]) =>
    runs.map((x) => `${x.wallSeconds.toFixed(2)}/${x.cpuSeconds?.toFixed(2) ?? "-"}`).join(" ");
  console.log(`  rounds wall/CPU s — C: ${perRound(r.c.runs) || "-"}`);
  for (const f of r.formats) console.log(`    ${f.format}: ${perRound(f.ours.runs) || "-"}`);
  console.log("");
}

/**
 * What printing the flows costs on top of aggregating them: each printing format's median CPU
 * minus summary's, in seconds and per printed row (null without a summary run). Summary is the
 * same read, decode, flow table and detection without output, so this separates the writers'
 * cost (src/flows/format, src/cli/output.ts) from the capture's; both move with the load, so read
 * it next to the load average.
 */
export function outputIncrement(r: CaptureResult): string | null {
  const sum = r.formats.find((f) => f.format === "summary")?.ours.median?.cpuSeconds;
  if (sum == null) return null;
  const parts = r.formats.filter((f) => f.format !== "summary" && f.ours.median?.cpuSeconds != null).map((f) => {
    const d = f.ours.median!.cpuSeconds! - sum;
    const rows = f.oursFlows ?? 0;
    return `${f.format} ${d >= 0 ? "+" : ""}${d.toFixed(2)} s` + (rows > 0 ? ` (${Math.round((d * 1e9) / rows)} ns/row)` : "");
  });
  return parts.length ? `output's CPU over summary (${sec(sum)} s): ${parts.join(", ")}` : null;
}

function indent(s: string): string {
  return s.replace(/\n/g, "\n    ");
}

/** One line per format, one column per capture: wall and CPU ratios (ours / C); `!` marks a missed target. */
export function printSummary(results: CaptureResult[]): void {
  if (results.length === 0) return;
  console.log("== summary: ours / C, wall | CPU (median of the rounds; lower is better; ! = target missed)");
  const w = [8, ...results.map(() => 22)];
  console.log("  " + row(["format", ...results.map((r) => r.name)], w));
  console.log("  " + row(["target", ...results.map((r) => `≤ ${r.spec.maxOutputRatio.toFixed(1)} | ≤ ${r.spec.maxCpuRatio.toFixed(1)}`)], w));
  const formats = results[0]!.formats.map((f) => f.format);
  for (const format of formats) {
    console.log("  " + row([format, ...results.map((r) => {
      const f = r.formats.find((x) => x.format === format);
      if (!f) return NA;
      return `${rat(f.ratios.wall)}${flag(f.ratios.wall, wallTarget(r.spec, format))}| ${rat(f.ratios.cpu)}${flag(f.ratios.cpu, r.spec.maxCpuRatio)}`;
    })], w));
  }
  const rssLines = results.filter((r) => r.spec.maxRssMiB !== undefined).map((r) =>
    `${r.name} (≤ ${r.spec.maxRssMiB} MiB): ` + r.formats.map((f) => `${f.format} ${mib(f.ours.median?.maxRssBytes)}${flag((f.ours.median?.maxRssBytes ?? 0) / 2 ** 20, r.spec.maxRssMiB).trim()}`).join(", "));
  for (const l of rssLines) console.log(`  peak RSS, ${l}`);
}
