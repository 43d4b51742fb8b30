/**
 * History store query latency over a database filled by bench/store-insert.ts --keep DIR.
 *
 *   bun bench/store-insert.ts --rows 10000000 --keep /tmp/fm-store-bench
 *   bun bench/store-query.ts --dir /tmp/fm-store-bench [--runs 50]
 *
 * Each query runs `runs` times through FlowStore.queryFlows (records and exact total) over the
 * last 24 h; prints p50 / p99 / max in ms and the matches.
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseQuery } from "../src/flows/query/query.ts";
import type { SortKey } from "../src/flows/query/select.ts";
import { FlowStore } from "../src/store/flow-store.ts";
import { opt, pct } from "./args.ts";

const dirIdx = process.argv.indexOf("--dir");
const dir = dirIdx > 0 ? process.argv[dirIdx + 1]! : "/tmp/fm-store-bench";
const runs = opt("runs", 50);
const store = new FlowStore({ path: join(dir, "history.db"), pruneIntervalMs: 0, retentionDays: 3650, retentionBytes: 64 * 1024 ** 3 });
store.start();
const st = store.status();
console.log(`${st.flows.toLocaleString()} flows, ${(st.bytes / 1e6).toFixed(0)} MB, oldest ${st.oldest}; load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);

const now = Date.now() / 1000;
const cases: [string, string, SortKey, number?][] = [
  ["24h src_ip:10.0.0.0/8 bytes>1M, sort bytes", "src_ip:10.0.0.0/8 bytes>1M", "bytes"],
  ["24h src_ip:10.0.0.0/8 bytes>1M, sort last_seen", "src_ip:10.0.0.0/8 bytes>1M", "last_seen"],
  ["24h dst_ip:192.168.7.0/24, sort bytes", "dst_ip:192.168.7.0/24", "bytes"],
  ["24h ip:8.8.8.8 (either side)", "ip:8.8.8.8", "first_seen"],
  ["24h no filter, sort bytes (total counts every flow)", "", "bytes", 10],
  ["24h protocol:udp port:53, sort bytes (no index fits)", "protocol:udp port:53", "bytes", 10],
  ["7d src_ip:10.0.0.0/8 bytes>1M, sort bytes", "src_ip:10.0.0.0/8 bytes>1M", "bytes", 10],
];
for (const [label, q, sortBy, n] of cases) {
  const query = parseQuery(q);
  const since = label.startsWith("7d") ? now - 7 * 86400 : now - 86400;
  const times: number[] = [];
  let total = 0;
  for (let k = 0; k < (n ?? runs); k++) {
    const t0 = performance.now();
    const page = store.queryFlows({ query, since, sortBy, order: "desc", offset: 0, limit: 100 });
    times.push(performance.now() - t0);
    total = page.total;
  }
  times.sort((a, b) => a - b);
  console.log(`${label}: p50 ${pct(times, 50).toFixed(1)} ms, p99 ${pct(times, 99).toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms ` +
    `(${times.length} runs, ${total.toLocaleString()} matches)`);
}
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
const t0 = performance.now();
const id = Math.floor(store.maxFlowId() / 3);
const f = store.findFlow(id);
console.log(`findFlow(${id}): ${(performance.now() - t0).toFixed(2)} ms ${f ? "found" : "missing"}`);
store.stop();
