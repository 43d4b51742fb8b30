/**
 * # History store (src/store)
 *
 * Ended flows, traffic and system-metric history and alert events survive restarts in one SQLite
 * database (bun:sqlite, WAL, synchronous=NORMAL, auto_vacuum=INCREMENTAL), written and queried in
 * its own Worker (store-worker.ts; main-thread side StoreClient) so that neither the packet loop
 * nor the HTTP server waits on the disk. Ended flows come from the engine Worker's PortSink over
 * a MessageChannel straight to the store Worker (src/server/history.ts), acknowledged once
 * written; the sink drops and counts new batches while the oldest unwritten one has waited
 * over 500 ms (what a kill -9 can lose).
 *
 * ## Schema (schema.ts; PRAGMA user_version, migrations applied at start)
 * - `flows_<n>` segments, listed in `segments` (rows, min/max first and last ms, max id, sealed).
 *   Columns: id INTEGER PRIMARY KEY (= the flow's F_ID, so rowid = id, no extra index),
 *   first_ms, dur_ms, last_adj (last_ms = first_ms + dur_ms + last_adj; all three reproduce
 *   first_seen, last_seen and duration_ms exactly), src, dst (IPv4 as the signed 32-bit key
 *   word, IPv6 as a 16-byte BLOB; already resolved to initiator / responder), sport, dport,
 *   proto, vlan (−1 = none), state (index in STATES, computed at insert), reason (EndReason),
 *   flags (initiator | responder << 8), packets, dst_packets, bytes, dst_bytes. Indexes of a
 *   full segment: src, dst, (bytes, src) (segments sealed by an earlier version: bytes). Rows
 *   are written straight from FlowColumns (flow-rows.ts): no FlowRecord, no strings; read back
 *   they deep-equal toRecord() (bps 0, active false).
 * - A segment takes flows until it holds 250,000 (fewer under a small size limit: at most
 *   ~1/8 of retentionBytes) or a batch ends past its hour, then a new one starts. Queries skip
 *   segments outside [since, until]; retention drops whole segments.
 * - The segment taking inserts has no secondary index (inserts append to the table only); once
 *   full its indexes are built by CREATE INDEX, one per step (after each insert batch and every
 *   second), then it is marked sealed (segments.ts). Measured CPU per flow at 250 k-flow
 *   segments: 5.6 µs with the indexes kept up to date by every insert (each commit rewrote the
 *   index pages it touched into the WAL), 2.1 µs appending plus the build (≈ 130 ms per index);
 *   64- or 256-row INSERT statements changed nothing measurable (0.87 vs 0.90 µs without
 *   indexes), nor did larger transactions once the inserts touched no index. A query scans the
 *   open segment (≤ 250 k flows, ≤ 1 h: ≈ 17 ms of the dense query below).
 * - `traffic_s` / `traffic_m` (per second for 1 h / per minute for 30 days), `metrics_s` /
 *   `metrics_m` with `metric_names` (raw samples for 1 h / per-minute sums and counts for 30
 *   days), `alert_events` (raised / cleared + the Alert as JSON, 30 days), `meta` (max flow id).
 *
 * ## Why segments rather than one table with a time index
 * Reasoned, not measured side by side (only the segment layout was benchmarked): one table needs
 * a time index (≈ 15 B/flow more, over the 120 B budget with src/dst/bytes), per-row DELETEs for
 * age retention (as costly as the inserts, touching every index) and secondary indexes of 10 M
 * entries, so inserts become random writes over the whole file. Segments let inserts touch no
 * index at all (built once per segment, see above), drop old flows with DROP TABLE, and bound a
 * time query to the segments it overlaps without any time index.
 *
 * ## Queries (flow-sql.ts, flow-query.ts)
 * The grammar's AST compiles to a WHERE clause with `?` parameters only (fixed column names and
 * computed planner hints are the only SQL text), with the semantics of query-compile.ts
 * (flow-sql.test.ts runs 88 queries both ways over the same flows and gets the same ids). Each
 * overlapping segment returns its best offset + limit rows and its count; they are merged. The
 * total is exact: (bytes, src) answers the count of a `src` range with a `bytes` bound from the
 * index alone (no table row read per match), which is what made `src_ip:10.0.0.0/8 bytes>1M`
 * slow with a plain bytes index (one table lookup per flow over 1 MB).
 *
 * ## Measured (2-core VM, Bun 1.4.5 / SQLite 3.54.1, other work on the machine: load average given)
 * `bun bench/store-insert.ts --rows 10000000 [--span-hours 24] --keep D` and
 * `bun bench/store-query.ts --dir D` (queries through FlowStore.queryFlows: records and exact total).
 * - Flows over 7 days (169 segments; load 4–9): insert 184 k flows/s sustained over 10 M (batches
 *   of 4096, retention and index steps running, synthetic flow generation included; 207 k/s
 *   without it); 101.2 B/flow at 10 M (file size / flows, indexes included): table 55.5, src
 *   13.3, dst 13.3, (bytes, src) 16.3 B/flow. IPv6 flows take ≈ 24 B more. 24 h
 *   `src_ip:10.0.0.0/8 bytes>1M` sort bytes limit 100 (1.43 M flows in the day, 25.5 k matches)
 *   p50 42 ms, p99 147 ms; `dst_ip:192.168.7.0/24` p50 11 ms; `ip:8.8.8.8` p50 164 ms; no
 *   filter (total of 1.43 M) p50 56 ms; `protocol:udp port:53` (no index) p50 237 ms; 7 days of
 *   the first query (180 k matches) p50 89 ms, p99 147 ms. findFlow by id: 1–3 ms.
 * - Dense case, all 10 M flows within the last 24 h (`--span-hours 24`, 49 segments of 254 k, the
 *   newest 145 k unindexed; load 4–6): insert 191 k flows/s sustained, 101.1 B/flow. The 24 h
 *   query matches 180 k flows: p50 104 ms, p99 171 ms over 100 runs (target ≤ 300 ms). Run right
 *   after the previous layout (plain bytes index, indexes kept by every insert) on the same
 *   machine: new p50 73, p99 218 ms (30 runs) against p50 802, p99 1273 ms; the previous
 *   layout's insert 53 k flows/s there (150 k on a quieter machine earlier). Unloaded, the SQL of
 *   the query takes ≈ 55 ms (count ≈ 29 ms, the 100 rows ≈ 26 ms; the open segment's two scans
 *   ≈ 17 ms of it). Others, p50: by last_seen 456–784 ms (every match's row is read to sort:
 *   not covered), `dst_ip:192.168.7.0/24` 29–53 ms, `ip:8.8.8.8` 510–850 ms, no filter (10 M
 *   total) 157–348 ms, `protocol:udp port:53` 1.1–1.7 s.
 * - Ended flows through the real path (`bun bench/store-sink.ts --pcap scan.pcap`, the scan
 *   capture at full speed, engine → store Worker directly; load 3–4): best 1 s window median
 *   225 k flows/s (106–327 k over 5 runs), 0 capture drops; the sink drops what would wait over
 *   500 ms (95–570 k of 950 k: the engine ends flows faster than the store writes them). The
 *   previous path (through the main thread, indexes kept by every insert), run in between:
 *   median 92 k flows/s, ~500 k store drops.
 *
 * ## Retention (retention.ts)
 * Age counts back from the newest stored flow's last_seen when that is older than the wall clock
 * (a store filled offline from an old capture keeps its last N days), else from now (a live
 * sensor). Steps run every second from the Worker's timer and, under a stream of inserts (where
 * the timer may not get a turn), after an insert; at once when the pages in use pass 75 % of the
 * size limit. A step that finds nothing to do is followed by index-only steps for up to a minute
 * (FULL_STEP_MS in flow-store.ts: idle CPU), so an aged segment may go up to a minute late. Index
 * build steps (segments.ts) run after each insert and with each retention step.
 * Interned extras tuples and exporters (flow_extras, flow_exporters) go in the transaction that
 * drops a segment: each row's last_seg (migration 5) is at least the number of every segment
 * using it, so the rows below the oldest remaining segment are unused and deleted through the
 * last_seg index (flow-extras.ts; src/store/extras-retention.test.ts).
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
