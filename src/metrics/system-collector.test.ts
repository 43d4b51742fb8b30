import { afterEach, describe, expect, test } from "bun:test";
import os from "node:os";
import { BASE_SERIES, SystemMetricsCollector, type SystemSample } from "./system-collector.ts";

const running: SystemMetricsCollector[] = [];
function make(c: ConstructorParameters<typeof SystemMetricsCollector>[0]): SystemMetricsCollector {
  const m = new SystemMetricsCollector(c);
  running.push(m);
  return m;
}
afterEach(() => {
  for (const m of running.splice(0)) m.stop();
});

describe("SystemMetricsCollector on the real machine", () => {
  test("samples CPU, memory, process and lo at 200 ms, with extra and onSample", async () => {
    let n = 0;
    const m = make({ intervalMs: 200, interface: "lo", historyHours: 1, extra: () => ({ flows: ++n, bps: 8000 }) });
    const seen: SystemSample[] = [];
    const off = m.onSample((s) => seen.push(s));
    expect(m.latest()).toBeNull();
    await m.start();
    const first = m.latest()!;
    expect(first).not.toBeNull();
    expect(seen.length).toBe(1);
    await Bun.sleep(1300);
    const s = m.latest()!;
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(s.cpuPercent).not.toBeNull();
    expect(s.cpuPercent!).toBeGreaterThanOrEqual(0);
    expect(s.cpuPercent!).toBeLessThanOrEqual(100);
    expect(Math.abs(s.memTotal! - os.totalmem()) / os.totalmem()).toBeLessThan(0.01);
    expect(s.memUsed!).toBeGreaterThan(0);
    expect(s.memUsed!).toBeLessThan(s.memTotal!);
    expect(s.procRss).toBeGreaterThan(0);
    expect(s.procCpuPercent).toBeGreaterThanOrEqual(0);
    expect(s.load1).toBeGreaterThanOrEqual(0);
    expect(["unknown", "up"]).toContain(s.iface!.operstate);
    expect(s.ifaceRates).not.toBeNull();
    expect(s.ifaceRates!.rxBytesPerSec).toBeGreaterThanOrEqual(0);
    expect(s.extra.flows).toBe(n);
    expect(m.lastError).toBeNull();
    console.log(`collect: first ${first.collectMs.toFixed(1)} ms, steady ${s.collectMs.toFixed(2)} ms`);

    const h = m.history(60);
    expect(h.step).toBeCloseTo(0.2, 10);
    expect(m.seriesNames()).toEqual([...BASE_SERIES, "flows", "bps"]);
    const cpu = h.series.cpu!.filter((v) => v !== null);
    expect(cpu.length).toBeGreaterThanOrEqual(4);
    expect(h.series.mem_total!.filter((v) => v !== null).every((v) => v === s.memTotal)).toBe(true);
    expect(h.series.bps!.filter((v) => v !== null).every((v) => v === 8000)).toBe(true);
    expect(h.series.rss!.some((v) => v !== null && v > 0)).toBe(true);
    expect(h.t.length).toBe(h.series.cpu!.length);
    // downsampled: at most 3 points, coarser step
    const d = m.history(60, 3);
    expect(d.t.length).toBeLessThanOrEqual(3);
    expect(d.step).toBeGreaterThan(0.2);

    off();
    const count = seen.length;
    m.stop();
    expect(m.isRunning).toBe(false);
    await Bun.sleep(500);
    expect(seen.length).toBe(count);
    expect(m.latest()).toBe(s);
  });

  test("a nonexistent interface reports missing without throwing", async () => {
    const m = make({ intervalMs: 200, interface: "fm-nope-x9", historyHours: 0.1 });
    await m.start();
    await Bun.sleep(300);
    const s = m.latest()!;
    expect(s.iface!.operstate).toBe("missing");
    expect(s.ifaceRates).toBeNull();
    expect(m.history(10).series.if_up!.every((v) => v === null)).toBe(true);
    expect(m.lastError).toBeNull();
  });

  test("errors from extra and listeners do not stop the timer", async () => {
    const m = make({
      intervalMs: 200,
      historyHours: 0.1,
      extraNames: ["x"],
      extra: () => {
        throw new Error("extra boom");
      },
    });
    m.onSample(() => {
      throw new Error("listener boom");
    });
    await m.start();
    await Bun.sleep(700);
    expect(m.errorCount).toBeGreaterThanOrEqual(4);
    expect(m.lastError).toBeInstanceOf(Error);
    expect(m.isRunning).toBe(true);
    const h = m.history(10);
    expect(h.series.cpu!.filter((v) => v !== null).length).toBeGreaterThanOrEqual(3);
    expect(h.series.x!.every((v) => v === null)).toBe(true);
  });

  test("defaults: 5 s interval, empty history before start", () => {
    const m = make({});
    expect(m.intervalMs).toBe(5000);
    expect(m.history(86_400).t).toEqual([]);
  });
});
