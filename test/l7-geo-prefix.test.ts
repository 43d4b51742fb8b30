/**
 * Country / AS of the row writers' extras (FlowAnnotator.live → geoAt) answered by prefix for the
 * IPv4 special ranges (geo.ts v4Special), before any per-address cache:
 * - the prefix table against `specialRange` on the first and last address of every /16, of every
 *   /24 inside the /16s a narrower range cuts, and on one address inside each;
 * - every flow of every capture in ../shared/pcaps and ../shared/pcaps-l7, read through the engine
 *   with the FlowAnnotator as `flows --read` does: country, ASN and AS name of both ends equal a
 *   separate GeoLookup's answer for the address text (what geoAt answered through its caches alone).
 */
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { FileSource } from "../src/capture/file-source.ts";
import { FlowEngine } from "../src/flows/engine.ts";
import { toRecord } from "../src/flows/format/record.ts";
import { FlowAnnotator } from "../src/l7/annotate.ts";
import { GeoLookup, specialRange, V4_MIXED, V4_PER_ADDRESS, v4Special, v4SpecialCode } from "../src/l7/geo.ts";

const text = (w: number) => `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;

describe("IPv4 special ranges by prefix", () => {
  test("equal specialRange on every /16 and on every /24 of the /16s a narrower range cuts", () => {
    const t = v4Special();
    expect(t.by24.length).toBeGreaterThan(0); // 192.0/16, 198.51/16, 255.255/16, … are cut
    const label = (w: number) => {
      const c = v4SpecialCode(t, w);
      return c === V4_PER_ADDRESS ? specialRange(text(w)) : c === 0 ? null : t.labels[c]!;
    };
    let checked = 0, special = 0, perAddress = 0;
    const check = (w: number) => {
      const want = specialRange(text(w >>> 0));
      expect(`${text(w >>> 0)} ${label(w >>> 0)}`).toBe(`${text(w >>> 0)} ${want}`);
      checked++;
      if (want !== null) special++;
    };
    for (let p = 0; p < 1 << 16; p++) {
      const base = (p << 16) >>> 0;
      if (t.by16[p]! >= V4_MIXED) {
        for (let q = 0; q < 256; q++) {
          const b = (base | (q << 8)) >>> 0;
          if (v4SpecialCode(t, b) === V4_PER_ADDRESS) perAddress++;
          check(b); check(b + 255); check(b + 1 + ((q * 97) % 254));
        }
      } else {
        check(base); check(base + 0xffff); check(base + 1 + ((p * 40_503) % 0xfffe));
      }
    }
    expect(perAddress).toBe(1); // 255.255.255.0/24 (the broadcast /32)
    expect(special).toBeGreaterThan(25_000); // 0/8, 10/8, 127/8, 224/3, … are in
    expect(checked).toBeGreaterThan(196_000);
  });
});

describe("extras of every flow equal GeoLookup's answer per address", () => {
  const dirs = ["../../shared/pcaps", "../../shared/pcaps-l7"].map((d) => join(import.meta.dir, d));
  const caps = dirs.flatMap((d) => readdirSync(d).filter((f) => /\.p?cap(ng)?$/.test(f)).map((f) => join(d, f)));
  const oracle = new GeoLookup();
  const want = (addr: string) => {
    const g = oracle.lookup(addr);
    return { country: g.country ?? g.special, asn: g.asn, as_name: g.as_name === null ? null : g.as_name.slice(0, 128) };
  };
  let flows = 0, special = 0, global = 0;
  for (const path of caps) {
    test(path.split("/").slice(-2).join("/"), () => {
      const engine = new FlowEngine({ rates: false, sweepEvery: 10 });
      const annotator = new FlowAnnotator(engine, { ring: false });
      const got: Record<string, unknown>[] = [];
      engine.onEnded((c, i) => { got.push({ ...toRecord(c, i) }); });
      annotator.attach();
      try {
        new FileSource({ path }).readSync({ packet: (b, o, c, w, t, l) => engine.packet(b, o, c, w, t, l) });
        engine.finish();
      } finally {
        annotator.detach();
      }
      for (const r of got) {
        for (const side of ["src", "dst"] as const) {
          const w = want(r[`${side}_ip`] as string);
          expect({ ip: r[`${side}_ip`], country: r[`${side}_country`], asn: r[`${side}_asn`], as_name: r[`${side}_as_name`] })
            .toEqual({ ip: r[`${side}_ip`], ...w });
          if (w.asn !== null) global++;
          else if (w.country !== null) special++;
        }
      }
      flows += got.length;
    });
  }
  test("the captures hold both special and global addresses", () => {
    expect(flows).toBeGreaterThan(1_000);
    expect(special).toBeGreaterThan(100);
    expect(global).toBeGreaterThan(100);
  });
});
