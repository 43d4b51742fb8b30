/**
 * decodeEthIpv4 (the fast path) must agree with decode() on every packet it accepts: every packet
 * of every capture in ../shared/pcaps, and random mutations of real packets.
 */
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { PCAPS } from "../../test/shared-paths.ts";
import { decode, decodeEthIpv4 } from "./decode.ts";
import { FileSource } from "./file-source.ts";
import { DecodedPacket, DecodeResult } from "./packet.ts";

const a = new DecodedPacket();
const b = new DecodedPacket();

function fields(p: DecodedPacket) {
  return [p.ipVersion, ...p.src, ...p.dst, p.proto, p.sport, p.dport, p.vlan, p.tcpFlags, p.ipLen, p.isFragment, p.note];
}

/** Checks one packet; returns whether the fast path took it. */
function same(buf: Uint8Array, off: number, caplen: number): boolean {
  const r = decodeEthIpv4(buf, off, caplen, a);
  if (r < 0) return false;
  expect(r).toBe(DecodeResult.OK);
  expect(decode(buf, off, caplen, 1, b)).toBe(DecodeResult.OK);
  expect(fields(a)).toEqual(fields(b));
  return true;
}

test("the fast path agrees with decode() on every Ethernet packet of every capture", () => {
  let taken = 0;
  let ethernet = 0;
  const samples: Uint8Array[] = [];
  for (const f of readdirSync(PCAPS).filter((x) => /\.pcap(ng)?$/.test(x))) {
    new FileSource({ path: PCAPS + f }).readSync({
      packet(buf, off, caplen, _w, _ts, lt) {
        if (lt !== 1) return;
        ethernet++;
        if (same(buf, off, caplen)) {
          taken++;
          if (samples.length < 200 && taken % 7 === 0) samples.push(buf.slice(off, off + caplen));
        }
      },
    });
  }
  expect(ethernet).toBeGreaterThan(10_000);
  expect(taken).toBeGreaterThan(ethernet / 2);
  // Mutations and truncations of accepted packets: never a throw, never a disagreement.
  let seed = 7;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8);
  for (const s of samples) {
    for (let len = 0; len <= s.length; len++) same(s, 0, len);
    for (let n = 0; n < 50; n++) {
      const m = s.slice();
      for (let k = 0; k < 3; k++) m[rnd() % m.length] = rnd() & 0xff;
      same(m, 0, m.length);
    }
  }
});
