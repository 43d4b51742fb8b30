/**
 * Opens a capture file for a whole-file read: the pure-TS FileSource (pcap and pcapng, also
 * pcapng with interfaces of different link types) by default, or libpcap's own reader when a BPF
 * filter is given (libpcap compiles and runs the filter; like tcpdump, it refuses pcapng files
 * whose interfaces have different link types).
 */
import { statSync } from "node:fs";
import { FileSource } from "./file-source.ts";
import type { PacketSink } from "./packet.ts";
import { PcapOfflineSource } from "./pcap-offline-source.ts";

export interface FileReadInfo {
  file: string;
  reader: "flowmatrix" | "libpcap";
  format: string;
  records: number;
  /** Records without a usable time (pcapng Simple Packet Blocks, times out of range): they take the previous record's. */
  untimed_packets: number;
  /** Of those, records whose time was outside what a JavaScript Date holds (±8.64e12 s). */
  bad_timestamps: number;
  truncated: boolean;
  truncated_reason: string | null;
  /** The file was read by a read-ahead Worker beside the packet loop (large regular files: src/capture/read-ahead.ts). */
  read_ahead: boolean;
}

export interface WholeFileReader {
  readSync(sink: PacketSink): void;
  /** File offset the read has reached, or -1 when the reader does not know (libpcap's). */
  position(): number;
  info(): FileReadInfo;
}

/** A regular file (false for a pipe, a device, or a path that cannot be stat'ed: the open reports that). */
export function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return true;
  }
}

export async function openFileSource(path: string, filter?: string): Promise<WholeFileReader> {
  if (filter !== undefined && filter.trim() !== "") {
    const src = new PcapOfflineSource({ path, filter });
    return {
      readSync: (sink) => src.readSync(sink),
      position: () => -1,
      info: () => ({
        file: path,
        reader: "libpcap",
        format: "libpcap",
        records: src.stats().packets,
        untimed_packets: 0,
        bad_timestamps: 0,
        truncated: false,
        truncated_reason: null,
        read_ahead: false,
      }),
    };
  }
  const src = new FileSource({ path });
  // A large file is read by a read-ahead Worker beside the packet loop (src/capture/read-ahead.ts);
  // a pipe or a device is opened (and its header checked) once, here, and read from that.
  if (!(await src.prepareReadAhead()) && !isRegularFile(path)) src.openNow();
  return {
    readSync: (sink) => src.readSync(sink),
    position: () => src.position(),
    info: () => ({
      file: path,
      reader: "flowmatrix",
      format: src.format,
      records: src.records,
      untimed_packets: src.untimed,
      bad_timestamps: src.badTimestamps,
      truncated: src.truncated,
      truncated_reason: src.truncated ? src.message : null,
      read_ahead: src.readAhead,
    }),
  };
}
