/** Total bandwidth over a threshold for `bandwidthSeconds` (error). Input: the tick's last complete second. */
import { formatBps } from "../alert.ts";
import { defineRule, level } from "../rule.ts";

export const bandwidthRule = defineRule({
  id: "bandwidth",
  doc: "total bandwidth above the threshold for bandwidthSeconds",
  feeds: ["tick"],
  bandwidth: true,
  settings: {
    bandwidthBps: { default: 100e6, unit: "rate", flag: "alert-bps", doc: "total bandwidth alert threshold, bit/s (k/M/G)" },
  },
  evaluate({ tick }, cfg) {
    if (!tick) return [];
    const secs = cfg.bandwidthSeconds;
    return [{
      rule: "bandwidth", key: "", severity: "error", level: level(tick.bps, cfg.bandwidthBps, cfg.clearFraction), value: tick.bps,
      raiseAfter: secs, clearAfter: secs,
      message: `High bandwidth: ${formatBps(tick.bps)} for ${secs} s`,
      flows: tick.top_flows.slice(0, 5), q: "bps>0",
    }];
  },
});
