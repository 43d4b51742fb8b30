#!/usr/bin/env node
// Pre-step of `npm start` and `npm test`: installs what is missing, or says exactly what to run.
// - npm dependencies (npm install when node_modules or the bun binary is missing)
// - libpcap (runtime: Debian package libpcap0.8) — via apt-get when running as root
// - for tests (--test): Debian chromium (browser tests), iproute2 (network namespaces), tcpdump,
//   tshark (the oracle the decoder tests compare crafted captures with), nfdump (nfcapd + nfdump:
//   the IPFIX collector the export tests send to, and nfreplay, an exporter the collector tests
//   receive from), softflowd (a NetFlow v5/v9/IPFIX exporter the collector tests receive from)
// Node 20 runs this file; it uses only Node's standard library.
import { execSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const forTests = process.argv.includes("--test");
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

function run(cmd) {
  console.error(`[prereq] ${cmd}`);
  execSync(cmd, { stdio: "inherit", cwd: root, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}

if (!existsSync(join(root, "node_modules", ".bin", "bun")) || !existsSync(join(root, "node_modules", "elysia"))) {
  run(existsSync(join(root, "package-lock.json")) ? "npm ci --no-audit --no-fund" : "npm install --no-audit --no-fund");
}

function hasLibpcap() {
  if (process.platform === "darwin") return true; // ships with macOS
  const r = spawnSync("sh", ["-c", "ldconfig -p 2>/dev/null | grep -E 'libpcap\\.so(\\.1|\\.0\\.8)? '"], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim().length > 0;
}

const missing = [];
if (!hasLibpcap()) missing.push("libpcap0.8");
if (forTests) {
  if (!existsSync("/usr/bin/chromium")) missing.push("chromium");
  if (spawnSync("sh", ["-c", "command -v ip"]).status !== 0) missing.push("iproute2");
  if (spawnSync("sh", ["-c", "command -v tcpdump"]).status !== 0) missing.push("tcpdump");
  if (spawnSync("sh", ["-c", "command -v tshark"]).status !== 0) missing.push("tshark");
  if (spawnSync("sh", ["-c", "command -v nfcapd"]).status !== 0) missing.push("nfdump");
  if (!existsSync("/usr/sbin/softflowd") && spawnSync("sh", ["-c", "command -v softflowd"]).status !== 0) missing.push("softflowd");
}
if (missing.length > 0) {
  const cmd = `apt-get update && apt-get install -y ${missing.join(" ")}`;
  if (isRoot && spawnSync("sh", ["-c", "command -v apt-get"]).status === 0) {
    run("apt-get update -qq");
    run(`apt-get install -y -qq ${missing.join(" ")}`);
  } else {
    console.error(`[prereq] missing system packages: ${missing.join(", ")}`);
    console.error(`[prereq] install them with:  sudo sh -c '${cmd}'`);
    console.error("[prereq] (on Fedora: sudo dnf install libpcap; on macOS libpcap ships with the system)");
    process.exit(1);
  }
}
