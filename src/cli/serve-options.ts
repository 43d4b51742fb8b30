/**
 * `flowmatrix serve`: its options table (see options.ts). Every flag serve-command.ts parses, plus
 * `--quiet` and `--max-gap`; `serve --help` is printed from this table.
 */
import { defineVerb } from "./options.ts";

export const SERVE = defineVerb({
  verb: "serve",
  synopsis: "[--interface IF | --read FILE [--speed N|max] [--loop] [--max-gap S]] [options]",
  summary: "Capture (live, or replayed from a file) and serve the dashboard and the REST API until SIGINT/SIGTERM.",
  options: {
    interface: { type: "string", short: "i", value: "IF", doc: "capture live on this interface (default: the default interface)" },
    read: { type: "string", short: "r", value: "FILE", doc: "replay this pcap/pcapng file instead of capturing live" },
    speed: { type: "string", default: "1", value: "N|max", doc: "replay speed: a multiple of real time, or max" },
    loop: { type: "boolean", doc: "replay the file again and again" },
    "max-gap": { type: "string", default: "5", value: "SECONDS", doc: "longest wait between two packets of a paced replay" },
    filter: { type: "string", short: "f", value: "BPF", doc: "BPF capture filter (tcpdump syntax)" },
    host: { type: "string", default: "127.0.0.1", value: "ADDR", doc: "address the HTTP server listens on" },
    port: { type: "string", short: "p", default: "3000", value: "PORT", doc: "HTTP port (0: any free port)" },
    "max-flows": { type: "string", value: "N", doc: "flow table capacity; the least recently active flows are evicted when full [default: 1000000]" },
    "idle-timeout": { type: "string", value: "S", doc: "seconds without a packet before a flow ends [default: 60]" },
    transport: { type: "string", default: "ws", value: "ws|sse", choices: ["ws", "sse"], doc: "live updates to the browser over WebSocket or server-sent events" },
    "alert-bps": { type: "string", value: "RATE", doc: "alert when total bandwidth exceeds RATE bit/s (e.g. 100M)" },
    "alert-host-bps": { type: "string", value: "RATE", doc: "alert when one host exceeds RATE bit/s (e.g. 50M)" },
    "alert-flow-bps": { type: "string", value: "RATE", doc: "alert when one flow exceeds RATE bit/s (e.g. 50M)" },
    "alert-cpu": { type: "string", value: "PERCENT", doc: "alert when CPU use exceeds PERCENT [default: 80]" },
    "alert-memory": { type: "string", value: "PERCENT", doc: "alert when memory use exceeds PERCENT [default: 90]" },
    "alert-scan-attempts": { type: "string", value: "N", doc: "unanswered or refused connection attempts from one source that suggest a scan [default: 20]" },
    quiet: { type: "boolean", short: "q", doc: "no status line every 10 s on a terminal" },
  },
});
