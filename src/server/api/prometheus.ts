/**
 * GET /metrics: Prometheus text exposition format 0.0.4, every metric with HELP and TYPE.
 * Counters are totals since the server started (capture counters survive capture re-opens).
 * Limit: host CPU and memory are the latest system sample (every metricsIntervalMs), absent
 * before the first one.
 */
import { Elysia } from "elysia";
import type { ServerContext } from "../context.ts";
import { healthReport } from "../health.ts";
import { internal } from "./schemas/errors.ts";
import { operation, text } from "./schemas/operation.ts";

type Sample = { labels?: Record<string, string>; value: number };

function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

class Exposition {
  private out: string[] = [];
  add(name: string, type: "counter" | "gauge", help: string, samples: Sample[] | number | null | undefined): void {
    if (samples === null || samples === undefined) return;
    const list = typeof samples === "number" ? [{ value: samples }] : samples;
    this.out.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${type}`);
    for (const s of list) {
      const labels = s.labels ? `{${Object.entries(s.labels).map(([k, v]) => `${k}="${esc(v)}"`).join(",")}}` : "";
      this.out.push(`${name}${labels} ${num(s.value)}`);
    }
  }
  text(): string {
    return this.out.join("\n") + "\n";
  }
}

export async function prometheusText(ctx: ServerContext): Promise<string> {
  const snap = await ctx.engine.statusOrLast();
  const h = await healthReport(ctx, snap);
  const st = snap.status;
  const x = ctx.metrics.latest();
  const tick = ctx.engine.last;
  const e = new Exposition();
  const c = h.capture;
  e.add("flowmatrix_info", "gauge", "Build and capture information (value 1).", [
    { labels: { version: h.version, source: c.source, interface: c.interface }, value: 1 },
  ]);
  e.add("flowmatrix_capture_up", "gauge", "1 while the capture is active or has finished a file, 0 when down or stopped.", c.state === "active" || c.state === "finished" ? 1 : 0);
  e.add("flowmatrix_health_status", "gauge", "Health: 0 ok, 1 degraded, 2 critical.", h.status === "ok" ? 0 : h.status === "degraded" ? 1 : 2);
  e.add("flowmatrix_engine_up", "gauge", "1 while the engine Worker answers, 0 while it is being restarted.", h.engine.state === "running" && !snap.unavailable ? 1 : 0);
  e.add("flowmatrix_engine_faults_total", "counter", "Exceptions in the engine (logged on stderr), Worker deaths included.", h.engine.faults);
  e.add("flowmatrix_engine_restarts_total", "counter", "Engine Workers started again after one died.", h.engine.restarts);
  e.add("flowmatrix_packets_total", "counter", "Packets processed by the flow engine.", st.stats.packets);
  e.add("flowmatrix_bytes_total", "counter", "Bytes (wire length) processed by the flow engine.", st.stats.bytes);
  e.add("flowmatrix_non_ip_packets_total", "counter", "Packets that were not IP.", st.stats.non_ip_packets);
  e.add("flowmatrix_malformed_packets_total", "counter", "Packets not keyed into a flow because they did not validate.", st.stats.malformed_packets);
  e.add("flowmatrix_capture_received_total", "counter", "Packets received by the capture (pcap_stats ps_recv; lo counts twice).", c.received);
  e.add("flowmatrix_capture_dropped_total", "counter", "Packets dropped by the kernel capture buffer (pcap_stats ps_drop).", c.dropped);
  e.add("flowmatrix_capture_if_dropped_total", "counter", "Packets dropped by the interface (pcap_stats ps_ifdrop).", c.if_dropped);
  e.add("flowmatrix_capture_reopens_total", "counter", "Capture re-opens after an error.", c.reopens);
  e.add("flowmatrix_flows_active", "gauge", "Flows in the live table.", st.stats.active_flows);
  e.add("flowmatrix_flows_created_total", "counter", "Flows created.", st.stats.flows);
  e.add("flowmatrix_flows_ended_total", "counter", "Flows ended (idle, active timeout, TCP close, eviction, end of capture).", st.stats.ended_flows);
  e.add("flowmatrix_flows_evicted_total", "counter", "Flows evicted because the table was full.", st.stats.evicted);
  e.add("flowmatrix_flow_table_capacity", "gauge", "Maximum flows in the live table.", st.capacity);
  const perSink = (f: (s: (typeof h.sinks)[number]) => number) => h.sinks.map((s) => ({ labels: { sink: s.name }, value: f(s) }));
  e.add("flowmatrix_sink_flows_total", "counter", "Ended flows handed to each sink (history store, exporters).", perSink((s) => s.flows));
  e.add("flowmatrix_sink_dropped_flows_total", "counter", "Ended flows a sink could not take (its queue was full): dropped for that sink only.", perSink((s) => s.dropped_flows));
  e.add("flowmatrix_sink_dropped_batches_total", "counter", "Batches of ended flows a sink could not take.", perSink((s) => s.dropped_batches));
  e.add("flowmatrix_exports_running", "gauge", "Flow exports (CSV/NDJSON) being read from the engine.", h.exports.open);
  const perExporter = (f: (s: (typeof h.exporters)[number]) => number) => h.exporters.map((s) => ({ labels: { target: s.target }, value: f(s) }));
  e.add("flowmatrix_ipfix_flows_total", "counter", "Ended flows encoded as IPFIX records and handed to the socket (--export-ipfix).", perExporter((s) => s.flows));
  e.add("flowmatrix_ipfix_messages_total", "counter", "IPFIX messages (UDP datagrams) sent, template messages included.", perExporter((s) => s.messages));
  e.add("flowmatrix_ipfix_bytes_total", "counter", "Bytes of IPFIX messages sent.", perExporter((s) => s.bytes));
  e.add("flowmatrix_ipfix_send_errors_total", "counter", "IPFIX datagrams that could not be sent (their records are lost; capture goes on).", perExporter((s) => s.send_errors));
  const col = h.collector;
  if (col) {
    const exporters = col.exporters;
    const perEx = (f: (x: (typeof exporters)[number]) => number) => exporters.map((x) => ({ labels: { exporter: x.address }, value: f(x) }));
    e.add("flowmatrix_collector_packets_total", "counter", "NetFlow/IPFIX datagrams received, per exporter (--collect-netflow).", perEx((x) => x.packets));
    e.add("flowmatrix_collector_records_total", "counter", "Flow records decoded, per exporter.", perEx((x) => x.records));
    e.add("flowmatrix_collector_errors_total", "counter", "Datagrams, sets or records refused, per exporter and reason.",
      exporters.flatMap((x) => Object.entries(x.error_reasons).map(([reason, n]) => ({ labels: { exporter: x.address, reason }, value: n }))));
    e.add("flowmatrix_collector_lost_total", "counter", "Records (v5, IPFIX) or datagrams (v9) missing from the exporter's sequence numbers.", perEx((x) => x.lost));
    e.add("flowmatrix_collector_sampling_rate", "gauge", "Sampling rate the exporter announced (1 = not sampled); counts are scaled by it.", perEx((x) => x.sampling_rate));
    e.add("flowmatrix_collector_last_seen_seconds", "gauge", "Time of the exporter's last datagram, seconds since the epoch.", perEx((x) => x.last_seen));
  }
  if (h.history) {
    e.add("flowmatrix_history_up", "gauge", "1 while the history store writes normally, 0 when degraded.", h.history.state === "ok" ? 1 : 0);
    e.add("flowmatrix_history_flows", "gauge", "Flows in the history store.", h.history.flows);
    e.add("flowmatrix_history_bytes", "gauge", "Size of the history database.", h.history.bytes);
    e.add("flowmatrix_history_inserted_total", "counter", "Flows written to the history store since start.", h.history.inserted);
    e.add("flowmatrix_history_dropped_total", "counter", "Ended flows the history store could not take (behind, or failing) since start.", h.history.dropped);
  }
  e.add("flowmatrix_bandwidth_bits_per_second", "gauge", "Traffic in the last complete second, bit/s.", tick?.bps ?? 0);
  e.add("flowmatrix_packets_per_second", "gauge", "Packets in the last complete second.", tick?.pps ?? 0);
  const counts = { warning: 0, error: 0, critical: 0 };
  for (const a of ctx.alerts.active()) counts[a.severity]++;
  e.add("flowmatrix_alerts_active", "gauge", "Active alerts by severity.",
    (Object.keys(counts) as (keyof typeof counts)[]).map((s) => ({ labels: { severity: s }, value: counts[s] })));
  e.add("flowmatrix_host_cpu_percent", "gauge", "Host CPU use, percent of all cores.", x?.cpuPercent);
  e.add("flowmatrix_host_memory_used_bytes", "gauge", "Host memory in use (total - available).", x?.memUsed);
  e.add("flowmatrix_host_memory_total_bytes", "gauge", "Host memory.", x?.memTotal);
  e.add("flowmatrix_process_cpu_percent", "gauge", "This process's CPU, percent of one core.", x?.procCpuPercent);
  e.add("flowmatrix_process_resident_memory_bytes", "gauge", "This process's resident set size.", x?.procRss ?? process.memoryUsage().rss);
  e.add("flowmatrix_uptime_seconds", "gauge", "Seconds since the server started.", h.uptime_s);
  return e.text();
}

export function prometheusRoutes(ctx: ServerContext) {
  return new Elysia().get("/metrics", async () => new Response(await prometheusText(ctx), {
    headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" },
  }), {
    detail: operation({
      summary: "Prometheus metrics", description: "Text exposition format 0.0.4; every metric with HELP and TYPE.", tags: ["system"],
      responses: { "200": text("The metrics.", ["text/plain; version=0.0.4"]), "500": internal },
    }),
  });
}
