/**
 * A larger kernel buffer behind stdout when it is a pipe or a socket, so the row writers are not
 * stopped at every 64 KiB by the reader.
 *
 * A Linux pipe holds 64 KiB by default; `flows` writes 256 KiB chunks (output.ts), so with
 * `flowmatrix flows … | consumer` every chunk blocked the writer several times and the two
 * processes took turns on the CPU. With the pipe at 1 MiB (F_SETPIPE_SZ, the largest an
 * unprivileged process may ask for by default: /proc/sys/fs/pipe-max-size) the writer formats the
 * next chunk while the reader takes the last. Measured on the scan capture (950 k JSON rows,
 * 722 MB, `… --format json | cat > /dev/null`, 5 runs alternating on 2 vCPUs): wall 1.95 → 1.27 s,
 * CPU 1.85 → 1.54 s. A socket (what Bun.spawn's and Node's `stdout: "pipe"` give a child) gets a
 * 1 MiB send buffer (SO_SNDBUF; the kernel caps it at net.core.wmem_max): 1.42 → 1.31 s wall.
 *
 * Best effort: a descriptor that is neither, a platform without these calls, a pipe over the user's
 * pipe-buffer quota (EPERM) keep their buffer and nothing is reported. Cost: one fstat, and one
 * dlopen of libc (≈ 0.2 ms) when stdout is a pipe or socket.
 */
import { dlopen, FFIType } from "bun:ffi";
import { fstatSync, readFileSync } from "node:fs";

/** What `widenOutputBuffer` asks for, in bytes. */
export const OUTPUT_KERNEL_BUFFER = 1 << 20;

const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;

type Libc = {
  fcntl: (fd: number, cmd: number, arg: number) => number;
  setsockopt: (fd: number, level: number, name: number, value: Int32Array, len: number) => number;
  getsockopt: (fd: number, level: number, name: number, value: Int32Array, len: Int32Array) => number;
};
let libc: Libc | null | undefined;

function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (process.platform !== "linux") return libc;
  try {
    const { i32, u32, ptr } = FFIType;
    const lib = dlopen("libc.so.6", {
      fcntl: { args: [i32, i32, i32], returns: i32 },
      setsockopt: { args: [i32, i32, i32, ptr, u32], returns: i32 },
      getsockopt: { args: [i32, i32, i32, ptr, ptr], returns: i32 },
    });
    libc = lib.symbols as unknown as Libc;
  } catch {
    // Not glibc: keep the default buffers.
  }
  return libc;
}

/** The kernel buffer behind `fd` after the call: "pipe" or "socket" and its size in bytes, or null when `fd` is neither or could not be asked. */
export function widenOutputBuffer(fd: number, bytes = OUTPUT_KERNEL_BUFFER): { kind: "pipe" | "socket"; bytes: number } | null {
  let st;
  try {
    st = fstatSync(fd);
  } catch {
    return null;
  }
  if (!st.isFIFO() && !st.isSocket()) return null;
  const c = loadLibc();
  if (c === null) return null;
  if (st.isFIFO()) {
    const want = Math.min(bytes, pipeMaxSize());
    if (c.fcntl(fd, F_GETPIPE_SZ, 0) < want) c.fcntl(fd, F_SETPIPE_SZ, want); // may fail (quota): keep the old size
    const size = c.fcntl(fd, F_GETPIPE_SZ, 0);
    return size > 0 ? { kind: "pipe", bytes: size } : null;
  }
  c.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, new Int32Array([bytes]), 4);
  const v = new Int32Array(1);
  const len = new Int32Array([4]);
  return c.getsockopt(fd, SOL_SOCKET, SO_SNDBUF, v, len) === 0 ? { kind: "socket", bytes: v[0]! } : null;
}

function pipeMaxSize(): number {
  try {
    const n = Number(readFileSync("/proc/sys/fs/pipe-max-size", "utf8").trim());
    return Number.isFinite(n) && n >= 4096 ? n : 65536;
  } catch {
    return 65536;
  }
}
