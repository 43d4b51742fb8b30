/**
 * What `flows` computes per flow for each format and sink (extrasNeeded): payload inspection and
 * country/AS lookups only for what prints or keeps them. That the rows of summary and table need
 * no extras is checked on real captures by test/cli-output-bytes.test.ts (the CLI against the
 * record path with an annotator); that summary with --export-ipfix still exports applications and
 * server names, by test/ipfix-sink.test.ts.
 */
import { expect, test } from "bun:test";
import { extrasNeeded } from "./flows-command.ts";
import { FLOW_FORMATS } from "./flows-options.ts";

test("rows that print extras inspect and look up; summary and table alone do neither", () => {
  const alone = Object.fromEntries(FLOW_FORMATS.map((f) => [f, extrasNeeded(f, false, false, false)]));
  expect(alone).toEqual({
    json: { annotate: true, geo: true },
    ndjson: { annotate: true, geo: true },
    csv: { annotate: true, geo: true },
    table: { annotate: false, geo: false },
    summary: { annotate: false, geo: false },
  });
});

test("a sink or a named database turns them on for summary and table: the store both, the exporter inspection only", () => {
  for (const f of ["summary", "table"] as const) {
    expect(extrasNeeded(f, true, false, false)).toEqual({ annotate: true, geo: true });
    expect(extrasNeeded(f, false, true, false)).toEqual({ annotate: true, geo: false });
    expect(extrasNeeded(f, false, false, true)).toEqual({ annotate: true, geo: true });
  }
  expect(extrasNeeded("csv", false, true, false)).toEqual({ annotate: true, geo: true });
});
