/** Host memory use over a threshold for systemSeconds (warning). */
import { defineRule, level } from "../rule.ts";

export const memoryRule = defineRule({
  id: "memory",
  doc: "host memory use above the threshold for systemSeconds",
  feeds: ["system"],
  settings: {
    memoryPercent: { default: 90, unit: "percent", flag: "alert-memory", doc: "host memory use alert threshold, %" },
  },
  evaluate({ system }, cfg) {
    if (!system || system.memUsed === null || !system.memTotal) return [];
    const pct = (system.memUsed / system.memTotal) * 100;
    const secs = cfg.systemSeconds;
    return [{
      rule: "memory", key: "", severity: "warning", level: level(pct, cfg.memoryPercent, cfg.clearFraction), value: pct,
      raiseAfter: secs, clearAfter: secs,
      message: `High memory use: ${Math.round(pct)} % (threshold ${cfg.memoryPercent} %)`, flows: [], q: "",
    }];
  },
});
