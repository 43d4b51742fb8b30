/** Hand-built decoded packets for the flow-table tests (not used by the product). */
import { DecodedPacket } from "../capture/packet.ts";

/** Dotted-quad IPv4 as the key word (int32, as the decoder stores it). */
export function v4(a: string): number {
  return a.split(".").reduce((x, o) => x * 256 + Number(o), 0) | 0;
}

/** An IPv4 packet from src:sport to dst:dport (TCP by default) with the given TCP flags. */
export function pkt(src: string, sport: number, dst: string, dport: number, proto = 6, flags = 0): DecodedPacket {
  const p = new DecodedPacket();
  p.ipVersion = 4;
  p.src[0] = v4(src);
  p.dst[0] = v4(dst);
  p.sport = sport;
  p.dport = dport;
  p.proto = proto;
  p.tcpFlags = flags;
  p.ipLen = 40;
  return p;
}
