/**
 * L7 accuracy through the real CLI: ../shared/tools/compare-l7.mjs runs `flows --read … --format json`
 * on every capture of ../shared/pcaps-l7 and scores `server_name` and `app` against nDPI's published
 * results. Thresholds: what src/l7/README.md reports (names 86/86, apps 270/272).
 */
import { expect, test } from "bun:test";
import { dirname, join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const SHARED = join(ROOT, "..", "shared");

test("compare-l7 through `flows --read`: names 100 %, apps ≥ 99.2 %", () => {
  const bin = join(ROOT, "node_modules", ".bin");
  const r = Bun.spawnSync(["node", join(SHARED, "tools", "compare-l7.mjs"), join(SHARED, "pcaps-l7")], {
    cwd: ROOT,
    env: { ...process.env, PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH ?? ""}`, CMD: `${process.execPath} src/main.ts`, MIN_NAMES: "100", MIN_APPS: "99.2" },
  });
  const out = r.stdout.toString();
  const m = /l7: names (\d+)\/(\d+) .*apps (\d+)\/(\d+)/.exec(out);
  expect(m).not.toBeNull();
  const [, nh, nt, ah, at] = m!.map(Number) as [number, number, number, number, number];
  expect(nh / nt).toBeGreaterThanOrEqual(86 / 86);
  expect(ah / at).toBeGreaterThanOrEqual(270 / 272);
  expect(r.exitCode).toBe(0);
}, 300_000);

test("an active-timeout segment keeps its flow's app and server name (flows --active-timeout 1)", () => {
  const r = Bun.spawnSync([process.execPath, "src/main.ts", "flows", "--read", join(SHARED, "pcaps-l7", "ndpi__android.pcap"), "--format", "ndjson", "--active-timeout", "1"], { cwd: ROOT });
  expect(r.exitCode).toBe(0);
  const flows = r.stdout.toString().trim().split("\n").map((l) => JSON.parse(l) as { community_id: string; app: string | null; app_source: string | null; server_name: string | null; end_reason: string });
  const byConversation = new Map<string, typeof flows>();
  for (const f of flows) byConversation.set(f.community_id, [...(byConversation.get(f.community_id) ?? []), f]);
  let segmented = 0, named = 0;
  for (const segs of byConversation.values()) {
    if (segs.length < 2 || segs[0]!.app_source !== "payload" || segs[0]!.end_reason !== "active_timeout") continue;
    segmented++;
    if (segs[0]!.server_name !== null) named++;
    // Later segments start mid-stream: without the carry they would be undecided or port-guessed.
    expect(segs.map((f) => [f.app, f.app_source, f.server_name])).toEqual(segs.map(() => [segs[0]!.app, "payload", segs[0]!.server_name]));
  }
  expect(segmented).toBeGreaterThanOrEqual(3);
  expect(named).toBeGreaterThanOrEqual(1);
});

test("--geoip-db / --asn-db: a user's file is used; one that cannot be read is a usage error before any output", () => {
  const quic = join(SHARED, "pcaps", "ndpi__quic.pcap");
  const mmdb = join(ROOT, "node_modules", "@ip-location-db", "geo-whois-asn-country-mmdb", "geo-whois-asn-country.mmdb");
  const ok = Bun.spawnSync([process.execPath, "src/main.ts", "flows", "--read", quic, "--format", "ndjson", "--geoip-db", mmdb], { cwd: ROOT });
  expect(ok.exitCode).toBe(0);
  const first = JSON.parse(ok.stdout.toString().split("\n")[0]!) as { dst_ip: string; dst_country: string | null; src_country: string | null };
  expect(first.dst_ip).toBe("216.58.212.101");
  expect(first.dst_country).toBe("US");
  expect(first.src_country).toBe("private");
  for (const flag of ["--geoip-db", "--asn-db"]) {
    const bad = Bun.spawnSync([process.execPath, "src/main.ts", "flows", "--read", quic, "--format", "ndjson", flag, "/nonexistent/x.mmdb"], { cwd: ROOT });
    expect(bad.exitCode).toBe(2);
    expect(bad.stdout.toString()).toBe("");
    expect(bad.stderr.toString()).toContain("/nonexistent/x.mmdb");
  }
});
