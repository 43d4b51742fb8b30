#!/usr/bin/env bun
/**
 * The CLI: `serve`, `flows`, `interfaces`, `config` (the effective serve settings), `token` (a new
 * access token). Each command lives in src/cli/; this file only
 * dispatches and turns every error into one line on stderr and an exit code (src/cli/errors.ts:
 * 2 usage / unreadable input, 3 missing libpcap or capture permission, an error's own numeric
 * `exitCode`, 1 anything unexpected; the stack only with FLOWMATRIX_DEBUG=1). A reader that closes
 * stdout (`… | head`) ends the command quietly with 0.
 */
import { writeSync } from "node:fs";
import { USAGE, VERSION } from "./cli/usage.ts";
import { UsageError } from "./cli/usage-error.ts";
import { errorReport, exitCodeFor } from "./cli/errors.ts";
import { closest } from "./cli/options.ts";
import { printOut } from "./cli/output.ts";

const COMMANDS = ["serve", "flows", "interfaces", "config", "token"];
const [command, ...rest] = process.argv.slice(2);
const verb = command !== undefined && COMMANDS.includes(command) ? command : undefined;

async function main(): Promise<number> {
  switch (command) {
    case undefined:
    case "--help":
    case "-h":
    case "help":
      printOut(USAGE);
      return 0;
    case "--version":
    case "-V":
      printOut(VERSION);
      return 0;
    case "flows":
      return (await import("./cli/flows-command.ts")).flowsCommand(rest);
    case "interfaces":
      return (await import("./cli/interfaces-command.ts")).interfacesCommand(rest);
    case "config":
      return (await import("./config/config-command.ts")).configCommand(rest);
    case "token":
      return (await import("./cli/token-command.ts")).tokenCommand(rest);
    case "serve": {
      // serve's options table checks the flags first (suggestions, --help); then the command runs.
      const { SERVE } = await import("./cli/serve-options.ts");
      const { parseVerb, verbHelp } = await import("./cli/options.ts");
      if (parseVerb(SERVE, rest).help) {
        printOut(verbHelp(SERVE));
        return 0;
      }
      return (await import("./cli/serve-command.ts")).serveCommand(rest);
    }
    default: {
      const near = closest(command, COMMANDS);
      throw new UsageError(`unknown command "${command}"${near ? ` (did you mean ${near}?)` : ""}`);
    }
  }
}

let failing = false;
function fail(err: unknown): never {
  if (!failing) {
    failing = true;
    try {
      const report = errorReport(err, verb);
      if (report) writeSync(2, report);
    } catch {
      /* stderr gone too: the exit code still says it */
    }
  }
  process.exit(exitCodeFor(err));
}

// Errors after a command returned (serve keeps running) get the same one-line treatment.
process.on("uncaughtException", fail);
process.on("unhandledRejection", fail);

try {
  const code = await main();
  if (command !== "serve") process.exit(code);
} catch (err) {
  fail(err);
}
