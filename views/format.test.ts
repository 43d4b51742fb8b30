import { describe, expect, test } from "bun:test";
import {
  DASH, endpoint, exactBits, exactBytes, formatBits, formatBytes, formatCount, formatDuration, formatPercent,
  formatPps, formatRelative,
} from "./format.ts";
import { axisTime } from "./chart.tsx";

describe("format", () => {
  test("bits per second, decimal SI", () => {
    expect(formatBits(12.4e6)).toBe("12.4 Mbit/s");
    expect(formatBits(999)).toBe("999 bit/s");
    expect(formatBits(1000)).toBe("1 kbit/s");
    expect(formatBits(1.5e9)).toBe("1.5 Gbit/s");
    expect(formatBits(0)).toBe("0 bit/s");
    expect(exactBits(12.4e6)).toBe("12,400,000 bit/s");
  });
  test("bytes, decimal", () => {
    expect(formatBytes(3.1e9)).toBe("3.1 GB");
    expect(formatBytes(850)).toBe("850 B");
    expect(formatBytes(1234)).toBe("1.23 kB");
    expect(formatBytes(999_999)).toBe("1 MB");
    expect(exactBytes(3.1e9)).toBe("3,100,000,000 bytes");
  });
  test("packets and percentages", () => {
    expect(formatCount(9876)).toBe("9,876");
    expect(formatCount(1_234_567)).toBe("1.23M");
    expect(formatPps(1500)).toBe("1,500 pkt/s");
    expect(formatPercent(0.831)).toBe("83 %");
    expect(formatPercent(3.25, true)).toBe("3.3 %");
  });
  test("durations", () => {
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(4200)).toBe("4.2s");
    expect(formatDuration(134_000)).toBe("2m 14s");
    expect(formatDuration(3 * 3600e3 + 5 * 60e3)).toBe("3h 05m");
    expect(formatDuration(2 * 86400e3 + 4 * 3600e3)).toBe("2d 4h");
  });
  test("relative times", () => {
    const now = Date.parse("2026-11-28T12:00:00Z");
    expect(formatRelative("2026-11-28T11:59:48Z", now)).toBe("12s ago");
    expect(formatRelative("2026-11-28T11:55:00Z", now)).toBe("5m ago");
    expect(formatRelative(now / 1000 + 30, now)).toBe("in 30s");
    expect(formatRelative(now / 1000, now)).toBe("just now");
    expect(formatRelative("not a date", now)).toBe(DASH);
  });
  test("bad input gives a dash, never throws", () => {
    for (const f of [formatBits, formatBytes, formatCount, formatDuration]) {
      expect(f(NaN)).toBe(DASH);
      expect(f(-1)).toBe(DASH);
      expect(f(Infinity)).toBe(DASH);
    }
  });
  test("endpoints", () => {
    expect(endpoint("10.0.0.1", 443)).toBe("10.0.0.1:443");
    expect(endpoint("2001:db8::1", 443)).toBe("[2001:db8::1]:443");
    expect(endpoint("10.0.0.1", 0)).toBe("10.0.0.1");
  });
});

test("chart axis labels carry the date when the chart spans more than 6 h", () => {
  const t = Date.UTC(2026, 11, 1, 3, 12, 5) / 1000;
  expect(axisTime(t, 3600)).toBe("03:12:05");
  expect(axisTime(t, 7 * 86_400)).toBe("12-01 03:12");
  expect(axisTime(t, 86_400 - 60)).toBe("12-01 03:12");
});
