/** A call to the engine Worker failed: carries the Worker-side error name and field (queries). */
export class EngineCallError extends Error {
  override name = "EngineCallError";
  constructor(readonly kind: string, message: string, readonly field?: string) {
    super(message);
  }
}
