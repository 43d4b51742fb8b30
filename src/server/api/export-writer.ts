/**
 * The bytes of the API's CSV and NDJSON exports, written straight from the raw rows the engine
 * Worker sends (ExportRowPage: slots in the table layout plus each row's extras) by the CLI's column
 * writers (`putCsvRow` / `putJsonRow`, src/flows/format/rows.ts, what `flows --format csv|ndjson`
 * uses), with no FlowRecord per row. The API's rows carry one field the CLI's do not: `suspicious`
 * (src/alerts/suspicious.ts), worked out here from the slot (rowSuspicious, the same rules as
 * suspiciousReasons) and put in its place: the JSON object's last key (the records are
 * `{ ...record, suspicious }`), the CSV column the column writer leaves empty.
 *
 * Rows the column writers cannot write go the record path (toRecord, then putCsvRecord /
 * putJsonRecord, src/flows/format/records.ts): a NetFlow/IPFIX row (its exporter is in the batch,
 * the column writer would read this thread's origin table), and the history store's rows, which
 * arrive as records. Either path gives the same bytes as `csvRows` / `JSON.stringify` of the
 * records with their `suspicious` list: test/export-bytes.test.ts compares them on real captures.
 */
import { MAX_COLUMN_ROW, putCsvRow, putJsonRow } from "../../flows/format/rows.ts";
import { ByteBuilder, putCsvRecord, putJsonRecord } from "../../flows/format/records.ts";
import { CSV_COLUMNS } from "../../flows/format/csv.ts";
import { addrText, type FlowRecord } from "../../flows/format/record.ts";
import { flowState } from "../../flows/table/state.ts";
import type { FlowColumns } from "../../flows/table/columns.ts";
import {
  CLEARTEXT_PORTS, DEFAULT_FLOW_BPS, SUSPICIOUS_REASONS, suspiciousReasons, type SuspiciousContext,
} from "../../alerts/suspicious.ts";
import type { ExportPart, ExportRowPage } from "../flow-source.ts";

export type ExportFormat = "csv" | "ndjson";

const enc = new TextEncoder();

/** Reason bits in SUSPICIOUS_REASONS order: high_rate 1, scan 2, rejected 4, cleartext_credentials 8. */
const HIGH_RATE = 1, SCAN = 2, REJECTED = 4, CLEARTEXT = 8;
if (SUSPICIOUS_REASONS.join() !== "high_rate,scan,rejected,cleartext_credentials") {
  throw new Error(`export-writer: the suspicious reasons changed (${SUSPICIOUS_REASONS.join()}): update rowSuspicious`);
}
const reasonsOf = (mask: number) => SUSPICIOUS_REASONS.filter((_, k) => (mask & (1 << k)) !== 0);
/** Per reason mask: the JSON tail that replaces the row's closing brace, with the line end. */
const JSON_TAIL = Array.from({ length: 16 }, (_, m) => enc.encode(`,"suspicious":${JSON.stringify(reasonsOf(m))}}\n`));
/** Per reason mask: the CSV field (reason codes never need quoting). */
const CSV_FIELD = Array.from({ length: 16 }, (_, m) => enc.encode(reasonsOf(m).join(";")));
/** Commas before the `suspicious` column of a CSV row. */
const SUSPICIOUS_COL = CSV_COLUMNS.indexOf("suspicious");

/** suspiciousReasons(toRecord(c, j), sc) as a bit mask, read from the slot (the address text only for a scan check). */
export function rowSuspicious(c: FlowColumns, j: number, sc: SuspiciousContext): number {
  let m = 0;
  if (c.bps(j) >= (sc.flowBps ?? DEFAULT_FLOW_BPS)) m |= HIGH_RATE;
  const tcp = c.proto(j) === 6;
  const state = tcp ? flowState(c, j) : null;
  const attempt = state === "attempted" || state === "rejected";
  if (attempt && sc.scanSources !== undefined && sc.scanSources.size > 0 &&
    sc.scanSources.has(addrText(c.key, c.srcAddrOff(j), c.ipVersion(j) === 6))) m |= SCAN;
  if (state === "rejected") m |= REJECTED;
  if (tcp && !attempt && CLEARTEXT_PORTS.has(c.dstPort(j)) && c.dirPackets(j, 1) > 0) m |= CLEARTEXT;
  return m;
}

/**
 * Puts `field` into the empty `suspicious` column of the CSV row at buf[start, end) (as putCsvRow
 * writes it): after the SUSPICIOUS_COL-th comma outside quotes. Returns the row's new end.
 */
function insertCsvField(buf: Uint8Array, start: number, end: number, field: Uint8Array): number {
  let commas = 0;
  let quoted = false;
  let p = start;
  while (p < end) {
    const b = buf[p++]!;
    if (b === 34) quoted = !quoted;
    else if (b === 44 && !quoted && ++commas === SUSPICIOUS_COL) break;
  }
  buf.copyWithin(p + field.length, p, end);
  buf.set(field, p);
  return end + field.length;
}

/** Raw rows [from, to) of an engine page. */
function writeRows(out: ByteBuilder, page: ExportRowPage, from: number, to: number, csv: boolean, sc: SuspiciousContext): void {
  const c = page.cols;
  const side = page.side;
  for (let j = from; j < to; j++) {
    if (c.origin(j) !== 0) {
      writeRecord(out, page.record(j), csv, sc);
      continue;
    }
    out.room(MAX_COLUMN_ROW + 64);
    const start = out.pos;
    const mask = rowSuspicious(c, j, sc);
    if (csv) {
      const end = putCsvRow(c, j, out.buf, start, side.get(j));
      out.pos = mask === 0 ? end : insertCsvField(out.buf, start, end, CSV_FIELD[mask]!);
    } else {
      // putJsonRow ends with the object's closing brace: the tail replaces it.
      const end = putJsonRow(c, j, out.buf, start, side.get(j)) - 1;
      const tail = JSON_TAIL[mask]!;
      out.buf.set(tail, end);
      out.pos = end + tail.length;
    }
  }
}

/** One record with its `suspicious` list, as withSuspicious + csvRecords / ndjsonRecords write it. */
function writeRecord(out: ByteBuilder, r: FlowRecord, csv: boolean, sc: SuspiciousContext): void {
  const f = { ...r, suspicious: suspiciousReasons(r, sc) };
  if (csv) putCsvRecord(out, f);
  else {
    putJsonRecord(out, f);
    out.room(1);
    out.buf[out.pos++] = 10;
  }
}

/** Bytes per row a slice's buffer starts with (CSV rows are ≈ 250-350 bytes, NDJSON ≈ 700-900). */
const ROW_GUESS = { csv: 400, ndjson: 1000 } as const;

/** A slice of an export (its parts in order) as one chunk of CSV rows or NDJSON lines. */
export function writeExportSlice(parts: readonly ExportPart[], rows: number, format: ExportFormat, sc: SuspiciousContext): Uint8Array {
  const out = new ByteBuilder(rows * ROW_GUESS[format] + MAX_COLUMN_ROW + 64);
  const csv = format === "csv";
  for (const part of parts) {
    if (part.kind === "rows") writeRows(out, part.page, part.from, part.to, csv, sc);
    else for (const r of part.records) writeRecord(out, r, csv, sc);
  }
  return out.bytes();
}
