/**
 * `flowmatrix flows --read FILE`: read a whole capture, print every flow (active and ended) and
 * the totals. Flows are written as they leave the table (timeouts while reading, then all the rest
 * at the end of the file) straight from the flow columns into one 256 KiB buffer (the row writers
 * of flows/format/rows.ts: no record object or string per row), written out with backpressure
 * (output.ts), so memory stays bounded by the table, not by the output or the reader's speed.
 *
 * Everything that can fail at start (flags, the file, the BPF filter, libpcap) is checked before
 * the first byte goes to stdout, so an error leaves stdout empty.
 */
import { statSync } from "node:fs";
import { preflightFile } from "../capture/preflight.ts";
import { isRegularFile, openFileSource } from "../capture/open-file.ts";
import type { PacketSink } from "../capture/packet.ts";
import { PcapError } from "../capture/pcap-error.ts";
import { FlowEngine } from "../flows/engine.ts";
import type { FlowColumns } from "../flows/table/columns.ts";
import { csvHeader } from "../flows/format/csv.ts";
import { limitRowTier, putCsvRow, putJsonRow, putTableRow } from "../flows/format/rows.ts";
import { UsageError } from "./usage-error.ts";
import { numberFlag } from "./flags.ts";
import { formatTableHeader } from "./table-format.ts";
import { FLOWS, type FlowFormat } from "./flows-options.ts";
import { parseVerb, verbHelp, type OptionValues } from "./options.ts";
import { OutputWriter, printOut } from "./output.ts";
import { widenOutputBuffer } from "./output-buffer.ts";
import type { IpfixSink } from "../export/ipfix-sink.ts";
import { ProgressSink } from "./progress.ts";
import { join } from "node:path";
import type { EndedFlowSink } from "../flows/sinks.ts";
import type { FlowStore } from "../store/flow-store.ts";
import { FlowAnnotator } from "../l7/annotate.ts";

export interface FlowsIo {
  /** Where the output goes (default: a writer on fd 1). */
  out?: OutputWriter;
  /** Show progress on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  /** Where the one-line summary of non-JSON formats goes (default: stderr). */
  note?: (line: string) => void;
}

export async function flowsCommand(argv: string[], io: FlowsIo = {}): Promise<number> {
  const parsed = parseVerb(FLOWS, argv);
  if (parsed.help) {
    printOut(verbHelp(FLOWS));
    return 0;
  }
  const values = parsed.values;
  if (!values.read) throw new UsageError("flows needs --read FILE");
  // `-` is standard input (tcpdump -w - … | flowmatrix flows --read -), read once like any pipe.
  const path = values.read === "-" ? "/dev/stdin" : values.read;
  const format = values.format as FlowFormat;
  const filter = values.filter !== undefined && values.filter.trim() !== "" ? values.filter : undefined;
  // --data-dir: every ended flow also goes to the history store, written synchronously in this
  // thread (offline nothing is dropped); ids continue after the store's highest id.
  const store = values["data-dir"] !== undefined ? await openStore(values["data-dir"]) : null;
  const sinks: EndedFlowSink[] = store ? [{ name: "history", offer: (b) => (store.insertBatch(b.key, b.rec, b.count, b.side), true) }] : [];
  // --export-ipfix: every ended flow also goes to an IPFIX collector, encoded and sent by an
  // exporter Worker (off this thread); lossless: the read waits when a full queue is not yet sent.
  const ipfix = values["export-ipfix"] !== undefined ? await openIpfix(values["export-ipfix"], values["ipfix-domain"]) : null;
  if (ipfix) sinks.push(ipfix);
  const engine = new FlowEngine({
    sinks,
    firstFlowId: store ? store.maxFlowId() + 1 : 1,
    ...flowsTableConfig(values),
    reserveSlots: reserveFor(path),
  });
  // Application protocol, server names, passive DNS, country and AS (src/l7): the inspector is the
  // engine's packet hook; rows read the extras through the resolver it sets. Only when something
  // reads them (extrasNeeded): `--format summary` and `table` alone inspect no payload; on the
  // bench's captures inspection was ~25 % of a summary run (snaplen 128: 0.69 → 0.53 s wall).
  // Country and AS lookups cost ~0.5 µs per ended flow, and the AS table's load at the first.
  const dbNamed = values["geoip-db"] !== undefined || values["asn-db"] !== undefined;
  const { annotate, geo } = extrasNeeded(format, store !== null, ipfix !== null, dbNamed);
  const annotator = annotate ? openAnnotator(engine, values["geoip-db"], values["asn-db"], geo) : null;
  // Open and check before writing anything: the file and its header, or libpcap + the filter.
  let source;
  try {
    if (isRegularFile(path)) preflightFile(path, filter);
    else if (filter !== undefined) {
      // libpcap's reader (for the filter) would have to open it a second time after the check.
      throw new UsageError(`--filter needs a capture file, not a pipe or device (--read ${values.read}): filter before the pipe (tcpdump -w - 'FILTER' | …)`);
    }
    // A pipe is opened once, by openFileSource, which checks its header before anything is written.
    source = await openFileSource(path, filter);
  } catch (e) {
    await ipfix?.close(); // the exporter Worker would keep an in-process caller alive
    throw e;
  }

  const out = io.out ?? new OutputWriter(1);
  /** Every format but summary prints one row per flow. */
  const printsRows = format !== "summary";
  // Rows to a pipe or socket: a 1 MiB kernel buffer instead of 64 KiB (output-buffer.ts).
  if (io.out === undefined && printsRows) widenOutputBuffer(1);
  if (format === "json") out.write('{"flows":[');
  else if (format === "csv") out.write(csvHeader());
  else if (format === "table") out.write(formatTableHeader());
  if (format === "json") {
    // Rows after the first are preceded by ",\n": the writer puts the separator, then the row.
    let first = true;
    const sep = (c: FlowColumns, i: number, buf: Uint8Array, p: number): number => {
      if (first) first = false;
      else buf[p++] = 44;
      buf[p] = 10;
      return putJsonRow(c, i, buf, p + 1);
    };
    engine.onEnded((cols, i) => out.row(sep, cols, i));
  } else if (printsRows) {
    const row = format === "ndjson" ? ndjsonRow : format === "csv" ? putCsvRow : putTableRow;
    engine.onEnded((cols, i) => out.row(row, cols, i));
  }

  // Readers first (the rows above, the store and exporter batches), then the inspector's release.
  annotator?.attach();

  const progress = (io.progress ?? process.stderr.isTTY === true) ? new ProgressSink(engine, path, 2, () => source.position()) : undefined;
  const sink: PacketSink = progress ?? engine;
  let readError: string | null = null;
  const t0 = performance.now();
  try {
    source.readSync(sink);
  } catch (e) {
    // libpcap stops at damage after the header ("truncated dump file", a bad record length): as
    // with our own reader, every record before it was delivered and the stats say where it stopped.
    if (!(e instanceof PcapError) || filter === undefined) throw e;
    readError = e.message;
  } finally {
    progress?.finish();
  }
  // Every flow still in the table becomes a row now: the row writers' JIT tier is chosen by how
  // many rows this run prints in all (rows.ts, ROWS_FOR_FTL).
  if (printsRows) limitRowTier(engine.table.ended + engine.table.count);
  engine.finish();
  annotator?.detach();
  await ipfix?.close();
  const storeNote = store ? storedLine(store) : null;
  const seconds = (performance.now() - t0) / 1000;
  const info = source.info();
  if (readError !== null) {
    info.truncated = true;
    info.truncated_reason = readError;
  }
  const stats = { ...engine.stats(), ...info, read_seconds: Number(seconds.toFixed(3)) };
  if (format === "json") out.write(`\n],"stats":${JSON.stringify(stats)}}\n`);
  else if (format === "summary") out.write(JSON.stringify(stats) + "\n");
  out.flush();
  const note = io.note ?? ((l: string) => process.stderr.write(l + "\n"));
  if (format !== "json" && format !== "summary") note(summaryLine(stats));
  if (storeNote !== null) note(storeNote);
  if (ipfix) note(ipfixLine(ipfix, engine.sinkStats().find((x) => x.name === ipfix.name)?.dropped_flows ?? 0));
  return 0;
}

/**
 * What `flows` must compute per flow: `annotate` (payload inspection for application and server
 * name, passive DNS) when anything reads extras, `geo` (country and AS lookups) when anything
 * reads those. json/ndjson/csv rows print every extra; summary and table rows none; the store
 * keeps them all; the IPFIX exporter carries application and server name only; a database named
 * on the command line is opened (and so checked) whatever the format.
 */
export function extrasNeeded(format: FlowFormat, store: boolean, ipfix: boolean, dbNamed: boolean): { annotate: boolean; geo: boolean } {
  const geo = format === "json" || format === "ndjson" || format === "csv" || store || dbNamed;
  return { annotate: geo || ipfix, geo };
}

/** The FlowAnnotator of `flows` (a database named by a flag that cannot be read is a usage error). */
function openAnnotator(engine: FlowEngine, geoipDb: string | undefined, asnDb: string | undefined, geo: boolean): FlowAnnotator {
  try {
    return new FlowAnnotator(engine, { geoipDb, asnDb, ring: false, geo });
  } catch (e) {
    throw new UsageError(`${geoipDb !== undefined ? `--geoip-db ${geoipDb}` : ""}${asnDb !== undefined ? ` --asn-db ${asnDb}` : ""}: ${(e as Error).message}`.trim());
  }
}

/**
 * The IPFIX exporter of `flows --export-ipfix`: its own Worker, lossless (the read loop waits for
 * room rather than drop: every flow of the file reaches the collector; see IpfixSink).
 */
async function openIpfix(target: string, domain: string): Promise<IpfixSink> {
  // Loaded only when asked for (as the store below): ~6 ms of module loading every run otherwise.
  const { IpfixSink, parseHostPort } = await import("../export/ipfix-sink.ts");
  let hp;
  try {
    hp = parseHostPort(target);
  } catch (e) {
    throw new UsageError(`--export-ipfix ${(e as Error).message}`);
  }
  const domainId = numberFlag("ipfix-domain", domain, 0)!;
  if (!Number.isInteger(domainId) || domainId > 0xffffffff) throw new UsageError(`--ipfix-domain must be an integer 0-4294967295 (got "${domain}")`);
  try {
    return await new IpfixSink({ ...hp, domainId }, true).open();
  } catch (e) {
    throw new UsageError(`--export-ipfix ${target}: ${(e as Error).message}`);
  }
}

/** "ipfix: 1234 flows in 98 messages to 127.0.0.1:4739 (domain 1), 0 send errors" (and flows not exported, if any). */
function ipfixLine(s: IpfixSink, dropped: number): string {
  const st = s.stats();
  return `ipfix: ${st.flows} flows in ${st.messages} messages (${st.template_messages} with templates) to ${st.target} (domain ${st.domain_id}), ` +
    `${st.send_errors} send errors${dropped > 0 ? `, ${dropped} flows NOT exported` : ""}${st.last_error ? ` (last: ${st.last_error})` : ""}`;
}

/** The history store of `flows --data-dir`: opened before anything is read or written; a store that cannot be used is a usage error (exit 2). */
async function openStore(dir: string): Promise<FlowStore> {
  const [{ FlowStore }, { DB_FILE }] = await Promise.all([import("../store/flow-store.ts"), import("../store/data-dir.ts")]);
  const store = new FlowStore({ path: join(dir, DB_FILE), pruneIntervalMs: 0, retryMs: 0 });
  store.start();
  const st = store.status();
  if (st.state !== "ok") {
    store.stop();
    throw new UsageError(`--data-dir ${dir}: history store unavailable: ${st.reason}`);
  }
  return store;
}

/** Closes the store (WAL checkpointed) and says what went in: "history: 1234 flows stored in D/flowmatrix.db (5678 in all)". */
function storedLine(store: FlowStore): string {
  const st = store.status();
  store.stop();
  const lost = st.dropped > 0 ? `, ${st.dropped} NOT stored: ${st.reason ?? "write failed"}` : "";
  return `history: ${st.inserted} flows stored in ${store.path} (${st.flows} in all${lost})`;
}

/** The flow table settings of `flows` from its flags (also used by the output tests' reference). */
/**
 * Column slots to reserve for a capture file: one per 64 bytes of file (a record is at least a
 * 16-byte header and a 42-byte frame, so never fewer slots than flows), capped by the table at
 * maxFlows. Only the slots the flows use become resident; the reserve spares the copies of
 * doubling (a scan of 950 k flows copied ~200 MB of columns: ~0.1 s). A pipe reserves nothing.
 */
function reserveFor(path: string): number {
  try {
    const st = statSync(path);
    return st.isFile() ? Math.floor(st.size / 64) : 0;
  } catch {
    return 0;
  }
}

export function flowsTableConfig(values: OptionValues<typeof FLOWS.options>) {
  return {
    idleTimeout: numberFlag("idle-timeout", values["idle-timeout"], 0),
    activeTimeout: numberFlag("active-timeout", values["active-timeout"], 0),
    maxFlows: numberFlag("max-flows", values["max-flows"], 16),
    noExpire: values["no-expire"],
    recentEnded: 1,
    rates: false,
    sweepEvery: 10,
  };
}

function summaryLine(s: ReturnType<FlowEngine["stats"]> & Record<string, unknown>): string {
  const bad = Object.entries(s.malformed).map(([k, v]) => `${k}=${v}`).join(" ");
  return `${s.packets} packets, ${s.bytes} bytes, ${s.flows} flows (${s.evicted} evicted), ` +
    `${s.non_ip_packets} non-IP, malformed: ${bad || "none"}`;
}

/** One NDJSON line: the JSON row and a newline. */
function ndjsonRow(c: FlowColumns, i: number, buf: Uint8Array, p: number): number {
  p = putJsonRow(c, i, buf, p);
  buf[p] = 10;
  return p + 1;
}
