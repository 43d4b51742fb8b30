/**
 * Health, metrics history, Prometheus /metrics, talkers, bandwidth, alerts and the OpenAPI
 * document, against a real server replaying zeek__wikipedia.pcap (checked against its tshark
 * oracle for the packet count).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { FLOW_PARAM_NAMES } from "../src/server/api/flow-request.ts";
import type { HealthReport } from "../src/server/health.ts";
import { PCAPS, startReplay, type Replay } from "./api-server-fixture.ts";

const FILE = "zeek__wikipedia.pcap";
const oracle = JSON.parse(readFileSync(`${PCAPS}oracle/${FILE}.json`, "utf8")) as { packets_total: number };

let r: Replay;
beforeAll(async () => {
  r = await startReplay(FILE);
}, 30_000);
afterAll(() => r?.stop());

describe("GET /api/v1/health", () => {
  test("reports capture, flows, system, uptime and version", async () => {
    const { status, body } = await r.get<HealthReport>("/api/v1/health");
    expect(status).toBe(200);
    expect(body.status).toBe("ok");
    expect(body.reasons).toEqual([]);
    expect(body.capture).toMatchObject({ source: "file", state: "finished", linktype: 1, dropped: 0, if_dropped: 0, drop_rate: 0 });
    expect(body.capture.interface).toEndWith(FILE);
    expect(body.capture.packets).toBe(oracle.packets_total);
    const flows = (await r.get<{ total: number }>("/api/v1/flows?limit=0")).body.total;
    expect(body.flows.active + body.flows.ended).toBe(flows);
    expect(body.flows.evicted).toBe(0);
    expect(body.flows.capacity).toBeGreaterThan(0);
    expect(typeof body.system.cpu_percent).toBe("number");
    expect(body.system.load).toHaveLength(3);
    expect(body.system.memory_total!).toBeGreaterThan(body.system.memory_used!);
    expect(body.system.process_rss).toBeGreaterThan(1e6);
    expect(typeof body.system.process_cpu).toBe("number");
    expect(body.uptime_s).toBeGreaterThanOrEqual(0);
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe("GET /api/v1/metrics/history", () => {
  test("series aligned with t at the collector's step", async () => {
    await Bun.sleep(1100); // a few 500 ms samples
    const { status, body } = await r.get<{ step: number; t: number[]; series: Record<string, (number | null)[]> }>("/api/v1/metrics/history?duration=60s");
    expect(status).toBe(200);
    expect(body.step).toBe(0.5);
    expect(body.t.length).toBeGreaterThan(2);
    for (const name of ["cpu_percent", "memory_used", "process_rss", "dropped", "bps", "pps", "active_flows"]) {
      expect(body.series[name]).toHaveLength(body.t.length);
    }
    expect(body.series.process_rss!.some((v) => v !== null && v > 1e6)).toBe(true);
    expect(body.series.dropped!.every((v) => v === null || v === 0)).toBe(true);
    for (let i = 1; i < body.t.length; i++) expect(body.t[i]! - body.t[i - 1]!).toBeCloseTo(0.5, 6);
  });
  test("long durations come back coarser", async () => {
    const { body } = await r.get<{ step: number; t: number[] }>("/api/v1/metrics/history?duration=24h&points=100");
    expect(body.step).toBeGreaterThan(0.5);
    expect(body.t.length).toBeLessThanOrEqual(100);
  });
});

describe("GET /metrics (Prometheus)", () => {
  test("parses, with HELP/TYPE and the expected values", async () => {
    const res = await fetch(`${r.url}/metrics`);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    const mod = (await import("parse-prometheus-text-format" as string)) as { default: (t: string) => { name: string; help: string; type: string; metrics: { value: string; labels?: Record<string, string> }[] }[] };
    const families = mod.default(text);
    const by = new Map(families.map((f) => [f.name, f]));
    for (const f of families) {
      expect(f.help.length).toBeGreaterThan(0);
      expect(["COUNTER", "GAUGE"]).toContain(f.type);
    }
    const val = (n: string) => Number(by.get(n)!.metrics[0]!.value);
    expect(val("flowmatrix_packets_total")).toBe(oracle.packets_total);
    expect(by.get("flowmatrix_packets_total")!.type).toBe("COUNTER");
    expect(val("flowmatrix_capture_dropped_total")).toBe(0);
    expect(val("flowmatrix_bytes_total")).toBeGreaterThan(0);
    const health = (await r.get<HealthReport>("/api/v1/health")).body;
    expect(val("flowmatrix_flows_active")).toBe(health.flows.active);
    expect(val("flowmatrix_flows_ended_total")).toBe(health.flows.ended);
    expect(val("flowmatrix_flows_evicted_total")).toBe(0);
    expect(by.get("flowmatrix_alerts_active")!.metrics.map((m) => m.labels!.severity).sort()).toEqual(["critical", "error", "warning"]);
    expect(val("flowmatrix_process_resident_memory_bytes")).toBeGreaterThan(1e6);
    expect(by.has("flowmatrix_host_cpu_percent")).toBe(true);
    expect(val("flowmatrix_capture_up")).toBe(1);
  });
});

describe("GET /api/v1/talkers and /api/v1/bandwidth", () => {
  test("talkers: sorted by bytes, limited, by src/dst/host", async () => {
    for (const by of ["src", "dst", "host"]) {
      const { status, body } = await r.get<{ talkers: { host: string; bytes: number; packets: number; flows: number; bps: number }[]; by: string; window_s: number }>(`/api/v1/talkers?by=${by}&window=300s&limit=3`);
      expect(status).toBe(200);
      expect(body.by).toBe(by);
      expect(body.window_s).toBe(300);
      expect(body.talkers.length).toBeGreaterThan(0);
      expect(body.talkers.length).toBeLessThanOrEqual(3);
      for (let i = 1; i < body.talkers.length; i++) expect(body.talkers[i]!.bytes).toBeLessThanOrEqual(body.talkers[i - 1]!.bytes);
      for (const t of body.talkers) expect(t.bps).toBe(Math.round((t.bytes * 8) / 300));
    }
    expect((await r.get<{ window_s: number }>("/api/v1/talkers")).body.window_s).toBe(60);
  });

  test("bandwidth: bit/s series add up to the bytes seen; protocols add up to the total", async () => {
    type Bw = { step: number; t: number[]; bps: (number | null)[]; pps: (number | null)[]; flows: (number | null)[]; by_protocol: Record<string, (number | null)[]> };
    const { status, body } = await r.get<Bw>("/api/v1/bandwidth?duration=30m&points=2000");
    expect(status).toBe(200);
    expect(body.step).toBe(1);
    for (const a of [body.bps, body.pps, body.flows, ...Object.values(body.by_protocol)]) expect(a).toHaveLength(body.t.length);
    expect(Object.keys(body.by_protocol).sort()).toEqual(["icmp", "non_ip", "other", "tcp", "udp"]);
    const bytes = body.bps.reduce<number>((s, v) => s + (v ?? 0), 0) * body.step / 8;
    const pkts = body.pps.reduce<number>((s, v) => s + (v ?? 0), 0) * body.step;
    const text = await (await fetch(`${r.url}/metrics`)).text();
    const total = Number(/^flowmatrix_bytes_total (\d+)$/m.exec(text)![1]);
    expect(bytes).toBeCloseTo(total, 0);
    expect(pkts).toBeCloseTo(oracle.packets_total, 0);
    body.t.forEach((_, i) => {
      const sum = Object.values(body.by_protocol).reduce((s, a) => s + (a[i] ?? 0), 0);
      expect(sum).toBeCloseTo(body.bps[i] ?? 0, 1);
    });
    // Downsampled (2 s buckets): mean rates per bucket; only a clipped edge bucket may differ.
    const coarse = (await r.get<Bw>("/api/v1/bandwidth?duration=1h&points=2000")).body;
    expect(coarse.step).toBe(2);
    const coarseBytes = coarse.bps.reduce<number>((s, v) => s + (v ?? 0), 0) * coarse.step / 8;
    expect(Math.abs(coarseBytes - total) / total).toBeLessThan(0.05);
    const short = (await r.get<Bw>("/api/v1/bandwidth?duration=60s")).body;
    expect(short.step).toBe(1);
    expect(short.t.length).toBeLessThanOrEqual(61);
  });
});

describe("GET /api/v1/alerts", () => {
  test("active and recent lists", async () => {
    const { status, body } = await r.get<{ active: unknown[]; recent: unknown[] }>("/api/v1/alerts");
    expect(status).toBe(200);
    expect(Array.isArray(body.active)).toBe(true);
    expect(Array.isArray(body.recent)).toBe(true);
  });
});

describe("OpenAPI", () => {
  test("document lists every endpoint and every flows parameter", async () => {
    const { status, body } = await r.get<{ openapi: string; paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>> }>("/api/v1/openapi.json");
    expect(status).toBe(200);
    expect(body.openapi).toMatch(/^3\./);
    const paths = Object.keys(body.paths).sort();
    expect(paths).toEqual([
      "/api/v1/alerts", "/api/v1/bandwidth", "/api/v1/flows", "/api/v1/flows/{id}", "/api/v1/health",
      "/api/v1/metrics/history", "/api/v1/settings", "/api/v1/talkers", "/metrics",
    ]);
    const flowParams = body.paths["/api/v1/flows"]!.get!.parameters!.map((p) => p.name).sort();
    expect(flowParams).toEqual([...FLOW_PARAM_NAMES].sort());
    expect(body.paths["/api/v1/flows/{id}"]!.get!.parameters!.map((p) => `${p.in}:${p.name}`)).toEqual(["path:id"]);
    expect(body.paths["/api/v1/talkers"]!.get!.parameters!.map((p) => p.name).sort()).toEqual(["by", "limit", "window"]);
    expect(body.paths["/api/v1/bandwidth"]!.get!.parameters!.map((p) => p.name).sort()).toEqual(["duration", "points"]);
    expect(body.paths["/api/v1/metrics/history"]!.get!.parameters!.map((p) => p.name).sort()).toEqual(["duration", "points"]);
  });
  test("docs page renders every path", async () => {
    const res = await fetch(`${r.url}/api/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    for (const p of ["/api/v1/flows", "/api/v1/flows/{id}", "/api/v1/talkers", "/api/v1/health", "/metrics", "sort_by"]) expect(html).toContain(p);
    // Typed parameters and the responses, from the document.
    for (const p of ["integer 0-100000 (default 100)", "one of asc, desc (default desc)", "integer ≥ 1", "Responses: 200 application/json, text/csv, application/x-ndjson · 400 application/json"]) expect(html).toContain(p);
    expect(html).not.toContain("<script");
  });
});
