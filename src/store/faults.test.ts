import { afterEach, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { FlowColumns } from "../flows/table/columns.ts";
import { MATCH_ALL } from "../flows/query/query.ts";
import { FlowStore } from "./flow-store.ts";
import { SyntheticFlows } from "./synthetic-flows.ts";
import { tempDir } from "./test-dir.ts";
import { T0 } from "./test-specs.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function mount(args: string[], dir: string): void {
  const r = spawnSync("mount", [...args, dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`mount ${args.join(" ")} ${dir} failed (the fault tests need root): ${r.stderr}`);
  cleanups.push(() => void spawnSync("umount", ["-l", dir]));
}

const page = { query: MATCH_ALL, sortBy: "bytes" as const, order: "desc" as const, offset: 0, limit: 10 };

describe("store faults never throw out of the API", () => {
  test("a read-only directory: degraded with the reason, inserts dropped and counted, reads empty", () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const dir = join(t.dir, "ro");
    mkdirSync(dir);
    mount(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"], dir);
    const store = new FlowStore({ path: join(dir, "data", "history.db"), pruneIntervalMs: 0, retryMs: 0 });
    cleanups.push(() => store.stop());
    store.start();
    const gen = new SyntheticFlows(3, 1, T0, 1);
    const c = new FlowColumns(100);
    gen.fill(c, 100);
    expect(store.insertColumns(c, 100)).toBe(0);
    store.addTraffic({ t: T0, packets: 1, bytes: 1, tcp_bytes: 1, udp_bytes: 0, icmp_bytes: 0, other_bytes: 0, non_ip_bytes: 0 });
    expect(store.queryFlows(page)).toEqual({ records: [], total: 0 });
    expect(store.findFlow(1)).toBeNull();
    expect(store.trafficHistory(T0, T0 + 10).t).toEqual([]);
    const st = store.status();
    expect(st.state).toBe("degraded");
    expect(st.reason).toContain("cannot open");
    expect(st.reason).toMatch(/read-only|EROFS/i);
    expect(st).toMatchObject({ dropped: 100, inserted: 0, flows: 0 });
  });

  test("a full disk: degraded (disk full), the batches that do not fit are dropped and counted, what was stored stays readable", () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const dir = join(t.dir, "small");
    mkdirSync(dir);
    mount(["-t", "tmpfs", "-o", "size=1m", "tmpfs"], dir);
    // a large size limit, so retention does not make room: the disk fills first
    const store = new FlowStore({ path: join(dir, "history.db"), pruneIntervalMs: 0, retryMs: 0 });
    cleanups.push(() => store.stop());
    store.start();
    expect(store.status().state).toBe("ok");
    const gen = new SyntheticFlows(4, 1, T0, 0.01);
    const c = new FlowColumns(500);
    let stored = 0, offered = 0, failedAt = -1;
    for (let k = 0; k < 100 && failedAt < 0; k++) {
      gen.fill(c, 500);
      offered += 500;
      const n = store.insertColumns(c, 500);
      stored += n;
      if (n === 0) failedAt = k;
    }
    expect(failedAt).toBeGreaterThan(0);
    const st = store.status();
    expect(st.state).toBe("degraded");
    expect(st.reason).toMatch(/disk full|full/i);
    expect(st.inserted).toBe(stored);
    expect(st.dropped).toBe(offered - stored);
    expect(st.errors).toBeGreaterThan(0);
    // a further batch is dropped and counted too, nothing thrown
    gen.fill(c, 500);
    expect(store.insertColumns(c, 500)).toBe(0);
    expect(store.status().dropped).toBe(offered + 500 - stored);
    expect(store.queryFlows({ ...page, limit: 0 }).total).toBe(stored);
  });

  test("a corrupt file is moved aside and a new database started; status says so", () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const path = join(t.dir, "history.db");
    writeFileSync(path, Buffer.alloc(64 * 1024, "this is not a database, it is garbage "));
    const store = new FlowStore({ path, pruneIntervalMs: 0 });
    cleanups.push(() => store.stop());
    store.start();
    const aside = readdirSync(t.dir).filter((f) => f.startsWith("history.db.corrupt-"));
    expect(aside.length).toBe(1);
    const gen = new SyntheticFlows(5, 1, T0, 1);
    const c = new FlowColumns(50);
    gen.fill(c, 50);
    expect(store.insertColumns(c, 50)).toBe(50);
    const st = store.status();
    expect(st.state).toBe("degraded");
    expect(st.reason).toContain(`moved to ${join(t.dir, aside[0]!)}`);
    expect(st.flows).toBe(50);
    expect(existsSync(path)).toBe(true);
  });

  test("a file whose pages are garbage (header intact) is detected at open, moved aside, and the store carries on", () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const path = join(t.dir, "history.db");
    const store = new FlowStore({ path, pruneIntervalMs: 0, segmentRows: 1000 });
    cleanups.push(() => store.stop());
    store.start();
    const gen = new SyntheticFlows(6, 1, T0, 0.01);
    gen.insertInto(store, 5, 1000);
    store.stop();
    // overwrite everything after the first page (catalog and segments) with garbage
    const size = statSync(path).size;
    expect(size).toBeGreaterThan(100_000); // stop() checkpointed the WAL into the file
    const garbage = Buffer.alloc(size - 4096, 0xa5);
    const fd = openSync(path, "r+");
    writeSync(fd, garbage, 0, garbage.length, 4096);
    closeSync(fd);
    store.start();
    const n = gen.insertInto(store, 1, 1000);
    // the first operation on the damaged file fails (dropped, counted) and moves it aside; the next one is stored
    const m = gen.insertInto(store, 1, 1000);
    expect(n + m).toBeGreaterThanOrEqual(1000);
    const st = store.status();
    expect(st.state).toBe("degraded");
    expect(st.reason).toContain("corrupt");
    expect(readdirSync(t.dir).some((x) => x.startsWith("history.db.corrupt-"))).toBe(true);
    expect(st.flows).toBe(n + m);
  });
});
