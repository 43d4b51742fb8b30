/** The addressed resource does not exist: the API answers 404 with `{"error":"not_found","message":…}`. */
export class NotFoundError extends Error {
  override name = "NotFoundError";
  constructor(message: string) {
    super(message);
  }
}
