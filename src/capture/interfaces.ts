/**
 * Capture interfaces as libpcap sees them (pcap_findalldevs).
 *
 * Limits: reads pcap_if_t / pcap_addr_t / sockaddr with 64-bit layouts; only AF_INET (2) and
 * AF_INET6 (10 on Linux, 30 on macOS) addresses are reported, others (AF_PACKET, AF_LINK) are
 * skipped; IPv6 scope ids are not shown.
 */
import { read, type Pointer } from "bun:ffi";
import { bufText, errbuf, libpcap } from "./libpcap.ts";
import { PcapError } from "./pcap-error.ts";

export interface InterfaceAddress {
  family: 4 | 6;
  /** Text form: dotted quad, or RFC 5952 IPv6. */
  address: string;
  /** Netmask text when libpcap gives one, else null. */
  netmask: string | null;
  /** Prefix length derived from the netmask, else null. */
  prefixLength: number | null;
}

export type ConnectionStatus = "unknown" | "connected" | "disconnected" | "not_applicable";

export interface InterfaceInfo {
  name: string;
  description: string | null;
  addresses: InterfaceAddress[];
  up: boolean;
  running: boolean;
  loopback: boolean;
  wireless: boolean;
  connection: ConnectionStatus;
}

const IS_DARWIN = process.platform === "darwin";
const AF_INET = 2;
const AF_INET6 = IS_DARWIN ? 30 : 10;
const CONNECTION: ConnectionStatus[] = ["unknown", "connected", "disconnected", "not_applicable"];

/** Lists capture devices in libpcap's order. Throws PcapError (or LibpcapMissingError). */
export function listInterfaces(): InterfaceInfo[] {
  const s = libpcap().symbols;
  const out = new BigUint64Array(1);
  const err = errbuf();
  if (s.pcap_findalldevs(out, err) !== 0) throw new PcapError(`cannot list interfaces: ${bufText(err)}`);
  const head = Number(out[0]);
  const list: InterfaceInfo[] = [];
  try {
    // pcap_if_t: next 0, name 8, description 16, addresses 24, flags 32
    for (let p = head; p; p = Number(read.ptr(p as Pointer, 0))) {
      const dev = p as Pointer;
      const flags = read.u32(dev, 32);
      list.push({
        name: cString(read.ptr(dev, 8)) ?? "",
        description: cString(read.ptr(dev, 16)),
        addresses: readAddresses(read.ptr(dev, 24)),
        loopback: (flags & 1) !== 0,
        up: (flags & 2) !== 0,
        running: (flags & 4) !== 0,
        wireless: (flags & 8) !== 0,
        connection: CONNECTION[(flags >>> 4) & 3]!,
      });
    }
  } finally {
    if (head) s.pcap_freealldevs(head as Pointer);
  }
  return list;
}

/** The first up+running non-loopback interface with an address, else "lo". */
export function defaultInterface(): string {
  const found = listInterfaces().find((i) => i.up && i.running && !i.loopback && i.addresses.length > 0);
  return found ? found.name : "lo";
}

function readAddresses(first: number): InterfaceAddress[] {
  const out: InterfaceAddress[] = [];
  // pcap_addr_t: next 0, addr 8, netmask 16, broadaddr 24, dstaddr 32
  for (let a = first; a; a = Number(read.ptr(a as Pointer, 0))) {
    const addr = read.ptr(a as Pointer, 8);
    if (!addr) continue;
    const fam = family(addr);
    if (fam !== AF_INET && fam !== AF_INET6) continue;
    const mask = read.ptr(a as Pointer, 16);
    const maskBytes = mask && family(mask) === fam ? addrBytes(mask, fam) : null;
    out.push({
      family: fam === AF_INET ? 4 : 6,
      address: formatIp(addrBytes(addr, fam)),
      netmask: maskBytes ? formatIp(maskBytes) : null,
      prefixLength: maskBytes ? prefixLength(maskBytes) : null,
    });
  }
  return out;
}

/** sa_family: u16 at 0 on Linux; u8 at 1 on macOS/BSD (after sa_len). */
function family(sa: number): number {
  return IS_DARWIN ? read.u8(sa as Pointer, 1) : read.u16(sa as Pointer, 0);
}

/** sockaddr_in: address at 4 (4 bytes); sockaddr_in6: address at 8 (16 bytes). */
function addrBytes(sa: number, fam: number): Uint8Array {
  const [off, len] = fam === AF_INET ? [4, 4] : [8, 16];
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = read.u8(sa as Pointer, off + i);
  return b;
}

function cString(p: number): string | null {
  if (!p) return null;
  const bytes: number[] = [];
  for (let i = 0; i < 4096; i++) {
    const c = read.u8(p as Pointer, i);
    if (c === 0) break;
    bytes.push(c);
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** Count of leading one bits (a non-contiguous mask counts up to the first zero). */
export function prefixLength(mask: Uint8Array): number {
  let n = 0;
  for (const byte of mask) {
    if (byte === 0xff) {
      n += 8;
      continue;
    }
    for (let bit = 0x80; bit && byte & bit; bit >>= 1) n++;
    break;
  }
  return n;
}

/** Dotted quad for 4 bytes; RFC 5952 text (longest zero run ≥ 2 groups compressed) for 16. */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (from: number, to: number) => g.slice(from, to).map((x) => x.toString(16)).join(":");
  if (bestLen < 2) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}
