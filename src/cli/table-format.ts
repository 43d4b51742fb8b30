/**
 * Plain-text table of flows for terminals (`--format table`). `flows` writes the rows straight from
 * the flow columns (putTableRow in src/flows/format/rows.ts); formatTableRow is the reference that
 * writer is tested against, byte for byte.
 */
import type { FlowRecord } from "../flows/format/record.ts";

function endpoint(ip: string, port: number, v6: boolean): string {
  return v6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function formatTableHeader(): string {
  return `${"PROTO".padEnd(7)}${"SOURCE".padEnd(46)}${"DESTINATION".padEnd(46)}${"PKTS".padStart(9)}${"BYTES".padStart(13)}${"DURATION".padStart(11)}  STATE\n`;
}

export function formatTableRow(r: FlowRecord): string {
  const v6 = r.ip_version === 6;
  const vlan = r.vlan === null ? "" : ` vlan ${r.vlan}`;
  return (
    r.proto.padEnd(7) +
    endpoint(r.src_ip, r.src_port, v6).padEnd(46) +
    endpoint(r.dst_ip, r.dst_port, v6).padEnd(46) +
    String(r.packets).padStart(9) +
    String(r.bytes).padStart(13) +
    `${(r.duration_ms / 1000).toFixed(3)}s`.padStart(11) +
    `  ${r.state}${vlan}\n`
  );
}
