/** Alert shapes and thresholds shared by the alert engine, its rules, the API and the pages. */
import type { FlowRecord } from "../flows/record.ts";

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
  /** Flow query that shows the flows involved (grammar of src/flows/query.ts); "" = all flows. */
  q: string;
}

/** Thresholds; every field is optional (defaults in DEFAULT_ALERT_CONFIG). */
export interface AlertConfig {
  /** Total bandwidth threshold, bit/s. */
  bandwidthBps?: number;
  /** Seconds a rate must stay above (to raise) or below the clear level (to clear). */
  bandwidthSeconds?: number;
  /** One host (sent + received, 60 s average) above this, bit/s. */
  hostBps?: number;
  /** One flow's current rate above this, bit/s. */
  flowBps?: number;
  /** Host CPU %. */
  cpuPercent?: number;
  /** Host memory used %. */
  memoryPercent?: number;
  /** Seconds CPU/memory must stay above (or below the clear level) — about two samples at 5 s. */
  systemSeconds?: number;
  /** Unanswered/refused attempts from one source to call it a scan. */
  scanMinAttempts?: number;
  /** After an alert clears, the same rule+key does not raise again for this long (not for critical). */
  coolDownSec?: number;
  /** Clear level as a fraction of the threshold (hysteresis). */
  clearFraction?: number;
  /** Seconds without drops (or with the interface up) before those alerts clear. */
  recoverSeconds?: number;
  /** Cleared alerts kept for recent(). */
  recentMax?: number;
}

export const DEFAULT_ALERT_CONFIG: Required<AlertConfig> = {
  bandwidthBps: 100e6,
  bandwidthSeconds: 5,
  hostBps: 50e6,
  flowBps: 50e6,
  cpuPercent: 80,
  memoryPercent: 90,
  systemSeconds: 10,
  scanMinAttempts: 20,
  coolDownSec: 60,
  clearFraction: 0.8,
  recoverSeconds: 5,
  recentMax: 200,
};

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
