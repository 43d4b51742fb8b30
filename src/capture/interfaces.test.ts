import { expect, test } from "bun:test";
import { defaultInterface, formatIp, listInterfaces, prefixLength } from "./interfaces.ts";

interface IpAddr {
  ifname: string;
  flags: string[];
  addr_info: { family: string; local: string; prefixlen: number }[];
}
/** iproute2's own view of the system, as the independent reference. */
const ipView = JSON.parse(Bun.spawnSync(["ip", "-j", "addr"]).stdout.toString()) as IpAddr[];

test("every kernel interface is listed with the addresses and prefixes iproute2 shows", () => {
  const list = listInterfaces();
  const byName = new Map(list.map((i) => [i.name, i]));
  for (const k of ipView) {
    const mine = byName.get(k.ifname);
    expect(mine).toBeDefined();
    const want = k.addr_info
      .filter((a) => a.family === "inet" || a.family === "inet6")
      .map((a) => `${a.family === "inet" ? 4 : 6} ${a.local}/${a.prefixlen}`)
      .sort();
    const got = mine!.addresses.map((a) => `${a.family} ${a.address}/${a.prefixLength}`).sort();
    expect(got).toEqual(want);
    expect(mine!.up).toBe(k.flags.includes("UP"));
    expect(mine!.loopback).toBe(k.flags.includes("LOOPBACK"));
  }
});

test("lo is a loopback, up and running, with 127.0.0.1/255.0.0.0 and ::1", () => {
  const lo = listInterfaces().find((i) => i.name === "lo")!;
  expect(lo).toMatchObject({ loopback: true, up: true, running: true, wireless: false });
  expect(lo.addresses).toContainEqual({ family: 4, address: "127.0.0.1", netmask: "255.0.0.0", prefixLength: 8 });
  expect(lo.addresses.find((a) => a.family === 6)?.address).toBe("::1");
});

test("defaultInterface picks the first up, running, non-loopback interface with an address", () => {
  const want = ipView.find(
    (k) => !k.flags.includes("LOOPBACK") && k.flags.includes("UP") && k.flags.includes("LOWER_UP") && k.addr_info.length > 0,
  );
  expect(defaultInterface()).toBe(want ? want.ifname : "lo");
});

test("formatIp writes RFC 5952 text and prefixLength counts leading ones", () => {
  const v6 = (s: string) => {
    const parts = s.split(":").map((x) => parseInt(x, 16));
    const b = new Uint8Array(16);
    parts.forEach((p, i) => ((b[2 * i] = p >> 8), (b[2 * i + 1] = p & 255)));
    return b;
  };
  expect(formatIp(new Uint8Array([10, 0, 0, 1]))).toBe("10.0.0.1");
  expect(formatIp(new Uint8Array(16))).toBe("::");
  expect(formatIp(v6("2001:db8:0:0:1:0:0:1"))).toBe("2001:db8::1:0:0:1");
  expect(formatIp(v6("2001:db8:0:1:1:1:1:1"))).toBe("2001:db8:0:1:1:1:1:1");
  expect(formatIp(v6("fe80:0:0:0:0:0:0:1"))).toBe("fe80::1");
  expect(formatIp(v6("1:0:0:0:0:0:0:0"))).toBe("1::");
  expect(prefixLength(new Uint8Array([255, 255, 240, 0]))).toBe(20);
  expect(prefixLength(new Uint8Array(16).fill(255))).toBe(128);
});
