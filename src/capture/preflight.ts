/**
 * Checks, before a replay starts, that the file (and the BPF filter) can be used the way the
 * ReplaySource will use them: with a filter libpcap opens the file and compiles the filter
 * (PcapOfflineSource), without one our own reader checks the header (FileSource). Throws the
 * error the source would (FileSourceError, PcapError, LibpcapMissingError), so `serve` reports
 * a bad --read or --filter at start instead of serving an empty dashboard.
 */
import { FileSource } from "./file-source.ts";
import { FileSourceError } from "./file-source-error.ts";
import { isRegularFile } from "./open-file.ts";
import { applyFilter, bufText, cstr, errbuf, libpcap, PCAP } from "./libpcap.ts";
import { PcapError } from "./pcap-error.ts";

export function preflightFile(path: string, filter?: string): void {
  // A pipe or a device can be read once: this check would consume what the replay needs.
  if (!isRegularFile(path)) {
    throw new FileSourceError(path, "ENOTREG", "not a regular file: a replay opens the capture more than once (`flows --read -` reads a pipe)");
  }
  if (filter === undefined || filter.trim() === "") {
    new FileSource({ path }).probe();
    return;
  }
  const s = libpcap().symbols;
  const err = errbuf();
  const handle = s.pcap_open_offline_with_tstamp_precision(cstr(path), PCAP.TSTAMP_PRECISION_NANO, err);
  if (!handle) throw new PcapError(`cannot read ${path}: ${bufText(err)}`);
  try {
    applyFilter(handle, filter);
  } finally {
    s.pcap_close(handle);
  }
}
