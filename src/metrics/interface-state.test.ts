import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  isValidInterfaceName,
  readInterfaceState,
  readInterfaceViaSi,
  readSysfsInterface,
  usesSysfs,
  type OperState,
} from "./interface-state.ts";

function ip(...args: string[]): void {
  const r = Bun.spawnSync(["ip", ...args], { stderr: "pipe", stdout: "pipe" });
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(" ")} failed: ${r.stderr.toString()}`);
}

async function waitFor(name: string, want: (s: OperState) => boolean, ms = 4000): Promise<OperState> {
  const end = performance.now() + ms;
  let s = (await readInterfaceState(name)).operstate;
  while (!want(s) && performance.now() < end) {
    await Bun.sleep(25);
    s = (await readInterfaceState(name)).operstate;
  }
  return s;
}

describe("interface state", () => {
  test("uses sysfs on Linux", () => {
    expect(usesSysfs).toBe(process.platform === "linux");
  });

  test("lo is unknown or up, with growing counters after loopback traffic", async () => {
    const before = await readInterfaceState("lo");
    expect(["unknown", "up"]).toContain(before.operstate);
    expect(["unknown", "up"]).toContain(before.link);
    const sock = await Bun.udpSocket({ hostname: "127.0.0.1" });
    const sink = await Bun.udpSocket({ hostname: "127.0.0.1" });
    for (let k = 0; k < 50; k++) sock.send(new Uint8Array(200), sink.port, "127.0.0.1");
    await Bun.sleep(50);
    sock.close();
    sink.close();
    const after = await readInterfaceState("lo");
    expect(after.rxPackets - before.rxPackets).toBeGreaterThanOrEqual(50);
    expect(after.txBytes - before.txBytes).toBeGreaterThanOrEqual(50 * 200);
    expect(after.rxDropped).toBeGreaterThanOrEqual(0);
    expect(after.rxErrors).toBeGreaterThanOrEqual(0);
  });

  test("a nonexistent or invalid name reports missing without throwing", async () => {
    for (const name of ["fm-nope-x9", "../lo", "", "a/b", "x".repeat(16)]) {
      const s = await readInterfaceState(name);
      expect(s.operstate).toBe("missing");
      expect(s.link).toBe("missing");
      expect(s.rxBytes).toBe(0);
    }
    expect(isValidInterfaceName("eth0")).toBe(true);
    expect(isValidInterfaceName("..")).toBe(false);
  });

  test("systeminformation fallback agrees on lo and reports missing names", async () => {
    const a = await readInterfaceViaSi("lo");
    expect(a.source).toBe("systeminformation");
    expect(["unknown", "up"]).toContain(a.operstate);
    expect(a.rxBytes).toBeGreaterThan(0);
    expect(Number.isNaN(a.rxPackets)).toBe(true);
    expect((await readInterfaceViaSi("fm-nope-x9")).operstate).toBe("missing");
  });

  describe("veth pair with the peer in a namespace", () => {
    const ns = `fm-m-${process.pid}`;
    const host = `fmh${process.pid}`;
    const peer = `fmp${process.pid}`;
    let nsMade = false;
    let linkMade = false;

    beforeAll(() => {
      ip("netns", "add", ns);
      nsMade = true;
      ip("link", "add", host, "type", "veth", "peer", "name", peer, "netns", ns);
      linkMade = true;
      ip("link", "set", host, "up");
    });

    afterAll(() => {
      if (linkMade) Bun.spawnSync(["ip", "link", "del", host]);
      if (nsMade) Bun.spawnSync(["ip", "netns", "del", ns]);
    });

    test("host end follows the peer going up and down", async () => {
      // peer still down: host end has no carrier
      expect(["down", "lowerlayerdown"]).toContain(await waitFor(host, (s) => s !== "up"));
      ip("-n", ns, "link", "set", peer, "up");
      expect(await waitFor(host, (s) => s === "up")).toBe("up");
      const st = readSysfsInterface(host);
      expect(st.link).toBe("up");
      expect(st.source).toBe("sysfs");
      ip("-n", ns, "link", "set", peer, "down");
      const down = await waitFor(host, (s) => s !== "up");
      expect(["down", "lowerlayerdown"]).toContain(down);
      expect((await readInterfaceState(host)).link).toBe("down");
      ip("link", "del", host);
      linkMade = false;
      expect((await readInterfaceState(host)).operstate).toBe("missing");
    });
  });
});
