/**
 * Messages between the server thread and the engine Worker (capture → decode → flow table).
 * The Worker owns every flow; the server asks it for pages of records and receives a summary
 * once per wall-clock second.
 */
import type { FlowRecord } from "../flows/format/record.ts";
import type { Talker } from "../flows/stats/talkers.ts";
import type { ScanCandidate } from "../flows/stats/scan.ts";
import type { EngineStats } from "../flows/engine.ts";
import type { ReplayPosition } from "../capture/replay-source.ts";
import type { CaptureSourceConfig, CaptureStatus } from "../capture/capture-runner.ts";
import type { CallMessage } from "./calls.ts";
import type { PortSinkConfig } from "./port-sink.ts";
import type { WireError } from "./wire-error.ts";
import type { IpfixExportConfig } from "../export/ipfix-sink.ts";
import type { CollectorListen } from "../collect/collector.ts";

export type { CaptureState, CaptureStatus } from "../capture/capture-runner.ts";
export type { ScanCandidate } from "../flows/stats/scan.ts";

export interface EngineConfig {
  /** Live capture on an interface, or replay of a capture file. */
  source: CaptureSourceConfig;
  filter?: string;
  maxFlows?: number;
  idleTimeout?: number;
  activeTimeout?: number;
  recentEnded?: number;
  /** Id of the first flow (the history store's next id, so ids never repeat across restarts). */
  firstFlowId?: number;
  /** IPFIX exporter (--export-ipfix): the engine Worker sends every ended flow there (export/ipfix-sink.ts). */
  exportIpfix?: IpfixExportConfig;
  /**
   * NetFlow v5/v9/IPFIX collector (--collect-netflow): the engine Worker listens on this UDP address
   * and adds every decoded flow record to the table (src/collect). With capture kind "none" it is the
   * only flow source, and the engine clock is the wall clock.
   */
  collect?: CollectorListen;
  /** --geoip-db / --asn-db: the user's MMDB files for country and AS (default: the bundled data; src/l7/geo.ts). */
  geoipDb?: string;
  asnDb?: string;
}

export interface SeriesPayload {
  step: number;
  t: number[];
  series: Record<string, (number | null)[]>;
}

/**
 * One row of the Live "Top applications" panel: bytes of one application over the last 60
 * summaries, split by how the app was decided (payload inspection, or the well-known-port guess).
 */
export interface AppUsage {
  /** Application name (src/l7/apps.ts), or "unknown" for flows with neither a payload match nor a listed port. */
  app: string;
  bytes: number;
  payload_bytes: number;
  port_bytes: number;
  /** bits/s over the latest tick. */
  bps: number;
}

/** A top talker annotated by the engine: passive-DNS name, country or special range, AS. */
export interface TalkerInfo extends Talker {
  name?: string | null;
  /** ISO 3166-1 alpha-2 (upper case), or null. */
  country?: string | null;
  /** Special-purpose range label (private, loopback, link-local, …), or null for a global address. */
  special?: string | null;
  asn?: number | null;
  as_name?: string | null;
}

/** Sent once per wall-clock second. */
export interface TickSummary {
  wall: number;
  /** Engine clock (packet time). */
  now: number;
  capture: CaptureStatus;
  stats: EngineStats;
  /** Last complete second: bits/s, packets/s, active flows. */
  bps: number;
  pps: number;
  active_flows: number;
  /** Per-second totals for the last 60 s. */
  last60: SeriesPayload;
  /** Top 10 hosts over 60 s, annotated with name / country / AS when the inspector and GeoLookup run. */
  talkers: TalkerInfo[];
  /** Top 10 applications by bytes over the last 60 summaries (empty without the inspector). */
  apps?: AppUsage[];
  /** Flows with the highest current rate (for high-rate alerts). */
  top_flows: FlowRecord[];
  /** Sources that look like scans (many unanswered SYNs / ports / hosts). */
  scans: ScanCandidate[];
  /** A file replay's position in its file (pass, packets, offset); null/absent for a live capture. */
  replay?: ReplayPosition | null;
}


export type ToWorker =
  /**
   * generation: 0 for the first Worker, n after n restarts. testFault: the test-only fault hook
   * (FLOWMATRIX_TEST_ENGINE_FAULT in the server's environment; see engine-worker.ts).
   */
  | { type: "init"; config: EngineConfig; generation: number; testFault?: string; sinks?: PortSinkConfig[] }
  | CallMessage
  | { type: "stop" };

export type FromWorker =
  /** The first capture open succeeded (or, for a file, the file and filter are usable). */
  | { type: "ready" }
  /** The first capture open failed: a configuration error (no such interface, bad filter…). */
  | { type: "start-failed"; error: WireError }
  | { type: "tick"; summary: TickSummary }
  | { type: "reply"; id: number; result?: unknown; error?: WireError }
  | { type: "fatal"; error: { name: string; message: string } }
  /** An unexpected exception in the Worker (handler, tick, packet path, timer): it keeps serving. */
  | { type: "fault"; where: string; error: WireError }
  | { type: "stopped" };
