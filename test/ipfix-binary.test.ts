/**
 * The exporter Worker in the compiled binary: `bun build --compile` (package.json's build script,
 * which must list src/export/ipfix-worker.ts as an entry), copied alone into an empty directory.
 * `flows --read --export-ipfix` starts the Worker from the main thread, `serve --export-ipfix` from
 * inside the engine Worker; both must find it in the binary and deliver every flow to a receiver on
 * 127.0.0.1 (counted here from the IPFIX headers: sequence number + records of the last message).
 */
import { beforeAll, expect, test } from "bun:test";
import { binaryInEmptyDir, buildScript } from "./compiled-binary.ts";
import { serve } from "../src/server/security/test-serve.ts";
import { TEMPLATE_V4, TEMPLATE_V6 } from "../src/export/ipfix-templates.ts";
import { PCAPS } from "./shared-paths.ts";

let bin = "";
let empty = "";
beforeAll(() => {
  expect(buildScript()).toContain("src/export/ipfix-worker.ts");
  ({ bin, dir: empty } = binaryInEmptyDir("fm-ipfix-run-"));
}, 180_000);

/** A receiver on 127.0.0.1: data records seen (sum over data sets) and datagrams. */
async function receiver() {
  const st = { records: 0, datagrams: 0 };
  const sock = await Bun.udpSocket({
    hostname: "127.0.0.1", port: 0,
    socket: {
      data: (_s, d) => {
        const m = new Uint8Array(d), v = new DataView(m.buffer, m.byteOffset, m.length);
        st.datagrams++;
        for (let p = 16; p < m.length; p += v.getUint16(p + 2)) {
          const id = v.getUint16(p);
          if (id !== TEMPLATE_V4 && id !== TEMPLATE_V6) continue;
          // Count records by walking them: fixed part, then three variable-length strings.
          for (let q = p + 4; q < p + v.getUint16(p + 2); st.records++) {
            q += id === TEMPLATE_V4 ? 69 : 93;
            for (let k = 0; k < 3; k++) {
              let n = m[q++]!;
              if (n === 255) {
                n = v.getUint16(q);
                q += 2;
              }
              q += n;
            }
          }
        }
      },
    },
  });
  return { port: sock.port, st, close: () => sock.close() };
}

test("flows --read --export-ipfix from the binary alone: the Worker starts and every flow arrives", async () => {
  const rx = await receiver();
  try {
    const p = Bun.spawn([bin, "flows", "--read", `${PCAPS}ndpi__gnutella.pcap`, "--format", "summary", "--export-ipfix", `127.0.0.1:${rx.port}`], { cwd: empty, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(code).toBe(0);
    const flows = (JSON.parse(out) as { flows: number }).flows;
    expect(flows).toBeGreaterThan(100);
    expect(err).toContain(`ipfix: ${flows} flows in `);
    expect(err).toContain("0 send errors");
    for (let i = 0; i < 50 && rx.st.records < flows; i++) await Bun.sleep(20);
    expect(rx.st.records).toBe(flows);
  } finally {
    rx.close();
  }
});

test("serve --export-ipfix from the binary: the Worker starts inside the engine Worker; flows counted in health", async () => {
  const rx = await receiver();
  const s = await serve({ bin: [bin], cwd: empty, args: ["--no-store", "--port", "0", "--quiet", "--read", `${PCAPS}ndpi__gnutella.pcap`,
    "--speed", "max", "--idle-timeout", "1", "--export-ipfix", `127.0.0.1:${rx.port}`] });
  try {
    const url = s.url;
    let ex: { flows: number; send_errors: number; last_error: string | null } | undefined;
    for (let i = 0; i < 100; i++) {
      ex = ((await (await fetch(`${url}/api/v1/health`)).json()) as { exporters: (typeof ex)[] }).exporters[0];
      if (ex && ex.flows > 100) break;
      await Bun.sleep(100);
    }
    expect(ex).toMatchObject({ send_errors: 0, last_error: null });
    expect(ex!.flows).toBeGreaterThan(100);
    // Sent (counted after the datagrams left) means received here soon after: at least as many records.
    for (let i = 0; i < 50 && rx.st.records < ex!.flows; i++) await Bun.sleep(20);
    expect(rx.st.records).toBeGreaterThanOrEqual(ex!.flows);
  } finally {
    await s.stop();
    rx.close();
  }
}, 30_000); // its health poll alone may take 10 s at load ~10 (the default timeout is 5 s)
