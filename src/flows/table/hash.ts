/**
 * The flow key hash: murmur3-style mixing of the key words (the construction of the C reference's
 * table, ../shared/tools/limit.c). Everything stays in int32 so the JIT keeps it in registers.
 */
import { KEY_WORDS, KW_PROTO, PW_V6 } from "./columns.ts";

// murmur3 constants as signed int32 literals, so the JIT keeps every step in int32 registers.
export const SEED = 0x9747b28c | 0;
const C1 = 0xcc9e2d51 | 0;
const C2 = 0x1b873593 | 0;
const C3 = 0xe6546b64 | 0;
const F1 = 0x85ebca6b | 0;
const F2 = 0xc2b2ae35 | 0;

export function mix(h: number, w: number): number {
  let x = Math.imul(w, C1);
  x = (x << 15) | (x >>> 17);
  x = Math.imul(x, C2);
  h ^= x;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + C3) | 0;
}

export function fmix(h: number): number {
  h ^= KEY_WORDS * 4;
  h ^= h >>> 16;
  h = Math.imul(h, F1);
  h ^= h >>> 13;
  h = Math.imul(h, F2);
  return h ^ (h >>> 16);
}

/**
 * Hash of the key at `k[off .. off+9]`; int32. IPv6 keys mix all 10 words; IPv4 keys (whose
 * words 1-3 and 5-7 are always zero) mix only addresses, ports and word 9 — the version bit in
 * word 9 keeps the two families apart. FlowTable.add() inlines the same two paths.
 */
export function hashKey(k: Int32Array, off = 0): number {
  let h = SEED;
  const w9 = k[off + KW_PROTO]!;
  if (w9 & PW_V6) {
    for (let n = 0; n < KEY_WORDS; n++) h = mix(h, k[off + n]!);
  } else {
    h = mix(h, k[off]!);
    h = mix(h, k[off + 4]!);
    h = mix(h, k[off + 8]!);
    h = mix(h, w9);
  }
  return fmix(h);
}
