/** Sample view-model data for the view tests (plausible values, not captured traffic). */
import type {
  Alert, AlertsJson, BandwidthJson, CountersView, FlowView, HealthJson, MetricsHistoryJson, Talker,
} from "./types.ts";

export const NOW = Date.parse("2026-11-28T12:00:00Z");
const T0 = NOW / 1000 - 60;

export function flow(over: Partial<FlowView> = {}): FlowView {
  return {
    id: 1, proto: "tcp", proto_num: 6, ip_version: 4, vlan: null,
    src_ip: "192.168.1.10", src_port: 51234, dst_ip: "93.184.216.34", dst_port: 443,
    packets: 120, bytes: 98000, src_packets: 60, src_bytes: 8000, dst_packets: 60, dst_bytes: 90000,
    first_seen: new Date(NOW - 134000).toISOString(), last_seen: new Date(NOW).toISOString(),
    duration_ms: 134000, tcp_flags: "FSPA", src_tcp_flags: "SPA", dst_tcp_flags: "FSPA", state: "established",
    bps: 12400000, active: true, end_reason: null, suspicious: [],
    community_id: "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", app: "tls", app_source: "payload", server_name: "example.com",
    src_name: null, dst_name: "example.com", src_country: "private", dst_country: "US", src_asn: null, dst_asn: 15133,
    src_as_name: null, dst_as_name: "EDGECAST", source: "capture", exporter: null, exporter_domain: null,
    ...over,
  };
}

export function health(over: { capture?: Partial<HealthJson["capture"]>; system?: Partial<HealthJson["system"]>; flows?: Partial<HealthJson["flows"]> } & Partial<Omit<HealthJson, "capture" | "system" | "flows">> = {}): HealthJson {
  const { capture, system, flows, ...rest } = over;
  return {
    status: "ok", reasons: [], uptime_s: 3725, version: "0.1.0",
    ...rest,
    capture: { interface: "eth0", source: "live", state: "active", linktype: "EN10MB", packets: 1234567, dropped: 0, if_dropped: 0, drop_rate: 0, ...capture },
    flows: { active: 1247, ended: 5000, evicted: 0, capacity: 100000, ...flows },
    system: { cpu_percent: 3, load: [0.1, 0.2, 0.3], memory_used: 512e6, memory_total: 8e9, process_rss: 48e6, process_cpu: 1.5, ...system },
  };
}

export function bandwidth(n = 60): BandwidthJson {
  const t = Array.from({ length: n }, (_, i) => T0 + i);
  return {
    step: 1, t,
    bps: t.map((_, i) => 1e6 + i * 1e5), pps: t.map((_, i) => 100 + i),
    flows: t.map(() => 10),
    by_protocol: { tcp: t.map(() => 8e5), udp: t.map(() => 2e5) },
  };
}

export function history(n = 90): MetricsHistoryJson {
  const t = Array.from({ length: n }, (_, i) => T0 + i * 10);
  const s = (f: (i: number) => number | null) => t.map((_, i) => f(i));
  return {
    step: 10, t,
    series: {
      cpu_percent: s((i) => (i === 5 ? null : 3 + (i % 7))), memory_used: s(() => 5e8), process_rss: s(() => 4.8e7),
      dropped: s(() => 0), bps: s((i) => i * 1e4), pps: s((i) => i), active_flows: s(() => 1247),
    },
  };
}

export const counters: CountersView = { bps: 12.4e6, pps: 1500, active_flows: 1247, packets: 1234567, dropped: 0 };

export const talkers: Talker[] = [
  { host: "192.168.1.10", bytes: 3.1e9, packets: 2e6, flows: 40, bps: 12.4e6 },
  { host: "2001:db8::1", bytes: 1e6, packets: 900, flows: 3, bps: 8000 },
];

export function alert(over: Partial<Alert> = {}): Alert {
  return {
    id: "a1", rule: "high_bandwidth", severity: "error", since: "2026-11-28T11:55:00.000Z",
    message: "Bandwidth above 100 Mbit/s", flows: [flow()], q: "ip:192.168.1.10", ...over,
  };
}

export const noAlerts: AlertsJson = { active: [], recent: [] };

/** A string that becomes markup if any view forgets to escape it. */
export const EVIL = `"><script>alert(1)</script><img src=x onerror=alert(1)>`;
