/**
 * `flowmatrix config [serve's flags]`: prints the effective configuration `serve` would start
 * with — every setting of the schema as TOML, with the source of each value as a comment
 * (flag, environment variable, config file, default) and secrets masked — then exits 0. An
 * invalid value exits 2 with the message `serve` would give, naming the flag, variable or key.
 * The output is a valid config file (comments aside) for `--config`.
 */
import { defineVerb, parseVerb, verbHelp } from "../cli/options.ts";
import { SERVE } from "../cli/serve-options.ts";
import { formatConfig, loadConfig } from "./load.ts";
import { printOut } from "../cli/output.ts";

export const CONFIG = defineVerb({
  verb: "config",
  synopsis: "[--config FILE] [any serve option]",
  summary: "Print the effective serve configuration (flags > FLOWMATRIX_* environment > config file > defaults) with the source of each value; secrets masked.",
  options: SERVE.options,
});

export function configCommand(argv: string[]): number {
  if (parseVerb(CONFIG, argv).help) {
    printOut(verbHelp(CONFIG));
    return 0;
  }
  printOut(formatConfig(loadConfig(argv)));
  return 0;
}
