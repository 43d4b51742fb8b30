/** Checked numeric command-line flags: a clear UsageError naming the flag. */
import { UsageError } from "./usage-error.ts";

/** `--name` as a number ≥ min (undefined when not given). */
export function numberFlag(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < min) throw new UsageError(`--${name} must be a number >= ${min} (got "${v}")`);
  return n;
}
