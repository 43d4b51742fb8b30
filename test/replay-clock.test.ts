/**
 * The replay clock through a real server (FlowmatrixServer on 127.0.0.1 port 0, engine Worker,
 * shared captures):
 * - `--speed max` (ndpi__gnutella.pcap: 3,905 packets over 600 s): during a looping replay and
 *   after a single pass has finished, no flow's first_seen/last_seen, no bandwidth or history
 *   point, no alert time and no engine clock lies later than the wall clock at the response.
 * - `--speed 10 --loop` of ndpi__quic.pcap (merged captures: 21 s, a year, 14 days and 4 h of
 *   silence): with the default 5 s cap on waits the replay goes past its first 414 packets within
 *   seconds, the chart and the talkers keep data, and time stays monotonic and never ahead.
 * - the header's replay position (percent of the file, pass) reaches the pushed fragment.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { FlowmatrixServer } from "../src/server/app.ts";
import type { EngineConfig } from "../src/worker/protocol.ts";
import { PCAPS } from "./shared-paths.ts";

setDefaultTimeout(60_000);

const servers: FlowmatrixServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

async function serve(source: EngineConfig["source"]): Promise<{ server: FlowmatrixServer; url: string }> {
  const server = new FlowmatrixServer({ engine: { source }, port: 0, metricsIntervalMs: 500, alerts: { cpuPercent: 100 } });
  servers.push(server);
  const url = await server.start();
  return { server, url };
}

/** GET as JSON, with the wall clock (ms) right after the response arrived. */
async function getJson<T>(url: string): Promise<{ body: T; wall: number }> {
  const res = await fetch(url);
  const body = (await res.json()) as T;
  return { body, wall: Date.now() };
}

interface FlowsBody {
  flows: { first_seen: string; last_seen: string }[];
  total: number;
}

/** Every time an API response carries, checked against the wall clock when it arrived. */
async function futureTimes(url: string): Promise<{ ahead: string[]; flows: number; points: number }> {
  const ahead: string[] = [];
  let flows = 0;
  let points = 0;
  for (const sort of ["last_seen", "first_seen"]) {
    const { body, wall } = await getJson<FlowsBody>(`${url}/api/v1/flows?state=all&sort_by=${sort}&order=desc&limit=50`);
    flows = Math.max(flows, body.total);
    for (const f of body.flows) {
      for (const k of ["first_seen", "last_seen"] as const) {
        const t = Date.parse(f[k]);
        if (!(t <= wall)) ahead.push(`flow ${k} ${f[k]} > wall ${new Date(wall).toISOString()}`);
      }
    }
  }
  for (const d of ["60s", "15m", "1h", "24h"]) {
    const { body, wall } = await getJson<{ t: number[]; bps: (number | null)[] }>(`${url}/api/v1/bandwidth?duration=${d}`);
    points += body.bps.filter((v) => (v ?? 0) > 0).length;
    for (const t of body.t) if (!(t * 1000 <= wall)) ahead.push(`bandwidth ${d} t ${t} > wall ${wall / 1000}`);
  }
  {
    const { body, wall } = await getJson<{ t: number[] }>(`${url}/api/v1/metrics/history?duration=15m`);
    for (const t of body.t) if (!(t * 1000 <= wall)) ahead.push(`history t ${t} > wall ${wall / 1000}`);
  }
  {
    const { body, wall } = await getJson<{ active: { since: string; cleared?: string | null; flows: FlowsBody["flows"] }[]; recent: { since: string }[] }>(`${url}/api/v1/alerts`);
    for (const a of [...body.active, ...body.recent]) {
      if (!(Date.parse(a.since) <= wall)) ahead.push(`alert since ${a.since}`);
    }
  }
  return { ahead, flows, points };
}

describe("--speed max: no time later than the wall clock", () => {
  test("during a looping replay and after a finished one (ndpi__gnutella.pcap, 600 s of capture)", async () => {
    const looping = await serve({ kind: "file", path: PCAPS + "ndpi__gnutella.pcap", speed: "max", loop: true });
    const once = await serve({ kind: "file", path: PCAPS + "ndpi__gnutella.pcap", speed: "max", loop: false });
    // during: the loop never ends
    const deadline = Date.now() + 3000;
    let rounds = 0;
    let seen = 0;
    while (Date.now() < deadline || rounds < 3) {
      const r = await futureTimes(looping.url);
      expect(r.ahead.slice(0, 5)).toEqual([]);
      const last = looping.server.ctx.engine.last;
      if (last) expect(last.now).toBeLessThanOrEqual(last.wall);
      seen = Math.max(seen, r.flows);
      rounds++;
      await Bun.sleep(100);
    }
    expect(seen).toBeGreaterThan(0);
    // after: a single pass that has finished, then a few engine ticks
    const until = Date.now() + 20_000;
    while ((await getJson<{ capture: { state: string } }>(`${once.url}/api/v1/health`)).body.capture.state !== "finished") {
      if (Date.now() > until) throw new Error("replay did not finish");
      await Bun.sleep(50);
    }
    for (let i = 0; i < 3; i++) {
      const r = await futureTimes(once.url);
      expect(r.ahead.slice(0, 5)).toEqual([]);
      expect(r.flows).toBeGreaterThan(100);
      expect(r.points).toBeGreaterThan(0);
      await Bun.sleep(700);
    }
    // the capture's own spacing is kept: its flows span 589.995 s first_seen → last_seen, as
    // `flows --read` reports them, and end within seconds of now
    const { body, wall } = await getJson<FlowsBody>(`${once.url}/api/v1/flows?state=all&sort_by=last_seen&order=desc&limit=1`);
    const { body: oldest } = await getJson<FlowsBody>(`${once.url}/api/v1/flows?state=all&sort_by=first_seen&order=asc&limit=1`);
    const newest = Date.parse(body.flows[0]!.last_seen);
    expect(wall - newest).toBeLessThan(15_000);
    expect((newest - Date.parse(oldest.flows[0]!.first_seen)) / 1000).toBeCloseTo(589.995, 2);
  });
});

interface Tick {
  wall: number;
  now: number;
  talkers: unknown[];
  capture: { packets: number };
  last60: { t: number[]; series: Record<string, (number | null)[]> };
}

describe("--speed 10 --loop of a capture with long silences (ndpi__quic.pcap)", () => {
  test("waits are capped (default 5 s): past packet 414 within seconds; chart, talkers and time stay consistent", async () => {
    const { server } = await serve({ kind: "file", path: PCAPS + "ndpi__quic.pcap", speed: 10, loop: true });
    const ticks: Tick[] = [];
    server.ctx.engine.onTick((t) => ticks.push(t as unknown as Tick));
    const deadline = Date.now() + 16_000;
    while (Date.now() < deadline) {
      const last = ticks.at(-1);
      if (last && last.capture.packets > 414) break;
      await Bun.sleep(200);
    }
    const last = ticks.at(-1)!;
    // 413 packets over 38 s of capture (3.8 s at speed 10), then the year-long gap capped at 5 s
    expect(last.capture.packets).toBeGreaterThan(414);
    let prev = 0;
    let started = false;
    for (const t of ticks) {
      expect(t.now).toBeLessThanOrEqual(t.wall);
      expect(t.now).toBeGreaterThanOrEqual(prev);
      prev = t.now;
      // Started once the first second with packets is complete (talkers are committed per second:
      // a tick can arrive after the first packets and before that second closes).
      if (t.capture.packets > 0 && t.now > 0 && t.talkers.length > 0) started = true;
      if (!started) continue;
      // the 60 s chart and the talkers never fall empty again while the replay is running
      expect(t.talkers.length).toBeGreaterThan(0);
      expect((t.last60.series.bytes ?? []).some((v) => (v ?? 0) > 0)).toBe(true);
      // the chart's window ends at the replay's clock, within a couple of seconds of the wall clock
      expect(t.wall - (t.last60.t.at(-1) ?? 0)).toBeLessThan(3);
    }
    expect(started).toBe(true);
  });
});

describe("maxGap from the engine config", () => {
  test("reaches the replay: ndpi__quic.pcap at speed 100 with maxGap 0.5 s replays whole passes in about 2 s", async () => {
    const { server } = await serve({ kind: "file", path: PCAPS + "ndpi__quic.pcap", speed: 100, loop: true, maxGap: 0.5 });
    const deadline = Date.now() + 8000;
    while ((server.ctx.engine.last?.replay?.pass ?? 0) < 2 && Date.now() < deadline) await Bun.sleep(100);
    // 37.8 s of capture (0.4 s) + three silences capped at 0.5 s (the default 5 s would take 15 s)
    expect(server.ctx.engine.last?.replay?.pass).toBeGreaterThanOrEqual(2);
    const t = server.ctx.engine.last!;
    expect(t.now).toBeLessThanOrEqual(t.wall);
  });
});

describe("the header shows the replay's position", () => {
  test("pushed over /ws every second (percent, loop pass, packet N of M) and in the page itself", async () => {
    const { url } = await serve({ kind: "file", path: PCAPS + "zeek__wikipedia.pcap", speed: 4, loop: true });
    const ws = new WebSocket(url.replace("http", "ws") + "/ws");
    const headers: string[] = [];
    ws.onmessage = (e) => {
      const m = /<div id="header-status"[\s\S]*?<\/div>/.exec(String(e.data));
      if (m) headers.push(m[0]);
    };
    try {
      // 136 packets over 6.4 s of capture: 1.6 s per pass at speed 4
      const deadline = Date.now() + 15_000;
      while (!headers.some((h) => h.includes("loop 2")) && Date.now() < deadline) await Bun.sleep(100);
      const withReplay = headers.filter((h) => h.includes('class="replay"'));
      expect(withReplay.length).toBeGreaterThan(0);
      expect(headers.some((h) => h.includes("loop 2"))).toBe(true);
      for (const h of withReplay) {
        const pct = Number(/class="replay-percent">(\d+) %</.exec(h)?.[1]);
        expect(pct).toBeGreaterThanOrEqual(0);
        expect(pct).toBeLessThanOrEqual(100);
        expect(h).toMatch(/title="packet \d+ of 136 · /);
      }
    } finally {
      ws.close();
    }
    const page = await (await fetch(url + "/")).text();
    expect(page).toMatch(/<span class="replay" title="packet \d+ of 136[^"]*"><span class="label">replay<\/span> <span class="replay-percent">\d+ %<\/span> · <span class="replay-pass">loop \d+<\/span>/);
  });

  test("a finished replay shows 100 % and done", async () => {
    const { server, url } = await serve({ kind: "file", path: PCAPS + "zeek__wikipedia.pcap", speed: "max", loop: false });
    const deadline = Date.now() + 15_000;
    while (!server.ctx.engine.last?.replay?.done && Date.now() < deadline) await Bun.sleep(50);
    expect(server.ctx.engine.last?.replay).toMatchObject({ pass: 1, packets: 136, total: 136, done: true });
    const page = await (await fetch(url + "/")).text();
    expect(page).toContain('<span class="replay" title="packet 136 of 136 · 6.4s of 6.4s of capture · done"><span class="label">replay</span> <span class="replay-percent">100 %</span></span>');
  });
});
