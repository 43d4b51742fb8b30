/**
 * Raised (as a rejection of `FileSource.start()` or a throw from `FileSource.readSync()`) when a
 * capture file cannot be opened or is not a pcap/pcapng file. The message names the file and the
 * reason. Damage found after the header (truncation, absurd lengths) is NOT an error: it is reported
 * through `FileSource.truncated` / `FileSource.message` after every complete record was delivered.
 */
export class FileSourceError extends Error {
  /** The path that failed. */
  readonly path: string;
  /** errno code (ENOENT, EACCES, EISDIR, …) when the OS refused, else "EFORMAT". */
  readonly code: string;
  /** CLI exit code: unreadable input. */
  readonly exitCode = 2;

  constructor(path: string, code: string, reason: string) {
    super(`${path}: ${reason}`);
    this.name = "FileSourceError";
    this.path = path;
    this.code = code;
  }
}
