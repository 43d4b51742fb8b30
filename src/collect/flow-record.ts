/**
 * One flow record decoded from a NetFlow v5 / v9 or IPFIX data record, reused for every record
 * (no object per record). Times are seconds since the epoch (f64); counters are already scaled by
 * the sampling rate when the collector hands it to the flow table (see collector.ts).
 *
 * Direction: `bytes`/`packets`/`flags` are the record's forward direction (src → dst); `rbytes`/
 * `rpackets`/`rflags` the reverse direction of an RFC 5103 biflow record (0 for a unidirectional
 * record). `initiator`: 0 unknown, 1 the source is the initiator, 2 the destination is
 * (biflowDirection 1 / 2; anything else is unknown).
 */
export class CollectedFlow {
  ipVersion: 4 | 6 = 4;
  /** Addresses in the flow table's word layout (IPv4 in word 0, host-order value; IPv6 4 big-endian words). */
  readonly src = new Int32Array(4);
  readonly dst = new Int32Array(4);
  sport = 0;
  dport = 0;
  proto = 0;
  /** VLAN id, -1 when none was exported (or 0: IPFIX exporters send vlanId 0 for untagged). */
  vlan = -1;
  first = 0;
  last = 0;
  bytes = 0;
  packets = 0;
  flags = 0;
  rbytes = 0;
  rpackets = 0;
  rflags = 0;
  initiator = 0;
  /** Sampling rate that applies to this record (1 = not sampled). */
  sampling = 1;

  reset(): void {
    this.ipVersion = 4;
    this.src.fill(0);
    this.dst.fill(0);
    this.sport = 0;
    this.dport = 0;
    this.proto = 0;
    this.vlan = -1;
    this.first = 0;
    this.last = 0;
    this.bytes = 0;
    this.packets = 0;
    this.flags = 0;
    this.rbytes = 0;
    this.rpackets = 0;
    this.rflags = 0;
    this.initiator = 0;
    this.sampling = 1;
  }
}
