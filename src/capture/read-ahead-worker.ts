/**
 * The read-ahead Worker of a whole-file read: opens the file itself and reads it slot by slot into
 * the shared ring (read-ahead-protocol.ts), at most `slots` slots ahead of the capture thread.
 * A thin loop: read(2), publish, wait for room. It closes its descriptor when the file ends, a read
 * fails, or the capture thread sets STOP.
 */
import { closeSync, openSync, readSync } from "node:fs";
import {
  errorIndex, FILLED, LEN0, READER_WAITS, READY, RELEASED, slotOffset, STOP, WORKER_WAITS, type ReadAheadInit,
} from "./read-ahead-protocol.ts";

declare const self: Worker;

self.onmessage = (ev: MessageEvent<ReadAheadInit>) => {
  const m = ev.data;
  if (m.type !== "init") return;
  const ctl = new Int32Array(m.sab, 0, LEN0 + m.slots);
  let fd: number;
  try {
    fd = openSync(m.path, "r");
  } catch (e) {
    Atomics.store(ctl, LEN0, -1 - errorIndex((e as NodeJS.ErrnoException).code));
    Atomics.store(ctl, READY, 2);
    Atomics.notify(ctl, READY);
    Atomics.notify(ctl, FILLED);
    self.postMessage("done");
    return;
  }
  Atomics.store(ctl, READY, 1);
  Atomics.notify(ctl, READY);
  const views: Uint8Array[] = [];
  for (let s = 0; s < m.slots; s++) views.push(new Uint8Array(m.sab, slotOffset(s, m.slotBytes, m.pad) + m.pad, m.slotBytes));
  try {
    for (let f = 0; ; f++) {
      // Room: slot f may be written once slot f - slots has been released.
      for (;;) {
        if (Atomics.load(ctl, STOP) !== 0) return;
        if (f - Atomics.load(ctl, RELEASED) < m.slots) break;
        // Say what we wait for (half the ring free), then look again: a release in between is
        // seen here, or makes the wait return at once (the value changed).
        const want = f - m.slots + Math.max(1, m.slots >> 1);
        Atomics.store(ctl, WORKER_WAITS, want);
        const released = Atomics.load(ctl, RELEASED);
        if (released < want) Atomics.wait(ctl, RELEASED, released, 1000);
        Atomics.store(ctl, WORKER_WAITS, 0);
      }
      const s = f % m.slots;
      let n: number;
      try {
        n = readSync(fd, views[s]!, 0, m.slotBytes, null);
      } catch (e) {
        n = -1 - errorIndex((e as NodeJS.ErrnoException).code);
      }
      ctl[LEN0 + s] = n;
      Atomics.store(ctl, FILLED, f + 1);
      if (Atomics.load(ctl, READER_WAITS) !== 0) Atomics.notify(ctl, FILLED);
      if (n <= 0) return;
    }
  } finally {
    closeSync(fd);
    self.postMessage("done");
  }
};
