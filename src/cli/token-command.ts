/**
 * `flowmatrix token`: prints a new random access token (32 bytes from the system CSPRNG,
 * base64url, 43 characters) and a newline, for --auth-token-file / FLOWMATRIX_AUTH_TOKEN or the
 * viewer token. Nothing is stored: `flowmatrix token > /etc/flowmatrix/token && chmod 600 …`.
 */
import { newToken } from "../server/security/auth.ts";
import { defineVerb, parseVerb, verbHelp } from "./options.ts";
import { printOut } from "./output.ts";

export const TOKEN = defineVerb({
  verb: "token",
  synopsis: "",
  summary: "Print a new random access token (for --auth-token-file, FLOWMATRIX_AUTH_TOKEN or the viewer token).",
  options: {},
});

export function tokenCommand(argv: string[]): number {
  if (parseVerb(TOKEN, argv).help) {
    printOut(verbHelp(TOKEN));
    return 0;
  }
  printOut(newToken());
  return 0;
}
