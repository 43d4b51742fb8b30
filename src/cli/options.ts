/**
 * Declarative command-line options: one table per verb (name, type, short letter, default, value
 * placeholder, allowed choices, one line of doc). From that table come the `parseArgs` options, the
 * verb's `--help` text and the "did you mean" suggestion for an unknown flag; the same table can
 * later feed a config-file schema.
 */
import { parseArgs } from "node:util";
import { UsageError } from "./usage-error.ts";

export interface StringOption {
  type: "string";
  short?: string;
  default?: string;
  /** Placeholder shown in the help (`--read FILE`). */
  value: string;
  /** Allowed values (checked when parsing, listed in the help). */
  choices?: readonly string[];
  doc: string;
}

export interface BooleanOption {
  type: "boolean";
  short?: string;
  doc: string;
}

export type OptionSpec = StringOption | BooleanOption;
export type OptionTable = Record<string, OptionSpec>;

export interface VerbSpec<T extends OptionTable = OptionTable> {
  verb: string;
  /** The synopsis after `flowmatrix <verb>`. */
  synopsis: string;
  /** One sentence: what the verb does. */
  summary: string;
  options: T;
}

/** Parsed values: booleans are always set; strings are set when given or defaulted. */
export type OptionValues<T extends OptionTable> = {
  [K in keyof T]: T[K] extends BooleanOption ? boolean : T[K] extends { default: string } ? string : string | undefined;
};

export function defineVerb<const T extends OptionTable>(spec: VerbSpec<T>): VerbSpec<T> {
  for (const [name, o] of Object.entries(spec.options)) {
    if (name === "help") throw new Error(`${spec.verb}: --help is implicit`);
    if (o.short !== undefined && (o.short.length !== 1 || o.short === "h")) throw new Error(`${spec.verb}: bad short flag for --${name}`);
  }
  return spec;
}

/** `{ help: true }` when --help / -h was given (nothing else is checked then), else the values. */
export type ParseResult<T extends OptionTable> = { help: true } | { help: false; values: OptionValues<T> };

/**
 * Parses argv against the verb's table. Unknown flags, missing values, values given to booleans,
 * positionals and values outside `choices` throw a UsageError naming the flag.
 */
export function parseVerb<T extends OptionTable>(spec: VerbSpec<T>, argv: string[]): ParseResult<T> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = { help: { type: "boolean", short: "h" } };
  for (const [name, o] of Object.entries(spec.options)) options[name] = o.short ? { type: o.type, short: o.short } : { type: o.type };
  // Non-strict parse into tokens, then our own checks: the messages name the flag and suggest.
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  if (tokens.some((t) => t.kind === "option" && t.name === "help")) return { help: true };
  const values: Record<string, string | boolean | undefined> = {};
  for (const [name, o] of Object.entries(spec.options)) values[name] = o.type === "boolean" ? false : o.default;
  for (const t of tokens) {
    if (t.kind === "positional") throw new UsageError(`${spec.verb} takes no argument "${t.value}" (options start with --)`);
    if (t.kind !== "option") continue;
    const o = spec.options[t.name];
    if (!o) throw new UsageError(unknownOptionMessage(t.rawName, Object.keys(spec.options)));
    if (o.type === "boolean") {
      if (t.value !== undefined) throw new UsageError(`--${t.name} takes no value (got "${t.value}")`);
      values[t.name] = true;
    } else {
      if (t.value === undefined) throw new UsageError(`--${t.name} needs a value: --${t.name} ${o.value}`);
      if (o.choices && !o.choices.includes(t.value)) throw new UsageError(`--${t.name} must be one of ${o.choices.join(", ")} (got "${t.value}")`);
      values[t.name] = t.value;
    }
  }
  return { help: false, values: values as OptionValues<T> };
}

function unknownOptionMessage(raw: string, names: string[]): string {
  const given = raw.replace(/^-+/, "");
  const best = closest(given, [...names, "help"]);
  return `unknown option ${raw}` + (best ? ` (did you mean --${best}?)` : "");
}

/** The candidate nearest to `word` by edit distance, when near enough to be a plausible typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(word) && word.length >= 2 ? 1 : editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/** Optimal string alignment distance (Levenshtein plus adjacent transposition). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d.push([i]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The verb's help: synopsis, summary, then one line per option. */
export function verbHelp(spec: VerbSpec): string {
  const rows: [string, string][] = Object.entries(spec.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : "    "}--${name}${o.type === "string" ? ` ${o.value}` : ""}`;
    let doc = o.doc;
    if (o.type === "string" && o.choices) doc += ` (${o.choices.join("|")})`;
    if (o.type === "string" && o.default !== undefined) doc += ` [default: ${o.default}]`;
    return [flag, doc];
  });
  rows.push(["-h, --help", "show this help and exit"]);
  const w = Math.max(...rows.map(([f]) => f.length)) + 2;
  return (
    `Usage: flowmatrix ${spec.verb} ${spec.synopsis}\n\n${spec.summary}\n\nOptions:\n` +
    rows.map(([f, d]) => `  ${f.padEnd(w)}${d}`).join("\n")
  );
}
