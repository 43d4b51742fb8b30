/**
 * An error reported by libpcap: a failed open or activation, a bad BPF filter, or a capture
 * error such as the interface going down. The message carries libpcap's own text.
 */
export class PcapError extends Error {
  override readonly name = "PcapError";
  /** CLI exit code: a configuration error (bad interface, filter or file). */
  readonly exitCode = 2;
  /** libpcap status code when known (e.g. -5 PCAP_ERROR_NO_SUCH_DEVICE, -1 PCAP_ERROR), else -1. */
  readonly code: number;

  constructor(message: string, code = -1) {
    super(message);
    this.code = code;
  }
}
