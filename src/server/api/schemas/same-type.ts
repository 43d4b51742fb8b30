/**
 * Compile-time link between a response schema and the TypeScript type the handler really returns:
 * `sameType<Same<Static<typeof Schema>, Type>>()` fails `tsc` when either has a field, a type or
 * a nullability the other lacks (mutual assignability, so optional vs required also counts).
 * Costs nothing at run time (an empty function).
 */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

export function sameType<_T extends true>(): void {}
