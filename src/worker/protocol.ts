/**
 * Messages between the server thread and the engine Worker (capture → decode → flow table).
 * The Worker owns every flow; the server asks it for pages of records and receives a summary
 * once per wall-clock second.
 */
import type { FlowRecord } from "../flows/record.ts";
import type { Membership, SortKey } from "../flows/select.ts";
import type { Talker, TalkerBy } from "../flows/talkers.ts";
import type { EngineStats } from "../flows/engine.ts";
import type { ReplayPosition } from "../capture/replay-source.ts";
import type { WireError } from "./wire-error.ts";

export interface EngineConfig {
  /** Live capture on an interface, or replay of a capture file. */
  source:
    | { kind: "live"; interface: string }
    | {
        kind: "file"; path: string; speed: number | "max"; loop: boolean;
        /** Longest wait between two packets of a paced replay, in seconds (serve --max-gap). */
        maxGap?: number;
      };
  filter?: string;
  maxFlows?: number;
  idleTimeout?: number;
  activeTimeout?: number;
  recentEnded?: number;
}

export type CaptureState = "starting" | "active" | "down" | "stopped" | "finished";

export interface CaptureStatus {
  interface: string;
  source: "live" | "file";
  state: CaptureState;
  /** Last capture error (interface down, permission…), null when none. */
  error: string | null;
  linktype: number | null;
  packets: number;
  /** pcap_stats: received (lo counts twice), dropped by the kernel, dropped by the interface. */
  received: number;
  dropped: number;
  if_dropped: number;
  /** dropped / (received) over the whole run (0..1). */
  drop_rate: number;
  /** Drops in the last second. */
  dropped_last: number;
  /** Capture restarts after an error. */
  reopens: number;
}

export interface FlowQuery {
  /** Query text in the grammar (already validated by the caller). */
  q: string;
  state: Membership;
  sortBy: SortKey;
  order: "asc" | "desc";
  offset: number;
  limit: number;
}

export interface SeriesPayload {
  step: number;
  t: number[];
  series: Record<string, (number | null)[]>;
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
  /** Bytes by protocol class over the last 60 s. */
  protocols: Record<string, number>;
  talkers: Talker[];
  /** Flows with the highest current rate (for high-rate alerts). */
  top_flows: FlowRecord[];
  /** Sources that look like scans (many unanswered SYNs / ports / hosts). */
  scans: ScanCandidate[];
  /** A file replay's position in its file (pass, packets, offset); null/absent for a live capture. */
  replay?: ReplayPosition | null;
}

export interface ScanCandidate {
  src_ip: string;
  attempts: number;
  unanswered: number;
  dst_hosts: number;
  dst_ports: number;
}

export type Call =
  | { method: "flows"; params: FlowQuery }
  | { method: "flow"; params: { id: number } }
  | { method: "talkers"; params: { by: TalkerBy; window: number; limit: number } }
  | { method: "bandwidth"; params: { duration: number; maxPoints?: number } }
  | { method: "status"; params: Record<string, never> };

export type ToWorker =
  /**
   * generation: 0 for the first Worker, n after n restarts. testFault: the test-only fault hook
   * (FLOWMATRIX_TEST_ENGINE_FAULT in the server's environment; see engine-worker.ts).
   */
  | { type: "init"; config: EngineConfig; generation: number; testFault?: string }
  | ({ type: "call"; id: number } & Call)
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
