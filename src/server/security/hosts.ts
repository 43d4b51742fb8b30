/**
 * Bind address and Host header rules.
 *
 * - A listen address is loopback when it is `localhost`, in 127.0.0.0/8 or `::1`; anything else
 *   (0.0.0.0, ::, a LAN address) needs authentication or --insecure-no-auth (checkBind).
 * - The Host header must name the bound address, `localhost`, or a configured server name; when
 *   bound to a wildcard (0.0.0.0 / ::) every address of this machine counts as bound. Anything
 *   else gets 421 Misdirected Request — the DNS-rebinding guard: a page on evil.example whose
 *   name later resolves to 127.0.0.1 sends `Host: evil.example`. The port is not compared (a
 *   proxy or a port mapping may change it).
 */
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { UsageError } from "../../cli/usage-error.ts";

const strip = (h: string) => h.toLowerCase().replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");

export function isLoopbackHost(host: string): boolean {
  const h = strip(host);
  if (h === "localhost") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) === 6) return h === "::1" || h === "0:0:0:0:0:0:0:1" || /^::ffff:127\./.test(h);
  return false;
}

export function isWildcard(host: string): boolean {
  const h = strip(host);
  return h === "0.0.0.0" || h === "::" || h === "";
}

/** Refuses a non-loopback bind without authentication (unless --insecure-no-auth). */
export class InsecureBindError extends UsageError {
  override name = "InsecureBindError";
}

export function checkBind(host: string, authConfigured: boolean, insecureNoAuth: boolean): void {
  if (isLoopbackHost(host) || authConfigured || insecureNoAuth) return;
  throw new InsecureBindError(
    `refusing to listen on ${host} without authentication: anyone who can reach it would see your traffic. ` +
      "Set a token (flowmatrix token > /etc/flowmatrix/token, then --auth-token-file /etc/flowmatrix/token or FLOWMATRIX_AUTH_TOKEN), " +
      "or pass --insecure-no-auth to start anyway",
  );
}

/** The host names (lower case, no brackets) this server answers to. */
export function allowedHosts(bound: string, serverNames: readonly string[] = []): Set<string> {
  const out = new Set<string>(["localhost"]);
  const b = strip(bound);
  out.add(b);
  if (b === "localhost") {
    out.add("127.0.0.1");
    out.add("::1");
  }
  if (isWildcard(b)) {
    for (const addrs of Object.values(networkInterfaces())) {
      for (const a of addrs ?? []) out.add(strip(a.address.replace(/%.*$/, "")));
    }
  }
  for (const n of serverNames) out.add(strip(n));
  return out;
}

/** The host name of a Host header value (`example:8080` → `example`, `[::1]:3000` → `::1`). */
export function hostOfHeader(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end > 0 ? h.slice(1, end) : h;
  }
  const colon = h.lastIndexOf(":");
  // One colon: host:port. More than one without brackets: a bare IPv6 address (not valid, compared as is).
  return colon >= 0 && h.indexOf(":") === colon ? h.slice(0, colon).replace(/\.$/, "") : h.replace(/\.$/, "");
}
