/**
 * `flows` output is byte for byte what the record path printed before the column writers: for
 * every shared capture, generated captures and a filtered read, in every format, the CLI's stdout
 * equals the reference built from the same engine settings with toRecord and JSON.stringify /
 * csvLine / formatTableRow (JSON: everything before the stats, which hold the read time).
 */
import { afterAll, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flowsCommand, flowsTableConfig } from "../src/cli/flows-command.ts";
import { FLOWS } from "../src/cli/flows-options.ts";
import { parseVerb } from "../src/cli/options.ts";
import { OutputWriter } from "../src/cli/output.ts";
import { formatTableHeader, formatTableRow } from "../src/cli/table-format.ts";
import { openFileSource } from "../src/capture/open-file.ts";
import { csvHeader, csvLine } from "../src/flows/format/csv.ts";
import { FlowEngine } from "../src/flows/engine.ts";
import { FlowAnnotator } from "../src/l7/annotate.ts";
import { toRecord, type FlowRecord } from "../src/flows/format/record.ts";
import { PCAPS, TOOLS } from "./shared-paths.ts";

const dir = mkdtempSync(join(tmpdir(), "fm-cli-bytes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FORMATS = ["json", "ndjson", "csv", "table"] as const;
const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

/** What the record path prints for `argv` (JSON: up to the stats). */
async function reference(argv: string[], format: string): Promise<string> {
  const parsed = parseVerb(FLOWS, argv);
  if (parsed.help) throw new Error("help");
  const v = parsed.values;
  const engine = new FlowEngine(flowsTableConfig(v));
  const records: FlowRecord[] = [];
  // The CLI's annotator (app, names, country, AS) on the reference engine too; released after the reader.
  const annotator = new FlowAnnotator(engine, { ring: false });
  engine.onEnded((c, i) => void records.push(toRecord(c, i)));
  annotator.attach();
  const filter = v.filter !== undefined && v.filter.trim() !== "" ? v.filter : undefined;
  const src = await openFileSource(v.read!, filter);
  src.readSync(engine);
  engine.finish();
  annotator.detach();
  if (format === "json") return '{"flows":[' + records.map((r, k) => (k === 0 ? "\n" : ",\n") + JSON.stringify(r)).join("") + '\n],"stats":';
  if (format === "ndjson") return records.map((r) => JSON.stringify(r) + "\n").join("");
  if (format === "csv") return csvHeader() + records.map((r) => csvLine(r)).join("");
  return formatTableHeader() + records.map((r) => formatTableRow(r)).join("");
}

/** What the CLI prints (in-process, into a file), JSON cut after `"stats":`. */
async function cli(argv: string[], format: string): Promise<string> {
  const path = join(dir, "out");
  const fd = openSync(path, "w");
  try {
    await flowsCommand(argv, { out: new OutputWriter(fd), progress: false, note: () => {} });
  } finally {
    closeSync(fd);
  }
  return cut(readFileSync(path, "utf8"), format);
}

function cut(out: string, format: string): string {
  return format === "json" ? out.slice(0, out.lastIndexOf('\n],"stats":') + 11) : out;
}

test("every shared capture, every format: the CLI prints exactly what the record path printed", async () => {
  const bad: string[] = [];
  let bytes = 0;
  for (const f of readdirSync(PCAPS).filter((x) => /\.(pcap|pcapng)$/.test(x)).sort()) {
    for (const format of FORMATS) {
      const argv = ["--read", join(PCAPS, f), "--format", format];
      const [got, want] = [await cli(argv, format), await reference(argv, format)];
      bytes += got.length;
      if (got !== want) bad.push(`${f} ${format}`);
    }
  }
  expect(bad).toEqual([]);
  expect(bytes).toBeGreaterThan(1_000_000);
}, 120_000);

test("generated captures (timeouts while reading, IPv6, VLANs) and a filtered read: the same bytes", async () => {
  const bad: string[] = [];
  const g = join(dir, "g.pcap");
  const r = Bun.spawnSync(["node", `${TOOLS}gen-pcap.mjs`, "--packets", "80000", "--flows", "12000", "--seed", "21", "--v6", "0.4", "--vlan", "0.2",
    "--duration", "300", "--out", g, "--quiet"]);
  expect(r.exitCode).toBe(0);
  const runs: string[][] = [
    ["--read", g],
    ["--read", g, "--idle-timeout", "5", "--active-timeout", "20"],
    ["--read", g, "--filter", "tcp or icmp6"],
    ["--read", join(PCAPS, "ndpi__gnutella.pcap"), "--filter", "udp"],
  ];
  for (const argv of runs) {
    for (const format of FORMATS) {
      const a = [...argv, "--format", format];
      if ((await cli(a, format)) !== (await reference(a, format))) bad.push(a.join(" "));
    }
  }
  expect(bad).toEqual([]);
}, 60_000);

test("the real CLI (a child process, stdout a pipe) prints the same bytes", async () => {
  const file = join(PCAPS, "zeek__mixed-vlan-mpls.pcap");
  for (const format of FORMATS) {
    const argv = ["--read", file, "--format", format];
    const p = Bun.spawnSync([process.execPath, MAIN, "flows", ...argv], { stdout: "pipe", stderr: "pipe" });
    expect(p.exitCode).toBe(0);
    expect(cut(p.stdout.toString(), format)).toBe(await reference(argv, format));
  }
});
