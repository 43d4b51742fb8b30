#!/usr/bin/env bun
/**
 * The CLI: `serve`, `flows`, `interfaces`. Each command lives in src/cli/; this file only
 * dispatches and turns known errors into one clear line and an exit code
 * (2 usage / unreadable input, 3 missing libpcap or capture permission).
 */
import { USAGE, VERSION } from "./cli/usage.ts";
import { UsageError } from "./cli/usage-error.ts";

const [command, ...rest] = process.argv.slice(2);

async function main(): Promise<number> {
  switch (command) {
    case undefined:
    case "--help":
    case "-h":
    case "help":
      console.log(USAGE);
      return 0;
    case "--version":
    case "-V":
      console.log(VERSION);
      return 0;
    case "flows":
      return (await import("./cli/flows-command.ts")).flowsCommand(rest);
    case "interfaces":
      return (await import("./cli/interfaces-command.ts")).interfacesCommand(rest);
    case "serve":
      return (await import("./cli/serve-command.ts")).serveCommand(rest);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

const EXIT_CODES: Record<string, number> = {
  UsageError: 2,
  FileSourceError: 2,
  PcapError: 2,
  QueryError: 2,
  LibpcapMissingError: 3,
  CapturePermissionError: 3,
};

try {
  const code = await main();
  if (command !== "serve") process.exit(code);
} catch (err) {
  const e = err as Error & { code?: string };
  // node:util parseArgs reports unknown or malformed flags with these codes.
  const usage = e instanceof UsageError || (e.code ?? "").startsWith("ERR_PARSE_ARGS");
  console.error(`flowmatrix: ${e.message}`);
  if (usage) console.error(`\n${USAGE}`);
  process.exit(usage ? 2 : (EXIT_CODES[e.name] ?? 1));
}
