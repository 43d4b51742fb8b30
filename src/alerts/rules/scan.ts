/** A source with many unanswered or refused attempts to many ports or hosts (warning; flows filled in by query). */
import { defineRule, type Observation } from "../rule.ts";

export const scanRule = defineRule({
  id: "scan",
  doc: "many unanswered or refused SYNs from one source to many ports or hosts",
  feeds: ["tick"],
  settings: {
    scanMinAttempts: { default: 20, unit: "count", flag: "alert-scan-attempts", doc: "unanswered or refused attempts from one source that make a scan (to at least 10 ports or hosts, so below 10 it acts as 10)" },
  },
  evaluate({ tick }, cfg) {
    if (!tick) return [];
    const out: Observation[] = [];
    for (const c of tick.scans) {
      if (c.attempts < cfg.scanMinAttempts) continue;
      out.push({
        rule: "scan", key: c.src_ip, severity: "warning", level: "high", value: c.attempts,
        raiseAfter: 0, clearAfter: cfg.recoverSeconds,
        message: `Scan suspected from ${c.src_ip}: ${c.attempts} unanswered or refused attempts to ${c.dst_ports} ports on ${c.dst_hosts} hosts`,
        flows: [], q: `src_ip:${c.src_ip} (state:attempted OR state:rejected)`,
      });
    }
    return out;
  },
});
