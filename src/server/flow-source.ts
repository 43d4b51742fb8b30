/**
 * Flows from the live engine and the history store together: the one place the API, exports and
 * pages get flows from.
 *
 * Without a store (--no-store), or for `state=active`, the engine answers alone (live table plus
 * its recently-ended list). With a store, ended flows come from the store (which holds every one
 * of them; the engine's recently-ended list is a subset), live ones from the engine: each side
 * returns its best offset + limit rows, merged here in the same order (sort key, then flow id).
 *
 * Limit: a flow ended within the last second or two may be in neither half for that moment (it
 * has left the table and not reached the store yet): the ended-flow sink delivers once a second.
 */
import ipaddr from "ipaddr.js";
import type { FlowQuery, SortKey } from "../flows/query/flow-query.ts";
import type { FlowRecord } from "../flows/format/record.ts";
import type { Selection } from "../flows/query/select.ts";
import { ExportBatchReader } from "../flows/query/export-cursor.ts";
import type { ServerContext } from "./context.ts";

export async function queryFlows(ctx: ServerContext, q: FlowQuery): Promise<Selection> {
  const history = ctx.history;
  if (!history || q.state === "active") return ctx.engine.call("flows", q);
  const n = q.offset + q.limit;
  const [stored, live] = await Promise.all([
    history.store.queryFlows({ ...q, offset: 0, limit: n }),
    q.state === "all" ? ctx.engine.call("flows", { ...q, state: "active", offset: 0, limit: n }) : null,
  ]);
  if (!live) return { records: stored.records.slice(q.offset, n), total: stored.total };
  const cmp = recordOrder(q.sortBy, q.order);
  const records = mergeSorted(live.records, stored.records, cmp, n).slice(q.offset);
  return { records, total: live.total + stored.total };
}

/** A flow by id: the engine's (live or recently ended), else the store's. */
export async function findFlow(ctx: ServerContext, id: number): Promise<FlowRecord | null> {
  const live = await ctx.engine.call("flow", { id });
  if (live || !ctx.history) return live;
  return ctx.history.store.findFlow(id);
}

/** The first `max` of two sorted lists, merged. */
export function mergeSorted<T>(a: readonly T[], b: readonly T[], cmp: (x: T, y: T) => number, max: number): T[] {
  const out: T[] = [];
  let i = 0, j = 0;
  while (out.length < max && (i < a.length || j < b.length)) {
    if (j >= b.length || (i < a.length && cmp(a[i]!, b[j]!) <= 0)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}

/** Address order: IPv4 before IPv6, then numerically (IPv6 over its first 64 bits, as the engine and the store). */
function addrKey(text: string): number[] {
  try {
    const b = ipaddr.parse(text).toByteArray();
    return [b.length === 4 ? 4 : 6, ...b.slice(0, 8)];
  } catch {
    return [0];
  }
}

function compareArrays(a: number[], b: number[]): number {
  for (let k = 0; k < Math.min(a.length, b.length); k++) if (a[k] !== b[k]) return a[k]! - b[k]!;
  return a.length - b.length;
}

/** The order the engine and the store page in: by the sort key (asc/desc), ties by ascending id. */
export function recordOrder(key: SortKey, order: "asc" | "desc"): (a: FlowRecord, b: FlowRecord) => number {
  const sign = order === "desc" ? -1 : 1;
  const num = (f: (r: FlowRecord) => number) => (a: FlowRecord, b: FlowRecord) => sign * (f(a) - f(b)) || a.id - b.id;
  switch (key) {
    case "bytes": return num((r) => r.bytes);
    case "packets": return num((r) => r.packets);
    case "bps": return num((r) => r.bps);
    case "duration": return num((r) => r.duration_ms);
    case "first_seen": return num((r) => Date.parse(r.first_seen));
    case "last_seen": return num((r) => Date.parse(r.last_seen));
    case "src_port": return num((r) => r.src_port);
    case "dst_port": return num((r) => r.dst_port);
    case "protocol": return num((r) => r.proto_num);
    case "src_ip":
    case "dst_ip": {
      const f = key === "src_ip" ? (r: FlowRecord) => r.src_ip : (r: FlowRecord) => r.dst_ip;
      return (a, b) => sign * compareArrays(addrKey(f(a)), addrKey(f(b))) || a.id - b.id;
    }
  }
}

/** An export's rows, page by page, in the query's order (see ExportCursor for the consistency). */
export interface ExportPages {
  next(max: number): Promise<{ records: FlowRecord[]; done: boolean }>;
  close(): void;
}

/**
 * Opens an export: the engine's consistent cursor over live (and recently ended) flows; with a
 * store and `state` ended/all, the stored flows (one query, taken at open: ended flows do not
 * change) merged with the live cursor in the query's order, offset and limit applied over both.
 */
export async function openExport(ctx: ServerContext, q: FlowQuery): Promise<ExportPages> {
  const history = ctx.history;
  if (!history || q.state === "active") return engineExport(ctx, q);
  const n = q.offset + q.limit;
  const stored = (await history.store.queryFlows({ ...q, offset: 0, limit: n })).records;
  const live = q.state === "all" ? await engineExport(ctx, { ...q, state: "active", offset: 0, limit: n }) : null;
  const cmp = recordOrder(q.sortBy, q.order);
  let buf: FlowRecord[] = [];
  let bi = 0;
  let liveDone = live === null;
  let j = 0;
  let emitted = 0;
  let skipped = 0;
  return {
    async next(max) {
      const out: FlowRecord[] = [];
      while (out.length < max && emitted < q.limit) {
        if (bi >= buf.length && !liveDone) {
          const page = await live!.next(max);
          buf = page.records;
          bi = 0;
          liveDone = page.done;
        }
        let r: FlowRecord | undefined;
        if (bi < buf.length && (j >= stored.length || cmp(buf[bi]!, stored[j]!) <= 0)) r = buf[bi++];
        else if (j < stored.length) r = stored[j++];
        if (r === undefined) break;
        if (skipped < q.offset) skipped++;
        else {
          out.push(r);
          emitted++;
        }
      }
      const done = emitted >= q.limit || (liveDone && bi >= buf.length && j >= stored.length);
      if (done) live?.close();
      return { records: out, done };
    },
    close: () => live?.close(),
  };
}

/**
 * Rows made into records per next() on the server thread (≈ 1–3 ms of toRecord on a quiet
 * machine; the API then formats them), each after a turn of the event loop, so an interactive
 * request arriving meanwhile waits for at most one such slice, not for a whole engine page.
 */
export const RECORDS_PER_TURN = 500;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The engine's export cursor. Its pages arrive as raw rows (the flows' slots and extras, copied by
 * the engine Worker); their records are made here, on the server thread, RECORDS_PER_TURN at a
 * time, so an export costs the engine — where interactive queries run — a copy per row, not a
 * record and its structured clone.
 */
async function engineExport(ctx: ServerContext, q: FlowQuery): Promise<ExportPages> {
  const { cursor } = await ctx.engine.call("exportOpen", { query: q });
  let closed = false;
  let page: ExportBatchReader | null = null;
  let at = 0;
  let last = false;
  return {
    async next(max) {
      if (page === null || at >= page.batch.count) {
        if (last) return { records: [], done: true };
        const p = await ctx.engine.call("exportNext", { cursor, max });
        if (p.done) closed = true; // the engine closed its cursor
        page = new ExportBatchReader(p.rows);
        at = 0;
        last = p.done;
      } else {
        await nextTurn();
      }
      const records = page.records(at, Math.min(max, RECORDS_PER_TURN));
      at += records.length;
      return { records, done: last && at >= page.batch.count };
    },
    close() {
      if (closed) return;
      closed = true;
      void ctx.engine.call("exportClose", { cursor }).catch(() => {});
    },
  };
}
