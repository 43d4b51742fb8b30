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
import { ENGINE_SETTINGS, type AlertRule, type AlertSetting, type EngineSettingName } from "./rule.ts";

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
