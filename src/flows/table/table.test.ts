import { describe, expect, test } from "bun:test";
import { EndReason, FlowColumns, BYTES_PER_SLOT, REC_U32, U_RATE } from "./columns.ts";
import { FlowTable } from "./table.ts";
import { toRecord } from "../format/record.ts";
import { pkt } from "../test-packets.ts";

describe("FlowTable", () => {
  test("both directions meet in one flow; initiator is the first sender", () => {
    const t = new FlowTable();
    const a = t.add(pkt("10.0.0.9", 40000, "10.0.0.1", 80, 6, 2), 100, 60);
    const b = t.add(pkt("10.0.0.1", 80, "10.0.0.9", 40000, 6, 18), 100.1, 60);
    const c = t.add(pkt("10.0.0.9", 40000, "10.0.0.1", 80, 6, 16), 100.2, 54);
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(t.count).toBe(1);
    const r = toRecord(t.cols, a);
    expect(r.src_ip).toBe("10.0.0.9");
    expect(r.src_port).toBe(40000);
    expect(r.dst_ip).toBe("10.0.0.1");
    expect(r.src_packets).toBe(2);
    expect(r.dst_packets).toBe(1);
    expect(r.src_bytes).toBe(114);
    expect(r.bytes).toBe(174);
    expect(r.state).toBe("established");
    expect(r.tcp_flags).toBe("SA");
    expect(r.duration_ms).toBe(200);
  });

  test("a first packet that is a SYN-ACK makes its receiver the initiator", () => {
    const t = new FlowTable();
    const i = t.add(pkt("10.0.0.1", 80, "10.0.0.9", 40000, 6, 18), 1, 60);
    const r = toRecord(t.cols, i);
    expect(r.src_ip).toBe("10.0.0.9");
    expect(r.dst_port).toBe(80);
    expect(r.dst_packets).toBe(1);
  });

  test("VLAN id is part of the key", () => {
    const t = new FlowTable();
    const p = pkt("10.0.0.1", 1, "10.0.0.2", 2, 17);
    p.vlan = 10;
    const i = t.add(p, 1, 60);
    p.vlan = 20;
    const j = t.add(p, 1, 60);
    p.vlan = -1;
    const k = t.add(p, 1, 60);
    expect(new Set([i, j, k]).size).toBe(3);
    expect(toRecord(t.cols, j).vlan).toBe(20);
    expect(toRecord(t.cols, k).vlan).toBeNull();
  });

  test("idle, tcp close and active timeouts end flows into the ended stream", () => {
    const t = new FlowTable({ idleTimeout: 60, tcpCloseTimeout: 15, activeTimeout: 100 });
    const ended: [string, number][] = [];
    t.onEnded((c, i, reason) => ended.push([toRecord(c, i).src_ip, reason]));
    t.add(pkt("10.0.0.1", 1, "10.0.0.2", 2, 17), 0, 60); // idle
    t.add(pkt("10.0.0.3", 1, "10.0.0.4", 2, 6, 4), 0, 60); // RST → closes 15 s later
    for (let s = 0; s <= 90; s += 10) t.add(pkt("10.0.0.5", 1, "10.0.0.6", 2, 17), s, 60); // long
    expect(t.sweep(10)).toBe(0);
    expect(t.sweep(16)).toBe(1);
    expect(ended[0]).toEqual(["10.0.0.3", EndReason.tcp_close]);
    expect(t.sweep(61)).toBe(1);
    expect(ended[1]).toEqual(["10.0.0.1", EndReason.idle]);
    expect(t.sweep(100.5)).toBe(1);
    expect(ended[2]).toEqual(["10.0.0.5", EndReason.active_timeout]);
    expect(t.count).toBe(0);
    // The next packet of the long flow starts a new segment with a new id.
    const i = t.add(pkt("10.0.0.5", 1, "10.0.0.6", 2, 17), 101, 60);
    expect(t.cols.id(i)).toBe(4);
  });

  test("a packet after the timeout starts a new flow even before any sweep", () => {
    const t = new FlowTable({ idleTimeout: 60, tcpCloseTimeout: 15, activeTimeout: 100 });
    const ended: [number, number][] = [];
    t.onEnded((c, i, reason) => ended.push([c.id(i), reason]));
    const a = t.add(pkt("10.0.0.1", 1, "10.0.0.2", 2, 17), 0, 60);
    const idA = t.cols.id(a);
    const b = t.add(pkt("10.0.0.1", 1, "10.0.0.2", 2, 17), 61, 60); // idle > 60 s: new flow
    expect(t.cols.id(b)).not.toBe(idA);
    expect(ended).toEqual([[idA, EndReason.idle]]);
    // A TCP flow that saw RST, hit again 16 s later: new flow (tcp_close); 14 s later: same flow.
    const c = t.add(pkt("10.0.0.3", 1, "10.0.0.4", 2, 6, 4), 0, 60);
    expect(t.add(pkt("10.0.0.3", 1, "10.0.0.4", 2, 6, 16), 14, 60)).toBe(c);
    const idC = t.cols.id(c);
    t.add(pkt("10.0.0.3", 1, "10.0.0.4", 2, 6, 2), 30, 60);
    expect(ended[1]).toEqual([idC, EndReason.tcp_close]);
    // A flow busy past the active timeout is cut into segments.
    for (let s = 100; s <= 220; s += 10) t.add(pkt("10.0.0.7", 1, "10.0.0.8", 2, 17), s, 60);
    expect(ended.filter(([, r]) => r === EndReason.active_timeout).length).toBe(1);
  });

  test("the cap evicts least recently active flows and counts them; the index stays consistent", () => {
    const t = new FlowTable({ maxFlows: 1000, initialCapacity: 64 });
    const ended = new Set<number>();
    t.onEnded((c, i) => ended.add(c.id(i)));
    for (let n = 0; n < 5000; n++) t.add(pkt("10.1.0.1", n, "10.2.0.1", 80, 17), n, 60);
    expect(t.count).toBeLessThanOrEqual(1000);
    expect(t.evicted).toBe(5000 - t.count);
    expect(ended.size).toBe(t.evicted);
    // The most recent flows survive; each is still found by its key (no duplicate entry created).
    const before = t.count;
    for (let n = 4990; n < 5000; n++) t.add(pkt("10.2.0.1", 80, "10.1.0.1", n, 17), 6000, 60);
    expect(t.count).toBe(before);
    let oldest = Infinity;
    t.forEach((c, i) => (oldest = Math.min(oldest, c.first(i))));
    expect(oldest).toBeGreaterThan(3000);
  });

  test("deletion keeps probe chains intact under churn", () => {
    const t = new FlowTable({ initialCapacity: 16, maxFlows: 100000 });
    const live = new Map<number, number>();
    for (let round = 0; round < 20; round++) {
      for (let n = 0; n < 500; n++) {
        const port = (round * 131 + n * 7) % 3000;
        const i = t.add(pkt("10.0.0.1", port, "10.0.0.2", 53, 17), round, 60);
        live.set(port, i);
      }
      t.idleTimeout = 0.5;
      t.sweep(round + 0.4); // ends the flows of earlier rounds only
      t.idleTimeout = 60;
    }
    // Every port seen in the last round maps to exactly one live flow.
    const seen = new Set<number>();
    t.forEach((c, i) => {
      const id = c.id(i);
      expect(seen.has(id)).toBe(false);
      seen.add(id);
    });
    for (let n = 0; n < 500; n++) {
      const port = (19 * 131 + n * 7) % 3000;
      const before = t.count;
      t.add(pkt("10.0.0.2", 53, "10.0.0.1", port, 17), 19, 60);
      expect(t.count).toBe(before);
    }
  });

  test("rateTickSweep leaves the table, the visits and the ended flows exactly as rateTick then sweep", () => {
    const cfg = { idleTimeout: 5, activeTimeout: 12, tcpCloseTimeout: 2, initialCapacity: 64 };
    const a = new FlowTable(cfg), b = new FlowTable(cfg);
    const log = { a: [] as string[], b: [] as string[] };
    // An ended flow as the sinks see it: id, reason and its record (rate included).
    const rec = (c: FlowColumns, i: number) => JSON.stringify({ ...toRecord(c, i), rate: c.u32[i * REC_U32 + U_RATE] });
    a.onEnded((c, i, r) => log.a.push(`end ${c.id(i)} ${r} ${rec(c, i)}`));
    b.onEnded((c, i, r) => log.b.push(`end ${c.id(i)} ${r} ${rec(c, i)}`));
    let x = 7;
    const rnd = (n: number) => ((x = (x * 1103515245 + 12345) >>> 0) >>> 8) % n;
    let ended = 0;
    for (let sec = 0; sec < 40; sec++) {
      for (let k = 0; k < 300; k++) {
        const ts = sec + k / 300;
        const tcp = rnd(3) !== 0;
        // TCP flows sometimes close (FIN both ways, or RST); UDP flows come and go
        const flags = !tcp ? 0 : rnd(10) === 0 ? 4 : rnd(8) === 0 ? 1 : 16;
        const p = rnd(2) === 0
          ? pkt(`10.0.${rnd(4)}.${rnd(50)}`, 1000 + rnd(40), "10.9.0.1", tcp ? 443 : 53, tcp ? 6 : 17, flags)
          : pkt("10.9.0.1", tcp ? 443 : 53, `10.0.${rnd(4)}.${rnd(50)}`, 1000 + rnd(40), tcp ? 6 : 17, flags);
        const len = 60 + rnd(1400);
        a.add(p, ts, len);
        b.add(p, ts, len);
      }
      const now = sec + 1;
      a.rateTick(1, (c, i) => log.a.push(`visit ${c.id(i)} ${c.tickBytes(i)}`));
      ended += a.sweep(now);
      // b in slices, as the engine's tick job runs it
      for (let from = 0; from < b.hwm; from += 37) b.rateTickSweep(1, now, (c, i) => log.b.push(`visit ${c.id(i)} ${c.tickBytes(i)}`), from, from + 37);
      // Visits in slot order, ended flows in slot order (the fused pass interleaves the two).
      expect(log.b.filter((l) => l.startsWith("visit"))).toEqual(log.a.filter((l) => l.startsWith("visit")));
      expect(log.b.filter((l) => l.startsWith("end"))).toEqual(log.a.filter((l) => l.startsWith("end")));
      expect(new Uint8Array(b.cols.f64.buffer)).toEqual(new Uint8Array(a.cols.f64.buffer));
      expect(b.cols.key).toEqual(a.cols.key);
      expect(b.count).toBe(a.count);
    }
    expect(ended).toBeGreaterThan(100);
    expect(new Set(log.a.filter((l) => l.startsWith("end")).map((l) => l.split(" ")[2]))).toEqual(new Set(["1", "2", "3"]));
  });

  test("reserved slots: the columns are never copied, the index doubles with the live flows, every flow is found", () => {
    const t = new FlowTable({ initialCapacity: 1024, reserveSlots: 100_000, maxFlows: 200_000 });
    const key = t.cols.key, f64 = t.cols.f64;
    expect(t.cols.capacity).toBe(131_072);
    const index0 = t.byteSize() - t.slotsUsed * (BYTES_PER_SLOT + 4);
    expect(index0).toBe(2048 * 4); // the index starts small: 2 entries per initial slot
    const slots: number[] = [];
    for (let n = 0; n < 50_000; n++) slots.push(t.add(pkt(`10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`, 1000, "10.255.0.1", 80, 17), n / 1e4, 60));
    expect(t.cols.key).toBe(key); // same arrays: nothing was copied
    expect(t.cols.f64).toBe(f64);
    expect(t.count).toBe(50_000);
    // The index grew to keep at most one live flow per two entries; every flow is still found.
    expect(t.byteSize() - t.slotsUsed * (BYTES_PER_SLOT + 4)).toBe(131_072 * 4);
    for (let n = 0; n < 50_000; n += 7) {
      expect(t.add(pkt(`10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`, 1000, "10.255.0.1", 80, 17), 6, 60)).toBe(slots[n]!);
    }
    expect(t.count).toBe(50_000);
    // Past the reserve the columns grow as before (copied), up to maxFlows.
    for (let n = 50_000; n < 150_000; n++) t.add(pkt(`10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`, 1000, "10.255.0.1", 80, 17), 7, 60);
    expect(t.count).toBe(150_000);
    expect(t.cols.capacity).toBe(262_144);
    expect(t.add(pkt("10.0.0.0", 1000, "10.255.0.1", 80, 17), 8, 60)).toBe(slots[0]!);
    // The bytes held count the slots ever used, also once every flow has ended.
    expect(t.slotsUsed).toBe(150_000);
    const held = t.byteSize();
    expect(held).toBe(150_000 * (BYTES_PER_SLOT + 4) + 524_288 * 4); // the index: 2 entries per flow, a power of two
    t.flushAll();
    expect(t.hwm).toBe(0);
    expect(t.byteSize()).toBe(held);
  });

  test("bytes per flow slot is at most 128", () => {
    expect(FlowTable.bytesPerSlot()).toBeLessThanOrEqual(128);
    const c = new FlowColumns(1024);
    expect(c.key.byteLength + c.f64.byteLength).toBe(1024 * BYTES_PER_SLOT);
    expect(c.u32.buffer).toBe(c.f64.buffer);
    // Measured on a filled table: bytes of all typed arrays per live flow, with the index.
    const t = new FlowTable({ maxFlows: 1 << 20 });
    for (let n = 0; n < 950_000; n++) t.add(pkt(`10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`, 1000, "10.255.0.1", 80, 6, 2), n / 1e5, 60);
    expect(t.count).toBe(950_000);
    expect(t.byteSize() / t.count).toBeLessThanOrEqual(128);
  });
});
