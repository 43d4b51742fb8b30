import { VERSION } from "../version.ts";

export { VERSION };

export const USAGE = `flowmatrix ${VERSION} — real-time network traffic monitor

Usage:
  flowmatrix serve [--interface IF | --read FILE [--speed N|max] [--loop] [--max-gap S]]
                   [--filter BPF] [--snaplen 256] [--buffer-size 32] [--host 127.0.0.1]
                   [--port 3000] [--max-flows N]
                   [--idle-timeout S] [--active-timeout S] [--transport ws|sse] [--quiet]
                   [--alert-bps 100M]
                   [--alert-host-bps 50M] [--alert-flow-bps 50M] [--alert-cpu 80]
                   [--alert-memory 90] [--alert-scan-attempts 20]
                   [--data-dir DIR | --no-store] [--no-capture] [--retention-days 7]
                   [--retention-size 1GiB] [--config FILE] [--auth-token-file FILE]
                   [--viewer-token-file FILE] [--insecure-no-auth] [--metrics-open]
                   [--allowed-origins ORIGINS] [--server-names NAMES]
                   [--tls-cert FILE --tls-key FILE] [--log-format text|json]
                   [--log-level debug|info|warn|error] [--export-ipfix HOST:PORT]
                   [--ipfix-domain N] [--collect-netflow [HOST:]PORT]
                   [--geoip-db FILE] [--asn-db FILE]
  flowmatrix flows --read FILE|- [--format json|ndjson|csv|table|summary] [--filter BPF]
                   [--idle-timeout S] [--active-timeout S] [--no-expire] [--max-flows N]
                   [--data-dir DIR] [--export-ipfix HOST:PORT] [--ipfix-domain N]
                   [--geoip-db FILE] [--asn-db FILE]
  flowmatrix interfaces [--json]
  flowmatrix config [--config FILE] [any serve option]
  flowmatrix token
  flowmatrix <command> --help
  flowmatrix --help | --version

Commands:
  serve       capture (live or replayed from a file) and serve the dashboard and the REST API
  flows       read a whole capture file and print every flow (active and ended), then exit
  interfaces  list capture devices with their addresses and state
  config      print the effective serve configuration and where each value comes from
  token       print a new random access token (admin or viewer)

Exit codes: 0 ok (also when the reader of stdout goes away), 2 bad usage or unreadable input,
3 missing libpcap or capture permission, 1 an unexpected error. A bad setting (flag, FLOWMATRIX_*
variable or config file key, named in the message) and a non-loopback --host without a token
also exit 2.`;
