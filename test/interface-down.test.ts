/**
 * Live capture through a link failure: a veth pair whose peer lives in a network namespace this
 * test creates (fmapi<pid>; host end fmv<pid>a, peer fmv<pid>b). Only the namespace end gets an
 * address (10.x) and a static neighbour entry for the host end's MAC, so its UDP datagrams leave through
 * the veth and are captured on the host end without touching the host's addressing or routes.
 *
 * Peer link down → the host end's operstate goes down → /api/v1/health is critical (503) and an
 * interface_down alert is active. Peer link up → health recovers and new packets are counted.
 * Requires root (CAP_NET_ADMIN) and iproute2.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { FlowmatrixServer } from "../src/server/app.ts";
import type { HealthReport } from "../src/server/health.ts";

const pid = process.pid;
const NS = `fmapi${pid}`;
const HOST_IF = `fmv${pid}a`;
const PEER_IF = `fmv${pid}b`;
const NET = `10.${200 + (pid % 50)}.${(pid >> 6) % 250}`;
const PEER_ADDR = `${NET}.2`;
const HOST_ADDR = `${NET}.1`;

function sh(args: string[], allowFail = false): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8", timeout: 15_000 });
  if (r.status !== 0 && !allowFail) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}
const inNs = (...args: string[]) => ["ip", "netns", "exec", NS, ...args];

let server: FlowmatrixServer | null = null;
let url = "";

async function health(): Promise<{ status: number; body: HealthReport }> {
  const res = await fetch(`${url}/api/v1/health`);
  return { status: res.status, body: (await res.json()) as HealthReport };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

/** Three UDP datagrams from the namespace end to the host end's (unassigned) address, port 9. */
function ping(): void {
  const js = `const s=require("node:dgram").createSocket("udp4");let n=0;const go=()=>s.send("flowmatrix",9,"${HOST_ADDR}",()=>{if(++n<3)go();else s.close()});go();`;
  sh(inNs(process.execPath, "-e", js));
}

/** The host end's MAC for HOST_ADDR (the kernel flushes it, even "permanent", on link down). */
function staticNeighbour(): void {
  const mac = sh(["cat", `/sys/class/net/${HOST_IF}/address`]).trim();
  sh(inNs("ip", "neigh", "replace", HOST_ADDR, "lladdr", mac, "dev", PEER_IF, "nud", "permanent"));
}

/** The veth pair, its namespace address and the neighbour entry. */
function makePair(): void {
  sh(["ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", PEER_IF, "netns", NS]);
  sh(["ip", "link", "set", HOST_IF, "up"]);
  sh(inNs("ip", "addr", "add", `${PEER_ADDR}/30`, "dev", PEER_IF));
  sh(inNs("ip", "link", "set", PEER_IF, "up"));
  staticNeighbour();
}

beforeAll(async () => {
  sh(["ip", "netns", "add", NS]);
  sh(inNs("ip", "link", "set", "lo", "up"));
  makePair();
  server = new FlowmatrixServer({
    engine: { source: { kind: "live", interface: HOST_IF } },
    port: 0,
    metricsIntervalMs: 500,
    alerts: { cpuPercent: 100, recoverSeconds: 1 },
  });
  url = await server.start();
}, 30_000);

afterAll(async () => {
  await server?.stop();
  sh(["ip", "netns", "del", NS], true);
  sh(["ip", "link", "del", HOST_IF], true);
});

test("link down makes health critical (503); link up recovers and capture resumes", async () => {
  const up = await waitFor("capture active and link up", async () => {
    const h = await health();
    return h.body.capture.state === "active" && h.body.capture.link === "up" ? h : undefined;
  });
  expect(up.status).toBe(200);
  expect(up.body.capture).toMatchObject({ source: "live", interface: HOST_IF, linktype: 1 });

  /** Datagrams captured from the namespace end (each ping() is a new socket, so a new flow). */
  const datagrams = async () => {
    const f = (await (await fetch(`${url}/api/v1/flows?src_ip=${PEER_ADDR}&dst_port=9&protocol=udp`)).json()) as { flows: { packets: number }[] };
    return f.flows.reduce((n, x) => n + x.packets, 0);
  };
  ping();
  const before = await waitFor("datagrams captured", async () => ((await datagrams()) >= 3 ? (await health()).body.capture.packets : undefined));

  sh(inNs("ip", "link", "set", PEER_IF, "down"));
  const down = await waitFor("critical health", async () => {
    const h = await health();
    return h.body.status === "critical" ? h : undefined;
  });
  expect(down.status).toBe(503);
  expect(down.body.reasons.map((r) => r.code)).toContain(down.body.capture.state === "down" ? "capture_down" : "link_down");
  expect(down.body.reasons.every((r) => r.severity === "critical" || r.severity === "error" || r.severity === "warning")).toBe(true);
  const alerts = await waitFor("interface_down alert", async () => {
    const a = (await (await fetch(`${url}/api/v1/alerts`)).json()) as { active: { rule: string; severity: string }[] };
    return a.active.find((x) => x.rule === "interface_down");
  });
  expect(alerts.severity).toBe("critical");
  const metrics = await (await fetch(`${url}/metrics`)).text();
  expect(metrics).toMatch(/^flowmatrix_health_status 2$/m);

  sh(inNs("ip", "link", "set", PEER_IF, "up"));
  staticNeighbour();
  const back = await waitFor("health back to ok", async () => {
    const h = await health();
    return h.status === 200 && h.body.capture.state === "active" && h.body.capture.link === "up" ? h : undefined;
  });
  expect(back.body.status).not.toBe("critical");

  const sentBefore = await datagrams();
  await waitFor("new datagrams captured after recovery", async () => {
    ping();
    await Bun.sleep(300);
    return (await datagrams()) >= sentBefore + 3 ? true : undefined;
  }, 20_000);
  expect((await health()).body.capture.packets).toBeGreaterThanOrEqual(before + 3);
  await waitFor("interface_down alert cleared", async () => {
    const a = (await (await fetch(`${url}/api/v1/alerts`)).json()) as { active: { rule: string }[] };
    return a.active.some((x) => x.rule === "interface_down") ? undefined : true;
  });
}, 60_000);

test("the interface disappears: capture down (critical); it comes back: the capture re-opens by itself", async () => {
  await waitFor("capture active", async () => ((await health()).body.capture.state === "active" ? true : undefined));
  const reopensBefore = (await health()).body.capture.reopens;
  sh(["ip", "link", "del", HOST_IF]);
  const down = await waitFor("capture down", async () => {
    const h = await health();
    return h.body.capture.state === "down" ? h : undefined;
  });
  expect(down.status).toBe(503);
  expect(down.body.status).toBe("critical");
  expect(down.body.capture.error ?? "").toContain(HOST_IF);

  makePair();
  const back = await waitFor("capture re-opened", async () => {
    const h = await health();
    return h.body.capture.state === "active" && h.body.capture.reopens > reopensBefore ? h : undefined;
  }, 20_000);
  expect(back.body.capture.error).toBeNull();
  const count = async () => {
    const f = (await (await fetch(`${url}/api/v1/flows?src_ip=${PEER_ADDR}&dst_port=9&protocol=udp`)).json()) as { flows: { packets: number }[] };
    return f.flows.reduce((n, x) => n + x.packets, 0);
  };
  const before = await count();
  await waitFor("datagrams captured on the re-opened handle", async () => {
    ping();
    await Bun.sleep(300);
    return (await count()) >= before + 3 ? true : undefined;
  }, 20_000);
}, 60_000);

test("an interface that is down at start is not a configuration error: the server starts, health is critical, and capture begins when it comes up", async () => {
  const down = `fmv${pid}c`;
  const downPeer = `fmv${pid}d`;
  sh(["ip", "link", "add", down, "type", "veth", "peer", "name", downPeer, "netns", NS]);
  const s = new FlowmatrixServer({
    engine: { source: { kind: "live", interface: down } },
    port: 0,
    metricsIntervalMs: 500,
    alerts: { cpuPercent: 100, recoverSeconds: 1 },
  });
  try {
    const u = await s.start(); // resolves: the interface exists (it is only down)
    const get = async () => {
      const res = await fetch(`${u}/api/v1/health`);
      return { status: res.status, body: (await res.json()) as HealthReport };
    };
    const crit = await waitFor("critical while down", async () => {
      const h = await get();
      return h.status === 503 && h.body.capture.state === "down" ? h : undefined;
    });
    expect(crit.body.capture.error).toContain("not up");
    sh(["ip", "link", "set", down, "up"]);
    sh(inNs("ip", "link", "set", downPeer, "up"));
    const up = await waitFor("capture active once the interface is up", async () => {
      const h = await get();
      return h.body.capture.state === "active" ? h : undefined;
    }, 20_000);
    expect(up.body.capture.reopens).toBeGreaterThan(0);
  } finally {
    await s.stop();
    sh(["ip", "link", "del", down], true);
  }
});
