/** Alert shapes and thresholds shared by the alert engine, its rules, the API and the pages. */
import type { FlowRecord } from "../flows/format/record.ts";

export type Severity = "warning" | "error" | "critical";

export interface Alert {
  /** Unique within the process ("a1", "a2", …). */
  id: string;
  /** Rule name: bandwidth, host_bandwidth, flow_bandwidth, cpu, memory, capture_drops, interface_down, scan. */
  rule: string;
  /** What the alert is about within its rule (e.g. the host address); "" for global rules. */
  key: string;
  severity: Severity;
  /** When the condition was confirmed (ISO 8601). */
  since: string;
  /** When it cleared (ISO 8601); null while active. */
  cleared: string | null;
  message: string;
  /** The measured value that raised it (bit/s, %, drops, attempts), latest while active. */
  value: number;
  /** Up to 5 flows involved (top flows by rate, or the flows matched by `q`). */
  flows: FlowRecord[];
  /** Flow query that shows the flows involved (grammar of src/flows/query/query.ts); "" = all flows. */
  q: string;
}

/** Thresholds and timings: the settings of the rules in registry.ts. */
export type { AlertConfig } from "./registry.ts";

/** "123 Mbit/s", "4.5 kbit/s". */
export function formatBps(bps: number): string {
  const units: [number, string][] = [[1e9, "Gbit/s"], [1e6, "Mbit/s"], [1e3, "kbit/s"]];
  for (const [n, u] of units) {
    if (bps >= n) return `${trim(bps / n)} ${u}`;
  }
  return `${Math.round(bps)} bit/s`;
}

function trim(x: number): string {
  return x >= 100 ? String(Math.round(x)) : String(Math.round(x * 10) / 10);
}
