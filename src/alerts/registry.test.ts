/** The alert rule registry: settings, flags and the bandwidth set derive from the rule modules. */
import { describe, expect, test } from "bun:test";
import { ALERT_RULES, ALERT_SETTINGS, alertFlags, isBandwidthAlert, resolveAlertConfig } from "./registry.ts";
import { ENGINE_SETTINGS } from "./rule.ts";

describe("alert rule registry", () => {
  test("rule ids and setting names are unique (a clash would silently merge two settings)", () => {
    const ids = ALERT_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    const names = [...Object.keys(ENGINE_SETTINGS), ...ALERT_RULES.flatMap((r) => Object.keys(r.settings))];
    expect(new Set(names).size).toBe(names.length);
    const flags = alertFlags().map((f) => f.flag);
    expect(new Set(flags).size).toBe(flags.length);
  });

  test("serve's alert flags come from the rules, with the documented defaults", () => {
    const byFlag = Object.fromEntries(alertFlags().map((f) => [f.flag, f.setting.default]));
    expect(byFlag).toEqual({
      "alert-bps": 100e6, "alert-host-bps": 50e6, "alert-flow-bps": 50e6,
      "alert-scan-attempts": 20, "alert-cpu": 80, "alert-memory": 90,
    });
    for (const f of alertFlags()) expect(f.setting.doc.length).toBeGreaterThan(10);
  });

  test("resolveAlertConfig fills defaults, keeps given values, refuses unknown or non-finite ones", () => {
    const c = resolveAlertConfig({ bandwidthBps: 1e6, cpuPercent: undefined });
    expect(c.bandwidthBps).toBe(1e6);
    expect(c.cpuPercent).toBe(80);
    expect(c.clearFraction).toBe(0.8);
    expect(Object.keys(c).sort()).toEqual(Object.keys(ALERT_SETTINGS).sort());
    expect(() => resolveAlertConfig({ bandwidthBPS: 1 } as never)).toThrow('unknown alert setting "bandwidthBPS"');
    expect(() => resolveAlertConfig({ hostBps: Number.NaN })).toThrow('"hostBps" must be a finite number');
  });

  test("the bandwidth rules are the ones that turn the chart red", () => {
    expect(["bandwidth", "host_bandwidth", "flow_bandwidth"].every(isBandwidthAlert)).toBe(true);
    expect(["cpu", "memory", "scan", "capture_drops", "interface_down", "my_bandwidth_rule"].some(isBandwidthAlert)).toBe(false);
  });
});
