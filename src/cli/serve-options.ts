/**
 * `flowmatrix serve`: its options table (see options.ts). Every flag serve-command.ts parses, plus
 * `--quiet` and `--max-gap`; `serve --help` is printed from this table. The settings schema
 * (src/config/schema.ts) is built from this table and the alert registry: each flag is also a
 * config-file key and a FLOWMATRIX_* environment variable.
 */
import { alertFlags } from "../alerts/registry.ts";
import { defineVerb, type StringOption } from "./options.ts";

const UNIT_VALUE = { rate: "RATE", percent: "PERCENT", count: "N", seconds: "S", fraction: "F" } as const;

/** One flag per alert setting that has one, from the rule registry (src/alerts/registry.ts). */
function alertOptions(): Record<`alert-${string}`, StringOption> {
  const out: Record<string, StringOption> = {};
  for (const { flag, setting } of alertFlags()) {
    const def = setting.unit === "rate" ? `${setting.default / 1e6}M` : String(setting.default);
    out[flag] = { type: "string", value: UNIT_VALUE[setting.unit], doc: `${setting.doc} [default: ${def}]` };
  }
  return out;
}

export const SERVE = defineVerb({
  verb: "serve",
  synopsis: "[--interface IF | --read FILE [--speed N|max] [--loop] [--max-gap S]] [--collect-netflow [HOST:]PORT] [options]",
  summary: "Capture (live, or replayed from a file) and serve the dashboard and the REST API until SIGINT/SIGTERM.",
  options: {
    interface: { type: "string", short: "i", value: "IF", doc: "capture live on this interface (default: the default interface)" },
    read: { type: "string", short: "r", value: "FILE", doc: "replay this pcap/pcapng file instead of capturing live" },
    speed: { type: "string", default: "1", value: "N|max", doc: "replay speed: a multiple of real time, or max" },
    loop: { type: "boolean", doc: "replay the file again and again" },
    "max-gap": { type: "string", default: "5", value: "SECONDS", doc: "longest wait between two packets of a paced replay" },
    snaplen: { type: "string", default: "256", value: "BYTES", doc: "bytes captured per packet on a live interface (the decoder reads at most 256)" },
    "buffer-size": { type: "string", default: "32", value: "MIB", doc: "kernel capture buffer of a live interface, MiB (raise it if health shows drops)" },
    filter: { type: "string", short: "f", value: "BPF", doc: "BPF capture filter (tcpdump syntax)" },
    host: { type: "string", default: "127.0.0.1", value: "ADDR", doc: "address the HTTP server listens on" },
    port: { type: "string", short: "p", default: "3000", value: "PORT", doc: "HTTP port (0: any free port)" },
    "max-flows": { type: "string", value: "N", doc: "flow table capacity; the least recently active flows are evicted when full [default: 1000000]" },
    "idle-timeout": { type: "string", value: "S", doc: "seconds without a packet before a flow ends [default: 60]" },
    "active-timeout": { type: "string", value: "S", doc: "seconds after which a long flow is reported and starts a new segment [default: 1800]" },
    transport: { type: "string", default: "ws", value: "ws|sse", choices: ["ws", "sse"], doc: "live updates to the browser over WebSocket or server-sent events" },
    "data-dir": { type: "string", value: "DIR", doc: "history database directory [default: ./data in a checkout; the binary: $XDG_DATA_HOME/flowmatrix, else /var/lib/flowmatrix as root, else ~/.local/share/flowmatrix]" },
    "no-store": { type: "boolean", doc: "keep everything in memory only (no history across restarts)" },
    "no-capture": { type: "boolean", doc: "serve the stored history only: no capture (looking at a sensor's data after the fact)" },
    "retention-days": { type: "string", default: "7", value: "DAYS", doc: "delete stored flows older than this" },
    "retention-size": { type: "string", default: "1GiB", value: "SIZE", doc: "keep the database under this size (oldest flows deleted first)" },
    ...alertOptions(),
    "export-ipfix": { type: "string", value: "HOST:PORT", doc: "send every ended flow as IPFIX (RFC 7011 biflow records) over UDP to this collector" },
    "ipfix-domain": { type: "string", default: "1", value: "N", doc: "IPFIX observation domain id" },
    "geoip-db": { type: "string", value: "FILE", doc: "country database (MMDB, e.g. GeoLite2-Country) for src_country/dst_country [default: the bundled NRO-based database]" },
    "asn-db": { type: "string", value: "FILE", doc: "AS database (MMDB, e.g. GeoLite2-ASN) for src_asn/dst_asn [default: the bundled RouteViews/DB-IP tables]" },
    "collect-netflow": { type: "string", value: "[HOST:]PORT", doc: "also collect NetFlow v5/v9 and IPFIX over UDP on this address (HOST defaults to 127.0.0.1, loopback only; 0.0.0.0:PORT for every IPv4 address); alone, without --interface/--read, the collector is the only flow source" },
    quiet: { type: "boolean", short: "q", doc: "no status line every 10 s on a terminal" },
    config: { type: "string", short: "c", value: "FILE", doc: "read settings from this TOML file (environment FLOWMATRIX_* and flags override it)" },
    "auth-token-file": { type: "string", value: "FILE", doc: "file holding the admin token (or FLOWMATRIX_AUTH_TOKEN); make one with flowmatrix token" },
    "viewer-token-file": { type: "string", value: "FILE", doc: "file holding a read-only viewer token (or FLOWMATRIX_VIEWER_TOKEN)" },
    "insecure-no-auth": { type: "boolean", doc: "allow a non-loopback --host without authentication (warns, and the UI shows a banner)" },
    "metrics-open": { type: "boolean", doc: "serve /metrics without authentication (for Prometheus)" },
    "allowed-origins": { type: "string", value: "ORIGINS", doc: "comma-separated extra origins allowed to open /ws and /sse and to send writes (e.g. https://noc.example)" },
    "server-names": { type: "string", value: "NAMES", doc: "comma-separated extra host names the server answers to (other Host headers get 421)" },
    "tls-cert": { type: "string", value: "FILE", doc: "serve HTTPS with this PEM certificate (needs --tls-key)" },
    "tls-key": { type: "string", value: "FILE", doc: "PEM private key for --tls-cert" },
    "log-format": { type: "string", default: "text", value: "FORMAT", choices: ["text", "json"], doc: "log lines on stderr: text, or one JSON object per event" },
    "log-level": { type: "string", default: "info", value: "LEVEL", choices: ["debug", "info", "warn", "error"], doc: "least severe log event written" },
  },
});
