/**
 * Flow records (FlowRecord objects, e.g. with the API's `suspicious` list) to bytes: NDJSON lines
 * and CSV rows for the API's exports, with the byte formatters the CLI's column writers use and no
 * string per row. What they write is exactly `JSON.stringify(r) + "\n"` and `csvRows` (csv.ts).
 *
 * The JSON writer follows JSON.stringify for any plain object: own enumerable keys in order,
 * undefined (and function) values left out, strings escaped; a nested object or an array holding
 * anything but strings, numbers, booleans and null is handed to JSON.stringify itself.
 */
import { CSV_COLUMNS } from "./csv.ts";
import { csvFieldRoom, jsonStringRoom, putBytes, putCsvField, putJsonNumber, putJsonString, putNumber, putText } from "./bytes.ts";

/** A growing byte buffer: `room(n)` makes sure n more bytes fit at `pos`. */
export class ByteBuilder {
  buf: Uint8Array;
  pos = 0;

  constructor(capacity = 64 * 1024) {
    this.buf = new Uint8Array(Math.max(64, capacity));
  }

  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** The bytes written so far (a view, not a copy). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

/** `"key":` per key seen, as bytes. */
const keyBytes = new Map<string, Uint8Array>();
const scratch = new ByteBuilder(256);
function keyOf(k: string): Uint8Array {
  let b = keyBytes.get(k);
  if (b === undefined) {
    scratch.pos = 0;
    scratch.room(jsonStringRoom(k) + 1);
    let p = putJsonString(scratch.buf, 0, k);
    scratch.buf[p++] = 58;
    b = scratch.buf.slice(0, p);
    if (keyBytes.size < 1024) keyBytes.set(k, b);
  }
  return b;
}

/** A value's JSON as JSON.stringify writes it inside an object; false when it is left out (undefined, functions, symbols). */
function putJsonValue(out: ByteBuilder, v: unknown): boolean {
  switch (typeof v) {
    case "number":
      out.room(25);
      out.pos = putJsonNumber(out.buf, out.pos, v);
      return true;
    case "string":
      out.room(jsonStringRoom(v));
      out.pos = putJsonString(out.buf, out.pos, v);
      return true;
    case "boolean":
      out.room(5);
      out.pos = putText(out.buf, out.pos, v ? "true" : "false");
      return true;
    case "undefined":
    case "function":
    case "symbol":
      return false;
    default:
      if (v === null) {
        out.room(4);
        out.pos = putText(out.buf, out.pos, "null");
        return true;
      }
      if (Array.isArray(v) && v.every((x) => typeof x === "string")) {
        out.room(1);
        out.buf[out.pos++] = 91;
        for (let k = 0; k < v.length; k++) {
          const s = v[k] as string;
          out.room(jsonStringRoom(s) + 2);
          if (k > 0) out.buf[out.pos++] = 44;
          out.pos = putJsonString(out.buf, out.pos, s);
        }
        out.room(1);
        out.buf[out.pos++] = 93;
        return true;
      }
      {
        const s = JSON.stringify(v);
        if (s === undefined) return false;
        out.room(s.length * 3);
        out.pos = putText(out.buf, out.pos, s);
        return true;
      }
  }
}

/** JSON.stringify(r) of one plain object, appended to `out`. */
export function putJsonRecord(out: ByteBuilder, r: object): void {
  out.room(1);
  out.buf[out.pos++] = 123;
  let first = true;
  const o = r as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
    const key = keyOf(k);
    out.room(key.length + 1);
    if (!first) out.buf[out.pos++] = 44;
    out.pos = putBytes(out.buf, out.pos, key);
    putJsonValue(out, v);
    first = false;
  }
  out.room(1);
  out.buf[out.pos++] = 125;
}

/** `records.map((r) => JSON.stringify(r)).join("\n") + "\n"` as UTF-8 bytes. */
export function ndjsonRecords(records: readonly object[]): Uint8Array {
  const out = new ByteBuilder(records.length * 640 + 64);
  for (const r of records) {
    putJsonRecord(out, r);
    out.room(1);
    out.buf[out.pos++] = 10;
  }
  return out.bytes();
}

/** One CSV row (CSV_COLUMNS, `suspicious` joined with ";", CRLF) as csvRows / csvLine write it. */
export function putCsvRecord(out: ByteBuilder, r: object): void {
  const o = r as Record<string, unknown>;
  for (let k = 0; k < CSV_COLUMNS.length; k++) {
    const c = CSV_COLUMNS[k]!;
    if (k > 0) {
      out.room(1);
      out.buf[out.pos++] = 44;
    }
    const v = o[c];
    if (c === "suspicious") {
      const s = ((v as readonly string[] | undefined) ?? []).join(";");
      out.room(csvFieldRoom(s));
      out.pos = putCsvField(out.buf, out.pos, s);
    } else if (typeof v === "number") {
      out.room(25);
      out.pos = putNumber(out.buf, out.pos, v);
    } else if (typeof v === "boolean") {
      out.room(5);
      out.pos = putText(out.buf, out.pos, v ? "true" : "false");
    } else if (v !== null && v !== undefined) {
      const s = String(v);
      out.room(csvFieldRoom(s));
      out.pos = putCsvField(out.buf, out.pos, s);
    }
  }
  out.room(2);
  out.buf[out.pos++] = 13;
  out.buf[out.pos++] = 10;
}

/** csvRows(records) (csv.ts) as UTF-8 bytes. */
export function csvRecords(records: readonly object[]): Uint8Array {
  const out = new ByteBuilder(records.length * 256 + 64);
  for (const r of records) putCsvRecord(out, r);
  return out.bytes();
}
