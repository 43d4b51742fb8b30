/** Too many exports at once: the API answers 429 with Retry-After (seconds). */
export class TooManyRequestsError extends Error {
  override readonly name = "TooManyRequestsError";
  constructor(message: string, readonly retryAfter: number) {
    super(message);
  }
}
