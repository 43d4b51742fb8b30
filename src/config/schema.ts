/**
 * The settings schema: every setting of `serve`, with its default, one line of doc, its parser,
 * its config-file key, its environment variable and (when it has one) its flag. Built from the
 * two tables that already hold them, so nothing is written twice:
 * - serve's options table (src/cli/serve-options.ts): name, doc, default, choices — each flag
 *   `--name` is the config-file key `name` and the variable `FLOWMATRIX_NAME` (upper case,
 *   `-` → `_`);
 * - the alert rule registry (src/alerts/registry.ts): every threshold and timing, with its unit
 *   and default. Settings with a flag keep it (`alert-bps`); the others are config-file and
 *   environment only, keyed `alert-<kebab-case name>` (`alert-cool-down-sec`);
 * plus the two secrets that are never flags (a token on a command line is visible in `ps`):
 * `auth-token` and `viewer-token`.
 *
 * Each parser takes text (a flag value, an environment value, or a config-file value turned to
 * text) and returns the typed value or throws an Error saying what is expected; the loader
 * (load.ts) prefixes the source, so the message names the flag, variable or file key.
 * `live` settings can change while serving (SIGHUP, PATCH /api/v1/settings).
 */
import { isIP } from "node:net";
import { ALERT_SETTINGS, type AlertSettingName } from "../alerts/registry.ts";
import type { AlertSetting } from "../alerts/rule.ts";
import type { StringOption } from "../cli/options.ts";
import { SERVE } from "../cli/serve-options.ts";
import { parseSettingValue } from "../alerts/registry.ts";
import { parseSize } from "../flows/query/units.ts";
import { parseHostPort } from "../export/ipfix-sink.ts";
import { parseListen } from "../collect/collector.ts";
import { defaultDataDir } from "../store/data-dir.ts";
import { LOG_LEVELS, type LogLevel } from "./log.ts";

export type Value = string | number | boolean | readonly string[];

export interface Setting {
  /** Config-file key (and flag name, when `flag`). */
  key: string;
  /** True when `--key` is a command-line flag. */
  flag: boolean;
  /** The environment variable: FLOWMATRIX_<KEY>. */
  env: string;
  doc: string;
  kind: "string" | "number" | "boolean" | "list";
  /** undefined = unset unless given. */
  default: Value | undefined;
  /** How the default reads in `flowmatrix config` and the docs (when it is not the value itself). */
  defaultText?: string;
  /** Masked in `flowmatrix config` and GET /api/v1/settings. */
  secret?: boolean;
  /** Applied while serving by SIGHUP and PATCH /api/v1/settings (the others need a restart). */
  live?: boolean;
  /** Not allowed in the config file (only `config` itself: the file cannot name another file). */
  notInFile?: boolean;
  /** The alert setting this key sets, for alert keys. */
  alert?: AlertSettingName;
  parse(text: string): Value;
}

export const ENV_PREFIX = "FLOWMATRIX_";
export const envName = (key: string) => ENV_PREFIX + key.toUpperCase().replace(/-/g, "_");

// ---- parsers ---------------------------------------------------------------------------------

const nonEmpty = (text: string): string => {
  if (text.trim() === "") throw new Error("must not be empty");
  return text;
};

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off"]);
const bool = (text: string): boolean => {
  const t = text.trim().toLowerCase();
  if (TRUE.has(t)) return true;
  if (FALSE.has(t)) return false;
  throw new Error(`must be true or false (or 1/0, yes/no), got "${text}"`);
};

const numberAtLeast = (min: number, integer = false) => (text: string): number => {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new Error(`must be a${integer ? " whole" : ""} number >= ${min}, got "${text}"`);
  }
  return n;
};

const positive = (what: string) => (text: string): number => {
  const n = Number(text);
  if (text.trim() === "" || !(n > 0) || !Number.isFinite(n)) throw new Error(`must be a positive number${what}, got "${text}"`);
  return n;
};

const choice = (choices: readonly string[]) => (text: string): string => {
  if (!choices.includes(text)) throw new Error(`must be one of ${choices.join(", ")}, got "${text}"`);
  return text;
};

const port = (text: string): number => {
  const n = Number(text);
  if (text.trim() === "" || !Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`must be a port 0-65535, got "${text}"`);
  return n;
};

const speed = (text: string): string => {
  if (text === "max") return text;
  const n = Number(text);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`must be a positive number or "max", got "${text}"`);
  return text;
};

const size = (text: string): number => {
  const n = parseSize(text);
  if (n === undefined || n < 1 << 20) throw new Error(`must be a size of at least 1MiB, such as 500MiB or 2GiB, got "${text}"`);
  return n;
};

const list = (item: (s: string) => string) => (text: string): readonly string[] =>
  text.split(",").map((s) => s.trim()).filter((s) => s !== "").map(item);

/** `https://noc.example:8443` → its origin; anything with a path, query or other scheme is refused. */
export function parseOrigin(s: string): string {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new Error(`"${s}" is not an origin such as https://noc.example:8443`);
  }
  if ((u.protocol !== "http:" && u.protocol !== "https:") || u.pathname !== "/" || u.search || u.hash || u.username || u.password || /\/./.test(s.replace(/^\w+:\/\//, ""))) {
    throw new Error(`"${s}" is not an origin such as https://noc.example:8443 (scheme, host and port only)`);
  }
  return u.origin;
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;
/** A DNS name or an IP address (IPv6 with or without brackets), lower-cased, brackets removed. */
export function parseServerName(s: string): string {
  const t = s.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (isIP(t) || HOSTNAME.test(t)) return t.replace(/\.$/, "");
  throw new Error(`"${s}" is not a host name or address`);
}

export const MIN_TOKEN_LENGTH = 16;
const token = (text: string): string => {
  const t = text.trim();
  if (t.length < MIN_TOKEN_LENGTH) throw new Error(`must be at least ${MIN_TOKEN_LENGTH} characters (make one with: flowmatrix token)`);
  if (/\s/.test(t)) throw new Error("must not contain white space");
  return t;
};

// ---- the schema ------------------------------------------------------------------------------

type FlagKey = Exclude<keyof typeof SERVE.options, `alert-${string}`>;

/** A parser for every non-alert flag of serve's table: a flag added there without one fails tsc. */
const FLAG_PARSERS = {
  interface: nonEmpty,
  read: nonEmpty,
  speed,
  loop: bool,
  "max-gap": positive(" of seconds"),
  snaplen: (text: string) => {
    const n = numberAtLeast(64, true)(text);
    if (n > 262_144) throw new Error(`must be at most 262144, got "${text}"`);
    return n;
  },
  "buffer-size": (text: string) => {
    const n = numberAtLeast(1, true)(text);
    if (n > 4096) throw new Error(`must be at most 4096 (MiB), got "${text}"`);
    return n;
  },
  filter: nonEmpty,
  host: nonEmpty,
  port,
  "max-flows": numberAtLeast(16, true),
  "idle-timeout": numberAtLeast(1),
  "active-timeout": numberAtLeast(1),
  transport: choice(["ws", "sse"]),
  "data-dir": nonEmpty,
  "no-store": bool,
  "no-capture": bool,
  "retention-days": positive(""),
  "retention-size": size,
  "export-ipfix": (text: string) => (parseHostPort(text), text),
  "collect-netflow": (text: string) => (parseListen(text), text),
  "ipfix-domain": (text: string) => {
    const n = numberAtLeast(0, true)(text);
    if (n > 0xffffffff) throw new Error(`must be at most 4294967295, got "${text}"`);
    return n;
  },
  "geoip-db": nonEmpty,
  "asn-db": nonEmpty,
  quiet: bool,
  config: nonEmpty,
  "auth-token-file": nonEmpty,
  "viewer-token-file": nonEmpty,
  "insecure-no-auth": bool,
  "metrics-open": bool,
  "allowed-origins": list(parseOrigin),
  "server-names": list(parseServerName),
  "tls-cert": nonEmpty,
  "tls-key": nonEmpty,
  "log-format": choice(["text", "json"]),
  "log-level": choice(LOG_LEVELS),
} satisfies Record<FlagKey, (text: string) => Value>;

/** Defaults the options table leaves to the engine or the store (shown, and used, as such). */
const DEFAULTS: Partial<Record<FlagKey, { value: Value; text?: string }>> = {
  "max-flows": { value: 1_000_000 },
  "idle-timeout": { value: 60 },
  "active-timeout": { value: 1800 },
  "data-dir": { value: "", text: "./data in a checkout; the binary: $XDG_DATA_HOME/flowmatrix, /var/lib/flowmatrix as root, else ~/.local/share/flowmatrix" },
};

const LIVE_KEYS = new Set<string>(["log-level"]);
const NOT_IN_FILE = new Set<string>(["config"]);

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function alertSetting(key: string, name: AlertSettingName, s: AlertSetting, flag: boolean): Setting {
  return {
    key, flag, env: envName(key), doc: s.doc, kind: "number", default: s.default, live: true, alert: name,
    defaultText: s.unit === "rate" ? `${s.default / 1e6}M` : undefined,
    parse: (text) => parseSettingValue(s.unit, text),
  };
}

function buildSchema(): readonly Setting[] {
  const out: Setting[] = [];
  const alertByFlag = new Map<string, AlertSettingName>();
  for (const [name, s] of Object.entries(ALERT_SETTINGS) as [AlertSettingName, AlertSetting][]) if (s.flag) alertByFlag.set(s.flag, name);
  for (const [key, o] of Object.entries(SERVE.options)) {
    const alert = alertByFlag.get(key);
    if (alert) {
      out.push(alertSetting(key, alert, ALERT_SETTINGS[alert], true));
      continue;
    }
    const parse = FLAG_PARSERS[key as FlagKey] as (text: string) => Value;
    const d = DEFAULTS[key as FlagKey];
    const tableDefault = o.type === "string" ? (o as StringOption).default : undefined;
    const kind: Setting["kind"] = o.type === "boolean" ? "boolean" : key === "allowed-origins" || key === "server-names" ? "list" : typeof (tableDefault === undefined ? d?.value : parse(tableDefault)) === "number" ? "number" : "string";
    out.push({
      key, flag: true, env: envName(key), doc: o.doc.replace(/ \[default: [^\]]*\]$/, ""), kind,
      default: o.type === "boolean" ? false : tableDefault !== undefined ? parse(tableDefault) : d?.value,
      defaultText: d?.text,
      live: LIVE_KEYS.has(key), notInFile: NOT_IN_FILE.has(key),
      parse,
    });
  }
  // Secrets: environment or config file only.
  out.push(
    { key: "auth-token", flag: false, env: envName("auth-token"), doc: "the admin token itself (prefer auth-token-file; never a flag)", kind: "string", default: undefined, secret: true, parse: token },
    { key: "viewer-token", flag: false, env: envName("viewer-token"), doc: "a read-only viewer token itself (prefer viewer-token-file; never a flag)", kind: "string", default: undefined, secret: true, parse: token },
  );
  // Alert settings without a flag: config file and environment.
  for (const [name, s] of Object.entries(ALERT_SETTINGS) as [AlertSettingName, AlertSetting][]) {
    if (!s.flag) out.push(alertSetting(`alert-${kebab(name)}`, name, s, false));
  }
  return out;
}

/** Every setting, in the order of serve's table, then the secrets, then config-only alert settings. */
export const SCHEMA: readonly Setting[] = buildSchema();
export const SETTINGS_BY_KEY: ReadonlyMap<string, Setting> = new Map(SCHEMA.map((s) => [s.key, s]));

/** The parsed values by key (flag keys typed; alert keys are numbers). */
export type SettingValues = { [K in FlagKey]: ReturnType<(typeof FLAG_PARSERS)[K]> | undefined } & {
  "auth-token"?: string;
  "viewer-token"?: string;
} & Record<`alert-${string}`, number>;

/** The default data directory as `serve` resolves it (the schema shows its rule instead). */
export function resolvedDataDir(v: SettingValues): string {
  return v["data-dir"] || defaultDataDir();
}

export type { LogLevel };
