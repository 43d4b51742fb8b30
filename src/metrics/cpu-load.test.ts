/** ProcStatCpu: host CPU % from /proc/stat without a shell (systeminformation's currentLoad spawns one). */
import { expect, test } from "bun:test";
import si from "systeminformation";
import { ProcStatCpu, parseCpuLine } from "./cpu-load.ts";

test("parses the aggregate cpu line (busy excludes idle and iowait)", () => {
  const t = parseCpuLine("cpu  100 5 50 800 20 3 2 1 0 0\ncpu0 50 2 25 400 10 1 1 0 0 0\n");
  expect(t).toEqual({ busy: 100 + 5 + 50 + 3 + 2 + 1, total: 100 + 5 + 50 + 3 + 2 + 1 + 800 + 20 });
  expect(parseCpuLine("intr 1 2 3\n")).toBeNull();
  expect(parseCpuLine("cpu  a b c d\n")).toBeNull();
});

test("first sample primes (null); the next gives a percentage that follows real load", async () => {
  const cpu = new ProcStatCpu();
  expect(await ProcStatCpu.available()).toBe(true);
  expect(await cpu.sample()).toBeNull();
  // Keep one core busy for 300 ms: on this 2-core machine the host is then at least ~40 % busy.
  const until = performance.now() + 300;
  let x = 0;
  while (performance.now() < until) x += Math.sqrt(x + 1);
  expect(x).toBeGreaterThan(0);
  const busy = await cpu.sample();
  expect(busy).not.toBeNull();
  expect(busy!).toBeGreaterThanOrEqual(100 / (navigator.hardwareConcurrency || 2) - 15);
  expect(busy!).toBeLessThanOrEqual(100);
  // The same measure as systeminformation's (which reads the same counters through a shell).
  await si.currentLoad();
  await Bun.sleep(300);
  const [ours, theirs] = await Promise.all([cpu.sample(), si.currentLoad().then((c) => c.currentLoad)]);
  expect(Math.abs(ours! - theirs)).toBeLessThan(25);
});
