/** Host CPU over a threshold for systemSeconds (warning). */
import { defineRule, level } from "../rule.ts";

export const cpuRule = defineRule({
  id: "cpu",
  doc: "host CPU above the threshold for systemSeconds",
  feeds: ["system"],
  settings: {
    cpuPercent: { default: 80, unit: "percent", flag: "alert-cpu", doc: "host CPU alert threshold, %" },
  },
  evaluate({ system }, cfg) {
    if (!system || system.cpuPercent === null) return [];
    const secs = cfg.systemSeconds;
    return [{
      rule: "cpu", key: "", severity: "warning", level: level(system.cpuPercent, cfg.cpuPercent, cfg.clearFraction), value: system.cpuPercent,
      raiseAfter: secs, clearAfter: secs,
      message: `High CPU: ${Math.round(system.cpuPercent)} % (threshold ${cfg.cpuPercent} %)`, flows: [], q: "",
    }];
  },
});
