/**
 * `flowmatrix flows --read FILE`: read a whole capture, print every flow (active and ended) and
 * the totals. Flows are written as they leave the table (timeouts while reading, then all the rest
 * at the end of the file), so memory stays bounded by the table, not by the output.
 */
import { parseArgs } from "node:util";
import { openFileSource } from "../capture/open-file.ts";
import { FlowEngine } from "../flows/engine.ts";
import { toRecord } from "../flows/record.ts";
import { csvHeader, csvRows } from "../flows/csv.ts";
import { UsageError } from "./usage-error.ts";
import { numberFlag } from "./flags.ts";
import { formatTableHeader, formatTableRow } from "./table-format.ts";

const FORMATS = ["json", "ndjson", "csv", "table", "summary"] as const;
type Format = (typeof FORMATS)[number];


export async function flowsCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      read: { type: "string", short: "r" },
      format: { type: "string", default: "json" },
      filter: { type: "string", short: "f" },
      "idle-timeout": { type: "string" },
      "active-timeout": { type: "string" },
      "no-expire": { type: "boolean", default: false },
      "max-flows": { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (!values.read) throw new UsageError("flows needs --read FILE");
  const format = values.format as Format;
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")} (got "${values.format}")`);
  const engine = new FlowEngine({
    idleTimeout: numberFlag("idle-timeout", values["idle-timeout"], 0),
    activeTimeout: numberFlag("active-timeout", values["active-timeout"], 0),
    maxFlows: numberFlag("max-flows", values["max-flows"], 16),
    noExpire: values["no-expire"],
    recentEnded: 1,
    rates: false,
    sweepEvery: 10,
  });
  const source = await openFileSource(values.read, values.filter);
  const out = Bun.stdout.writer({ highWaterMark: 1 << 20 });
  let n = 0;
  if (format === "json") out.write('{"flows":[');
  if (format === "csv") out.write(csvHeader());
  if (format === "table") out.write(formatTableHeader());
  if (format !== "summary") {
    engine.onEnded((cols, i) => {
      const r = toRecord(cols, i);
      if (format === "json") out.write((n === 0 ? "\n" : ",\n") + JSON.stringify(r));
      else if (format === "ndjson") out.write(JSON.stringify(r) + "\n");
      else if (format === "csv") out.write(csvRows([{ ...r, suspicious: [] }]));
      else out.write(formatTableRow(r));
      n++;
    });
  }
  const t0 = performance.now();
  source.readSync(engine);
  engine.finish();
  const seconds = (performance.now() - t0) / 1000;
  const stats = { ...engine.stats(), ...source.info(), read_seconds: Number(seconds.toFixed(3)) };
  if (format === "json") out.write(`\n],"stats":${JSON.stringify(stats)}}\n`);
  else if (format === "summary") out.write(JSON.stringify(stats) + "\n");
  else process.stderr.write(summaryLine(stats) + "\n");
  await out.flush();
  return 0;
}

function summaryLine(s: ReturnType<FlowEngine["stats"]> & Record<string, unknown>): string {
  const bad = Object.entries(s.malformed).map(([k, v]) => `${k}=${v}`).join(" ");
  return `${s.packets} packets, ${s.bytes} bytes, ${s.flows} flows (${s.evicted} evicted), ` +
    `${s.non_ip_packets} non-IP, malformed: ${bad || "none"}`;
}
