import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { PcapError } from "./pcap-error.ts";
import { PcapOfflineSource } from "./pcap-offline-source.ts";
import { PCAPS } from "../../test/shared-paths.ts";

const DIR = PCAPS.replace(/\/$/, "");
const FILES = readdirSync(DIR).filter((f) => /\.pcap(ng)?$/.test(f));
/** libpcap 1.10 refuses pcapng files whose interfaces have different linktypes. */
const LIBPCAP_REFUSES = new Set(["pcapngtest__test006.pcapng"]);

interface Oracle {
  packets_total: number;
  non_ip_packets: number;
  flows: { bytes: number }[];
}

/** Independent count and wire-length sum from the file's own record headers (pcap / little-endian pcapng). */
function walkFile(path: string): { packets: number; wire: number } {
  const b = readFileSync(path);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let packets = 0;
  let wire = 0;
  const magic = dv.getUint32(0, true);
  if (magic === 0x0a0d0d0a) {
    for (let off = 0; off + 12 <= b.length; ) {
      const type = dv.getUint32(off, true);
      const len = dv.getUint32(off + 4, true);
      if (type === 6) wire += dv.getUint32(off + 24, true); // EPB original length
      if (type === 3) wire += dv.getUint32(off + 8, true); // SPB original length
      if (type === 6 || type === 3) packets++;
      off += len;
    }
  } else {
    const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
    for (let off = 24; off + 16 <= b.length; ) {
      const incl = dv.getUint32(off + 8, le);
      wire += dv.getUint32(off + 12, le);
      packets++;
      off += 16 + incl;
    }
  }
  return { packets, wire };
}

describe("PcapOfflineSource on the public corpus", () => {
  for (const f of FILES) {
    const oracle = JSON.parse(readFileSync(`${DIR}/oracle/${f}.json`, "utf8")) as Oracle;
    if (LIBPCAP_REFUSES.has(f)) {
      test(`${f}: libpcap's refusal surfaces as PcapError`, async () => {
        const src = new PcapOfflineSource({ path: `${DIR}/${f}` });
        const err = await src.start({ packet() {} }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(PcapError);
        expect((err as Error).message).toContain("different from the type of the first interface");
      });
      continue;
    }
    test(`${f}: packets_total and wire bytes match the oracle`, async () => {
      let packets = 0;
      let wire = 0;
      let maxCaplen = 0;
      const src = new PcapOfflineSource({ path: `${DIR}/${f}`, snap: 256 });
      await src.start({
        packet(buf, off, caplen, wirelen, ts, linktype) {
          packets++;
          wire += wirelen;
          maxCaplen = Math.max(maxCaplen, caplen);
          expect(off + caplen).toBeLessThanOrEqual(buf.length);
          expect(ts).toBeGreaterThan(0);
          expect(linktype).toBe(src.linktypes()[0]!);
        },
      });
      expect(packets).toBe(oracle.packets_total);
      expect(src.stats().packets).toBe(oracle.packets_total);
      const ipWire = oracle.flows.reduce((a, x) => a + x.bytes, 0);
      if (oracle.non_ip_packets === 0) expect(wire).toBe(ipWire);
      else expect(wire).toBeGreaterThan(ipWire);
      expect(wire).toBe(walkFile(`${DIR}/${f}`).wire);
      expect(maxCaplen).toBeLessThanOrEqual(256);
    });
  }
});

describe("PcapOfflineSource options and errors", () => {
  const gnutella = `${DIR}/ndpi__gnutella.pcap`;

  test("a BPF filter selects what tcpdump selects", async () => {
    const counts: number[] = [];
    for (const filter of ["udp", "tcp", "ip6", "not ip"]) {
      let n = 0;
      await new PcapOfflineSource({ path: gnutella, filter }).start({ packet: () => void n++ });
      const out = Bun.spawnSync(["tcpdump", "-nr", gnutella, filter], { stderr: "ignore" }).stdout.toString();
      expect(n).toBe(out.split("\n").filter((l) => l !== "").length);
      counts.push(n);
    }
    expect(counts.every((c) => c > 0)).toBe(true);
  });

  test("a bad BPF filter rejects with libpcap's message", async () => {
    const err = await new PcapOfflineSource({ path: gnutella, filter: "tcp port notaport" })
      .start({ packet() {} })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PcapError);
    expect((err as Error).message).toMatch(/bad capture filter "tcp port notaport": .*notaport/);
  });

  test("a missing file rejects with libpcap's message", async () => {
    const err = await new PcapOfflineSource({ path: "/nonexistent/x.pcap" }).start({ packet() {} }).catch((e) => e);
    expect(err).toBeInstanceOf(PcapError);
    expect((err as Error).message).toContain("No such file or directory");
  });

  test("readSync delivers the same packets as start, across many small batches", async () => {
    const a: number[] = [];
    const b: number[] = [];
    await new PcapOfflineSource({ path: gnutella }).start({ packet: (_b, _o, c, w, ts) => void a.push(c, w, ts) });
    new PcapOfflineSource({ path: gnutella, batchBytes: 4096, snap: 64 }).readSync({
      packet: (_b, _o, c, w, ts) => void b.push(c, w, ts),
    });
    expect(b.length).toBe(a.length);
    for (let i = 1; i < a.length; i += 3) expect(b[i]).toBe(a[i]!);
    for (let i = 2; i < a.length; i += 3) expect(b[i]).toBe(a[i]!);
  });

  test("nanosecond timestamps survive (pcapng with ns resolution)", async () => {
    const oracle = JSON.parse(readFileSync(`${DIR}/oracle/ndpi__sites.pcapng.json`, "utf8"));
    let first = Infinity;
    await new PcapOfflineSource({ path: `${DIR}/ndpi__sites.pcapng` }).start({
      packet: (_b, _o, _c, _w, ts) => void (first = Math.min(first, ts)),
    });
    const firstOracle = Math.min(...oracle.flows.map((f: { first: number }) => f.first));
    expect(Math.abs(first - firstOracle)).toBeLessThan(1e-6);
  });

  test("stop() ends a running read early", async () => {
    let n = 0;
    const src = new PcapOfflineSource({ path: gnutella, batchBytes: 4096 });
    await src.start({
      packet() {
        if (++n === 10) src.stop();
      },
    });
    expect(n).toBeGreaterThanOrEqual(10);
    expect(n).toBeLessThan(3905);
  });
});
