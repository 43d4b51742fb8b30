/**
 * Thrown when libpcap refuses to open an interface for lack of privileges
 * (PCAP_ERROR_PERM_DENIED, or an activation error mentioning permission).
 */
export class CapturePermissionError extends Error {
  override readonly name = "CapturePermissionError";
  /** CLI exit code (3: the environment, not the command line, must change). */
  readonly exitCode = 3;
  /** The interface that could not be opened. */
  readonly iface: string;

  constructor(iface: string, pcapMessage: string) {
    super(
      `permission denied capturing on "${iface}" (${pcapMessage}). Run as root, or grant the capture ` +
        `capabilities once: sudo setcap cap_net_raw,cap_net_admin=eip ${CapturePermissionError.binaryPath()}`,
    );
    this.iface = iface;
  }

  /** The executable that needs the capabilities: the bun binary, or the compiled dist/flowmatrix. */
  static binaryPath(): string {
    return process.execPath;
  }
}
