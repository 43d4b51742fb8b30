/**
 * Host CPU busy % between two reads of /proc/stat's aggregate "cpu" line, read asynchronously.
 *
 * Why not systeminformation.currentLoad: on Linux it runs `cat /proc/stat | grep cpu` through
 * execSync, a shell spawn that blocks the event loop for 4–8 ms on every sample. This reads the
 * same counters with one async file read (no process, no blocking).
 *
 * busy = user + nice + system + irq + softirq + steal; total = busy + idle + iowait (guest time is
 * already inside user/nice). The first call primes the counters and returns null; later calls
 * return the busy share of the interval since the previous call, or null when the counters did
 * not advance (two calls within one clock tick) or /proc/stat is not there (not Linux).
 */
import { readFile } from "node:fs/promises";

export class ProcStatCpu {
  private prevBusy = -1;
  private prevTotal = -1;

  /** Whether this host has /proc/stat (Linux); when false, use another source. */
  static async available(): Promise<boolean> {
    try {
      return parseCpuLine(await readFile("/proc/stat", "utf8")) !== null;
    } catch {
      return false;
    }
  }

  async sample(): Promise<number | null> {
    const text = await readFile("/proc/stat", "utf8");
    const t = parseCpuLine(text);
    if (!t) return null;
    const { busy, total } = t;
    const dBusy = busy - this.prevBusy;
    const dTotal = total - this.prevTotal;
    const primed = this.prevTotal >= 0;
    this.prevBusy = busy;
    this.prevTotal = total;
    if (!primed || !(dTotal > 0) || dBusy < 0) return null;
    return Math.min(100, Math.max(0, (dBusy / dTotal) * 100));
  }
}

/** Busy and total jiffies from the aggregate "cpu " line, or null when absent or malformed. */
export function parseCpuLine(procStat: string): { busy: number; total: number } | null {
  const end = procStat.indexOf("\n");
  const line = end < 0 ? procStat : procStat.slice(0, end);
  if (!line.startsWith("cpu ")) return null;
  const v = line.slice(4).trim().split(/\s+/, 8).map(Number);
  if (v.length < 4 || v.some((x) => !Number.isFinite(x))) return null;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}
