/** One flow's current rate over a threshold (warning). Limits: sees only the 5 fastest flows of the second (TickSummary.top_flows). */
import { formatBps } from "../alert.ts";
import { defineRule, flowQueryText, level, type Observation } from "../rule.ts";

export const flowBandwidthRule = defineRule({
  id: "flow_bandwidth",
  doc: "one flow's current rate above the threshold",
  feeds: ["tick"],
  bandwidth: true,
  settings: {
    flowBps: { default: 50e6, unit: "rate", flag: "alert-flow-bps", doc: "one flow's bandwidth alert threshold, bit/s (also marks flows suspicious: high_rate)" },
  },
  evaluate({ tick }, cfg) {
    if (!tick) return [];
    const out: Observation[] = [];
    for (const f of tick.top_flows) {
      const lv = level(f.bps, cfg.flowBps, cfg.clearFraction);
      if (lv === "low") continue;
      out.push({
        rule: "flow_bandwidth", key: String(f.id), severity: "warning", level: lv, value: f.bps,
        raiseAfter: cfg.bandwidthSeconds, clearAfter: cfg.bandwidthSeconds,
        message: `Flow ${f.src_ip}:${f.src_port} → ${f.dst_ip}:${f.dst_port} (${f.proto}) at ${formatBps(f.bps)}`,
        flows: [f], q: flowQueryText(f),
      });
    }
    return out;
  },
});
