/** `flowmatrix interfaces [--json]`: capture devices with addresses and up/down. */
import { defaultInterface, listInterfaces } from "../capture/interfaces.ts";
import { INTERFACES } from "./flows-options.ts";
import { parseVerb, verbHelp } from "./options.ts";
import { printOut } from "./output.ts";

export async function interfacesCommand(argv: string[]): Promise<number> {
  const parsed = parseVerb(INTERFACES, argv);
  if (parsed.help) {
    printOut(verbHelp(INTERFACES));
    return 0;
  }
  const values = parsed.values;
  const list = listInterfaces();
  const def = defaultInterface();
  if (values.json) {
    printOut(JSON.stringify({ default: def, interfaces: list }, null, 2));
    return 0;
  }
  const lines: string[] = [];
  for (const i of list) {
    const state = i.up ? (i.running ? "up" : "up, not running") : "down";
    const flags = [i.loopback ? "loopback" : "", i.wireless ? "wireless" : "", i.name === def ? "default" : ""].filter(Boolean);
    lines.push(`${i.name.padEnd(16)} ${state.padEnd(16)} ${flags.join(",")}`);
    for (const a of i.addresses) lines.push(`${"".padEnd(17)}${a.address}${a.prefixLength !== null ? `/${a.prefixLength}` : ""}`);
    if (i.description) lines.push(`${"".padEnd(17)}${i.description}`);
  }
  if (lines.length > 0) printOut(lines.join("\n"));
  return 0;
}
