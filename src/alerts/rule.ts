/**
 * The alert rule contract. A rule is one module in rules/ and one line in registry.ts: its id,
 * the settings it reads (each with a default, an optional CLI flag and one line of doc, from
 * which `serve`'s flags and help are derived), the feeds that evaluate it, and `evaluate`, which
 * turns one input into observations. The AlertEngine (alert-engine.ts) applies hysteresis and
 * cool-down on top; a rule holds no state of its own.
 *
 * Levels: "high" = at or above the threshold, "low" = below threshold × clearFraction, "mid" in
 * between (neither raises nor clears). A keyed rule (host, flow, scan) that stops being observed
 * for a key counts as "low" for that key.
 */
import type { FlowRecord } from "../flows/format/record.ts";
import type { SystemSample } from "../metrics/system-collector.ts";
import type { TickSummary } from "../worker/protocol.ts";
import type { Severity } from "./alert.ts";

export type Level = "high" | "mid" | "low";

export interface Observation {
  rule: string;
  key: string;
  severity: Severity;
  level: Level;
  value: number;
  /** Seconds the level must hold to raise / to clear. */
  raiseAfter: number;
  clearAfter: number;
  message: string;
  flows: FlowRecord[];
  q: string;
}

/** How a setting's text (flag, environment, config file) is read. */
export type SettingUnit = "rate" | "percent" | "count" | "seconds" | "fraction";

export interface AlertSetting {
  default: number;
  unit: SettingUnit;
  /** One line for `--help` and the docs. */
  doc: string;
  /** CLI flag without the dashes (e.g. "alert-bps"); settings without one are config-only. */
  flag?: string;
}

/** Settings every rule may read, owned by the engine (hysteresis, cool-down, history). */
export const ENGINE_SETTINGS = {
  bandwidthSeconds: { default: 5, unit: "seconds", doc: "seconds a rate must stay above (to raise) or below the clear level (to clear)" },
  systemSeconds: { default: 10, unit: "seconds", doc: "seconds CPU/memory must stay above or below the clear level (about two samples)" },
  coolDownSec: { default: 60, unit: "seconds", doc: "after an alert clears, the same rule and key is not raised again for this long (not for critical)" },
  clearFraction: { default: 0.8, unit: "fraction", doc: "clear level as a fraction of the threshold (hysteresis)" },
  recoverSeconds: { default: 5, unit: "seconds", doc: "seconds without drops (or with the interface up) before those alerts clear" },
  recentMax: { default: 200, unit: "count", doc: "raised alerts kept in the recent list" },
} as const satisfies Record<string, AlertSetting>;

export type EngineSettingName = keyof typeof ENGINE_SETTINGS;

/** Which input evaluates a rule: the engine's per-second summary, or a system sample (~5 s). */
export type Feed = "tick" | "system";

export interface RuleInput {
  /** Set when feed is "tick". */
  tick: TickSummary | null;
  /** Set when feed is "system". */
  system: SystemSample | null;
  /** The latest summary seen (also on system feeds; null before the first tick). */
  lastTick: TickSummary | null;
  /** Capture state from the latest tick, link state from the latest system sample. */
  captureDown: boolean;
  linkDown: boolean;
}

export interface AlertRule<S extends Record<string, AlertSetting> = Record<string, AlertSetting>> {
  /** Rule id, also the `rule` of its alerts: snake_case, unique. */
  id: string;
  /** One line for the docs. */
  doc: string;
  feeds: readonly Feed[];
  /** Its alerts are about bandwidth (the dashboard turns the bandwidth chart red while one is active). */
  bandwidth?: boolean;
  settings: S;
  evaluate(input: RuleInput, cfg: Readonly<Record<keyof S | EngineSettingName, number>>): Observation[];
}

/** Identity, for inference: keeps the setting names of a rule's literal in its type. */
export function defineRule<const S extends Record<string, AlertSetting>>(rule: AlertRule<S>): AlertRule<S> {
  return rule;
}

/** "high" / "mid" / "low" for a value against a threshold with the hysteresis fraction. */
export function level(value: number, threshold: number, clearFraction: number): Level {
  if (value >= threshold) return "high";
  return value < threshold * clearFraction ? "low" : "mid";
}

/** Query text for exactly one flow's 5-tuple. */
export function flowQueryText(f: FlowRecord): string {
  const ports = f.proto === "tcp" || f.proto === "udp" || f.proto === "sctp" ? ` src_port:${f.src_port} dst_port:${f.dst_port}` : "";
  return `src_ip:${f.src_ip} dst_ip:${f.dst_ip}${ports} protocol:${f.proto_num}`;
}
