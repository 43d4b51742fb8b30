/**
 * The engine Worker: runs the packet source (live interface or paced replay of a file) into the
 * FlowEngine, re-opens a live capture with backoff when it fails (interface down), answers calls
 * from the server thread and posts a TickSummary once per wall-clock second.
 */
import { LiveSource } from "../capture/live-source.ts";
import type { PacketSource } from "../capture/packet.ts";
import { ReplaySource } from "../capture/replay-source.ts";
import { FlowEngine } from "../flows/engine.ts";
import { handleCall, tickSummary } from "./handlers.ts";
import type { CaptureStatus, EngineConfig, FromWorker, ToWorker } from "./protocol.ts";

declare const self: Worker;

const post = (m: FromWorker) => self.postMessage(m);

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

async function runCapture(cfg: EngineConfig, eng: FlowEngine): Promise<void> {
  let backoff = 500;
  for (;;) {
    if (stopping) return;
    const src: PacketSource =
      cfg.source.kind === "live"
        ? new LiveSource({ interface: cfg.source.interface, filter: cfg.filter, onOpen: opened })
        : new ReplaySource({ path: cfg.source.path, speed: cfg.source.speed, loop: cfg.source.loop, filter: cfg.filter });
    source = src;
    const started = Date.now();
    try {
      if (cfg.source.kind === "live") status.state = "starting";
      else opened();
      const running = src.start(eng);
      await running;
      refreshStatus();
      status.state = stopping ? "stopped" : cfg.source.kind === "file" ? "finished" : "stopped";
      if (cfg.source.kind === "file") eng.advance(eng.now + 1);
      return;
    } catch (err) {
      const e = err as Error;
      refreshStatus();
      retire(src);
      source = null;
      status.error = e.message;
      if (stopping) return;
      status.state = "down";
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
  if (!engine || !config) return;
  if (config.source.kind === "live") engine.advance(Date.now() / 1000);
  else if (source instanceof ReplaySource) {
    const clock = source.clock();
    if (clock !== null) engine.advance(clock);
  }
  refreshStatus();
  status.dropped_last = status.dropped - lastDropped;
  lastDropped = status.dropped;
  post({ type: "tick", summary: tickSummary(engine, status) });
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  if (m.type === "init") {
    config = m.config;
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
    post({ type: "ready" });
    void runCapture(m.config, engine);
  } else if (m.type === "call") {
    if (!engine) {
      post({ type: "reply", id: m.id, error: { name: "Error", message: "engine not started" } });
      return;
    }
    try {
      refreshStatus();
      post({ type: "reply", id: m.id, result: handleCall(engine, status, m) });
    } catch (err) {
      const e = err as Error & { field?: string };
      post({ type: "reply", id: m.id, error: { name: e.name, message: e.message, field: e.field } });
    }
  } else if (m.type === "stop") {
    stopping = true;
    source?.stop();
    if (timer) clearInterval(timer);
    status.state = "stopped";
    post({ type: "stopped" });
  }
};
