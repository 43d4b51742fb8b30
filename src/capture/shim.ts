/**
 * Compiles shim.c with TinyCC (`cc` from bun:ffi) on first use and exposes its batch reader.
 *
 * Works inside a `bun build --compile` binary: the C file is embedded with `type: "file"`, read
 * with Bun.file(), written to a temp file (TinyCC cannot read /$bunfs paths) and compiled from
 * there. Compilation takes a few ms and needs no system toolchain.
 *
 * Limits: the record layout is host-endian (little-endian hosts only, see shim.c).
 */
import { cc, FFIType, type Pointer } from "bun:ffi";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import shimSource from "./shim.c" with { type: "file" };
import { libpcap, type PcapHandle } from "./libpcap.ts";

/** Why fm_read stopped (status[0]). */
export const ShimStatus = {
  FULL: 1,
  IDLE: 0,
  ERROR: -1,
  EOF: -2,
  BREAK: -3,
} as const;

/** Bytes of the fixed record header: ts_sec, ts_frac, stored length, wire length (u32 each). */
export const RECORD_HEADER = 16;


/** Reusable batch buffers owned by JS. */
export interface Batch {
  /** Record bytes; `status[1]` bytes are valid after a read. */
  readonly buf: Uint8Array;
  /** The same memory as u32 words (records are 4-byte aligned), for header reads. */
  readonly words: Uint32Array;
  /** [status, bytesUsed]. */
  readonly status: Int32Array;
  /** Bytes kept per packet (multiple of 4). */
  readonly snap: number;
}

/** Allocates a batch: `capacityBytes` (default 4 MiB) of records, `snap` (default 256) bytes per packet. */
export function createBatch(capacityBytes = 4 << 20, snap = 256): Batch {
  const s = Math.max(4, (snap + 3) & ~3);
  const cap = Math.max(capacityBytes, RECORD_HEADER + s) & ~3;
  const buf = new Uint8Array(cap);
  return { buf, words: new Uint32Array(buf.buffer, 0, cap >>> 2), status: new Int32Array(4), snap: s };
}

const shimSymbols = {
  fm_read: {
    args: [FFIType.ptr, FFIType.ptr, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.i32],
    returns: FFIType.i32,
  },
} as const;

type ShimFn = (
  dispatch: Pointer,
  handle: PcapHandle,
  fd: number,
  timeoutMs: number,
  buf: Uint8Array,
  cap: number,
  snap: number,
  status: Int32Array,
  offline: number,
) => number;

let compiled: { fmRead: ShimFn; dispatch: Pointer } | undefined;

/** Compiles the shim (once). Throws LibpcapMissingError without libpcap, or TinyCC's error. */
export async function loadShim(): Promise<void> {
  if (compiled) return;
  const text = await Bun.file(shimSource).text();
  compileShim(text);
}

/** Synchronous variant of loadShim() for readSync(): reads the embedded file synchronously. */
export function loadShimSync(): void {
  if (compiled) return;
  // Bun.file(...).text() is async; node:fs reads /$bunfs paths inside compiled binaries too.
  const text = readFileSync(shimSource, "utf8");
  compileShim(text);
}

function compileShim(text: string): void {
  // bun:ffi exposes each symbol's address as `.ptr` (not in the type declarations).
  const dispatch = (libpcap().symbols.pcap_dispatch as unknown as { ptr: Pointer }).ptr;
  const dir = mkdtempSync(join(tmpdir(), "flowmatrix-shim-"));
  const file = join(dir, "shim.c");
  try {
    writeFileSync(file, text);
    const lib = cc({ source: file, symbols: shimSymbols });
    compiled = { fmRead: lib.symbols.fm_read as unknown as ShimFn, dispatch };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Fills `batch` from `handle`; returns the record count. `fd >= 0` (live, handle set
 * non-blocking): waits up to `timeoutMs` in poll() for data first. `offline`: loops until the
 * buffer is full or EOF. Check `batch.status[0]` (ShimStatus) afterwards.
 */
export function readBatch(handle: PcapHandle, batch: Batch, fd: number, timeoutMs: number, offline: boolean): number {
  if (!compiled) throw new Error("shim not loaded: call loadShim() first");
  const { fmRead, dispatch } = compiled;
  return fmRead(dispatch, handle, fd, timeoutMs, batch.buf, batch.buf.length, batch.snap, batch.status, offline ? 1 : 0);
}
