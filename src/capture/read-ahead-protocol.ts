/**
 * The shared memory between a whole-file read (ReadAheadChunk, read-ahead.ts, on the capture
 * thread) and its read-ahead Worker (read-ahead-worker.ts), which does the read(2) calls.
 *
 * One SharedArrayBuffer: CTL_WORDS control words (Int32), then `slots` slots of `pad + slotBytes`
 * bytes. The Worker reads the file into the data part of the slots in turn ([pad, pad + slotBytes)
 * of each); the capture thread reads them in the same order. The pad in front of a slot's data is
 * the capture thread's: it copies there the unread tail of the previous slot (the start of a record
 * cut by the slot's end), so every record is contiguous without copying the slot itself.
 *
 * Counters (monotonic, never wrapping below 2^31 slots: 1 PiB at 512 KiB a slot):
 * - FILLED: slots the Worker has read (it notifies FILLED after each);
 * - RELEASED: slots the capture thread is done with (it notifies RELEASED). The Worker fills slot
 *   number f only when f − RELEASED < slots, so it never writes a slot still being read.
 * Slot f's byte count is LEN0 + f % slots: > 0 bytes, 0 at the end of the file, −1 − i after a read
 * error (i: index in ERROR_CODES).
 */

export const FILLED = 0;
export const RELEASED = 1;
/** Set to 1 by the capture thread to end the Worker early. */
export const STOP = 2;
/** Set to 1 by the Worker once the file is open (2: it could not be opened, see LEN0). */
export const READY = 3;
/**
 * While the Worker sleeps: the RELEASED count it waits for (half the ring free, so a wake-up, which
 * costs ~20-30 µs of the capture thread's time in a VM, comes once per slots/2 slots); 0 otherwise.
 * READER_WAITS: 1 while the capture thread sleeps for FILLED. Each side notifies only then.
 */
export const WORKER_WAITS = 4;
export const READER_WAITS = 5;
export const LEN0 = 6;
export const MAX_SLOTS = 16;
export const CTL_WORDS = LEN0 + MAX_SLOTS;
export const CTL_BYTES = CTL_WORDS * 4;

/** Error codes a read can fail with, by index (anything else is reported as EIO). */
export const ERROR_CODES = ["EIO", "EISDIR", "EBADF", "EINVAL", "ENXIO", "EOVERFLOW", "ENOENT", "EACCES", "EPERM"] as const;

export function errorIndex(code: string | undefined): number {
  const i = ERROR_CODES.indexOf((code ?? "EIO") as (typeof ERROR_CODES)[number]);
  return i < 0 ? 0 : i;
}

export interface ReadAheadInit {
  type: "init";
  sab: SharedArrayBuffer;
  /** The file to read: /proc/self/fd/N of the capture thread's descriptor where that exists. */
  path: string;
  slots: number;
  slotBytes: number;
  pad: number;
}

export function slotOffset(slot: number, slotBytes: number, pad: number): number {
  return CTL_BYTES + slot * (pad + slotBytes);
}
