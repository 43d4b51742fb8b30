/**
 * Where the history database lives when --data-dir is not given:
 * - run from a checkout (`bun src/main.ts`, `npm start`): `./data` (relative to the working directory);
 * - the compiled binary: `$XDG_DATA_HOME/flowmatrix` when XDG_DATA_HOME is set, else
 *   `/var/lib/flowmatrix` when running as root (a service), else `~/.local/share/flowmatrix`.
 */
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export const DB_FILE = "flowmatrix.db";

export function defaultDataDir(env: Record<string, string | undefined> = process.env, compiled = import.meta.url.includes("$bunfs")): string {
  if (!compiled) return resolve("data");
  const xdg = env.XDG_DATA_HOME;
  if (xdg && xdg.startsWith("/")) return join(xdg, "flowmatrix");
  if (process.getuid?.() === 0) return "/var/lib/flowmatrix";
  return join(homedir(), ".local", "share", "flowmatrix");
}
