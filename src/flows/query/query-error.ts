/**
 * Error thrown for a query that cannot be parsed (query text or URL parameters).
 * `field` names the field or URL parameter involved ("q" when the problem is the query text as a
 * whole, e.g. a stray parenthesis or an unknown field name); `position` is the 0-based character
 * offset in the query text (for a URL parameter, the offset within that parameter's value).
 * The message starts with where the problem is ("at 14: …" or "src_ip: …") and says what was expected.
 */
export class QueryError extends Error {
  readonly field: string;
  readonly position: number;

  constructor(message: string, field: string, position: number) {
    super(message);
    this.name = "QueryError";
    this.field = field;
    this.position = position;
  }
}
