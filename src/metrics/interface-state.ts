/**
 * Operational state and counters of one network interface (host network namespace only).
 *
 * On Linux it reads /sys/class/net/IF/operstate and /sys/class/net/IF/statistics/* directly
 * (9 small synchronous reads of in-memory sysfs files, a few µs each; no child process).
 * Elsewhere it falls back to systeminformation's networkStats, which has no packet counts
 * (reported as NaN), whose operstate is "up"/"down"/"unknown", and which costs tens of ms
 * (an existence check through si.networkInterfaces).
 *
 * Never throws: an interface that does not exist, a name that is not a valid interface name,
 * or one that vanishes mid-read reports operstate "missing" with all counters 0.
 * Counters are the kernel's cumulative counters; they restart at 0 when the interface is recreated.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import si from "systeminformation";

/** Linux operstate values (RFC 2863), plus "missing" when the interface does not exist. */
export type OperState =
  | "up"
  | "down"
  | "unknown"
  | "lowerlayerdown"
  | "dormant"
  | "notpresent"
  | "testing"
  | "missing";

/** Coarse link state: lo reports "unknown" on Linux (no carrier concept). */
export type LinkState = "up" | "down" | "unknown" | "missing";

export interface InterfaceCounters {
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
  rxDropped: number;
  txDropped: number;
  rxErrors: number;
  txErrors: number;
}

export interface InterfaceState extends InterfaceCounters {
  name: string;
  operstate: OperState;
  link: LinkState;
  /** Where the figures came from. */
  source: "sysfs" | "systeminformation";
}

const SYSFS = "/sys/class/net";
const OPERSTATES: ReadonlySet<string> = new Set([
  "up", "down", "unknown", "lowerlayerdown", "dormant", "notpresent", "testing",
]);

/** True when the Linux sysfs path is used. */
export const usesSysfs: boolean = process.platform === "linux" && canRead(`${SYSFS}/lo/operstate`);

function canRead(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Kernel interface names: 1–15 bytes, no '/', whitespace, ':' or NUL, not "." or "..". */
export function isValidInterfaceName(name: string): boolean {
  return /^[^/\s:\0]{1,15}$/.test(name) && name !== "." && name !== "..";
}

export function linkOf(op: OperState): LinkState {
  if (op === "up" || op === "unknown" || op === "missing") return op;
  return "down";
}

function missing(name: string, source: InterfaceState["source"]): InterfaceState {
  return {
    name, operstate: "missing", link: "missing", source,
    rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0,
    rxDropped: 0, txDropped: 0, rxErrors: 0, txErrors: 0,
  };
}

/** Reads sysfs synchronously (Linux only). */
export function readSysfsInterface(name: string): InterfaceState {
  if (!isValidInterfaceName(name)) return missing(name, "sysfs");
  const dir = `${SYSFS}/${name}`;
  try {
    const raw = readFileSync(`${dir}/operstate`, "latin1").trim();
    const operstate: OperState = OPERSTATES.has(raw) ? (raw as OperState) : "unknown";
    const st = `${dir}/statistics/`;
    const num = (f: string) => Number(readFileSync(st + f, "latin1"));
    return {
      name, operstate, link: linkOf(operstate), source: "sysfs",
      rxBytes: num("rx_bytes"),
      txBytes: num("tx_bytes"),
      rxPackets: num("rx_packets"),
      txPackets: num("tx_packets"),
      rxDropped: num("rx_dropped"),
      txDropped: num("tx_dropped"),
      rxErrors: num("rx_errors"),
      txErrors: num("tx_errors"),
    };
  } catch {
    return missing(name, "sysfs");
  }
}

/** Reads through systeminformation.networkStats (any OS; used when sysfs is unavailable). */
export async function readInterfaceViaSi(name: string): Promise<InterfaceState> {
  if (!isValidInterfaceName(name)) return missing(name, "systeminformation");
  try {
    if (!(await interfaceExists(name))) return missing(name, "systeminformation");
    const rows = await si.networkStats(name);
    const r = rows.find((x) => x.iface === name);
    if (!r) return missing(name, "systeminformation");
    const operstate: OperState = OPERSTATES.has(r.operstate) ? (r.operstate as OperState) : "unknown";
    return {
      name, operstate, link: linkOf(operstate), source: "systeminformation",
      rxBytes: r.rx_bytes, txBytes: r.tx_bytes,
      rxPackets: NaN, txPackets: NaN,
      rxDropped: r.rx_dropped, txDropped: r.tx_dropped,
      rxErrors: r.rx_errors, txErrors: r.tx_errors,
    };
  } catch {
    return missing(name, "systeminformation");
  }
}

/**
 * networkStats reports an unknown name as operstate "unknown" with zero counters, so existence is
 * checked first: os.networkInterfaces (interfaces with an address), then si.networkInterfaces
 * (all interfaces; tens of ms).
 */
async function interfaceExists(name: string): Promise<boolean> {
  if (os.networkInterfaces()[name]) return true;
  const list = await si.networkInterfaces();
  return (Array.isArray(list) ? list : [list]).some((i) => i.iface === name);
}

/** State of `name`: sysfs on Linux, systeminformation elsewhere. Never rejects. */
export async function readInterfaceState(name: string): Promise<InterfaceState> {
  return usesSysfs ? readSysfsInterface(name) : readInterfaceViaSi(name);
}
