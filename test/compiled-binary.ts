/**
 * Test helper: the single binary, built once per test process and shared by every test file that
 * needs it (bun test runs the files in one process; a build takes 10–30 s). Built with
 * package.json's own "build" command (so a Worker entry missing from it fails here as it would in
 * a release) into a temporary directory; each caller gets a copy alone in a fresh empty directory,
 * so nothing of the checkout is reachable from it. Directories are removed when the process exits.
 */
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
let built: string | undefined;
const dirs: string[] = [];
process.on("exit", () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The build script's text (tests check it lists the Worker entries). */
export function buildScript(): string {
  return JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts.build as string;
}

/** Path of the binary, built on the first call (throws with the compiler's output if it fails). */
export function buildBinary(): string {
  if (built !== undefined) return built;
  const work = mkdtempSync(join(tmpdir(), "fm-bin-build-"));
  dirs.push(work);
  const out = join(work, "flowmatrix");
  const cmd = buildScript().replace("dist/flowmatrix", out).split(" ");
  const r = Bun.spawnSync([process.execPath, ...cmd.slice(1)], { cwd: ROOT, stderr: "pipe", stdout: "pipe" });
  if (r.exitCode !== 0) throw new Error(`build failed: ${r.stderr.toString()}`);
  built = out;
  return out;
}

/** The binary copied alone into a new empty directory (`prefix` names the temp dir). */
export function binaryInEmptyDir(prefix: string): { bin: string; dir: string } {
  const src = buildBinary();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  const bin = join(dir, "flowmatrix");
  copyFileSync(src, bin);
  chmodSync(bin, 0o755);
  return { bin, dir };
}
