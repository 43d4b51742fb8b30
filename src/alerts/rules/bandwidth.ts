/**
 * Total bandwidth over a threshold for `bandwidthSeconds` (error). Input: the tick's last complete second.
 *
 * The alert's flow filter names the hosts carrying the traffic when it is raised (the engine keeps
 * the `q` of the raise): the top talkers of the last 60 s, at most TOP_HOSTS, as
 * `ip:a OR ip:b …`. Unlike a rate filter (`bps>0`, 0 on every stored flow) it still finds the
 * flows once they are only in the history store; the alert history's link adds the alert's time
 * range (views/health.tsx). Limits: a host outside the top TOP_HOSTS is not named; the filter also
 * matches those hosts' other flows in the range.
 */
import type { TalkerInfo } from "../../worker/protocol.ts";
import { formatBps } from "../alert.ts";
import { defineRule, level } from "../rule.ts";

/** Hosts named by the filter (TickSummary.talkers holds the top 10 by 60 s bytes). */
export const TOP_HOSTS = 5;

/** `ip:a OR ip:b …` for the top talkers with traffic; "bps>0" (live flows only) when there are none. */
export function topHostsQuery(talkers: readonly TalkerInfo[]): string {
  const hosts = talkers.filter((t) => t.bytes > 0).slice(0, TOP_HOSTS).map((t) => `ip:${t.host}`);
  return hosts.length > 0 ? hosts.join(" OR ") : "bps>0";
}

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
    const lv = level(tick.bps, cfg.bandwidthBps, cfg.clearFraction);
    return [{
      rule: "bandwidth", key: "", severity: "error", level: lv, value: tick.bps,
      raiseAfter: secs, clearAfter: secs,
      message: `High bandwidth: ${formatBps(tick.bps)} for ${secs} s`,
      // The query only matters when the alert is raised (level high): skip the text otherwise.
      flows: tick.top_flows.slice(0, 5), q: lv === "high" ? topHostsQuery(tick.talkers) : "",
    }];
  },
});
