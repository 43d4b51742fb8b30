/**
 * Loads `serve`'s settings from four places, highest first:
 *   1. flags (`--port 8080`),
 *   2. the environment (`FLOWMATRIX_PORT=8080`),
 *   3. the config file (`--config FILE` or `FLOWMATRIX_CONFIG`; TOML, parsed by Bun.TOML:
 *      `port = 8080`, keys are the flag names, plus the config-only keys of the schema),
 *   4. the defaults of the schema (src/config/schema.ts).
 * Every value is parsed by the schema; a bad one throws a ConfigError (exit 2) whose message names
 * where it came from: `--port: …`, `FLOWMATRIX_PORT: …`, `config file /etc/fm.toml: port: …`. An
 * unknown key in the file is an error too (with a suggestion). A boolean flag can only turn a
 * setting on; the environment (`FLOWMATRIX_LOOP=0`) or the file can set it either way.
 *
 * The admin and viewer tokens: `auth-token-file` (a file holding the token) and `auth-token` (the
 * token itself; environment or file only) — the one from the higher-precedence place wins; both
 * from the same place is an error. The token file is read here, so an unreadable or too-short
 * token stops the start naming the file.
 */
import { readFileSync, statSync } from "node:fs";
import { closest, parseVerb, type OptionTable, type VerbSpec } from "../cli/options.ts";
import { SERVE } from "../cli/serve-options.ts";
import { UsageError } from "../cli/usage-error.ts";
import { ENV_PREFIX, SCHEMA, SETTINGS_BY_KEY, MIN_TOKEN_LENGTH, type Setting, type SettingValues, type Value } from "./schema.ts";

/** A configuration mistake (exit 2, as a usage error). */
export class ConfigError extends UsageError {
  override name = "ConfigError";
}

export type Source =
  | { kind: "default" }
  | { kind: "file"; path: string; key: string }
  | { kind: "env"; name: string }
  | { kind: "flag"; name: string }
  | { kind: "api" };

const RANK: Record<Source["kind"], number> = { default: 0, file: 1, env: 2, flag: 3, api: 4 };

export function describeSource(s: Source): string {
  switch (s.kind) {
    case "default":
      return "default";
    case "file":
      return `config file ${s.path}`;
    case "env":
      return `environment ${s.name}`;
    case "flag":
      return `flag ${s.name}`;
    case "api":
      return "changed through the API";
  }
}

/** The name the error messages use for a value's origin. */
function where(s: Source): string {
  switch (s.kind) {
    case "file":
      return `config file ${s.path}: ${s.key}`;
    case "env":
      return s.name;
    case "flag":
      return s.name;
    default:
      return describeSource(s);
  }
}

export interface LoadedConfig {
  values: SettingValues;
  sources: Record<string, Source>;
  /** The config file read, if any. */
  file: string | undefined;
  /** Where the admin / viewer token came from (for messages; the token itself is in values). */
  tokenSources: { admin?: Source; viewer?: Source };
  /** The argv and environment it was loaded from (SIGHUP reloads with the same argv). */
  argv: readonly string[];
}

/** serve's table with every default removed, so parseVerb reports only the flags given. */
const GIVEN_ONLY: VerbSpec = {
  ...SERVE,
  options: Object.fromEntries(Object.entries(SERVE.options).map(([k, o]) => [k, o.type === "string" ? { ...o, default: undefined } : o])) as OptionTable,
};

function parseWith(s: Setting, text: string, src: Source): Value {
  try {
    return s.parse(text);
  } catch (e) {
    // `--port must be …` (as the CLI always said), `FLOWMATRIX_PORT: must be …`, `config file F: port: must be …`.
    throw new ConfigError(`${where(src)}${src.kind === "flag" ? "" : ":"} ${(e as Error).message}`);
  }
}

/** A TOML value as the text the parsers take (numbers and booleans as written; arrays joined). */
function fileText(v: unknown, key: string, path: string): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v.join(",");
  throw new ConfigError(`config file ${path}: ${key}: must be a string, number or boolean`);
}

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`config file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const data = Bun.TOML.parse(text) as Record<string, unknown>;
    return data;
  } catch (e) {
    throw new ConfigError(`config file ${path}: not valid TOML: ${(e as Error).message}`);
  }
}

function readTokenFile(path: string, src: Source): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`${where(src)}: cannot read token file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const t = text.trim();
  if (t.length < MIN_TOKEN_LENGTH || /\s/.test(t)) {
    throw new ConfigError(`${where(src)}: token file ${path} must hold one token of at least ${MIN_TOKEN_LENGTH} characters (make one with: flowmatrix token > ${path})`);
  }
  return t;
}

/** True when a file's mode lets group or others read it (a token file should be 0600 or 0400). */
export function readableByOthers(path: string): boolean {
  try {
    return (statSync(path).mode & 0o044) !== 0;
  } catch {
    return false;
  }
}

export function loadConfig(argv: readonly string[], env: Record<string, string | undefined> = process.env): LoadedConfig {
  const parsed = parseVerb(GIVEN_ONLY, [...argv]);
  if (parsed.help) throw new UsageError("--help is handled by main.ts");
  const flags = parsed.values as Record<string, string | boolean | undefined>;

  const values: Record<string, Value | undefined> = {};
  const sources: Record<string, Source> = {};
  for (const s of SCHEMA) {
    values[s.key] = s.default;
    sources[s.key] = { kind: "default" };
  }

  // 3. The config file (named by the flag, else the environment).
  const fileSrc: Source | undefined = typeof flags.config === "string" ? { kind: "flag", name: "--config" } : env[`${ENV_PREFIX}CONFIG`] ? { kind: "env", name: `${ENV_PREFIX}CONFIG` } : undefined;
  const file = typeof flags.config === "string" ? flags.config : env[`${ENV_PREFIX}CONFIG`] || undefined;
  if (file !== undefined) {
    values.config = file;
    sources.config = fileSrc!;
    const data = readConfigFile(file);
    for (const [key, raw] of Object.entries(data)) {
      const s = SETTINGS_BY_KEY.get(key);
      if (!s || s.notInFile) {
        const near = closest(key, SCHEMA.filter((x) => !x.notInFile).map((x) => x.key));
        throw new ConfigError(`config file ${file}: unknown key "${key}"${near ? ` (did you mean ${near}?)` : ""}`);
      }
      const src: Source = { kind: "file", path: file, key };
      values[key] = parseWith(s, fileText(raw, key, file), src);
      sources[key] = src;
    }
  }

  // 2. The environment.
  for (const s of SCHEMA) {
    if (s.key === "config") continue;
    const v = env[s.env];
    if (v === undefined || v === "") continue;
    const src: Source = { kind: "env", name: s.env };
    values[s.key] = parseWith(s, v, src);
    sources[s.key] = src;
  }

  // 1. Flags (choices were checked by parseVerb; the schema checks the rest).
  for (const s of SCHEMA) {
    if (!s.flag || s.key === "config") continue;
    const v = flags[s.key];
    if (v === undefined || v === false) continue;
    const src: Source = { kind: "flag", name: `--${s.key}` };
    values[s.key] = typeof v === "boolean" ? v : parseWith(s, v, src);
    sources[s.key] = src;
  }

  // Tokens: a token file or the token itself, whichever was given at the higher precedence.
  const tokenSources: LoadedConfig["tokenSources"] = {};
  for (const [role, key] of [["admin", "auth"], ["viewer", "viewer"]] as const) {
    const fileKey = `${key}-token-file`;
    const tokKey = `${key}-token`;
    const fileS = sources[fileKey]!;
    const tokS = sources[tokKey]!;
    const hasFile = values[fileKey] !== undefined;
    const hasTok = values[tokKey] !== undefined;
    if (hasFile && hasTok && RANK[fileS.kind] === RANK[tokS.kind]) {
      throw new ConfigError(`both ${where(fileS)} and ${where(tokS)} set the ${role} token: keep one`);
    }
    if (hasFile && (!hasTok || RANK[fileS.kind] > RANK[tokS.kind])) {
      values[tokKey] = readTokenFile(values[fileKey] as string, fileS);
      tokenSources[role] = fileS;
    } else if (hasTok) {
      tokenSources[role] = tokS;
    }
  }
  if (values["auth-token"] !== undefined && values["auth-token"] === values["viewer-token"]) {
    throw new ConfigError("the admin and viewer tokens must differ");
  }
  return { values: values as SettingValues, sources, file, tokenSources, argv };
}

/** A value as TOML (what `flowmatrix config` prints); secrets masked. */
export function showValue(s: Setting, v: Value | undefined): string {
  if (v === undefined) return s.defaultText ? `# unset (${s.defaultText})` : "# unset";
  if (s.secret) return `"********"`;
  if (typeof v === "boolean" || typeof v === "number") return String(v);
  if (Array.isArray(v)) return `[${v.map((x) => JSON.stringify(x)).join(", ")}]`;
  if (v === "" && s.defaultText) return `# ${s.defaultText}`;
  return JSON.stringify(v);
}

/**
 * The effective configuration as a TOML document with the source of each value as a comment
 * (`flowmatrix config`). Keys that cannot go in a file (`config`) are shown as comments.
 */
export function formatConfig(c: LoadedConfig): string {
  const lines: string[] = [`# flowmatrix effective configuration${c.file ? ` (config file ${c.file})` : ""}`, "# precedence: flags > environment (FLOWMATRIX_*) > config file > defaults"];
  const w = Math.max(...SCHEMA.map((s) => s.key.length));
  for (const s of SCHEMA) {
    const v = (c.values as Record<string, Value | undefined>)[s.key];
    const shown = showValue(s, v);
    let src = describeSource(c.sources[s.key]!);
    if (s.key === "auth-token" && c.tokenSources.admin) src = describeSource(c.tokenSources.admin);
    if (s.key === "viewer-token" && c.tokenSources.viewer) src = describeSource(c.tokenSources.viewer);
    const line = shown.startsWith("#") || s.notInFile ? `# ${s.key.padEnd(w)} ${shown.startsWith("#") ? shown.slice(2) : `= ${shown}`}` : `${s.key.padEnd(w)} = ${shown}`;
    lines.push(`${line}  # ${src}${s.live ? ", live" : ""}`);
  }
  return lines.join("\n");
}
