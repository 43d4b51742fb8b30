/**
 * GET /api/v1/flows and /api/v1/flows/:id against a real server replaying ndpi__gnutella.pcap
 * (about 1,000 flows: IPv4 and IPv6, TCP/UDP/ICMP/ICMPv6/IGMP, live and ended). Every filter is checked
 * against the same filter computed in the test from the unfiltered JSON list (ipaddr.js for
 * CIDRs), so the API, the query grammar and the engine are compared with an independent oracle.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parse } from "csv-parse/sync";
import ipaddr from "ipaddr.js";
import { CSV_COLUMNS } from "../src/flows/format/csv.ts";
import type { ApiFlow } from "../src/server/api/flows.ts";
import { startReplay, type Replay } from "./api-server-fixture.ts";

interface Page { flows: ApiFlow[]; total: number; returned: number; query: string; generated_at: string }

let r: Replay;
let all: ApiFlow[];

beforeAll(async () => {
  r = await startReplay("ndpi__gnutella.pcap");
  const { status, body } = await r.get<Page>("/api/v1/flows?limit=10000&state=all");
  expect(status).toBe(200);
  all = body.flows;
}, 30_000);
afterAll(() => r?.stop());

function inCidr(addr: string, cidr: string): boolean {
  const a = ipaddr.parse(addr);
  const [net, bits] = ipaddr.parseCIDR(cidr);
  return a.kind() === net.kind() && a.match(net, bits);
}

const ids = (flows: ApiFlow[]) => flows.map((f) => f.id).sort((a, b) => a - b);

async function expectFilter(path: string, pred: (f: ApiFlow) => boolean, nonEmpty = true) {
  const sep = path.includes("?") ? "&" : "?";
  const { status, body } = await r.get<Page>(`/api/v1/flows${path}${sep}limit=10000`);
  expect(status).toBe(200);
  const expected = all.filter(pred);
  if (nonEmpty) expect(expected.length).toBeGreaterThan(0);
  expect(expected.length).toBeLessThan(all.length);
  expect(body.total).toBe(expected.length);
  expect(ids(body.flows)).toEqual(ids(expected));
  return body;
}

describe("unfiltered list", () => {
  test("holds every flow of the capture with the documented shape", async () => {
    const health = (await r.get<{ flows: { total: number; active: number; ended: number } }>("/api/v1/health")).body;
    expect(all.length).toBeGreaterThan(500);
    expect(all.length).toBe(health.flows.total);
    expect(all.filter((f) => f.active).length).toBe(health.flows.active);
    const { body } = await r.get<Page>("/api/v1/flows");
    expect(body.returned).toBe(100);
    expect(body.total).toBe(all.length);
    expect(body.query).toBe("");
    expect(Number.isNaN(Date.parse(body.generated_at))).toBe(false);
    for (const f of all.slice(0, 50)) {
      expect(Array.isArray(f.suspicious)).toBe(true);
      expect(typeof f.src_ip).toBe("string");
    }
  });
});

describe("filters (compared with the unfiltered list)", () => {
  const cases: [string, (f: ApiFlow) => boolean][] = [
    ["?src_ip=10.0.2.0/24&protocol=tcp", (f) => inCidr(f.src_ip, "10.0.2.0/24") && f.proto === "tcp"],
    ["?q=" + encodeURIComponent("src_ip:10.0.2.0/24 protocol:tcp"), (f) => inCidr(f.src_ip, "10.0.2.0/24") && f.proto === "tcp"],
    ["?ip=fe80::/10", (f) => inCidr(f.src_ip, "fe80::/10") || inCidr(f.dst_ip, "fe80::/10")],
    ["?dst_ip=ff02::/16", (f) => inCidr(f.dst_ip, "ff02::/16")],
    ["?dst_ip=ff02::c", (f) => f.dst_ip === "ff02::c"],
    ["?src_ip=10.0.2.15", (f) => f.src_ip === "10.0.2.15"],
    ["?q=" + encodeURIComponent("-src_ip:10.0.0.0/8"), (f) => !inCidr(f.src_ip, "10.0.0.0/8") || f.ip_version === 6],
    ["?q=" + encodeURIComponent("NOT protocol:udp"), (f) => f.proto !== "udp"],
    ["?q=" + encodeURIComponent("protocol:icmp OR protocol:icmpv6"), (f) => f.proto === "icmp" || f.proto === "icmpv6"],
    ["?port=6346", (f) => f.src_port === 6346 || f.dst_port === 6346],
    ["?src_port=1024-65535&protocol=udp", (f) => f.src_port >= 1024 && f.proto === "udp"],
    ["?dst_port=1900", (f) => f.dst_port === 1900],
    ["?protocol=udp", (f) => f.proto === "udp"],
    ["?proto=17", (f) => f.proto_num === 17],
    ["?protocol=igmp", (f) => f.proto === "igmp"],
    ["?ip_version=6", (f) => f.ip_version === 6],
    ["?state=established", (f) => f.state === "established"],
    ["?state=rejected", (f) => f.state === "rejected"],
    ["?q=state:attempted", (f) => f.state === "attempted"],
    ["?state=active", (f) => f.active],
    ["?state=ended", (f) => !f.active],
    ["?state=active&protocol=tcp", (f) => f.active && f.proto === "tcp"],
    ["?min_bytes=1k", (f) => f.bytes >= 1000],
    ["?max_bytes=100", (f) => f.bytes <= 100],
    ["?min_packets=10&max_packets=100", (f) => f.packets >= 10 && f.packets <= 100],
    ["?min_duration=10s", (f) => f.duration_ms >= 10_000],
    ["?max_duration=500ms&protocol=tcp", (f) => f.duration_ms <= 500 && f.proto === "tcp"],
    ["?q=" + encodeURIComponent("bytes>10k (port:6346 OR port:1900)"), (f) => f.bytes > 10_000 && [f.src_port, f.dst_port].some((p) => p === 6346 || p === 1900)],
    ["?q=" + encodeURIComponent("-ip:10.0.2.15") + "&ip_version=4", (f) => f.src_ip !== "10.0.2.15" && f.dst_ip !== "10.0.2.15" && f.ip_version === 4],
  ];
  for (const [path, pred] of cases) test(path, () => expectFilter(path, pred));

  test("vlan and bps filters: none/every flow of this capture", async () => {
    const none = await r.get<Page>("/api/v1/flows?vlan=none&limit=10000");
    expect(none.body.total).toBe(all.filter((f) => f.vlan === null).length);
    const tagged = await r.get<Page>("/api/v1/flows?vlan=100");
    expect(tagged.body.total).toBe(all.filter((f) => f.vlan === 100).length);
    // Replay finished: every rate is 0.
    expect((await r.get<Page>("/api/v1/flows?min_bps=1")).body.total).toBe(all.filter((f) => f.bps >= 1).length);
    expect((await r.get<Page>("/api/v1/flows?max_bps=0&limit=10000")).body.total).toBe(all.filter((f) => f.bps <= 0).length);
  });

  test("q and plain parameters are AND-ed; the canonical query is echoed", async () => {
    const body = await expectFilter("?q=protocol:udp&dst_port=1900", (f) => f.proto === "udp" && f.dst_port === 1900);
    expect(body.query).toBe("protocol:udp dst_port:1900");
  });

  test("no match: 200 with an empty list", async () => {
    const { status, body } = await r.get<Page>("/api/v1/flows?src_ip=203.0.113.0/24");
    expect(status).toBe(200);
    expect(body.flows).toEqual([]);
    expect(body.total).toBe(0);
    expect(body.returned).toBe(0);
  });

  test("suspicious: rejected TCP flows carry the reason, others do not", () => {
    for (const f of all) expect(f.suspicious.includes("rejected")).toBe(f.state === "rejected");
  });
});

type Key = (f: ApiFlow) => number | bigint;
const ipKey = (s: string): bigint => {
  const b = ipaddr.parse(s).toByteArray();
  let v = BigInt(b.length === 4 ? 0 : 1) << 64n;
  for (let i = 0; i < Math.min(8, b.length); i++) v += BigInt(b[i]!) << BigInt(8 * ((b.length === 4 ? 4 : 8) - 1 - i));
  return v;
};
const SORT_KEYS: Record<string, Key> = {
  bytes: (f) => f.bytes, packets: (f) => f.packets, bps: (f) => f.bps, duration: (f) => f.duration_ms,
  first_seen: (f) => Date.parse(f.first_seen), last_seen: (f) => Date.parse(f.last_seen),
  src_ip: (f) => ipKey(f.src_ip), dst_ip: (f) => ipKey(f.dst_ip),
  src_port: (f) => f.src_port, dst_port: (f) => f.dst_port, protocol: (f) => f.proto_num,
};

describe("sorting and paging", () => {
  for (const [key, fn] of Object.entries(SORT_KEYS)) {
    for (const order of ["asc", "desc"] as const) {
      test(`sort_by=${key}&order=${order}`, async () => {
        const { body } = await r.get<Page>(`/api/v1/flows?sort_by=${key}&order=${order}&limit=10000`);
        expect(body.total).toBe(all.length);
        const v = body.flows.map(fn);
        for (let i = 1; i < v.length; i++) {
          if (order === "asc") expect(v[i]! >= v[i - 1]!).toBe(true);
          else expect(v[i]! <= v[i - 1]!).toBe(true);
        }
        // The top of a short page is the top of the whole ordering.
        const top = await r.get<Page>(`/api/v1/flows?sort_by=${key}&order=${order}&limit=5`);
        expect(top.body.flows.map(fn)).toEqual(v.slice(0, 5));
      });
    }
  }

  test("default order is bytes descending", async () => {
    const { body } = await r.get<Page>("/api/v1/flows?limit=20");
    const max = Math.max(...all.map((f) => f.bytes));
    expect(body.flows[0]!.bytes).toBe(max);
  });

  test("limit/offset pages concatenate to the longer page", async () => {
    const q = "/api/v1/flows?sort_by=first_seen&order=asc";
    const p1 = (await r.get<Page>(`${q}&limit=10&offset=0`)).body;
    const p2 = (await r.get<Page>(`${q}&limit=10&offset=10`)).body;
    const both = (await r.get<Page>(`${q}&limit=20`)).body;
    expect([...p1.flows, ...p2.flows]).toEqual(both.flows);
    expect(p2.returned).toBe(10);
    const last = (await r.get<Page>(`${q}&limit=10&offset=${all.length - 6}`)).body;
    expect(last.returned).toBe(6);
    expect(last.total).toBe(all.length);
    const past = (await r.get<Page>(`${q}&offset=5000`)).body;
    expect(past.flows).toEqual([]);
    expect((await r.get<Page>(`${q}&limit=0`)).body).toMatchObject({ returned: 0, total: all.length });
  });
});

describe("exports", () => {
  test("CSV parsed back equals the JSON list (same filter and order)", async () => {
    const filter = "protocol=udp&sort_by=packets&order=desc";
    const json = (await r.get<Page>(`/api/v1/flows?${filter}&limit=10000`)).body;
    const res = await fetch(`${r.url}/api/v1/flows?${filter}&format=csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/csv");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="flows.csv"');
    const text = await res.text();
    expect(text.split("\r\n")[0]).toBe(CSV_COLUMNS.join(","));
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    expect(rows.length).toBe(json.total);
    rows.forEach((row, i) => {
      const f = json.flows[i]! as unknown as Record<string, unknown>;
      expect(Object.keys(row)).toEqual([...CSV_COLUMNS]);
      for (const c of CSV_COLUMNS) {
        const v = f[c];
        const want = c === "suspicious" ? (v as string[]).join(";") : v === null ? "" : String(v);
        expect(row[c]).toBe(want);
      }
    });
  });

  test("CSV of every flow, and of an empty result (header only)", async () => {
    const text = await (await fetch(`${r.url}/api/v1/flows?format=csv`)).text();
    expect((parse(text, { columns: true }) as unknown[]).length).toBe(all.length);
    const empty = await (await fetch(`${r.url}/api/v1/flows?format=csv&src_ip=203.0.113.1`)).text();
    expect(empty).toBe(CSV_COLUMNS.join(",") + "\r\n");
  });

  test("CSV honours limit and offset", async () => {
    const json = (await r.get<Page>("/api/v1/flows?sort_by=bytes&limit=7&offset=3")).body;
    const text = await (await fetch(`${r.url}/api/v1/flows?sort_by=bytes&limit=7&offset=3&format=csv`)).text();
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    expect(rows.map((x) => Number(x.id))).toEqual(json.flows.map((f) => f.id));
  });

  test("NDJSON: one flow per line, equal to the JSON list", async () => {
    const json = (await r.get<Page>("/api/v1/flows?ip_version=6&limit=10000")).body;
    const res = await fetch(`${r.url}/api/v1/flows?ip_version=6&format=ndjson`);
    expect(res.headers.get("content-type")).toContain("application/x-ndjson");
    const text = await res.text();
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines).toEqual(json.flows);
    const empty = await (await fetch(`${r.url}/api/v1/flows?format=ndjson&src_ip=203.0.113.1`)).text();
    expect(empty).toBe("");
  });
});

describe("one flow", () => {
  test("GET /api/v1/flows/:id returns the same record as the list", async () => {
    for (const f of [all[0]!, all[all.length - 1]!, all.find((x) => x.ip_version === 6)!]) {
      const { status, body } = await r.get<ApiFlow>(`/api/v1/flows/${f.id}`);
      expect(status).toBe(200);
      expect(body).toEqual(f);
    }
  });
  test("unknown id is a 404 JSON", async () => {
    const { status, body } = await r.get<{ error: string; message: string }>("/api/v1/flows/987654321");
    expect(status).toBe(404);
    expect(body.error).toBe("not_found");
  });
});
