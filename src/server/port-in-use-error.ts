/** `serve` could not listen: another process (often a second flowmatrix) holds the port. */
export class PortInUseError extends Error {
  override readonly name = "PortInUseError";
  /** CLI exit code: a configuration error (choose another --port). */
  readonly exitCode = 2;
  constructor(readonly host: string, readonly port: number, cause?: unknown) {
    super(`port ${port} is in use on ${host} (another flowmatrix or another server is listening there); choose another --port`, { cause });
  }
}
