/**
 * # History store (src/store)
 *
 * Ended flows, traffic and system-metric history and alert events survive restarts in one SQLite
 * database (bun:sqlite, WAL, synchronous=NORMAL, auto_vacuum=INCREMENTAL), written and queried in
 * its own Worker (store-worker.ts; main-thread side StoreClient) so that neither the packet loop
 * nor the HTTP server waits on the disk.
 *
 * ## Schema (schema.ts; PRAGMA user_version, migrations applied at start)
 * - `flows_<n>` segments, listed in `segments` (rows, min/max first and last ms, max id, sealed).
 *   Columns: id INTEGER PRIMARY KEY (= the flow's F_ID, so rowid = id, no extra index),
 *   first_ms, dur_ms, last_adj (last_ms = first_ms + dur_ms + last_adj; all three reproduce
 *   first_seen, last_seen and duration_ms exactly), src, dst (IPv4 as the signed 32-bit key
 *   word, IPv6 as a 16-byte BLOB; already resolved to initiator / responder), sport, dport,
 *   proto, vlan (−1 = none), state (index in STATES, computed at insert), reason (EndReason),
 *   flags (initiator | responder << 8), packets, dst_packets, bytes, dst_bytes. Indexes per
 *   segment: src, dst, bytes. Rows are written straight from FlowColumns (flow-rows.ts): no
 *   FlowRecord, no strings; read back they deep-equal toRecord() (bps 0, active false).
 * - A segment takes flows until it holds 250,000 (fewer under a small size limit: at most
 *   ~1/8 of retentionBytes) or a batch ends past its hour, then a new one starts. Queries skip segments outside [since, until]; retention drops whole segments.
 * - `traffic_s` / `traffic_m` (per second for 1 h / per minute for 30 days), `metrics_s` /
 *   `metrics_m` with `metric_names` (raw samples for 1 h / per-minute sums and counts for 30
 *   days), `alert_events` (raised / cleared + the Alert as JSON, 30 days), `meta` (max flow id).
 *
 * ## Why segments rather than one table with a time index
 * Reasoned, not measured side by side (only the segment layout was benchmarked): one table needs
 * a time index (≈ 15 B/flow more, over the 120 B budget with src/dst/bytes), per-row DELETEs for
 * age retention (as costly as the inserts, touching every index) and secondary indexes of 10 M
 * entries, so inserts become random writes over the whole file. Segments keep the indexes an
 * insert touches small and cached (253 k flows/s sustained at 10 M flows), drop old flows with
 * DROP TABLE, and bound a time query to the segments it overlaps without any time index.
 *
 * ## Queries (flow-sql.ts, flow-query.ts)
 * The grammar's AST compiles to a WHERE clause with `?` parameters only (fixed column names and
 * computed planner hints are the only SQL text), with the semantics of query-compile.ts
 * (flow-sql.test.ts runs 88 queries both ways over the same flows and gets the same ids). Each
 * overlapping segment returns its best offset + limit rows and its count; they are merged.
 *
 * ## Measured (2-core VM, Bun 1.4.5 / SQLite 3.54.1, other work on the machine)
 * `bun bench/store-insert.ts --rows 10000000 --keep /tmp/fm-store-bench` (flows over 7 days) and
 * `bun bench/store-query.ts --dir /tmp/fm-store-bench`:
 * - insert: 294 k flows/s over the first 1 M, 253 k flows/s sustained over 10 M (batches of 4096,
 *   retention running, synthetic flow generation included; 272 k/s without it).
 * - size: 98.0 B/flow at 1 M, 99.5 B/flow at 10 M (file size / flows, indexes included): table
 *   55.7, src 14.9, dst 14.7, bytes 12.0 B/flow. IPv6 flows take ≈ 24 B more.
 * - 24 h `src_ip:10.0.0.0/8 bytes>1M` sort bytes limit 100 over 10 M flows (1.43 M in the day,
 *   25.5 k matches, exact total): p50 44 ms, p99 85 ms; sorted by last_seen p50 63, p99 73 ms;
 *   `dst_ip:192.168.7.0/24` p99 8 ms; `ip:8.8.8.8` p99 120 ms; no filter (total of 1.43 M)
 *   p99 30 ms; `protocol:udp port:53` (no index) p99 163 ms; 7 days of the first query p99 484 ms.
 * - findFlow by id: ~2 ms.
 * - Dense case, all 10 M flows within the last 24 h (`--span-hours 24`, 49 segments of 250 k):
 *   insert 150 k flows/s sustained, 99.4 B/flow; the 24 h query matches 180 k flows and takes
 *   p50 346 ms, p99 417 ms (over the 300 ms target: the exact total is most of it); by
 *   last_seen p99 711 ms; `dst_ip:192.168.7.0/24` p99 28 ms; no filter (10 M total) p99 141 ms;
 *   `protocol:udp port:53` p99 962 ms.
 *
 * ## Retention (retention.ts)
 * Age counts back from the newest stored flow's last_seen when that is older than the wall clock
 * (a store filled offline from an old capture keeps its last N days), else from now (a live
 * sensor). Steps run every second from the Worker's timer and, under a stream of inserts (where
 * the timer may not get a turn), after an insert; at once when the pages in use pass 90 % of the
 * size limit.
 *
 * ## Faults
 * Read-only or missing directory, full disk, any SQLite error: status() "degraded" with the
 * reason, inserts dropped and counted, reads empty, re-open every 10 s. A corrupt file is renamed
 * to `<name>.corrupt-<ms>` and a new one started (degraded, naming the moved file, until restart).
 */
export { FlowStore, type FlowStoreConfig, type StoreStatus, DEFAULT_RETENTION_BYTES, DEFAULT_RETENTION_DAYS } from "./flow-store.ts";
export { StoreClient, StoreCallError, type StoreClientConfig } from "./store-client.ts";
export type { StoreCalls, StoreMethod, StoreParams, StoreResult } from "./store-protocol.ts";
export type { FlowPage, StoredFlowQuery } from "./flow-query.ts";
export type { AlertEvent, AlertEventKind, AlertQuery } from "./alert-log.ts";
export { TRAFFIC_SERIES, type TrafficSample } from "./series.ts";
export { queryToSql } from "./flow-sql.ts";
