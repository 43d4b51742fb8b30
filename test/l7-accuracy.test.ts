/**
 * L7 accuracy on ../shared/pcaps-l7 against nDPI's published per-flow results, scored with the
 * judge's own rules (../shared/tools/compare-l7.mjs: parser, scopes, name matching), with the
 * FlowInspector in the engine's packet loop; plus bounded inspection state and geo lookups.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FileSource } from "../src/capture/file-source.ts";
import { FlowEngine } from "../src/flows/engine.ts";
import { toRecord } from "../src/flows/format/record.ts";
import { GeoLookup, specialRange } from "../src/l7/geo.ts";
import { FlowInspector } from "../src/l7/inspector.ts";
// @ts-expect-error plain ESM from the shared tools (no types)
import { APP_TABLE, appScope, canonIp, nameMatch, nameScope, parseResultFile } from "../../shared/tools/compare-l7.mjs";

const DIR = join(import.meta.dir, "../../shared/pcaps-l7");

function run(path: string, inspectorCfg = {}) {
  const engine = new FlowEngine({ rates: false, sweepEvery: 10 });
  const ins = new FlowInspector(engine.table, inspectorCfg);
  engine.setHook(ins);
  const flows: Record<string, unknown>[] = [];
  engine.onEnded((c, i) => flows.push({ ...toRecord(c, i), ...ins.result(i) }));
  engine.onEnded((_c, i) => ins.release(i)); // after the readers: frees the record, keeps the result
  new FileSource({ path }).readSync({ packet: (b, o, c, w, t, l) => engine.packet(b, o, c, w, t, l) });
  engine.finish();
  return { flows, ins };
}

const key = (p: number, a: string, pa: number, b: string, pb: number) => {
  const x = `${a}#${p === 6 || p === 17 ? pa : 0}`, y = `${b}#${p === 6 || p === 17 ? pb : 0}`;
  return `${p}|${x < y ? x + "|" + y : y + "|" + x}`;
};

// Per capture: [names hit, apps hit] we reach today (the floor this test holds). Misses, all
// deliberate: ndpi__syslog flow 1 is syslog inside 6in4 (we key the outer header), flow 22 is a
// SYN-only TCP flow on VLAN 1506 (no payload: nothing to inspect).
const FLOOR_MISSES: Record<string, [number, number]> = { "ndpi__syslog.pcap": [0, 2] };

describe("accuracy vs nDPI's published results", () => {
  const caps = readdirSync(join(DIR, "results")).filter((f) => f.endsWith(".out")).map((f) => f.slice(0, -4));
  let nh = 0, nt = 0, ah = 0, at = 0;
  for (const cap of caps) {
    test(cap, () => {
      const nd = parseResultFile(readFileSync(join(DIR, "results", cap + ".out"), "latin1")).flows;
      const { flows } = run(join(DIR, cap));
      const ours = new Map<string, Record<string, unknown>[]>();
      for (const f of flows) {
        const k = key(f.proto_num as number, canonIp(f.src_ip), f.src_port as number, canonIp(f.dst_ip), f.dst_port as number);
        if (!ours.has(k)) ours.set(k, []);
        ours.get(k)!.push(f);
      }
      let n1 = 0, n2 = 0, a1 = 0, a2 = 0;
      for (const f of nd) {
        const all = f.a.ips.flatMap((x: string) => f.b.ips.flatMap((y: string) => ours.get(key(f.proto, x, f.a.port ?? 0, y, f.b.port ?? 0)) ?? []));
        const v = all.filter((x: Record<string, unknown>) => (x.vlan ?? null) === f.vlan);
        const cs = v.length ? v : all;
        if (nameScope(f)) { n2++; if (cs.some((x: Record<string, unknown>) => nameMatch(x.server_name, f.hostname))) n1++; }
        if (appScope(f)) {
          a2++;
          const ok = (f.app != null ? APP_TABLE[`${f.master}.${f.app}`] : undefined) ?? APP_TABLE[f.master];
          if (cs.some((x: Record<string, unknown>) => x.app != null && ok.includes(String(x.app)))) a1++;
        }
      }
      nh += n1; nt += n2; ah += a1; at += a2;
      const [mn, ma] = FLOOR_MISSES[cap] ?? [0, 0];
      console.log(`${cap}: names ${n1}/${n2} apps ${a1}/${a2}`);
      expect(n1).toBeGreaterThanOrEqual(n2 - mn);
      expect(a1).toBeGreaterThanOrEqual(a2 - ma);
    });
  }
  test("overall above the targets (names ≥ 98 %, apps ≥ 95 %)", () => {
    console.log(`l7: names ${nh}/${nt}, apps ${ah}/${at}`);
    expect(nt).toBeGreaterThan(80);
    expect(nh / nt).toBeGreaterThanOrEqual(0.98);
    expect(ah / at).toBeGreaterThanOrEqual(0.95);
  });
});

describe("bounded inspection state", () => {
  test("a full pool decides by port and counts the overflow; records are all returned", () => {
    const { ins } = run(join(DIR, "ndpi__fuzz-2020-02-16-11740.pcap"), { maxInspected: 16 });
    const s = ins.stats();
    expect(s.max_inspected).toBe(16);
    expect(s.inspecting).toBeLessThanOrEqual(16);
    const { ins: full } = run(join(DIR, "ndpi__android.pcap"));
    expect(full.stats().inspecting).toBe(0); // every record freed by the end of the capture
    expect(full.stats().passive_dns_entries).toBeGreaterThan(10); // answers learned from its DNS flows
    expect(FlowInspector.bytesPerSlot).toBe(4.125);
  });
});

describe("geo", () => {
  const g = new GeoLookup();
  test("special ranges are labelled, never looked up", () => {
    for (const [a, l] of [["10.1.2.3", "private"], ["192.168.0.1", "private"], ["127.0.0.1", "loopback"], ["169.254.1.1", "link-local"],
      ["100.64.0.1", "cgnat"], ["fd12::1", "ula"], ["fe80::1", "link-local"], ["224.0.0.251", "multicast"], ["ff02::fb", "multicast"],
      ["192.0.2.1", "documentation"], ["2001:db8::1", "documentation"], ["::", "unspecified"]] as const) {
      expect(specialRange(a)).toBe(l);
      expect(g.lookup(a).country).toBeNull();
    }
  });
  test("public addresses get a country from the default MMDB and an AS from the default tables", () => {
    const x = g.lookup("8.8.8.8");
    expect(x.country).toBe("US");
    expect(x.asn).toBe(15169);
    expect(g.lookup("2001:4860:4860::8888").asn).toBe(15169);
    expect(g.lookup("not an address")).toEqual({ country: null, asn: null, as_name: null, special: null });
  });
});
