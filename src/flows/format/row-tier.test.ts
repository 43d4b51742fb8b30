/**
 * limitRowTier (rows.ts): a run printing fewer than ROWS_FOR_FTL rows keeps the row writers in
 * JSC's DFG tier, a larger one leaves them free to reach FTL, and the choice sticks for the
 * process. Each case runs in a fresh Bun process: the choice is per process, and other test files
 * in this one may have made it already.
 */
import { expect, test } from "bun:test";
import { ROWS_FOR_FTL } from "./rows.ts";

const ROWS = new URL("./rows.ts", import.meta.url).pathname;

/** limitRowTier's answers for `counts`, called in that order in a new process. */
function answers(...counts: number[]): boolean[] {
  const script = `import { limitRowTier } from ${JSON.stringify(ROWS)};
console.log(JSON.stringify(${JSON.stringify(counts)}.map((n) => limitRowTier(n))));`;
  const p = Bun.spawnSync([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
  expect(p.stderr.toString()).toBe("");
  expect(p.exitCode).toBe(0);
  return JSON.parse(p.stdout.toString()) as boolean[];
}

test("fewer rows than ROWS_FOR_FTL keep the writers in DFG; that many or more leave them free", () => {
  expect(ROWS_FOR_FTL).toBe(500_000);
  expect(answers(0)).toEqual([true]);
  expect(answers(ROWS_FOR_FTL - 1)).toEqual([true]);
  expect(answers(ROWS_FOR_FTL)).toEqual([false]);
  expect(answers(950_000)).toEqual([false]);
});

test("the choice is made once per process: limited stays limited", () => {
  expect(answers(950_000, 200_000, 950_000)).toEqual([false, true, true]);
  expect(answers(200_000, 950_000)).toEqual([true, true]);
});
