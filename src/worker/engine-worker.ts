/**
 * The engine Worker: runs the packet source (live interface or paced replay of a file) into the
 * FlowEngine, re-opens a live capture with backoff when it fails (interface down), answers calls
 * from the server thread and posts a TickSummary once per wall-clock second.
 *
 * Start: "ready" is posted once the capture is open (live) or the file and filter are usable
 * (replay); a first open that fails posts "start-failed" instead (a configuration error the CLI
 * reports and exits on). Only after a good start does a failing live capture mean "re-open with
 * backoff". Faults: any unexpected exception (a call handler, the tick, the packet path, a timer
 * or promise nobody awaited) is posted as "fault" (the server logs and counts it) and the Worker
 * keeps serving.
 */
import { LiveSource } from "../capture/live-source.ts";
import type { PacketSource } from "../capture/packet.ts";
import { ReplaySource } from "../capture/replay-source.ts";
import { FlowEngine } from "../flows/engine.ts";
import { handleCall, tickSummary } from "./handlers.ts";
import { preflightFile } from "./preflight.ts";
import type { CaptureStatus, EngineConfig, FromWorker, ToWorker } from "./protocol.ts";
import { toWire } from "./wire-error.ts";

declare const self: Worker;

const post = (m: FromWorker) => self.postMessage(m);

/** An unexpected exception: reported to the server (logged, counted in health); the Worker goes on. */
function fault(where: string, err: unknown): void {
  try {
    post({ type: "fault", where, error: toWire(err) });
  } catch {
    // the server side is gone
  }
}
process.on("uncaughtException", (err) => fault("uncaught exception", err));
process.on("unhandledRejection", (err) => fault("unhandled rejection", err));

/**
 * Test-only fault injection, from FLOWMATRIX_TEST_ENGINE_FAULT in the server's environment when
 * it starts the Worker (never set by the CLI, not reachable over HTTP): "flows-throws" (the flows
 * handler throws), "flows-exits" (a flows call ends the first Worker: process.exit), "flows-hangs"
 * (a flows call spins the first Worker forever), "timer-throws" (a timer throws once after start).
 */
let testFault = "";
let generation = 0;

let engine: FlowEngine | null = null;
let config: EngineConfig | null = null;
let source: PacketSource | null = null;
let stopping = false;
let timer: ReturnType<typeof setInterval> | null = null;
let lastDropped = 0;

const status: CaptureStatus = {
  interface: "",
  source: "live",
  state: "starting",
  error: null,
  linktype: null,
  packets: 0,
  received: 0,
  dropped: 0,
  if_dropped: 0,
  drop_rate: 0,
  dropped_last: 0,
  reopens: 0,
};
/** Counters of earlier (failed) capture handles, so totals survive a re-open. */
const base = { received: 0, dropped: 0, ifDropped: 0, packets: 0 };

function refreshStatus(): void {
  if (source) {
    const s = source.stats();
    status.packets = base.packets + s.packets;
    status.received = base.received + s.received;
    status.dropped = base.dropped + s.dropped;
    status.if_dropped = base.ifDropped + s.ifDropped;
    const lt = source.linktypes();
    if (lt.length > 0) status.linktype = lt[0]!;
  }
  status.drop_rate = status.received > 0 ? status.dropped / (status.received + status.dropped) : 0;
}

function retire(s: PacketSource): void {
  const st = s.stats();
  base.packets += st.packets;
  base.received += st.received;
  base.dropped += st.dropped;
  base.ifDropped += st.ifDropped;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The source is capturing: state active, any earlier capture error cleared. */
function opened(): void {
  status.state = "active";
  status.error = null;
}
const FATAL = new Set(["CapturePermissionError", "LibpcapMissingError", "FileSourceError"]);
/** Errors the capture itself raises; any other exception out of the packet path is a fault. */
const CAPTURE_ERRORS = new Set([...FATAL, "PcapError"]);

/**
 * The first open decides the start: `ready` once the capture is open, `start-failed` with the
 * error otherwise (only for the first Worker; a restarted one reports failures as it runs).
 */
let startReported = false;
function reportStart(err?: unknown): void {
  if (startReported) return;
  startReported = true;
  post(err === undefined ? { type: "ready" } : { type: "start-failed", error: toWire(err) });
}

async function startCapture(cfg: EngineConfig, eng: FlowEngine): Promise<void> {
  if (cfg.source.kind === "file") {
    try {
      preflightFile(cfg.source.path, cfg.filter);
    } catch (err) {
      if (generation === 0) {
        status.state = "down";
        status.error = (err as Error).message;
        reportStart(err);
        return;
      }
    }
    reportStart();
  } else if (generation > 0) reportStart();
  await runCapture(cfg, eng);
}

async function runCapture(cfg: EngineConfig, eng: FlowEngine): Promise<void> {
  let backoff = 500;
  for (;;) {
    if (stopping) return;
    const onOpen = () => {
      opened();
      reportStart();
    };
    const src: PacketSource =
      cfg.source.kind === "live"
        ? new LiveSource({ interface: cfg.source.interface, filter: cfg.filter, onOpen })
        : new ReplaySource({ path: cfg.source.path, speed: cfg.source.speed, loop: cfg.source.loop, filter: cfg.filter, maxGap: cfg.source.maxGap });
    source = src;
    const started = Date.now();
    try {
      if (cfg.source.kind === "live") status.state = "starting";
      else opened();
      const running = src.start(eng);
      await running;
      refreshStatus();
      status.state = stopping ? "stopped" : cfg.source.kind === "file" ? "finished" : "stopped";
      if (cfg.source.kind === "file") eng.advance(Math.min(eng.now + 1, Date.now() / 1000)); // never ahead of the wall clock
      return;
    } catch (err) {
      const e = err as Error;
      refreshStatus();
      retire(src);
      source = null;
      status.error = e.message;
      if (stopping) return;
      status.state = "down";
      if (!startReported) {
        // The first open failed: a configuration error, reported to `serve` (which exits).
        reportStart(e);
        return;
      }
      if (!CAPTURE_ERRORS.has(e.name)) fault("capture", e);
      if (FATAL.has(e.name) || cfg.source.kind === "file") {
        post({ type: "fatal", error: { name: e.name, message: e.message } });
        return;
      }
      if (Date.now() - started > 10_000) backoff = 500;
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 5000);
      status.reopens++;
    }
  }
}

function tick(): void {
  try {
    tickOnce();
  } catch (err) {
    fault("tick", err);
  }
}

function tickOnce(): void {
  if (!engine || !config) return;
  if (config.source.kind === "live") engine.advance(Date.now() / 1000);
  else if (source instanceof ReplaySource) {
    const clock = source.clock();
    if (clock !== null) engine.advance(clock);
  }
  refreshStatus();
  status.dropped_last = status.dropped - lastDropped;
  lastDropped = status.dropped;
  const replay = source instanceof ReplaySource ? source.position() : null;
  post({ type: "tick", summary: { ...tickSummary(engine, status), replay } });
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  if (m.type === "init") {
    config = m.config;
    generation = m.generation;
    testFault = m.testFault ?? "";
    engine = new FlowEngine({
      maxFlows: m.config.maxFlows,
      idleTimeout: m.config.idleTimeout,
      activeTimeout: m.config.activeTimeout,
      recentEnded: m.config.recentEnded,
      talkers: true,
      schedule: (fn) => setImmediate(fn),
    });
    status.source = m.config.source.kind;
    status.interface = m.config.source.kind === "live" ? m.config.source.interface : m.config.source.path;
    timer = setInterval(tick, 1000);
    if (testFault === "timer-throws") setTimeout(() => { throw new Error("test fault: a timer threw"); }, 1500);
    void startCapture(m.config, engine).catch((err) => fault("capture", err));
  } else if (m.type === "call") {
    if (!engine) {
      post({ type: "reply", id: m.id, error: { name: "Error", message: "engine not started" } });
      return;
    }
    try {
      if (m.method === "flows" && testFault === "flows-exits" && generation === 0) process.exit(70);
      if (m.method === "flows" && testFault === "flows-hangs" && generation === 0) for (;;);
      if (m.method === "flows" && testFault === "flows-throws") throw new TypeError("test fault: the flows handler threw");
      refreshStatus();
      post({ type: "reply", id: m.id, result: handleCall(engine, status, m) });
    } catch (err) {
      const e = err as Error;
      // A query the grammar refused is the caller's mistake; anything else is an engine fault.
      if (e.name !== "QueryError") fault(`${m.method} call`, e);
      post({ type: "reply", id: m.id, error: toWire(e) });
    }
  } else if (m.type === "stop") {
    stopping = true;
    source?.stop();
    if (timer) clearInterval(timer);
    status.state = "stopped";
    post({ type: "stopped" });
  }
};
