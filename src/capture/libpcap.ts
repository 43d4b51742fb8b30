/**
 * libpcap bindings through bun:ffi, loaded lazily on first use so that code paths that never
 * capture (CLI --help, file reading in pure TS) work without libpcap installed.
 *
 * Limits: needs libpcap >= 1.5 (pcap_set_immediate_mode, tstamp precision); the struct layouts
 * used by callers (pcap_pkthdr, pcap_if_t, bpf_program) assume a 64-bit host.
 */
import { dlopen, FFIType, type Library, type Pointer } from "bun:ffi";
import { LibpcapMissingError } from "./libpcap-missing-error.ts";
import { PcapError } from "./pcap-error.ts";

/** Runtime library names tried in order (a bare name is resolved by the dynamic loader). */
export const LIBPCAP_CANDIDATES = ["libpcap.so.1", "libpcap.so.0.8", "libpcap.so", "libpcap.A.dylib"] as const;

/** libpcap constants used by this project. */
export const PCAP = {
  ERRBUF_SIZE: 256,
  ERROR: -1,
  ERROR_BREAK: -2,
  ERROR_NOT_ACTIVATED: -3,
  ERROR_ACTIVATED: -4,
  ERROR_NO_SUCH_DEVICE: -5,
  ERROR_RFMON_NOTSUP: -6,
  ERROR_NOT_RFMON: -7,
  ERROR_PERM_DENIED: -8,
  ERROR_IFACE_NOT_UP: -9,
  ERROR_PROMISC_PERM_DENIED: -11,
  TSTAMP_PRECISION_MICRO: 0,
  TSTAMP_PRECISION_NANO: 1,
  NETMASK_UNKNOWN: 0xffffffff,
} as const;

const { ptr: P, i32, u32, void: V, cstring } = FFIType;

const symbols = {
  pcap_lib_version: { args: [], returns: cstring },
  pcap_create: { args: [P, P], returns: P },
  pcap_set_snaplen: { args: [P, i32], returns: i32 },
  pcap_set_promisc: { args: [P, i32], returns: i32 },
  pcap_set_timeout: { args: [P, i32], returns: i32 },
  pcap_set_immediate_mode: { args: [P, i32], returns: i32 },
  pcap_set_buffer_size: { args: [P, i32], returns: i32 },
  pcap_set_tstamp_precision: { args: [P, i32], returns: i32 },
  pcap_get_tstamp_precision: { args: [P], returns: i32 },
  pcap_activate: { args: [P], returns: i32 },
  pcap_statustostr: { args: [i32], returns: cstring },
  pcap_geterr: { args: [P], returns: cstring },
  pcap_compile: { args: [P, P, P, i32, u32], returns: i32 },
  pcap_setfilter: { args: [P, P], returns: i32 },
  pcap_freecode: { args: [P], returns: V },
  pcap_datalink: { args: [P], returns: i32 },
  pcap_stats: { args: [P, P], returns: i32 },
  pcap_setnonblock: { args: [P, i32, P], returns: i32 },
  pcap_get_selectable_fd: { args: [P], returns: i32 },
  pcap_breakloop: { args: [P], returns: V },
  pcap_close: { args: [P], returns: V },
  pcap_open_offline_with_tstamp_precision: { args: [P, u32, P], returns: P },
  pcap_dispatch: { args: [P, i32, P, P], returns: i32 },
  pcap_findalldevs: { args: [P, P], returns: i32 },
  pcap_freealldevs: { args: [P], returns: V },
} as const;

/** A pcap_t* as bun:ffi returns it. */
export type PcapHandle = Pointer | bigint;

export type LibpcapSymbols = Library<typeof symbols>["symbols"];

/** The loaded library: its symbols and the name that loaded. */
export interface Libpcap {
  readonly symbols: LibpcapSymbols;
  readonly loadedName: string;
}

let loaded: Libpcap | undefined;

/**
 * Loads libpcap (once) and returns its bindings.
 * @throws LibpcapMissingError when none of LIBPCAP_CANDIDATES loads.
 */
export function libpcap(): Libpcap {
  if (loaded) return loaded;
  let lastError: unknown;
  for (const name of LIBPCAP_CANDIDATES) {
    try {
      const lib = dlopen(name, symbols);
      loaded = { symbols: lib.symbols, loadedName: name };
      return loaded;
    } catch (err) {
      lastError = err;
    }
  }
  throw new LibpcapMissingError(LIBPCAP_CANDIDATES, lastError);
}

/** libpcap's version string, e.g. "libpcap version 1.10.3 (with TPACKET_V3)". */
export function libpcapVersion(): string {
  return String(libpcap().symbols.pcap_lib_version());
}

/** A NUL-terminated copy of `s` for a `const char *` argument. */
export function cstr(s: string): Buffer {
  return Buffer.from(s + "\0", "utf8");
}

/** Text of a NUL-terminated C string held in a JS buffer (e.g. an errbuf). */
export function bufText(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return new TextDecoder().decode(end < 0 ? buf : buf.subarray(0, end));
}

/** A fresh PCAP_ERRBUF_SIZE error buffer. */
export function errbuf(): Buffer {
  return Buffer.alloc(PCAP.ERRBUF_SIZE);
}

/**
 * Compiles `filter` (optimised) and sets it on an open handle. Throws PcapError with libpcap's
 * text. Limit: the netmask given to pcap_compile is PCAP_NETMASK_UNKNOWN, so "ip broadcast"
 * filters fail to compile.
 */
export function applyFilter(handle: PcapHandle, filter: string): void {
  const s = libpcap().symbols;
  const prog = new BigUint64Array(2); // struct bpf_program { u_int bf_len; struct bpf_insn *bf_insns; }
  if (s.pcap_compile(handle, prog, cstr(filter), 1, PCAP.NETMASK_UNKNOWN) !== 0) {
    throw new PcapError(`bad capture filter "${filter}": ${String(s.pcap_geterr(handle))}`);
  }
  try {
    if (s.pcap_setfilter(handle, prog) !== 0) {
      throw new PcapError(`cannot set capture filter "${filter}": ${String(s.pcap_geterr(handle))}`);
    }
  } finally {
    s.pcap_freecode(prog);
  }
}
