/**
 * nfdump's exporter as a peer: softflowd exports a shared capture as IPFIX to nfcapd (Debian package
 * nfdump) on 127.0.0.1, which writes an nfcapd file; `nfreplay -v 9` and `-v 5` send that file's
 * flows to our collector. Per conversation, packets and bytes per direction must equal our own
 * capture of the file (IP bytes, as NetFlow counts them; v5: IPv4 only), with no decode error.
 * nfreplay's v9 templates differ from softflowd's (absolute millisecond times 152/153, 8-byte
 * counters), so this covers a second v9 dialect.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NetflowCollector } from "../src/collect/collector.ts";
import { FlowTable } from "../src/flows/table/table.ts";
import { captureConversations, freeUdpPort, softflowd, tableConversations } from "./collect-helpers.ts";
import { PCAPS } from "./shared-paths.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** softflowd → nfcapd: the nfcapd file holding `pcap`'s flows. */
async function nfcapdFile(pcap: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "fm-nfcapd-"));
  dirs.push(dir);
  const port = await freeUdpPort();
  const proc = Bun.spawn(["nfcapd", "-w", dir, "-p", String(port), "-b", "127.0.0.1", "-t", "3600"], { stdout: "pipe", stderr: "pipe" });
  await Bun.sleep(300);
  await softflowd(port, pcap, 10);
  await Bun.sleep(300);
  proc.kill("SIGTERM");
  await proc.exited;
  const files = readdirSync(dir).filter((f) => /^nfcapd\.\d+$/.test(f));
  expect(files).toHaveLength(1);
  return join(dir, files[0]!);
}

describe("nfreplay (nfdump) → collector", () => {
  for (const file of ["zeek__wikipedia.pcap", "ndpi__KakaoTalk_talk.pcap", "ndpi__gnutella.pcap"]) {
    test(file, async () => {
      const nf = await nfcapdFile(PCAPS + file);
      const ours = await captureConversations(PCAPS + file);
      for (const version of [9, 5] as const) {
        const table = new FlowTable({ noExpire: true });
        const collector = new NetflowCollector({ host: "127.0.0.1", port: 0, onFlow: (f, o) => table.addRecord(f, o) });
        await collector.start();
        try {
          const r = Bun.spawnSync(["nfreplay", "-r", nf, "-H", "127.0.0.1", "-p", String(collector.port), "-v", String(version)]);
          expect(r.exitCode).toBe(0);
          let last = -1;
          for (let n = 0; n < 50; n++) {
            await Bun.sleep(100);
            const now = collector.stats().records;
            if (now === last && now > 0) break;
            last = now;
          }
          const s = collector.stats();
          expect(s.errors).toBe(0);
          expect(s.exporters[0]!.versions).toEqual([version]);
          const got = tableConversations(table);
          let compared = 0;
          for (const [k, o] of ours) {
            if (version === 5 && k.includes(":")) continue; // v5 is IPv4 only
            const g = got.get(k);
            expect(g, `v${version} ${k}`).toBeDefined();
            expect({ k, packets: g!.packets, bytes: g!.bytes }).toEqual({ k, packets: o.packets, bytes: o.ipBytes });
            compared++;
          }
          expect(got.size).toBe(compared);
        } finally {
          collector.stop();
        }
      }
    }, 60_000);
  }
});
