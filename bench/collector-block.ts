/**
 * How long one system-metrics sample blocks the event loop: the longest gap seen by a 1 ms
 * interval timer while each way of reading host CPU (and the whole collector tick) runs 20 times.
 * `bun bench/collector-block.ts` — figures are wall ms on this machine; compare the rows, not runs.
 *
 * Measured 2026-12-01 (2-core VM, Bun 1.4.5, other work running), longest stall per call,
 * median (max) of 20:
 *   systeminformation.currentLoad (execSync shell)  3.9 ms (8.5)
 *   ProcStatCpu.sample (async /proc/stat)           1.1 ms (15.6, one outlier) — 1.1 is the timer's own resolution
 *   whole collector tick                            1.1 ms (2.6)
 */
import si from "systeminformation";
import { ProcStatCpu } from "../src/metrics/cpu-load.ts";
import { SystemMetricsCollector } from "../src/metrics/system-collector.ts";

async function stalls(name: string, fn: () => Promise<unknown>, n = 20): Promise<void> {
  const worst: number[] = [];
  for (let k = 0; k < n; k++) {
    await Bun.sleep(250); // past systeminformation's 200 ms result cache
    let last = performance.now();
    let max = 0;
    const t = setInterval(() => {
      const now = performance.now();
      max = Math.max(max, now - last);
      last = now;
    }, 1);
    await Bun.sleep(5);
    max = 0;
    last = performance.now();
    await fn();
    await Bun.sleep(5);
    clearInterval(t);
    worst.push(max);
  }
  worst.sort((a, b) => a - b);
  const med = worst[Math.floor(n / 2)]!;
  console.log(`${name.padEnd(48)} longest stall per call: median ${med.toFixed(1)} ms, max ${worst.at(-1)!.toFixed(1)} ms`);
}

await si.currentLoad();
await stalls("systeminformation.currentLoad (execSync shell)", () => si.currentLoad());
const cpu = new ProcStatCpu();
await cpu.sample();
await stalls("ProcStatCpu.sample (async /proc/stat)", () => cpu.sample());
await stalls("systeminformation.mem", () => si.mem());
const c = new SystemMetricsCollector({ intervalMs: 60_000, interface: "lo" });
await c.start();
await stalls("SystemMetricsCollector tick (all of it)", () => (c as unknown as { collect(): Promise<unknown> }).collect());
c.stop();
