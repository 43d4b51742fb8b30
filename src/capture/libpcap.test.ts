import { expect, test } from "bun:test";
import { LIBPCAP_CANDIDATES, libpcap, libpcapVersion } from "./libpcap.ts";
import { LibpcapMissingError } from "./libpcap-missing-error.ts";

test("libpcap loads from one of the runtime names and reports its version", () => {
  const lib = libpcap();
  expect(LIBPCAP_CANDIDATES).toContain(lib.loadedName as (typeof LIBPCAP_CANDIDATES)[number]);
  expect(libpcapVersion()).toMatch(/^libpcap version \d+\.\d+/);
  expect(libpcap()).toBe(lib); // loaded once
  expect(String(lib.symbols.pcap_statustostr(-8))).toMatch(/permission/i);
});

test("LibpcapMissingError names what was tried and how to install it", () => {
  const e = new LibpcapMissingError(LIBPCAP_CANDIDATES);
  expect(e.message).toStartWith("libpcap not found (tried libpcap.so.1, libpcap.so.0.8, libpcap.so, libpcap.A.dylib)");
  expect(e.message).toContain("sudo apt-get install libpcap0.8");
  expect(e.message).toContain("sudo dnf install libpcap");
});

test("importing the capture modules does not load libpcap (lazy)", () => {
  const code =
    'await import("./src/capture/live-source.ts"); await import("./src/capture/interfaces.ts");' +
    'await import("./src/capture/pcap-offline-source.ts");' +
    'const maps = await Bun.file("/proc/self/maps").text(); console.log(maps.includes("libpcap") ? "loaded" : "lazy");';
  const r = Bun.spawnSync([process.execPath, "-e", code], { cwd: `${import.meta.dir}/../..` });
  expect(r.stderr.toString()).toBe("");
  expect(r.stdout.toString().trim()).toBe("lazy");
});

test("without a loadable libpcap, first use throws LibpcapMissingError (library hidden in a mount namespace)", async () => {
  libpcap();
  const maps = await Bun.file("/proc/self/maps").text();
  const real = maps.split("\n").find((l) => l.includes("libpcap"))!.split(/\s+/).pop()!;
  const code =
    'import { libpcap } from "./src/capture/libpcap.ts"; console.log("help works");' +
    "try { libpcap(); console.log('loaded'); } catch (e) { console.log(e.name + ': ' + e.message); }";
  const r = Bun.spawnSync(
    ["unshare", "-m", "sh", "-c", `mount --bind /dev/null '${real}' && exec "$0" -e "$1"`, process.execPath, code],
    { cwd: `${import.meta.dir}/../..` },
  );
  const out = r.stdout.toString();
  expect(out).toContain("help works");
  expect(out).toContain("LibpcapMissingError: libpcap not found (tried libpcap.so.1");
});
