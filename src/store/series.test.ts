import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { FlowStore } from "./flow-store.ts";
import { tempDir } from "./test-dir.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

const NOW = 1_767_225_600 + 7200; // a whole minute

function store(now: () => number): FlowStore {
  const t = tempDir();
  const s = new FlowStore({ path: join(t.dir, "h.db"), pruneIntervalMs: 0, now });
  cleanups.push(t.cleanup, () => s.stop());
  s.start();
  return s;
}

const sample = (t: number, bytes: number) => ({ t, packets: bytes / 100, bytes, tcp_bytes: bytes, udp_bytes: 0, icmp_bytes: 0, other_bytes: 0, non_ip_bytes: 0 });

describe("traffic and metrics history", () => {
  test("per second for the last hour, per minute beyond; a bucket is the per-second mean; gaps are null", () => {
    const s = store(() => NOW * 1000);
    for (let t = NOW - 2 * 3600; t < NOW; t++) if (t % 600 !== 0) s.addTraffic(sample(t, (t % 60) * 10));
    const last60 = s.trafficHistory(NOW - 60, NOW);
    expect(last60.step).toBe(1);
    expect(last60.t.length).toBe(60);
    expect(last60.series.bytes![5]).toBe(50);
    expect(last60.series.bytes![0]).toBe(0);
    const last600 = s.trafficHistory(NOW - 600, NOW, 600);
    expect(last600.series.bytes![0]).toBeNull(); // NOW - 600 is a multiple of 600: not recorded
    // 1 h in at most 60 points: 60 s buckets of per-second rows
    const hour = s.trafficHistory(NOW - 3600, NOW, 60);
    expect(hour.step).toBe(60);
    expect(hour.t.length).toBe(60);
    // a minute holds 0..590 step 10 (mean 295); one starting at a multiple of 600 lacks its second 0 (mean 300)
    expect(hour.series.bytes![0]).toBe(300);
    expect(hour.series.bytes![1]).toBe(295);
    // 2 h: per-minute rows, same means
    const two = s.trafficHistory(NOW - 7200, NOW, 1000);
    expect(two.step).toBe(60);
    expect(two.t.length).toBe(120);
    expect(two.series.bytes![1]).toBe(295);
    expect(two.series.bytes![0]).toBe(300);
    expect(two.series.packets![1]).toBeCloseTo(2.95, 9);
    // 2 h in 12 points: 10 min buckets
    const coarse = s.trafficHistory(NOW - 7200, NOW, 12);
    expect(coarse.step).toBe(600);
    expect(coarse.t).toEqual(Array.from({ length: 12 }, (_, k) => NOW - 7200 + k * 600));
    expect(s.trafficHistory(NOW - 86400, NOW - 80000, 100).series.bytes!.every((v) => v === null)).toBe(true);
  });

  test("metric samples roll up to per-minute means kept 30 days; raw samples only for an hour", () => {
    let now = NOW * 1000;
    const s = store(() => now);
    for (let t = NOW - 600; t < NOW; t += 5) s.addMetrics(t, { cpu: t % 60, rss: 1000, bad: Number.NaN });
    const fine = s.metricsHistory(NOW - 60, NOW, 12);
    expect(fine.step).toBe(5);
    expect(fine.series.cpu).toEqual(Array.from({ length: 12 }, (_, k) => k * 5));
    expect(fine.series.bad).toBeUndefined();
    const minutes = s.metricsHistory(NOW - 7200, NOW, 200);
    expect(minutes.step).toBe(60);
    expect(minutes.series.cpu!.at(-1)).toBe(27.5);
    expect(minutes.series.rss!.filter((v) => v !== null).length).toBe(10);
    // a day later the raw samples are pruned, the minutes stay
    now += 86_400_000;
    s.pruneStep();
    const later = s.metricsHistory(NOW - 600, NOW, 10);
    expect(later.step).toBe(60);
    expect(later.series.cpu!.at(-1)).toBe(27.5);
  });

  test("alert events: raised and cleared, newest first, bounded by time and limit", () => {
    const s = store(() => NOW * 1000);
    const alert = { id: "a1", rule: "cpu", key: "", severity: "warning" as const, since: "x", cleared: null, message: "CPU 91 %", value: 91, flows: [], q: "" };
    s.addAlertEvent("raised", alert, (NOW - 100) * 1000);
    s.addAlertEvent("cleared", { ...alert, cleared: "y" }, (NOW - 50) * 1000);
    s.addAlertEvent("raised", { ...alert, id: "a2" }, (NOW - 10) * 1000);
    expect(s.alerts({}).map((e) => `${e.event}:${e.alert.id}`)).toEqual(["raised:a2", "cleared:a1", "raised:a1"]);
    expect(s.alerts({ since: NOW - 60, until: NOW - 20 }).map((e) => e.event)).toEqual(["cleared"]);
    expect(s.alerts({ limit: 1 })[0]!.alert.id).toBe("a2");
    expect(s.alerts({})[1]!.at).toBe(new Date((NOW - 50) * 1000).toISOString());
  });
});
