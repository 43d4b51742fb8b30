/**
 * The byte formatters against what the record path uses: String / JSON.stringify for numbers and
 * strings, ipaddr.js's toRFC5952String for IPv6, isoTime (Date.toISOString) for times, and
 * csvLine's quoting.
 */
import { expect, test } from "bun:test";
import ipaddr from "ipaddr.js";
import { isoTime } from "./record.ts";
import { csvLine } from "./csv.ts";
import {
  decimalLength, fragment, numberLength, putCsvField, putIPv4, putIPv6, putIsoTime, putJsonNumber, putJsonString, putNumber, putText,
  putUint, viewOf,
} from "./bytes.ts";

const buf = new Uint8Array(1 << 16);
const dec = new TextDecoder();
const text = (n: number) => dec.decode(buf.subarray(0, n));

/** xorshift: the same numbers on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

test("integers print as String(n), around every power of ten and of two up to 2^53", () => {
  const cases: number[] = [0, -0, 1, 9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53];
  for (let e = 1; e <= 15; e++) cases.push(10 ** e - 1, 10 ** e, 10 ** e + 1);
  for (let e = 1; e <= 53; e++) cases.push(2 ** e - 1, 2 ** e, 2 ** e + 1);
  const r = rng(1);
  for (let k = 0; k < 200_000; k++) cases.push(Math.floor(r() * 2 ** (1 + Math.floor(r() * 53))));
  const bad: number[] = [];
  for (const n of cases) {
    if (n > 2 ** 53 - 1) continue;
    if (text(putUint(buf, 0, n)) !== String(n) || decimalLength(n) !== String(n).length) bad.push(n);
  }
  expect(bad).toEqual([]);
});

test("any number prints as String(v), and as JSON.stringify(v) in JSON", () => {
  const r = rng(2);
  const cases = [NaN, Infinity, -Infinity, -0, -1, -123456789, 0.5, 1.5e-7, 1e21, 1.5e21, 2 ** 53, 2 ** 60, 2 ** 64, 1.7976931348623157e308,
    5e-324, -(2 ** 53), 123.456, 9007199254740993, 0.1 + 0.2];
  for (let k = 0; k < 20_000; k++) cases.push((r() - 0.5) * 10 ** Math.floor(r() * 40 - 10));
  const bad: string[] = [];
  for (const v of cases) {
    if (text(putNumber(buf, 0, v)) !== String(v)) bad.push(`String ${v}`);
    if (text(putJsonNumber(buf, 0, v)) !== JSON.stringify(v)) bad.push(`JSON ${v}`);
    if (numberLength(v) !== String(v).length) bad.push(`length ${v}`);
  }
  expect(bad).toEqual([]);
});

test("IPv4 prints as the dotted quad, for every octet value in every position", () => {
  const bad: string[] = [];
  for (let o = 0; o < 256; o++) {
    for (const w of [o << 24, o << 16, o << 8, o, (o << 24) | (o << 16) | (o << 8) | o, (o << 24) | 0x00ff01]) {
      const want = `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
      const got = text(putIPv4(buf, 0, w | 0));
      if (got !== want) bad.push(`${want} → ${got}`);
    }
  }
  expect(bad).toEqual([]);
});

test("IPv6 prints as ipaddr.js's toRFC5952String on 300 000 random addresses, zero runs of every shape", () => {
  const r = rng(3);
  const key = new Int32Array(4);
  const bad: string[] = [];
  const check = (groups: number[]) => {
    for (let k = 0; k < 4; k++) key[k] = (groups[2 * k]! << 16) | groups[2 * k + 1]!;
    const want = new ipaddr.IPv6(groups).toRFC5952String();
    const got = text(putIPv6(buf, 0, key, 0));
    if (got !== want && bad.length < 20) bad.push(`${want} → ${got}`);
  };
  // Every zero/non-zero pattern of the 8 groups, with several non-zero values.
  for (let mask = 0; mask < 256; mask++) {
    for (const v of [1, 0xf, 0x10, 0xff, 0x100, 0xfff, 0x1000, 0xffff, 0xabc]) {
      check(Array.from({ length: 8 }, (_, g) => (mask >> g) & 1 ? v : 0));
    }
  }
  const pick = () => {
    const x = r();
    return x < 0.45 ? 0 : x < 0.6 ? Math.floor(r() * 16) : x < 0.75 ? Math.floor(r() * 256) : Math.floor(r() * 65536);
  };
  for (let n = 0; n < 300_000; n++) check(Array.from({ length: 8 }, pick));
  // IPv4-mapped and -compatible forms stay hexadecimal, as ipaddr.js prints them.
  check([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001]);
  check([0, 0, 0, 0, 0, 0, 0x0a00, 0x0001]);
  expect(bad).toEqual([]);
});

test("times print as isoTime: every day of years 0-2500 and around 9999, ms rounding, leap years, clamping", () => {
  const bad: string[] = [];
  const check = (sec: number) => {
    const got = text(putIsoTime(buf, 0, sec));
    const want = isoTime(sec);
    if (got !== want && bad.length < 20) bad.push(`${sec}: ${want} → ${got}`);
  };
  const DAY = 86_400;
  // Every day from year 0 to 2500, at a time of day that moves through the day.
  for (let t = -62_167_219_200, k = 0; t < 16_725_225_600; t += DAY, k++) check(t + ((k * 7919) % DAY) + (k % 1000) / 1000);
  // Years 9990-10001 and -1 .. 1 (the ±YYYYYY forms), and the clamps.
  for (let t = 253_086_739_200; t < 253_465_084_800; t += DAY / 3) check(t + 0.999);
  for (let t = -62_230_291_200; t < -62_104_147_200; t += DAY / 3) check(t + 0.0005);
  for (const s of [0, -0, -0.0005, -0.0004, 0.0005, 0.0015, 1.0005, -1.0005, 8.64e12, -8.64e12, 8.64e12 + 1, -8.64e12 - 1, 1e300, -1e300,
    NaN, Infinity, -Infinity, 253_402_300_799.999, 253_402_300_799.9995, 253_402_300_800, -62_167_219_200, -62_167_219_200.0005,
    951_782_400, 951_868_799.9995, 4_107_542_400, 1_700_000_000.1234567]) check(s);
  // Leap days and their neighbours in 1900, 2000, 2100, 2400 and 1600.
  for (const y of [1600, 1896, 1900, 2000, 2004, 2100, 2400]) {
    const feb28 = Date.UTC(y, 1, 28) / 1000;
    for (let t = feb28 - DAY; t < feb28 + 3 * DAY; t += 3600.0007) check(t);
  }
  // Sub-millisecond rounding exactly as Math.round(sec * 1000).
  const r = rng(4);
  for (let n = 0; n < 200_000; n++) check(Math.floor(r() * 4e9) + Math.floor(r() * 1000) / 1000 + (r() < 0.5 ? 0.0005 : r() / 1000));
  for (let n = 0; n < 50_000; n++) check((r() - 0.5) * 2 * 8.7e12);
  expect(bad).toEqual([]);
});

test("JSON strings print as JSON.stringify: escapes, controls, lone surrogates, UTF-8", () => {
  const r = rng(5);
  const bad: string[] = [];
  const check = (s: string) => {
    const got = text(putJsonString(buf, 0, s));
    if (got !== JSON.stringify(s) && bad.length < 10) bad.push(JSON.stringify(s));
  };
  for (const s of ["", "tcp", 'a"b', "a\\b", "\b\f\n\r\t\v\0\x1f\x7f", "é", "日本", "😀", "\ud800", "x\udc00y", "\udbff\udfff", "\ud83d"]) check(s);
  const alphabet = ['"', "\\", "\n", "\x01", "a", "é", "€", "\ud83d", "\ude00", "😀", "\u2028", " ", ","];
  for (let n = 0; n < 20_000; n++) {
    let s = "";
    for (let k = Math.floor(r() * 12); k > 0; k--) s += alphabet[Math.floor(r() * alphabet.length)];
    check(s);
  }
  expect(bad).toEqual([]);
});

test("CSV fields are quoted exactly as csvLine quotes them; putText writes UTF-8", () => {
  const bad: string[] = [];
  for (const s of ["", "tcp", "a,b", 'a"b', "a\r\nb", "a\rb", "a\nb", '"', ",", "é,€", "日本"]) {
    // csvLine's second column is `proto`: a string column quoted through csvField.
    const want = csvLine({ id: 1, proto: s } as never).slice(2).replace(/,+\r\n$/, "");
    const got = text(putCsvField(buf, 0, s));
    if (got !== want) bad.push(`${JSON.stringify(s)}: ${JSON.stringify(want)} → ${JSON.stringify(got)}`);
  }
  expect(bad).toEqual([]);
  expect(text(putText(buf, 0, "a€b😀"))).toBe("a€b😀");
});

test("fragments write their constant's bytes exactly: 8-byte stores for printable runs, any length, any byte", () => {
  const r = rng(7);
  const bad: string[] = [];
  const enc = new TextEncoder();
  const samples = ['{"id":', ',"community_id":"', '\r\n', "", "a", "é€😀", "\u0000\u0001\u007f\u0080", "~~~~~~~~", "        "];
  for (let k = 0; k < 2000; k++) {
    let s = "";
    const n = Math.floor(r() * 40);
    // Mostly printable ASCII (the 8-byte path), sometimes controls, DEL and non-ASCII.
    for (let j = 0; j < n; j++) s += String.fromCharCode(r() < 0.9 ? 0x20 + Math.floor(r() * 95) : Math.floor(r() * 0x800));
    samples.push(s);
  }
  const dv = viewOf(buf);
  for (const s of samples) {
    buf.fill(0xee, 0, 256);
    const end = fragment(s)(dv, 3);
    const want = enc.encode(s);
    const got = buf.subarray(3, end);
    if (end !== 3 + want.length || !got.every((b, j) => b === want[j]) || buf[2] !== 0xee || buf[end] !== 0xee) bad.push(JSON.stringify(s));
  }
  expect(bad).toEqual([]);
});
