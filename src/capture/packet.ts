/**
 * The contract between packet sources, the decoder and the flow table.
 *
 * A source hands each packet to a `PacketSink` as (buffer, offset, caplen, wirelen, ts, linktype):
 * no object per packet. The decoder fills one reused `DecodedPacket` and returns a `DecodeResult`.
 */

/** Receives packets from a source. `buf[off .. off+caplen)` holds the captured bytes. */
export interface PacketSink {
  /**
   * `ts` in seconds since the epoch (f64), finite and within a Date's range (±8.64e12 s: the file
   * readers replace any other time, see MAX_TS); `wirelen` is the original length on the wire.
   */
  packet(buf: Uint8Array, off: number, caplen: number, wirelen: number, ts: number, linktype: number): void;
}

/** Decoder output, reused for every packet (never allocate per packet). */
export class DecodedPacket {
  /** 4 or 6. */
  ipVersion = 4;
  /** Outer IP source/destination (Int32Array: JSC keeps int32 values unboxed; read unsigned with >>> 0): IPv4 in word 0 (0x0a000001 = 10.0.0.1), words 1..3 zero; IPv6 as 4 big-endian words. */
  readonly src = new Int32Array(4);
  readonly dst = new Int32Array(4);
  /** Final IP protocol after IPv6 extension headers (6 tcp, 17 udp, 1 icmp, 58 icmpv6, …). */
  proto = 0;
  /** Ports for TCP/UDP/SCTP (0 otherwise); ICMP echo request/reply: both = echo identifier. */
  sport = 0;
  dport = 0;
  /** Outermost 802.1Q/802.1ad VLAN id, or -1 when untagged. */
  vlan = -1;
  /** TCP flags byte (0 for other protocols). */
  tcpFlags = 0;
  /** IPv4 total length, or IPv6 payload length + 40. */
  ipLen = 0;
  /** Fragment info: IPv4 id / IPv6 fragment id, offset in 8-byte units, more-fragments flag. */
  isFragment = false;
  fragId = 0;
  fragOffset = 0;
  /**
   * A malformed reason (DecodeResult code) that did not stop keying, e.g. TRUNCATED_TRANSPORT when
   * the IP header is fine but the transport header was cut (the packet still counts, ports 0 unless
   * the 4 port bytes were captured). 0 when none. Reset by every decode().
   */
  note = 0;
}

/** Result codes of `decode()`. OK and NON_IP are not errors; the rest are malformed reasons. */
export const DecodeResult = {
  OK: 0,
  NON_IP: 1,
  UNKNOWN_LINKTYPE: 2,
  TRUNCATED_LINK: 3,
  BAD_IP_VERSION: 4,
  BAD_IP_HEADER_LENGTH: 5,
  TRUNCATED_IP: 6,
  TRUNCATED_TRANSPORT: 7,
  HEADER_CHAIN_TOO_LONG: 8,
} as const;

/** Names of malformed reasons as they appear in stats.malformed (index = DecodeResult code). */
export const MALFORMED_NAMES = [
  "",
  "",
  "unknown_linktype",
  "truncated_link_header",
  "bad_ip_version",
  "bad_ip_header_length",
  "truncated_ip_header",
  "truncated_transport",
  "header_chain_too_long",
] as const;

/** Capture counters of a source (libpcap's pcap_stats for live sources). */
export interface CaptureStats {
  /** Packets handed to the sink. */
  packets: number;
  /** Live only: pcap_stats ps_recv / ps_drop / ps_ifdrop (0 for files). On `lo` libpcap counts each packet twice in ps_recv. */
  received: number;
  dropped: number;
  ifDropped: number;
}

/**
 * A packet source: live interface, capture file, later a NetFlow/IPFIX collector.
 * Shape shared by every component: a config object in the constructor, start(), stop().
 */
export interface PacketSource {
  /** Feeds packets to `sink` until the end of the file or stop(); rejects on a capture error. */
  start(sink: PacketSink): Promise<void>;
  /** Requests the end; the start() promise resolves soon after (within the source's timeout). */
  stop(): void;
  stats(): CaptureStats;
  /** Link types seen so far (one per pcapng interface; one for pcap and live). */
  linktypes(): number[];
}
