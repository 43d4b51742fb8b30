/**
 * The alert rule registry: every rule the AlertEngine evaluates, in evaluation order. Adding a
 * rule is one module in rules/ and one line here; its settings (with defaults, CLI flags and
 * docs) and the AlertConfig type follow from this list.
 */
import { bandwidthRule } from "./rules/bandwidth.ts";
import { captureDropsRule } from "./rules/capture-drops.ts";
import { cpuRule } from "./rules/cpu.ts";
import { flowBandwidthRule } from "./rules/flow-bandwidth.ts";
import { hostBandwidthRule } from "./rules/host-bandwidth.ts";
import { interfaceDownRule } from "./rules/interface-down.ts";
import { memoryRule } from "./rules/memory.ts";
import { scanRule } from "./rules/scan.ts";
import { ENGINE_SETTINGS, type AlertRule, type AlertSetting, type EngineSettingName, type SettingUnit } from "./rule.ts";
import { parseRate } from "../flows/query/units.ts";

export const ALERT_RULES = [
  bandwidthRule, hostBandwidthRule, flowBandwidthRule, captureDropsRule, interfaceDownRule, scanRule, cpuRule, memoryRule,
] as const;

type RuleSettingName<R> = R extends AlertRule<infer S> ? keyof S & string : never;
export type AlertSettingName = RuleSettingName<(typeof ALERT_RULES)[number]> | EngineSettingName;

/** Thresholds and timings; every field is optional (defaults from the rules and ENGINE_SETTINGS). */
export type AlertConfig = Partial<Record<AlertSettingName, number>>;
export type ResolvedAlertConfig = Readonly<Record<AlertSettingName, number>>;

/** Every setting by name: the engine's own, then each rule's. */
export const ALERT_SETTINGS: Readonly<Record<AlertSettingName, AlertSetting>> = Object.assign(
  {}, ENGINE_SETTINGS, ...ALERT_RULES.map((r) => r.settings as Record<string, AlertSetting>),
);

/** The settings with defaults filled in; an unknown name or a non-finite value is an error naming it. */
export function resolveAlertConfig(config: AlertConfig = {}): ResolvedAlertConfig {
  const out = {} as Record<AlertSettingName, number>;
  for (const [name, s] of Object.entries(ALERT_SETTINGS) as [AlertSettingName, AlertSetting][]) out[name] = s.default;
  for (const [name, v] of Object.entries(config)) {
    if (v === undefined) continue;
    if (!(name in ALERT_SETTINGS)) throw new Error(`unknown alert setting "${name}"`);
    if (!Number.isFinite(v)) throw new Error(`alert setting "${name}" must be a finite number`);
    out[name as AlertSettingName] = v;
  }
  return out;
}

/** The settings that have a CLI flag, in registry order (serve's flags and help come from this). */
export function alertFlags(): { flag: string; name: AlertSettingName; setting: AlertSetting }[] {
  const out: { flag: string; name: AlertSettingName; setting: AlertSetting }[] = [];
  for (const [name, setting] of Object.entries(ALERT_SETTINGS) as [AlertSettingName, AlertSetting][]) {
    if (setting.flag) out.push({ flag: setting.flag, name, setting });
  }
  return out;
}

const BANDWIDTH_RULES: ReadonlySet<string> = new Set(ALERT_RULES.filter((r) => "bandwidth" in r && r.bandwidth).map((r) => r.id));

/** True when one of these alerts means "bandwidth too high" (the chart turns red). */
export function isBandwidthAlert(rule: string): boolean {
  return BANDWIDTH_RULES.has(rule);
}

/**
 * A setting's value from text (a flag, an environment variable, a config file): rates as 100M /
 * 2.5G (bit/s), percentages 1-100, counts as positive whole numbers, seconds > 0, fractions in
 * (0, 1]. Throws an Error whose message says what is expected (the caller names the source).
 */
export function parseSettingValue(unit: SettingUnit, text: string): number {
  const v = text.trim();
  switch (unit) {
    case "rate": {
      const n = parseRate(v);
      if (n === undefined || !(n > 0)) throw new Error(`must be a rate such as 100M or 2.5G (bit/s), got "${text}"`);
      return n;
    }
    case "percent": {
      const n = Number(v);
      if (v === "" || !(n > 0 && n <= 100)) throw new Error(`must be a percentage 1-100, got "${text}"`);
      return n;
    }
    case "count": {
      const n = Number(v);
      if (!(Number.isInteger(n) && n > 0)) throw new Error(`must be a positive whole number, got "${text}"`);
      return n;
    }
    case "seconds": {
      const n = Number(v);
      if (v === "" || !(n > 0) || !Number.isFinite(n)) throw new Error(`must be a positive number of seconds, got "${text}"`);
      return n;
    }
    case "fraction": {
      const n = Number(v);
      if (v === "" || !(n > 0 && n <= 1)) throw new Error(`must be a fraction in (0, 1], got "${text}"`);
      return n;
    }
  }
}
