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
import { ExportBatchReader, type ExportBatch } from "../flows/query/export-cursor.ts";
import { FlowColumns } from "../flows/table/columns.ts";
import { FlowSide } from "../flows/table/extras.ts";
import { addrText } from "../flows/format/record.ts";
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

/**
 * One page of raw export rows as the engine Worker sent it (ExportBatch), readable on this thread:
 * the slots in the table layout (`cols`), each row's extras and exporter (`side`), and the record
 * of a row for the rows the column writers cannot write (a NetFlow origin: its exporter comes from
 * the batch, not from this thread's origin table).
 */
export class ExportRowPage {
  readonly cols: FlowColumns;
  readonly side: FlowSide;
  private readonly reader: ExportBatchReader;

  constructor(readonly batch: ExportBatch) {
    this.reader = new ExportBatchReader(batch);
    this.cols = FlowColumns.wrap(batch.key, batch.rec);
    this.side = FlowSide.fromData(batch.side);
  }

  get count(): number {
    return this.batch.count;
  }

  /** Row j as a FlowRecord (extras and exporter from the batch). */
  record(j: number): FlowRecord {
    return this.reader.records(j, 1)[0]!;
  }
}

/**
 * A run of an export's output: raw rows [from, to) of an engine page (written straight from the
 * slots by the column writers), or records (the history store's rows, which arrive as records).
 */
export type ExportPart =
  | { kind: "rows"; page: ExportRowPage; from: number; to: number }
  | { kind: "records"; records: FlowRecord[] };

/** A slice of an export: its parts in order, their row count, and whether it was the last. */
export interface ExportSlice {
  parts: ExportPart[];
  rows: number;
  done: boolean;
}

/** An export's rows, slice by slice, in the query's order (see ExportCursor for the consistency). */
export interface ExportPages {
  /** The next at most min(max, ROWS_PER_TURN) rows. */
  next(max: number): Promise<ExportSlice>;
  close(): void;
}

/**
 * Rows handed out per next() on the server thread (the API writes them to bytes in the same turn:
 * ≈ 0.3 ms straight from the slots, up to ≈ 1–3 ms when they are records), each after a turn of
 * the event loop, so an interactive request arriving meanwhile waits for at most one such slice,
 * not for a whole engine page.
 */
export const ROWS_PER_TURN = 500;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Opens an export: the engine's consistent cursor over live (and recently ended) flows; with a
 * store and `state` ended/all, the stored flows (one query, taken at open: ended flows do not
 * change) merged with the live cursor in the query's order, offset and limit applied over both.
 * Live rows stay raw rows (compared with the stored records by the sort key, rowOrder); stored
 * ones are records.
 */
export async function openExport(ctx: ServerContext, q: FlowQuery): Promise<ExportPages> {
  const history = ctx.history;
  if (!history || q.state === "active") return engineExport(ctx, q);
  const n = q.offset + q.limit;
  const stored = (await history.store.queryFlows({ ...q, offset: 0, limit: n })).records;
  const live = q.state === "all" ? await engineExport(ctx, { ...q, state: "active", offset: 0, limit: n }) : null;
  const cmp = rowOrder(q.sortBy, q.order);
  // The live part being merged: rows [at, to) of `page` are not taken yet.
  let page: ExportRowPage | null = null;
  let at = 0;
  let to = 0;
  let liveDone = live === null;
  let j = 0;
  let emitted = 0;
  let skipped = 0;
  let first = true;
  return {
    async next(max) {
      if (!first) await nextTurn();
      first = false;
      const limit = Math.min(max, ROWS_PER_TURN);
      const parts: ExportPart[] = [];
      let count = 0;
      let run: { kind: "rows"; page: ExportRowPage; from: number; to: number } | null = null;
      let recs: FlowRecord[] | null = null;
      while (count < limit && emitted < q.limit) {
        if (at >= to && !liveDone) {
          const s = await live!.next(max);
          const p = s.parts[0];
          if (p?.kind === "rows") {
            page = p.page;
            at = p.from;
            to = p.to;
          }
          liveDone = s.done;
          run = null;
          continue;
        }
        const takeLive = at < to && (j >= stored.length || cmp(page!, at, stored[j]!) <= 0);
        if (!takeLive && j >= stored.length) break;
        if (skipped < q.offset) {
          skipped++;
          if (takeLive) at++;
          else j++;
          continue;
        }
        if (takeLive) {
          if (run === null || run.to !== at || run.page !== page) {
            run = { kind: "rows", page: page!, from: at, to: at };
            parts.push(run);
            recs = null;
          }
          run.to = ++at;
        } else {
          if (recs === null) {
            recs = [];
            parts.push({ kind: "records", records: recs });
            run = null;
          }
          recs.push(stored[j++]!);
        }
        count++;
        emitted++;
      }
      const done = emitted >= q.limit || (liveDone && at >= to && j >= stored.length);
      if (done) live?.close();
      return { parts, rows: count, done };
    },
    close: () => live?.close(),
  };
}

/** Milliseconds of a time in seconds as its record's ISO text holds them (isoTime's rounding and clamping). */
function isoMs(sec: number): number {
  let ms = Math.round(sec * 1000);
  if (!(ms <= 8.64e15)) ms = ms > 0 ? 8.64e15 : 0;
  else if (ms < -8.64e15) ms = -8.64e15;
  return ms;
}

/**
 * recordOrder between a raw row (row j of `page`) and a record: the row's sort value read from its
 * slot as its record would give it (toRecord), so the merge orders exactly as it did with records.
 */
export function rowOrder(key: SortKey, order: "asc" | "desc"): (page: ExportRowPage, j: number, r: FlowRecord) => number {
  const sign = order === "desc" ? -1 : 1;
  const num = (f: (c: FlowColumns, j: number) => number, g: (r: FlowRecord) => number) =>
    (p: ExportRowPage, j: number, r: FlowRecord) => sign * (f(p.cols, j) - g(r)) || p.cols.id(j) - r.id;
  switch (key) {
    case "bytes": return num((c, j) => c.totalBytes(j), (r) => r.bytes);
    case "packets": return num((c, j) => c.packets(j), (r) => r.packets);
    case "bps": return num((c, j) => c.bps(j), (r) => r.bps);
    case "duration": return num((c, j) => c.durationMs(j), (r) => r.duration_ms);
    case "first_seen": return num((c, j) => isoMs(c.first(j)), (r) => Date.parse(r.first_seen));
    case "last_seen": return num((c, j) => isoMs(c.last(j)), (r) => Date.parse(r.last_seen));
    case "src_port": return num((c, j) => c.srcPort(j), (r) => r.src_port);
    case "dst_port": return num((c, j) => c.dstPort(j), (r) => r.dst_port);
    case "protocol": return num((c, j) => c.proto(j), (r) => r.proto_num);
    case "src_ip":
    case "dst_ip": {
      const src = key === "src_ip";
      return (p, j, r) => {
        const c = p.cols;
        const a = addrText(c.key, src ? c.srcAddrOff(j) : c.dstAddrOff(j), c.ipVersion(j) === 6);
        return sign * compareArrays(addrKey(a), addrKey(src ? r.src_ip : r.dst_ip)) || c.id(j) - r.id;
      };
    }
  }
}

/**
 * The engine's export cursor. Its pages arrive as raw rows (the flows' slots and extras, copied by
 * the engine Worker) and are handed on as raw rows, ROWS_PER_TURN at a time, for the API to write
 * straight to bytes here on the server thread: an export costs the engine — where interactive
 * queries run — a copy per row, not a record and its structured clone, and this thread no record
 * per row either.
 */
async function engineExport(ctx: ServerContext, q: FlowQuery): Promise<ExportPages> {
  const { cursor } = await ctx.engine.call("exportOpen", { query: q });
  let closed = false;
  let page: ExportRowPage | null = null;
  let at = 0;
  let last = false;
  return {
    async next(max) {
      if (page === null || at >= page.count) {
        if (last) return { parts: [], rows: 0, done: true };
        const p = await ctx.engine.call("exportNext", { cursor, max });
        if (p.done) closed = true; // the engine closed its cursor
        page = new ExportRowPage(p.rows);
        at = 0;
        last = p.done;
      } else {
        await nextTurn();
      }
      const from = at;
      at = Math.min(page.count, at + Math.min(max, ROWS_PER_TURN));
      const parts: ExportPart[] = at > from ? [{ kind: "rows", page, from, to: at }] : [];
      return { parts, rows: at - from, done: last && at >= page.count };
    },
    close() {
      if (closed) return;
      closed = true;
      void ctx.engine.call("exportClose", { cursor }).catch(() => {});
    },
  };
}
