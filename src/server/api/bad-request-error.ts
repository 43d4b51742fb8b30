/**
 * A request parameter is invalid. The API answers 400 with
 * `{"error":"bad_request","message":…,"field":…}`; `field` names the parameter (or "q" for the
 * query text), `position` (when known) is the character offset of the problem in that parameter.
 */
export class BadRequestError extends Error {
  override name = "BadRequestError";
  constructor(readonly field: string, message: string, readonly position?: number) {
    super(message);
  }
}
