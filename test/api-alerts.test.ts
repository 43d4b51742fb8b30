/**
 * AlertEngine rules with hysteresis and cool-down, fed with TickSummary / SystemSample values
 * (the inputs it receives from the engine Worker and the metrics collector), and
 * suspiciousReasons on flow records.
 */
import { describe, expect, test } from "bun:test";
import { AlertEngine, LOOKUP_QUEUE } from "../src/alerts/alert-engine.ts";
import { suspiciousReasons } from "../src/alerts/suspicious.ts";
import type { FlowRecord } from "../src/flows/format/record.ts";
import type { SystemSample } from "../src/metrics/system-collector.ts";
import type { CaptureStatus, ScanCandidate, TickSummary } from "../src/worker/protocol.ts";

const T0 = 1_800_000_000;

function flow(over: Partial<FlowRecord> = {}): FlowRecord {
  return {
    id: 1, proto: "tcp", proto_num: 6, ip_version: 4, vlan: null, src_ip: "10.0.0.5", src_port: 40000,
    dst_ip: "192.0.2.1", dst_port: 443, packets: 10, bytes: 5000, src_packets: 5, src_bytes: 1000,
    dst_packets: 5, dst_bytes: 4000, ip_bytes: 4800, first_seen: "2027-01-15T08:00:00.000Z",
    last_seen: "2027-01-15T08:00:01.000Z", duration_ms: 1000, tcp_flags: "SAP", src_tcp_flags: "SAP",
    dst_tcp_flags: "SAP", state: "established", bps: 0, active: true, end_reason: null, ...over,
  } as FlowRecord;
}

function tick(sec: number, over: { bps?: number; capture?: Partial<CaptureStatus>; top?: FlowRecord[]; scans?: ScanCandidate[]; talkers?: TickSummary["talkers"] } = {}): TickSummary {
  return {
    wall: T0 + sec, now: T0 + sec,
    capture: {
      interface: "eth9", source: "live", state: "active", error: null, linktype: 1, packets: 0, received: 0,
      dropped: 0, if_dropped: 0, drop_rate: 0, dropped_last: 0, reopens: 0, ...over.capture,
    },
    stats: {} as TickSummary["stats"],
    bps: over.bps ?? 0, pps: 0, active_flows: 0, last60: { step: 1, t: [], series: {} },
    talkers: over.talkers ?? [], top_flows: over.top ?? [], scans: over.scans ?? [],
  };
}

function sample(sec: number, over: Partial<SystemSample> = {}): SystemSample {
  return {
    ts: (T0 + sec) * 1000, cpuPercent: 10, load1: 0, load5: 0, load15: 0, memUsed: 1e9, memTotal: 8e9,
    procRss: 5e7, procCpuPercent: 1, iface: null, ifaceRates: null, extra: {}, collectMs: 1, ...over,
  };
}

describe("bandwidth rule", () => {
  test("raises after 5 s over 100 Mbit/s, holds in the hysteresis band, clears after 5 s below 80 %", () => {
    const a = new AlertEngine();
    const top = [flow({ bps: 60e6 })];
    for (let s = 1; s <= 4; s++) a.onTick(tick(s, { bps: 150e6, top }));
    expect(a.active().filter((x) => x.rule === "bandwidth")).toEqual([]);
    a.onTick(tick(5, { bps: 150e6, top }));
    const [al] = a.active().filter((x) => x.rule === "bandwidth");
    expect(al!).toMatchObject({ severity: "error", message: "High bandwidth: 150 Mbit/s for 5 s", q: "bps>0", cleared: null });
    expect(al!.flows).toHaveLength(1);
    expect(al!.since).toBe(new Date((T0 + 0) * 1000).toISOString());
    // 90 Mbit/s: below the threshold but above 80 %: stays active.
    for (let s = 6; s <= 20; s++) a.onTick(tick(s, { bps: 90e6 }));
    expect(a.active().some((x) => x.rule === "bandwidth")).toBe(true);
    for (let s = 21; s <= 24; s++) a.onTick(tick(s, { bps: 10e6 }));
    expect(a.active().some((x) => x.rule === "bandwidth")).toBe(true);
    a.onTick(tick(25, { bps: 10e6 }));
    expect(a.active().some((x) => x.rule === "bandwidth")).toBe(false);
    expect(a.recent()[a.recent().length - 1]!.cleared).not.toBeNull();
  });

  test("the flow filter names the top hosts at raise time (at most 5, IPv6 too), kept while the alert lasts", () => {
    const a = new AlertEngine();
    const hosts = ["10.0.0.5", "2001:db8::7", "192.0.2.1", "10.0.0.6", "10.0.0.7", "10.0.0.8", "10.0.0.9"];
    const talkers = [...hosts.map((host, k) => ({ host, bytes: 1e6 - k, packets: 1, flows: 1, bps: 1e6 - k })),
      { host: "10.0.0.99", bytes: 0, packets: 0, flows: 0, bps: 0 }];
    for (let s = 1; s <= 5; s++) a.onTick(tick(s, { bps: 150e6, talkers }));
    const al = a.active().find((x) => x.rule === "bandwidth")!;
    expect(al.q).toBe("ip:10.0.0.5 OR ip:2001:db8::7 OR ip:192.0.2.1 OR ip:10.0.0.6 OR ip:10.0.0.7");
    // other hosts later: the raise's filter stays
    a.onTick(tick(6, { bps: 150e6, talkers: [{ host: "10.1.1.1", bytes: 5, packets: 1, flows: 1, bps: 5 }] }));
    expect(a.active().find((x) => x.rule === "bandwidth")!.q).toBe(al.q);
    // no host with traffic (not seen from a real engine): the live rate filter
    const b = new AlertEngine();
    for (let s = 1; s <= 5; s++) b.onTick(tick(s, { bps: 150e6, talkers: [talkers[7]!] }));
    expect(b.active().find((x) => x.rule === "bandwidth")!.q).toBe("bps>0");
  });

  test("a spike shorter than the window does not raise; cool-down blocks a re-raise for 60 s", () => {
    const a = new AlertEngine({ bandwidthSeconds: 2, coolDownSec: 60 });
    a.onTick(tick(1, { bps: 200e6 }));
    a.onTick(tick(2, { bps: 1e6 }));
    a.onTick(tick(3, { bps: 200e6 }));
    expect(a.active()).toEqual([]);
    a.onTick(tick(4, { bps: 200e6 }));
    expect(a.active().map((x) => x.rule)).toEqual(["bandwidth"]);
    for (let s = 5; s <= 6; s++) a.onTick(tick(s, { bps: 0 }));
    expect(a.active()).toEqual([]);
    for (let s = 7; s <= 30; s++) a.onTick(tick(s, { bps: 200e6 }));
    expect(a.active()).toEqual([]);
    for (let s = 31; s <= 70; s++) a.onTick(tick(s, { bps: 200e6 }));
    expect(a.active().map((x) => x.rule)).toEqual(["bandwidth"]);
    expect(a.recent().map((x) => x.rule)).toEqual(["bandwidth", "bandwidth"]);
  });
});

describe("host, flow, drops, interface, scan, system rules", () => {
  test("host and flow over 50 Mbit/s, with ready queries", () => {
    const a = new AlertEngine();
    const f = flow({ id: 7, bps: 70e6, src_ip: "10.0.0.5", dst_ip: "198.51.100.9", dst_port: 80 });
    const talkers = [{ host: "10.0.0.5", bytes: 1, packets: 1, flows: 1, bps: 70e6 }];
    for (let s = 1; s <= 5; s++) a.onTick(tick(s, { bps: 70e6, top: [f], talkers }));
    const host = a.active().find((x) => x.rule === "host_bandwidth")!;
    expect(host).toMatchObject({ severity: "warning", key: "10.0.0.5", q: "ip:10.0.0.5" });
    expect(host.flows.map((x) => x.id)).toEqual([7]);
    const fl = a.active().find((x) => x.rule === "flow_bandwidth")!;
    expect(fl.q).toBe("src_ip:10.0.0.5 dst_ip:198.51.100.9 src_port:40000 dst_port:80 protocol:6");
    // The flow disappears from the top list: cleared after recoverSeconds.
    for (let s = 6; s <= 11; s++) a.onTick(tick(s));
    expect(a.active().filter((x) => x.rule !== "bandwidth")).toEqual([]);
  });

  test("capture drops: error at once, cleared after 5 quiet seconds", () => {
    const a = new AlertEngine();
    a.onTick(tick(1, { capture: { dropped: 12, dropped_last: 12 } }));
    expect(a.active()).toMatchObject([{ rule: "capture_drops", severity: "error", message: "Packet capture degraded - check interface", value: 12 }]);
    for (let s = 2; s <= 6; s++) a.onTick(tick(s, { capture: { dropped: 12 } }));
    expect(a.active()).toEqual([]);
  });

  test("interface down: critical from the capture state or the link, no cool-down", () => {
    const a = new AlertEngine({ recoverSeconds: 1 });
    a.onTick(tick(1, { capture: { state: "down", error: "device went down" } }));
    expect(a.active()).toMatchObject([{ rule: "interface_down", severity: "critical" }]);
    expect(a.active()[0]!.message).toContain("eth9");
    a.onTick(tick(2));
    a.onTick(tick(3));
    expect(a.active()).toEqual([]);
    const iface = { name: "eth9", operstate: "lowerlayerdown", link: "down", source: "sysfs" } as unknown as SystemSample["iface"];
    a.onSystem(sample(4, { iface }));
    expect(a.active().map((x) => x.rule)).toEqual(["interface_down"]);
    const upIface = { ...iface!, operstate: "up", link: "up" } as SystemSample["iface"];
    a.onSystem(sample(5, { iface: upIface }));
    a.onTick(tick(6));
    a.onTick(tick(7));
    expect(a.active()).toEqual([]);
    expect(a.recent().map((x) => x.rule)).toEqual(["interface_down", "interface_down"]);
  });

  test("scan suspected: warning with a query for the attempts, flows looked up", async () => {
    const a = new AlertEngine();
    const looked: string[] = [];
    a.flowLookup = async (q) => (looked.push(q), [flow({ state: "attempted", id: 3 })]);
    a.onTick(tick(1, { scans: [{ src_ip: "10.9.9.9", attempts: 50, unanswered: 45, dst_hosts: 1, dst_ports: 50 }] }));
    const al = a.active()[0]!;
    expect(al).toMatchObject({ rule: "scan", severity: "warning", q: "src_ip:10.9.9.9 (state:attempted OR state:rejected)" });
    await Bun.sleep(0);
    expect(looked).toEqual([al.q]);
    expect(al.flows.map((f) => f.id)).toEqual([3]);
    a.onTick(tick(2, { scans: [{ src_ip: "10.8.8.8", attempts: 5, unanswered: 5, dst_hosts: 5, dst_ports: 5 }] }));
    expect(a.active().map((x) => x.key)).toEqual(["10.9.9.9"]);
  });

  test("flow lookups after an alert storm run one at a time, at most LOOKUP_QUEUE waiting; the rest are skipped and counted", async () => {
    const a = new AlertEngine();
    let inFlight = 0, maxInFlight = 0;
    const looked: string[] = [];
    a.flowLookup = async (q) => {
      looked.push(q);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await Bun.sleep(1);
      inFlight--;
      return [flow({ state: "attempted", id: looked.length })];
    };
    const n = LOOKUP_QUEUE + 6;
    const scans = Array.from({ length: n }, (_, k) => ({ src_ip: `10.9.${k >> 8}.${k & 255}`, attempts: 50, unanswered: 45, dst_hosts: 1, dst_ports: 50 }));
    a.onTick(tick(1, { scans }));
    expect(a.active().length).toBe(n);
    for (let t = Date.now() + 10_000; looked.length < LOOKUP_QUEUE && Date.now() < t;) await Bun.sleep(5);
    await Bun.sleep(20);
    expect(maxInFlight).toBe(1);
    expect(looked.length).toBe(LOOKUP_QUEUE);
    expect(a.lookupsSkipped).toBe(n - LOOKUP_QUEUE);
    const withFlows = a.active().filter((x) => x.flows.length === 1);
    expect(withFlows.length).toBe(LOOKUP_QUEUE);
    // In raise order: the first LOOKUP_QUEUE alerts got their flows, in turn.
    expect(a.active().slice(0, LOOKUP_QUEUE).every((x) => x.flows.length === 1)).toBe(true);
    // The queue drains: a later alert is looked up again.
    a.onTick(tick(2, { scans: [...scans, { src_ip: "10.8.8.8", attempts: 50, unanswered: 45, dst_hosts: 1, dst_ports: 50 }] }));
    for (let t = Date.now() + 5_000; looked.length < LOOKUP_QUEUE + 1 && Date.now() < t;) await Bun.sleep(5);
    expect(looked.at(-1)).toContain("10.8.8.8");
  });

  test("CPU and memory warnings after systemSeconds", () => {
    const a = new AlertEngine({ systemSeconds: 10 });
    for (let s = 0; s <= 10; s += 5) a.onSystem(sample(s, { cpuPercent: 95, memUsed: 7.8e9 }));
    expect(a.active().map((x) => x.rule).sort()).toEqual(["cpu", "memory"]);
    expect(a.active().every((x) => x.severity === "warning")).toBe(true);
    const ev: string[] = [];
    a.onChange((e) => ev.push(`${e.type}:${e.alert.rule}`));
    for (let s = 15; s <= 30; s += 5) a.onSystem(sample(s, { cpuPercent: 20, memUsed: 1e9 }));
    expect(a.active()).toEqual([]);
    expect(ev.sort()).toEqual(["cleared:cpu", "cleared:memory"]);
  });

  test("recent() is bounded", () => {
    const a = new AlertEngine({ recentMax: 3, coolDownSec: 0, recoverSeconds: 1 });
    for (let s = 0; s < 20; s += 2) {
      a.onTick(tick(s, { capture: { dropped_last: 1 } }));
      a.onTick(tick(s + 1));
    }
    expect(a.recent()).toHaveLength(3);
  });
});

describe("suspiciousReasons", () => {
  test("each documented reason", () => {
    expect(suspiciousReasons(flow())).toEqual([]);
    expect(suspiciousReasons(flow({ bps: 60e6 }))).toEqual(["high_rate"]);
    expect(suspiciousReasons(flow({ bps: 60e6 }), { flowBps: 100e6 })).toEqual([]);
    expect(suspiciousReasons(flow({ state: "rejected" }))).toEqual(["rejected"]);
    const scan = { scanSources: new Set(["10.0.0.5"]) };
    expect(suspiciousReasons(flow({ state: "attempted", dst_packets: 0 }), scan)).toEqual(["scan"]);
    expect(suspiciousReasons(flow({ state: "rejected" }), scan)).toEqual(["scan", "rejected"]);
    expect(suspiciousReasons(flow({ state: "established" }), scan)).toEqual([]);
    for (const port of [21, 23, 110, 143]) expect(suspiciousReasons(flow({ dst_port: port }))).toEqual(["cleartext_credentials"]);
    expect(suspiciousReasons(flow({ dst_port: 23, state: "attempted", dst_packets: 0 }))).toEqual([]);
    expect(suspiciousReasons(flow({ dst_port: 23, proto: "udp", proto_num: 17, state: "bidirectional" }))).toEqual([]);
    expect(suspiciousReasons(flow({ dst_port: 993 }))).toEqual([]);
  });
});
