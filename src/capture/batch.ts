/**
 * Walks the records the shim wrote into a batch buffer and hands each packet to a sink:
 * plain array reads only, no FFI call and no allocation per packet.
 *
 * Record: u32 ts_sec, u32 ts_frac, u32 stored, u32 wirelen (host order; little-endian hosts
 * only), then `stored` bytes padded to 4. The sink sees `caplen` = stored bytes, i.e. at most
 * the batch's snap, even when the packet was captured longer.
 */
import type { PacketSink } from "./packet.ts";
import type { Batch } from "./shim.ts";

/**
 * Delivers the `count` records of the last read into `batch` to `sink`. `nano` selects the
 * meaning of ts_frac (ns when true, µs otherwise). Returns the number of records delivered.
 */
export function deliverBatch(batch: Batch, count: number, nano: boolean, linktype: number, sink: PacketSink): number {
  const { buf, words } = batch;
  const bytes = batch.status[1]!;
  const scale = nano ? 1e-9 : 1e-6;
  let off = 0;
  let n = 0;
  while (n < count && off + 16 <= bytes) {
    const w = off >>> 2;
    const stored = words[w + 2]!;
    sink.packet(buf, off + 16, stored, words[w + 3]!, words[w]! + words[w + 1]! * scale, linktype);
    off += 16 + ((stored + 3) & ~3);
    n++;
  }
  return n;
}
