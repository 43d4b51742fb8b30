/** Small helpers shared by the bench scripts: numeric options and percentiles. */

/** `--name N` from the command line, or `def`. */
export function opt(name: string, def: number, args = process.argv.slice(2)): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
}

/** p-th percentile (nearest rank) of an ascending array. */
export function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
