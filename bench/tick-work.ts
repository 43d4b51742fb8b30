/**
 * The engine thread's per-second work, piece by piece, in one process (no server, no capture):
 * a FlowEngine with the host's annotator (inspector + geo) and talkers, filled with --flows UDP
 * flows like bench/udp-flood.ts makes (127.0.0.1 → 1 M addresses in 127.64.0.0/10, one 1-byte
 * datagram per packet), then --seconds seconds of --pps packets each spread round robin over the
 * flows. At each second boundary the packet path starts the tick job (FlowEngine's pump: rates,
 * talkers, expiry) as in a live capture; its slices are queued and run here one by one, each timed
 * (wall and this thread's CPU). Then the per-second summary (TickSummaryBuilder) is built at once
 * and in slices as the host runs it (SUMMARY_TURN_MS turns, then the finishing turn), each timed
 * too. Per-slice CPU is not shown: this thread's CPU clock moves in scheduler ticks (~4 ms) here.
 *
 *   bun bench/tick-work.ts [--flows 1000000] [--pps 200000] [--seconds 8]
 *
 * Prints per second: the tick job's slices (count, longest, sum of CPU), the talkers' commit steps
 * (Talkers.commitStep, run inside the job's last slices: count, longest, sum), the summary at once (ms)
 * and sliced (turns, longest turn), and at the end the medians. Figures are wall time on this
 * thread unless marked cpu; compare runs made at similar load (stated beside them).
 */
import { loadavg } from "node:os";
import { opt } from "./args.ts";
import { FlowEngine } from "../src/flows/engine.ts";
import { FlowAnnotator } from "../src/l7/annotate.ts";
import { cpuMs } from "../src/worker/call-trace.ts";
import { SUMMARY_TURN_MS, TickSummaryBuilder } from "../src/worker/tick-summary.ts";
import type { CaptureStatus } from "../src/capture/capture-runner.ts";

const FLOWS = opt("flows", 1_000_000);
const PPS = opt("pps", 200_000);
const SECONDS = opt("seconds", 8);

const STATUS: CaptureStatus = {
  interface: "lo", source: "live", state: "active", error: null, linktype: 1, packets: 0, received: 0,
  dropped: 0, if_dropped: 0, drop_rate: 0, dropped_last: 0, reopens: 0,
};

// One Ethernet + IPv4 + UDP frame with a 1-byte payload; the destination address is rewritten per packet.
const frame = new Uint8Array(14 + 20 + 8 + 1);
const dv = new DataView(frame.buffer);
dv.setUint16(12, 0x0800);
frame.set([0x45, 0, 0, 29, 0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 64, 0, 0], 14);
dv.setUint16(34, 40000);
dv.setUint16(36, 9999);
dv.setUint16(38, 9);
frame[42] = 0x2a;
function setDst(i: number): void {
  frame[30] = 127; frame[31] = 64 + ((i >>> 16) & 63); frame[32] = (i >>> 8) & 255; frame[33] = i & 255;
  dv.setUint16(24, 0);
  let s = 0;
  for (let o = 14; o < 34; o += 2) s += dv.getUint16(o);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  dv.setUint16(24, ~s & 0xffff);
}

const queue: (() => void)[] = [];
const engine = new FlowEngine({ talkers: true, idleTimeout: 600, maxFlows: Math.ceil(FLOWS * 1.1), schedule: (fn) => queue.push(fn) });
const annotator = new FlowAnnotator(engine, {});
// Talkers.commitStep (the tick job's last slices close the talker second in steps) timed apart:
// per second the number of steps, the longest and their sum.
let commitSteps = 0, commitMax = 0, commitSum = 0;
const talkers = engine.talkers!;
const commitStep = talkers.commitStep.bind(talkers);
talkers.commitStep = (sec: number, deadline: number) => {
  const t = performance.now();
  const done = commitStep(sec, deadline);
  const ms = performance.now() - t;
  commitSteps++;
  commitMax = Math.max(commitMax, ms);
  commitSum += ms;
  return done;
};
annotator.attach();
// Two builders on the same engine: one builds at once, the other in slices (each keeps its own clock and apps ring).
const summary = new TickSummaryBuilder(engine, (fn) => queue.push(fn), { l7: annotator.inspector, geo: annotator.geo });
const sliced = new TickSummaryBuilder(engine, (fn) => queue.push(fn), { l7: annotator.inspector, geo: annotator.geo });

type Timed = { ms: number; cpu: number };
function timed(fn: () => void): Timed {
  const t = performance.now(), c = cpuMs();
  fn();
  return { ms: performance.now() - t, cpu: cpuMs() - c };
}
/** Runs the queued slices (the tick job's pump; scan slices) one by one. */
function drain(): Timed[] {
  const out: Timed[] = [];
  while (queue.length > 0) out.push(timed(queue.shift()!));
  return out;
}

let flow = 0;
const T0 = Math.floor(Date.now() / 1000) - 3600;
// Fill: every flow gets one packet over the first 5 seconds.
for (let i = 0; i < FLOWS; i++) {
  setDst(i);
  engine.packet(frame, 0, frame.length, frame.length, T0 + (5 * i) / FLOWS, 1);
  if (queue.length > 0) drain();
}
const rows: string[] = [];
const med = { commitMax: [] as number[], commitSum: [] as number[], jobMax: [] as number[], jobCpu: [] as number[], slices: [] as number[], once: [] as number[], turnMax: [] as number[], turns: [] as number[] };
for (let sec = 5; sec < 5 + SECONDS; sec++) {
  for (let k = 0; k < PPS; k++) {
    setDst(flow);
    flow = (flow + 1) % FLOWS;
    engine.packet(frame, 0, frame.length, frame.length, T0 + sec + k / PPS, 1);
  }
  // The next packet crosses the second: the packet path starts the tick job (first slice at once).
  setDst(flow);
  commitSteps = 0; commitMax = 0; commitSum = 0;
  const first = timed(() => engine.packet(frame, 0, frame.length, frame.length, T0 + sec + 1, 1));
  const slices = [first, ...drain()];
  const once = timed(() => summary.build(STATUS, null));
  drain(); // scan slices started by the summary
  const job = sliced.start(STATUS, null);
  // As the host runs it: turns of steps, then one turn that finishes (talkers, apps, scans' first turn).
  const turns: Timed[] = [];
  let done = false;
  while (!done) {
    turns.push(timed(() => {
      const t = performance.now();
      do done = sliced.step(job);
      while (!done && performance.now() - t < SUMMARY_TURN_MS);
    }));
  }
  const fin = timed(() => sliced.finish(job));
  drain();
  const jobMax = Math.max(...slices.map((s) => s.ms));
  const jobCpu = slices.reduce((a, s) => a + s.cpu, 0);
  const turnMax = Math.max(...turns.map((s) => s.ms), fin.ms);
  med.commitMax.push(commitMax); med.commitSum.push(commitSum);
  med.jobMax.push(jobMax); med.jobCpu.push(jobCpu); med.slices.push(slices.length);
  med.once.push(once.ms); med.turnMax.push(turnMax); med.turns.push(turns.length);
  rows.push(`second ${sec}: tick job ${slices.length} slices, longest ${jobMax.toFixed(1)} ms, cpu ${jobCpu.toFixed(0)} ms, talkers commit ${commitSteps} steps, longest ${commitMax.toFixed(1)} ms, sum ${commitSum.toFixed(1)} ms (slowest: ${slices.map((s, k) => [k, s.ms] as const).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, ms]) => `#${k} ${ms.toFixed(1)}`).join(", ")}); ` +
    `summary at once ${once.ms.toFixed(1)} ms; sliced ${turns.length} turns, longest ${turnMax.toFixed(1)} ms, sum ${turns.reduce((a, s) => a + s.ms, 0).toFixed(1)} ms, finish turn ${fin.ms.toFixed(1)} ms`);
  console.log(rows.at(-1));
}
const m = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
console.log(`median over ${SECONDS} s (${engine.table.count.toLocaleString()} flows, ${PPS.toLocaleString()} packets/s): tick job ${m(med.slices)} slices, longest ${m(med.jobMax).toFixed(1)} ms, cpu ${m(med.jobCpu).toFixed(0)} ms; talkers commit: longest step ${m(med.commitMax).toFixed(1)} ms (max ${Math.max(...med.commitMax).toFixed(1)}), sum ${m(med.commitSum).toFixed(1)} ms; ` +
  `summary at once ${m(med.once).toFixed(1)} ms, sliced ${m(med.turns)} turns of ≤ ${SUMMARY_TURN_MS} ms, longest ${m(med.turnMax).toFixed(1)} ms; load ${loadavg().map((x) => x.toFixed(1)).join(" ")}`);
