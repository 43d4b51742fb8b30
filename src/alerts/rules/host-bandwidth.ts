/**
 * One host (sent + received) over a threshold (warning). Limits: reads the engine's 60 s talker
 * average (TickSummary.talkers: the top 10 hosts), not an instantaneous rate.
 */
import type { FlowRecord } from "../../flows/format/record.ts";
import { formatBps } from "../alert.ts";
import { defineRule, level, type Observation } from "../rule.ts";

function involves(f: FlowRecord, host: string): boolean {
  return f.src_ip === host || f.dst_ip === host;
}

export const hostBandwidthRule = defineRule({
  id: "host_bandwidth",
  doc: "one host's 60 s average rate (sent + received) above the threshold",
  feeds: ["tick"],
  bandwidth: true,
  settings: {
    hostBps: { default: 50e6, unit: "rate", flag: "alert-host-bps", doc: "one host's bandwidth alert threshold, bit/s" },
  },
  evaluate({ tick }, cfg) {
    if (!tick) return [];
    const out: Observation[] = [];
    for (const t of tick.talkers) {
      const lv = level(t.bps, cfg.hostBps, cfg.clearFraction);
      if (lv === "low") continue;
      out.push({
        rule: "host_bandwidth", key: t.host, severity: "warning", level: lv, value: t.bps,
        raiseAfter: cfg.bandwidthSeconds, clearAfter: cfg.bandwidthSeconds,
        message: `Host ${t.host} at ${formatBps(t.bps)} (60 s average)`,
        flows: tick.top_flows.filter((f) => involves(f, t.host)).slice(0, 5), q: `ip:${t.host}`,
      });
    }
    return out;
  },
});
