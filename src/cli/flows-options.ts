/** `flowmatrix flows` and `flowmatrix interfaces`: their options tables (see options.ts). */
import { defineVerb } from "./options.ts";

export const FLOW_FORMATS = ["json", "ndjson", "csv", "table", "summary"] as const;
export type FlowFormat = (typeof FLOW_FORMATS)[number];

export const FLOWS = defineVerb({
  verb: "flows",
  synopsis: "--read FILE [--format json|ndjson|csv|table|summary] [--filter BPF] [options]",
  summary: "Read a whole capture file and print every flow (active and ended), then the totals.",
  options: {
    read: { type: "string", short: "r", value: "FILE", doc: "the pcap or pcapng file to read, or - for standard input (required)" },
    format: { type: "string", default: "json", value: "FORMAT", choices: FLOW_FORMATS, doc: "output format; summary prints only the totals" },
    filter: { type: "string", short: "f", value: "BPF", doc: "BPF filter (tcpdump syntax), applied by libpcap's reader" },
    "idle-timeout": { type: "string", value: "S", doc: "seconds without a packet before a flow ends [default: 60]" },
    "active-timeout": { type: "string", value: "S", doc: "seconds after which a long flow is reported and starts a new segment [default: 1800]" },
    "no-expire": { type: "boolean", doc: "never time flows out: one record per flow for the whole file" },
    "max-flows": { type: "string", value: "N", doc: "flow table capacity; the least recently active flows are evicted when full [default: 1000000]" },
    "data-dir": { type: "string", value: "DIR", doc: "also store every flow in the history database in DIR (as serve --data-dir; ids continue after the stored ones)" },
    "export-ipfix": { type: "string", value: "HOST:PORT", doc: "also send every flow as IPFIX (RFC 7011 biflow records) over UDP to this collector" },
    "ipfix-domain": { type: "string", default: "1", value: "N", doc: "IPFIX observation domain id" },
    "geoip-db": { type: "string", value: "FILE", doc: "country database (MMDB, e.g. GeoLite2-Country) for src_country/dst_country [default: the bundled NRO-based database]" },
    "asn-db": { type: "string", value: "FILE", doc: "AS database (MMDB, e.g. GeoLite2-ASN) for src_asn/dst_asn [default: the bundled RouteViews/DB-IP tables]" },
  },
});

export const INTERFACES = defineVerb({
  verb: "interfaces",
  synopsis: "[--json]",
  summary: "List capture devices with their addresses and state.",
  options: {
    json: { type: "boolean", doc: "print JSON ({default, interfaces}) instead of a table" },
  },
});
