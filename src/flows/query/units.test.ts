import { describe, expect, test } from "bun:test";
import { formatDurationMs, formatSize, parseDurationMs, parseRate, parseSize } from "./units.ts";

describe("parseSize", () => {
  test("decimal and binary units", () => {
    expect(parseSize("1200")).toBe(1200);
    expect(parseSize("500k")).toBe(500_000);
    expect(parseSize("500K")).toBe(500_000);
    expect(parseSize("1M")).toBe(1_000_000);
    expect(parseSize("1.5G")).toBe(1_500_000_000);
    expect(parseSize("1.1M")).toBe(1_100_000);
    expect(parseSize("2MB")).toBe(2_000_000);
    expect(parseSize("3KB")).toBe(3000);
    expect(parseSize("1GB")).toBe(1e9);
    expect(parseSize("1KiB")).toBe(1024);
    expect(parseSize("1.5MiB")).toBe(1.5 * 1048576);
    expect(parseSize("2GiB")).toBe(2 * 2 ** 30);
    expect(parseSize("500B")).toBe(500);
    expect(parseSize(".5k")).toBe(500);
  });
  test("rejects junk", () => {
    for (const bad of ["", "abc", "-1", "1e6", "1 M", "1X", "M", "1.2.3", "constructor", "1constructor"]) {
      expect(parseSize(bad)).toBeUndefined();
    }
  });
});

describe("parseRate", () => {
  test("units and bps suffix", () => {
    expect(parseRate("1M")).toBe(1e6);
    expect(parseRate("500k")).toBe(5e5);
    expect(parseRate("1.5G")).toBe(1.5e9);
    expect(parseRate("10Mbps")).toBe(1e7);
    expect(parseRate("64kbit/s")).toBe(64_000);
    expect(parseRate("bps")).toBeUndefined();
    expect(parseRate("fast")).toBeUndefined();
  });
});

describe("parseDurationMs", () => {
  test("units; bare number is seconds", () => {
    expect(parseDurationMs("10s")).toBe(10_000);
    expect(parseDurationMs("2m")).toBe(120_000);
    expect(parseDurationMs("1h")).toBe(3_600_000);
    expect(parseDurationMs("1d")).toBe(86_400_000);
    expect(parseDurationMs("250ms")).toBe(250);
    expect(parseDurationMs("1.5")).toBe(1500);
    expect(parseDurationMs("1.1s")).toBe(1100);
    expect(parseDurationMs("1.5m")).toBe(90_000);
    expect(parseDurationMs("30")).toBe(30_000);
  });
  test("rejects junk", () => {
    for (const bad of ["", "s", "10x", "-5s", "1e3", "10 s"]) expect(parseDurationMs(bad)).toBeUndefined();
  });
});

describe("formatting round-trips", () => {
  test("formatSize", () => {
    expect(formatSize(1_000_000)).toBe("1M");
    expect(formatSize(1_500_000)).toBe("1500k");
    expect(formatSize(999)).toBe("999");
    expect(formatSize(0)).toBe("0");
    expect(formatSize(2e12)).toBe("2T");
    for (const n of [0, 1, 999, 1000, 1024, 1_048_576, 1_500_000, 1.5, 2e9, 123_456_789_000, 1e22, 1e-7]) {
      expect(parseSize(formatSize(n))).toBe(n);
    }
  });
  test("formatDurationMs", () => {
    expect(formatDurationMs(120_000)).toBe("2m");
    expect(formatDurationMs(90_000)).toBe("90s");
    expect(formatDurationMs(250)).toBe("250ms");
    expect(formatDurationMs(7_200_000)).toBe("2h");
    expect(formatDurationMs(0)).toBe("0ms");
    for (const ms of [0, 1, 250, 1000, 1500, 60_000, 90_000, 3_600_000, 86_400_000, 0.5]) {
      expect(parseDurationMs(formatDurationMs(ms))).toBe(ms);
    }
  });
});
