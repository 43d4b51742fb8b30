/** Packets dropped by the capture in the last interval (error, raised at once, cleared after recoverSeconds without drops). */
import { defineRule } from "../rule.ts";

export const captureDropsRule = defineRule({
  id: "capture_drops",
  doc: "the capture dropped packets in the last interval",
  feeds: ["tick"],
  settings: {},
  evaluate({ tick }, cfg) {
    if (!tick) return [];
    const drops = tick.capture.dropped_last;
    return [{
      rule: "capture_drops", key: "", severity: "error", level: drops > 0 ? "high" : "low", value: drops,
      raiseAfter: 0, clearAfter: cfg.recoverSeconds,
      message: "Packet capture degraded - check interface",
      flows: [], q: "",
    }];
  },
});
