/** Result shapes (also the JSON written to bench/.cache/results-*.json) and the stdout report. */
import type { CaptureSpec } from "./captures.ts";
import { fmtBytes } from "./captures.ts";
import type { Figures } from "./procs.ts";

export interface SideRun {
  wallSeconds: number;
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
    loopSeconds: number;
    /** Largest peak RSS over the rounds (not a median: the worst case is what matters). */
    maxRssBytes: number | null;
    cpuSeconds: number | null;
    packetsPerSecondLoop: number;
    packetsPerSecondWall: number;
  } | null;
}

export interface CaptureResult {
  name: string;
  file: string;
  sizeBytes: number;
  spec: CaptureSpec;
  c: SideResult;
  ours: SideResult;
  ratios: { wall: number | null; loop: number | null };
  check: {
    packetsAgree: boolean | null;
    cPackets: number | null;
    oursPackets: number | null;
    cFlows: number | null;
    oursFlows: number | null;
    stableAcrossRounds: boolean;
  };
  tableBytesPerFlow: { ours: number | null; c: number | null; cCapacity: number | null };
}

const NA = "n/a";
const sec = (x: number | null | undefined) => (x == null ? NA : `${x.toFixed(3)} s`);
const mpps = (x: number | null | undefined) => (x == null ? NA : `${(x / 1e6).toFixed(2)} Mpps`);
const mib = (x: number | null | undefined) => (x == null ? NA : `${(x / 2 ** 20).toFixed(1)} MiB`);
const int = (x: number | null | undefined) => (x == null ? NA : x.toLocaleString("en-US"));
const rat = (x: number | null | undefined) => (x == null ? NA : x.toFixed(2));

function mark(ok: boolean | null): string {
  return ok === null ? "" : ok ? "ok" : "MISSED";
}

function row(cols: string[], widths: number[]): string {
  return cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
}

export function printCapture(r: CaptureResult): void {
  const s = r.spec;
  const c = r.c.median;
  const o = r.ours.median;
  const snap = s.snaplen !== undefined ? `, snaplen ${s.snaplen}` : "";
  console.log(`== ${r.name}: ${int(s.packets)} packets, ${int(s.flows)} flows, seed ${s.seed}${snap} ` +
    `— ${fmtBytes(r.sizeBytes)} (${r.file})`);
  const w = [26, 16, 16, 8, 16];
  const rssTarget = s.maxRssMiB !== undefined ? `ours ≤ ${s.maxRssMiB} MiB` : "";
  const rssOk = s.maxRssMiB !== undefined && o?.maxRssBytes != null ? o.maxRssBytes <= s.maxRssMiB * 2 ** 20 : null;
  const ratioOk = (x: number | null) => (x === null ? null : x <= s.maxRatio);
  const n = Math.max(r.c.runs.length, r.ours.runs.length);
  const lines: string[][] = [
    ["", "C (limit)", "ours", "ours/C", "target"],
    [`wall, spawn→exit (med ${n})`, sec(c?.wallSeconds), sec(o?.wallSeconds), rat(r.ratios.wall),
      `≤ ${s.maxRatio.toFixed(2)} ${mark(ratioOk(r.ratios.wall))}`],
    ["read loop only", sec(c?.loopSeconds), sec(o?.loopSeconds), rat(r.ratios.loop),
      `≤ ${s.maxRatio.toFixed(2)} ${mark(ratioOk(r.ratios.loop))}`],
    ["packets/s (read loop)", mpps(c?.packetsPerSecondLoop), mpps(o?.packetsPerSecondLoop),
      rat(c && o ? o.packetsPerSecondLoop / c.packetsPerSecondLoop : null), ""],
    ["packets/s (wall)", mpps(c?.packetsPerSecondWall), mpps(o?.packetsPerSecondWall),
      rat(c && o ? o.packetsPerSecondWall / c.packetsPerSecondWall : null), ""],
    ["CPU user+sys (median)", sec(c?.cpuSeconds), sec(o?.cpuSeconds),
      rat(c?.cpuSeconds && o?.cpuSeconds ? o.cpuSeconds / c.cpuSeconds : null), ""],
    ["peak RSS (max of rounds)", mib(c?.maxRssBytes), mib(o?.maxRssBytes),
      rat(c?.maxRssBytes && o?.maxRssBytes ? o.maxRssBytes / c.maxRssBytes : null), `${rssTarget} ${mark(rssOk)}`.trim()],
    ["table bytes/flow", r.tableBytesPerFlow.c == null ? NA : `${r.tableBytesPerFlow.c.toFixed(1)}`,
      r.tableBytesPerFlow.ours == null ? NA : r.tableBytesPerFlow.ours.toFixed(1),
      rat(r.tableBytesPerFlow.c && r.tableBytesPerFlow.ours ? r.tableBytesPerFlow.ours / r.tableBytesPerFlow.c : null),
      r.tableBytesPerFlow.cCapacity == null ? "" : `C: 86 B × ${int(r.tableBytesPerFlow.cCapacity)} slots`],
    ["packets", int(r.check.cPackets), int(r.check.oursPackets), "",
      r.check.packetsAgree === null ? "" : r.check.packetsAgree ? "agree" : "MISMATCH"],
    ["flows", int(r.check.cFlows), int(r.check.oursFlows),
      r.check.cFlows != null && r.check.oursFlows != null ? signed(r.check.oursFlows - r.check.cFlows) : "", "(informational)"],
  ];
  for (const l of lines) console.log("  " + row(l, w));
  if (!r.check.stableAcrossRounds) console.log("  WARNING: packet/flow counts changed between rounds");
  if (r.c.error) console.log(`  C FAILED: ${indent(r.c.error)}`);
  if (r.ours.error) console.log(`  ours FAILED: ${indent(r.ours.error)}`);
  const o2 = r.ours.runs.at(-1)?.figures.extra;
  if (o2) {
    const keys = ["evicted", "active_flows", "ended_flows", "non_ip_packets", "malformed_packets"].filter((k) => k in o2);
    if (keys.length) console.log(`  ours stats: ${keys.map((k) => `${k}=${JSON.stringify(o2[k])}`).join(" ")}`);
  }
  const perRound = (side: SideResult) => side.runs.map((x) => `${x.wallSeconds.toFixed(2)}/${x.loopSeconds.toFixed(2)}`).join(" ");
  console.log(`  rounds wall/loop s — C: ${perRound(r.c) || "-"}   ours: ${perRound(r.ours) || "-"}`);
  console.log("");
}

function signed(x: number): string {
  return x > 0 ? `+${x}` : String(x);
}

function indent(s: string): string {
  return s.replace(/\n/g, "\n    ");
}

export function printSummary(results: CaptureResult[]): void {
  const w = [16, 12, 12, 14, 14, 16, 10];
  console.log("== summary (ours/C, lower is better; target ≤ 1.00; RSS target only on the scan)");
  console.log("  " + row(["capture", "wall ratio", "loop ratio", "ours Mpps", "C Mpps", "ours RSS", "packets"], w));
  for (const r of results) {
    const o = r.ours.median;
    const c = r.c.median;
    const rssTarget = r.spec.maxRssMiB !== undefined ? `/${r.spec.maxRssMiB}` : "";
    console.log("  " + row([
      r.name,
      rat(r.ratios.wall) + flag(r.ratios.wall, r.spec.maxRatio),
      rat(r.ratios.loop) + flag(r.ratios.loop, r.spec.maxRatio),
      o ? (o.packetsPerSecondLoop / 1e6).toFixed(2) : NA,
      c ? (c.packetsPerSecondLoop / 1e6).toFixed(2) : NA,
      (o?.maxRssBytes != null ? `${(o.maxRssBytes / 2 ** 20).toFixed(0)}${rssTarget} MiB` : NA) +
        (r.spec.maxRssMiB !== undefined && o?.maxRssBytes != null ? flag(o.maxRssBytes / 2 ** 20, r.spec.maxRssMiB) : ""),
      r.check.packetsAgree === null ? (r.ours.error ? "ours fail" : NA) : r.check.packetsAgree ? "agree" : "MISMATCH",
    ], w));
  }
}

function flag(x: number | null, max: number): string {
  return x === null ? "" : x <= max ? " " : "!";
}
