/**
 * The engine Worker: a thin adapter between messages and one EngineHost (engine-host.ts). It
 * forwards the host's start result ("ready" / "start-failed"), its per-second summary, fatal
 * capture errors and faults, and answers the call map's calls.
 *
 * Faults: any unexpected exception (a call handler, a timer or promise nobody awaited) is posted
 * as "fault" (the server logs and counts it) and the Worker keeps serving. A QueryError is the
 * caller's mistake and only goes back as the call's error.
 *
 * Test-only fault injection, from FLOWMATRIX_TEST_ENGINE_FAULT in the server's environment when
 * it starts the Worker (never set by the CLI, not reachable over HTTP): "flows-throws" (the flows
 * handler throws), "flows-exits" (a flows call ends the first Worker: process.exit), "flows-hangs"
 * (a flows call spins the first Worker forever), "timer-throws" (a timer throws once after start).
 */
import { EngineHost } from "./engine-host.ts";
import { PortSink } from "./port-sink.ts";
import type { CallMessage } from "./calls.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";
import { toWire } from "./wire-error.ts";

declare const self: Worker;

const post = (m: FromWorker) => self.postMessage(m);

function fault(where: string, err: unknown): void {
  try {
    post({ type: "fault", where, error: toWire(err) });
  } catch {
    // the server side is gone
  }
}
process.on("uncaughtException", (err) => fault("uncaught exception", err));
process.on("unhandledRejection", (err) => fault("unhandled rejection", err));

let host: EngineHost | null = null;
let testFault = "";
let generation = 0;

function answer(m: CallMessage): void {
  const fail = (err: unknown) => {
    const e = err as Error;
    if (e?.name !== "QueryError") fault(`${m.method} call`, e);
    post({ type: "reply", id: m.id, error: toWire(e) });
  };
  try {
    if (m.method === "flows" && testFault === "flows-exits" && generation === 0) process.exit(70);
    if (m.method === "flows" && testFault === "flows-hangs" && generation === 0) for (;;);
    if (m.method === "flows" && testFault === "flows-throws") throw new TypeError("test fault: the flows handler threw");
    const result = host!.call(m);
    if (result instanceof Promise) result.then((r) => post({ type: "reply", id: m.id, result: r }), fail);
    else post({ type: "reply", id: m.id, result });
  } catch (err) {
    fail(err);
  }
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  if (m.type === "init") {
    generation = m.generation;
    testFault = m.testFault ?? "";
    host = new EngineHost({
      engine: m.config,
      sinks: (m.sinks ?? []).map((s) => new PortSink(s)),
      restart: generation > 0,
      onStart: (err) => post(err === undefined ? { type: "ready" } : { type: "start-failed", error: toWire(err) }),
      onTick: (summary) => post({ type: "tick", summary }),
      onFatal: (e) => post({ type: "fatal", error: { name: e.name, message: e.message } }),
      onFault: fault,
    });
    if (testFault === "timer-throws") setTimeout(() => { throw new Error("test fault: a timer threw"); }, 1500);
    void host.start();
  } else if (m.type === "call") {
    if (!host) {
      post({ type: "reply", id: m.id, error: { name: "Error", message: "engine not started" } });
      return;
    }
    answer(m);
  } else if (m.type === "stop") {
    const h = host;
    host = null;
    void (h ? h.stop() : Promise.resolve()).catch((err) => fault("stop", err)).finally(() => post({ type: "stopped" }));
  }
};
