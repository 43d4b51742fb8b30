/**
 * NetflowCollector (`serve --collect-netflow [HOST:]PORT`): a UDP socket receiving NetFlow v5, v9
 * and IPFIX from any number of exporters, the decoder (decode.ts) and the per-exporter state
 * (exporters.ts). Each decoded flow record goes to `onFlow` with its origin (1..63, the exporter and
 * observation domain), which the engine host hands to the flow table (FlowTable.addRecord).
 *
 * It runs in the engine Worker beside the packet capture (or alone: `serve` with a collector and
 * no --interface/--read runs capture kind "none"). The socket's callback decodes each datagram at
 * once, on the Worker's thread, between packet batches and calls; nothing is queued. A datagram
 * that does not decode is counted by reason, never thrown.
 *
 * Shape shared by every component: a config, start() (binds; rejects when the address cannot be
 * bound), stop().
 */
import { COLLECT_ERRORS, ExporterRegistry, type ExporterRegistryConfig, type ExporterStats } from "./exporters.ts";
import { NetflowDecoder } from "./decode.ts";
import type { CollectedFlow } from "./flow-record.ts";

export interface CollectorListen {
  host: string;
  port: number;
}

/** `[HOST:]PORT` → host and port (HOST defaults to 127.0.0.1, loopback only; `[v6]:PORT` for IPv6; port 0 = any free port). */
export function parseListen(text: string): CollectorListen {
  const m = /^(\d+)$/.exec(text) ?? /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:\s[\]]+):(\d+)$/.exec(text);
  if (!m) throw new RangeError(`must be [HOST:]PORT (or [IPv6]:PORT), got "${text}"`);
  // A bare port listens on loopback only, like the HTTP server: routers elsewhere need an explicit address (0.0.0.0:PORT).
  const host = m.length === 2 ? "127.0.0.1" : m[1]!;
  const portText = m.length === 2 ? m[1]! : m[2]!;
  const port = Number(portText);
  if (!(port >= 0 && port <= 65535) || portText.length > 5) throw new RangeError(`port must be 0-65535, got "${portText}"`);
  return { host, port };
}

export interface CollectorConfig extends CollectorListen {
  /** Every decoded flow record (reused object: copy what you keep), with its origin 1..63. */
  onFlow: (f: CollectedFlow, origin: number) => void;
  /** Seconds a template lives without being announced again (default 1800). */
  templateTimeout?: number;
  /** Memory bounds (exporters, domains per exporter, templates per domain; see exporters.ts). */
  limits?: Pick<ExporterRegistryConfig, "maxExporters" | "maxDomains" | "maxTemplates">;
}

export interface CollectorStats {
  /** The bound address, HOST:PORT. */
  listen: string;
  state: "starting" | "active" | "stopped" | "failed";
  error: string | null;
  /** Datagrams received, flow records decoded, errors (datagrams, sets, records refused) by reason. */
  packets: number;
  records: number;
  errors: number;
  error_reasons: Record<string, number>;
  /** Exporter/domain pairs that took over the origin of the least recently seen one (more than 63 at once). */
  origins_reused: number;
  /** Datagrams from new exporters refused because 1024 exporters were known already. */
  exporters_refused: number;
  exporters: ExporterStats[];
}

type Udp = { close(): void; port: number; hostname: string };

export class NetflowCollector {
  readonly registry: ExporterRegistry;
  readonly decoder: NetflowDecoder;
  private sock: Udp | null = null;
  private state: CollectorStats["state"] = "starting";
  private error: string | null = null;
  private boundPort: number;

  constructor(private readonly config: CollectorConfig) {
    this.registry = new ExporterRegistry({ templateTimeout: config.templateTimeout, ...config.limits });
    this.decoder = new NetflowDecoder(this.registry, (f, _e, d) => config.onFlow(f, d.origin));
    this.boundPort = config.port;
  }

  /** Binds the socket; rejects with a one-line reason (address in use, not local…). */
  async start(): Promise<void> {
    const c = this.config;
    try {
      const sock = await Bun.udpSocket({
        hostname: c.host,
        port: c.port,
        socket: {
          data: (_s, buf, port, address) => this.feed(buf, address, port),
        },
      });
      this.sock = sock;
      this.boundPort = sock.port;
      this.state = "active";
    } catch (err) {
      const e = err as Error & { code?: string };
      this.state = "failed";
      this.error = e.code === "EADDRINUSE"
        ? `collector port ${c.port} is in use`
        : `cannot listen for NetFlow/IPFIX on ${c.host}:${c.port}: ${e.message}`;
      throw new CollectorBindError(this.error);
    }
  }

  /** One datagram from `address`:`port` (the socket's callback; tests and benches call it too). */
  feed(buf: Uint8Array, address: string, port: number, now = Date.now() / 1000): void {
    this.decoder.datagram(buf, address, port, now);
  }

  /** Once a second: forget expired templates. */
  tick(now = Date.now() / 1000): void {
    this.registry.sweep(now);
  }

  stop(): void {
    this.sock?.close();
    this.sock = null;
    this.state = "stopped";
  }

  /** The port bound (the configured one, or the one the system chose for port 0). */
  get port(): number {
    return this.boundPort;
  }

  stats(): CollectorStats {
    const exporters = this.registry.stats();
    let packets = 0, records = 0, errors = 0;
    for (const e of exporters) {
      packets += e.packets;
      records += e.records;
      errors += e.errors;
    }
    const reasons: Record<string, number> = {};
    for (const r of COLLECT_ERRORS) {
      const n = this.registry.reasons.get(r);
      if (n) reasons[r] = n;
    }
    const host = this.config.host.includes(":") ? `[${this.config.host}]` : this.config.host;
    return {
      listen: `${host}:${this.boundPort}`, state: this.state, error: this.error, packets, records, errors,
      error_reasons: reasons, origins_reused: this.registry.originsReused, exporters_refused: this.registry.refused, exporters,
    };
  }
}

/** The collector's address cannot be bound (a configuration error: serve exits 2). */
export class CollectorBindError extends Error {
  override name = "CollectorBindError";
  /** serve exits 2, as for any configuration error. */
  readonly exitCode = 2;
}
