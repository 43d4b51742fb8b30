/**
 * Server-rendered SVG line charts (no client script). Each series is scaled to its own
 * maximum (so bps and pps can share a chart: left axis = first series, right axis = second).
 * Limits: input longer than MAX_POINTS is downsampled by taking the max of each bucket (peaks
 * survive, troughs may not); null marks a gap and breaks the line; hover titles are only
 * emitted per sample when there are at most HOVER_POINTS samples.
 */
import { exactTime } from "./format.ts";
import type { Series } from "./types.ts";

export const MAX_POINTS = 300;
export const HOVER_POINTS = 120;

export interface ChartSeries {
  name: string;
  values: Series;
  /** CSS class of the line: e.g. "s-bps", "s-pps" */
  cls: string;
  /** formats axis labels and hover text */
  format: (v: number) => string;
}

export interface LineChartProps {
  /** accessible name, also the SVG <title> */
  label: string;
  /** Unix seconds, aligned with every series' values */
  t: number[];
  series: ChartSeries[];
  width?: number;
  height?: number;
  /** optional horizontal line (in the first series' units), e.g. an alert threshold */
  threshold?: number | undefined;
}

/** An axis label: the time of day, with the date (MM-DD) when the chart spans more than 6 h (24 h, 7 d). */
export function axisTime(sec: number, spanSec: number): string {
  const iso = exactTime(sec);
  return spanSec > 6 * 3600 ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 19);
}

/** Max of each bucket; a bucket with only nulls stays null. Keeps the last timestamp of a bucket. */
export function downsample(t: number[], values: Series[], max: number): { t: number[]; values: Series[] } {
  const n = t.length;
  if (n <= max) return { t, values };
  const size = Math.ceil(n / max);
  const outT: number[] = [];
  const out: Series[] = values.map(() => []);
  for (let start = 0; start < n; start += size) {
    const end = Math.min(n, start + size);
    outT.push(t[end - 1]!);
    values.forEach((vs, k) => {
      let m: number | null = null;
      for (let i = start; i < end; i++) {
        const v = vs[i];
        if (v != null && Number.isFinite(v) && (m === null || v > m)) m = v;
      }
      out[k]!.push(m);
    });
  }
  return { t: outT, values: out };
}

function seriesMax(vs: Series): number {
  let m = 0;
  for (const v of vs) if (v != null && Number.isFinite(v) && v > m) m = v;
  return m;
}

/** SVG path "M x y L x y …", a new M after each gap. Coordinates rounded to 0.1. */
export function linePath(vs: Series, x: (i: number) => number, y: (v: number) => number): string {
  let d = "";
  let pen = false;
  vs.forEach((v, i) => {
    if (v == null || !Number.isFinite(v)) {
      pen = false;
      return;
    }
    d += `${pen ? "L" : "M"}${x(i).toFixed(1)} ${y(v).toFixed(1)} `;
    pen = true;
  });
  return d.trim();
}

const PAD = { l: 88, r: 80, t: 10, b: 20 };

export function LineChart(props: LineChartProps): JSX.Element {
  const w = props.width ?? 640;
  const h = props.height ?? 180;
  const { t, values } = downsample(props.t, props.series.map((s) => s.values), MAX_POINTS);
  const n = t.length;
  const pw = w - PAD.l - PAD.r;
  const ph = h - PAD.t - PAD.b;
  const x = (i: number) => PAD.l + (n <= 1 ? pw : (i / (n - 1)) * pw);
  const maxes = values.map((vs) => seriesMax(vs) || 1);
  const yOf = (k: number) => (v: number) => PAD.t + ph - (v / maxes[k]!) * ph;
  const first = props.series[0];
  const second = props.series[1];
  const hover = n > 0 && n <= HOVER_POINTS;
  const thr = props.threshold;
  const last = (k: number) => {
    const vs = values[k] ?? [];
    for (let i = vs.length - 1; i >= 0; i--) if (vs[i] != null) return vs[i]!;
    return null;
  };
  const summary = props.series
    .map((s, k) => `${s.name} ${last(k) == null ? "no data" : s.format(last(k)!)}`)
    .join(", ");
  return (
    <svg class="chart" viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`${props.label}: ${summary}`}>
      <title safe>{`${props.label}: ${summary}`}</title>
      <g class="grid">
        {[0, 0.5, 1].map((f) => (
          <line x1={PAD.l} x2={w - PAD.r} y1={PAD.t + ph * f} y2={PAD.t + ph * f} />
        ))}
      </g>
      {first ? (
        <g class={`axis left ${first.cls}`}>
          <text x={PAD.l - 4} y={PAD.t + 8} text-anchor="end" safe>{first.format(maxes[0]!)}</text>
          <text x={PAD.l - 4} y={PAD.t + ph} text-anchor="end">0</text>
        </g>
      ) : ""}
      {second ? (
        <g class={`axis right ${second.cls}`}>
          <text x={w - PAD.r + 4} y={PAD.t + 8} safe>{second.format(maxes[1]!)}</text>
        </g>
      ) : ""}
      {n > 0 && (
        <g class="axis time">
          <text x={PAD.l} y={h - 4} safe>{axisTime(t[0]!, t[n - 1]! - t[0]!)}</text>
          <text x={w - PAD.r} y={h - 4} text-anchor="end" safe>{axisTime(t[n - 1]!, t[n - 1]! - t[0]!)}</text>
        </g>
      )}
      {thr != null && thr > 0 && thr <= maxes[0]! && (
        <line class="threshold" x1={PAD.l} x2={w - PAD.r} y1={yOf(0)(thr)} y2={yOf(0)(thr)} />
      )}
      {props.series.map((s, k) => (
        <path class={`line ${s.cls}`} d={linePath(values[k]!, x, yOf(k))} />
      ))}
      {n === 0 && (
        <text class="nodata" x={w / 2} y={h / 2} text-anchor="middle">no data yet</text>
      )}
      {hover && (
        <g class="hover">
          {t.map((ts, i) => (
            <rect x={(x(i) - pw / n / 2).toFixed(1)} y={PAD.t} width={(pw / n).toFixed(1)} height={ph}>
              <title safe>
                {`${exactTime(ts)} ` + props.series.map((s, k) => {
                  const v = values[k]![i];
                  return `${s.name} ${v == null ? "–" : s.format(v)}`;
                }).join(", ")}
              </title>
            </rect>
          ))}
        </g>
      )}
    </svg>
  );
}
