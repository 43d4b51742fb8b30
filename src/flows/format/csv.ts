/**
 * CSV (RFC 4180) of flow records: one header row, the record's fields in a fixed order.
 * Quoting is done by csv-stringify; the column list and the header are shared by the CLI and the
 * API. The rows themselves are written to bytes by src/flows/format (rows.ts from the flow columns
 * for the CLI, records.ts from records for the API); csvRows and csvLine are the reference those
 * writers are tested against, byte for byte.
 */
import { stringify } from "csv-stringify/sync";
import type { FlowRecord } from "./record.ts";

export const CSV_COLUMNS = [
  "id", "proto", "proto_num", "ip_version", "vlan", "src_ip", "src_port", "dst_ip", "dst_port",
  "packets", "bytes", "src_packets", "src_bytes", "dst_packets", "dst_bytes",
  "first_seen", "last_seen", "duration_ms", "tcp_flags", "src_tcp_flags", "dst_tcp_flags", "state",
  "bps", "active", "end_reason", "suspicious",
  // Appended (issues 11, 12): existing columns keep their places.
  "community_id", "app", "app_source", "server_name", "src_name", "dst_name", "src_country", "dst_country",
  "src_asn", "dst_asn", "src_as_name", "dst_as_name", "source", "exporter", "exporter_domain",
] as const;

export function csvHeader(): string {
  return stringify([CSV_COLUMNS as unknown as string[]], { record_delimiter: "windows" });
}

/** CSV line(s) for records; `suspicious` lists are joined with ";". */
export function csvRows(records: (FlowRecord & { suspicious?: string[] })[]): string {
  return stringify(
    records.map((r) =>
      CSV_COLUMNS.map((c) => {
        const v = (r as unknown as Record<string, unknown>)[c];
        if (c === "suspicious") return (r.suspicious ?? []).join(";");
        return v === null || v === undefined ? "" : String(v);
      }),
    ),
    { record_delimiter: "windows" },
  );
}

function csvField(v: string): string {
  // The quoting csv-stringify applies with these options: fields holding the delimiter, a quote or
  // the record delimiter (CRLF; a lone CR or LF is left as is).
  return v.includes(",") || v.includes('"') || v.includes("\r\n") ? `"${v.replace(/"/g, '""')}"` : v;
}

/** One CSV line for one record, as csvRows([r]) gives it, without a library call per row (the quoting the byte writers follow). */
export function csvLine(r: FlowRecord, suspicious: readonly string[] = []): string {
  const o = r as unknown as Record<string, unknown>;
  let s = "";
  for (let k = 0; k < CSV_COLUMNS.length; k++) {
    const c = CSV_COLUMNS[k]!;
    const v = c === "suspicious" ? suspicious.join(";") : o[c];
    const t = v === null || v === undefined ? "" : typeof v === "number" || typeof v === "boolean" ? String(v) : csvField(String(v));
    s += k === 0 ? t : "," + t;
  }
  return s + "\r\n";
}
