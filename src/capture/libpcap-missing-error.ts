/** Thrown when no libpcap shared library can be loaded. The message says how to install it. */
export class LibpcapMissingError extends Error {
  override readonly name = "LibpcapMissingError";
  /** CLI exit code (3: install libpcap). */
  readonly exitCode = 3;
  /** Library names that were tried, in order. */
  readonly tried: readonly string[];

  constructor(tried: readonly string[], cause?: unknown) {
    super(
      `libpcap not found (tried ${tried.join(", ")}). Install it: ` +
        "sudo apt-get install libpcap0.8 (Debian/Ubuntu) | sudo dnf install libpcap (Fedora/RHEL) | " +
        "sudo pacman -S libpcap (Arch) | sudo apk add libpcap (Alpine) | macOS ships it (/usr/lib/libpcap.A.dylib)",
      { cause },
    );
    this.tried = tried;
  }
}
