/**
 * The capture is down or the interface's link is down (critical, never cooled down). Evaluated
 * on both feeds: the capture state comes with each tick, the link state (operstate) with each
 * system sample, since libpcap keeps its handle when a link goes down.
 */
import { defineRule } from "../rule.ts";

export const interfaceDownRule = defineRule({
  id: "interface_down",
  doc: "the capture is down or the interface's link is down",
  feeds: ["tick", "system"],
  settings: {},
  evaluate({ tick, system, lastTick, captureDown, linkDown }, cfg) {
    const c = (tick ?? lastTick)?.capture;
    const iface = c?.interface ?? system?.iface?.name ?? "";
    const error = c?.error ?? null;
    const why = captureDown ? `capture down${error ? `: ${error}` : ""}` : "link is down";
    const down = captureDown || linkDown;
    return [{
      rule: "interface_down", key: "", severity: "critical", level: down ? "high" : "low",
      value: down ? 1 : 0, raiseAfter: 0, clearAfter: cfg.recoverSeconds,
      message: `Interface ${iface || "(none)"} offline (${why}) - restart capture or check the link`,
      flows: [], q: "",
    }];
  },
});
