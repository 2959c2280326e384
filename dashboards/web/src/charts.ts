// uPlot charts: per-second time series of several streams on one time axis, with the session's issues
// drawn as shaded bands (warning orange, critical red) behind the lines; and the score histogram.
import uPlot from 'uplot'
import type { IssueJson } from './api.ts'

export const PALETTE = [
  '#3274d9',
  '#37872d',
  '#e0b400',
  '#8f3bb8',
  '#fa6400',
  '#00a3a3',
  '#c4162a',
  '#6e6e6e',
]
export const BAND_COLOR = {
  info: 'rgba(50, 116, 217, 0.12)',
  warning: 'rgba(255, 152, 48, 0.22)',
  critical: 'rgba(242, 73, 92, 0.25)',
}

export interface Line {
  label: string
  /** Epoch ms of each point: bucket starts on whole seconds, as the session detail API returns them. */
  t: number[]
  v: Array<number | null>
}

// Beyond this many buckets the axis holds only the times some line has (a session whose peers' clocks
// are days apart would otherwise allocate an array per second in between).
const MAX_AXIS_POINTS = 50_000

/**
 * Joins lines on one x axis (seconds): every `stepS` seconds from the first bucket to the last, each
 * line null where it has no point, so a second without data breaks its line (spanGaps is off) and a
 * second with data never does. Times are floored to the step, for any input not already bucketed.
 */
export function align(lines: readonly Line[], stepS = 1): uPlot.AlignedData {
  const step = Math.max(1, stepS) * 1000
  const bucket = (t: number): number => Math.floor(t / step) * step
  let lo = Infinity
  let hi = -Infinity
  for (const l of lines)
    for (const t of l.t) {
      lo = Math.min(lo, bucket(t))
      hi = Math.max(hi, bucket(t))
    }
  const xs =
    hi < lo
      ? []
      : (hi - lo) / step < MAX_AXIS_POINTS
        ? Array.from({ length: (hi - lo) / step + 1 }, (_x, i) => lo + i * step)
        : [...new Set(lines.flatMap((l) => l.t.map(bucket)))].sort((a, b) => a - b)
  const index = new Map(xs.map((x, i) => [x, i]))
  const ys = lines.map((l) => {
    const col: Array<number | null> = new Array<number | null>(xs.length).fill(null)
    l.t.forEach((t, i) => {
      const v = l.v[i]
      const k = index.get(bucket(t)) as number
      // Two points in one bucket (unbucketed input): keep the first value that is known.
      if (v !== null && v !== undefined && col[k] === null) col[k] = v
    })
    return col
  })
  return [xs.map((x) => x / 1000), ...ys] as uPlot.AlignedData
}

/** Draws each issue as a band from its first to the end of its last second, behind the series. */
function issueBands(issues: readonly IssueJson[]): uPlot.Plugin {
  return {
    hooks: {
      drawClear: [
        (u: uPlot) => {
          const { ctx, bbox } = u
          ctx.save()
          for (const i of issues) {
            // On the whole seconds the series are drawn on.
            const x0 = u.valToPos(Math.floor(Date.parse(i.start) / 1000), 'x', true)
            const x1 = u.valToPos(Math.floor(Date.parse(i.end) / 1000) + 1, 'x', true)
            const left = Math.max(bbox.left, Math.min(x0, x1))
            const right = Math.min(bbox.left + bbox.width, Math.max(x0, x1))
            if (right <= left) continue
            ctx.fillStyle = BAND_COLOR[i.severity]
            ctx.fillRect(left, bbox.top, Math.max(2, right - left), bbox.height)
            // A marker on the top edge, so even a one-second issue is visible.
            ctx.fillStyle =
              i.severity === 'critical' ? '#c4162a' : i.severity === 'warning' ? '#fa6400' : '#3274d9'
            ctx.fillRect(left, bbox.top, Math.max(3, right - left), 4 * devicePixelRatio)
          }
          ctx.restore()
        },
      ],
    },
  }
}

export interface TimeChartOptions {
  title: string
  /** Axis label and tooltip formatting of values. */
  unit: string
  format?: (v: number) => string
  issues?: readonly IssueJson[]
  min?: number
  max?: number
  width: number
  height?: number
  /** Seconds between points (the API's series.stepS). */
  stepS?: number
}

/**
 * A time-series chart of `lines` in `el`. The uPlot instance is also left on `el.uplot`, for a look at
 * the drawn data (`el.uplot.data`) from the console or a browser test.
 */
export function timeChart(el: HTMLElement, lines: readonly Line[], o: TimeChartOptions): uPlot {
  const fmt = o.format ?? ((v: number) => `${+v.toPrecision(3)}`)
  const opts: uPlot.Options = {
    title: o.title,
    width: o.width,
    height: o.height ?? 220,
    cursor: { drag: { x: true, y: false } },
    scales: {
      x: { time: true },
      y: { range: (_u, lo, hi) => [o.min ?? Math.min(0, lo), o.max ?? (hi > 0 ? hi * 1.1 : 1)] },
    },
    axes: [
      { stroke: '#555', grid: { stroke: '#eee' } },
      {
        stroke: '#555',
        grid: { stroke: '#eee' },
        label: o.unit,
        size: 60,
        values: (_u, splits) => splits.map((v) => fmt(v)),
      },
    ],
    series: [
      {},
      ...lines.map((l, i) => ({
        label: l.label,
        stroke: PALETTE[i % PALETTE.length],
        width: 1.5,
        spanGaps: false,
        points: { show: false },
        value: (_u: uPlot, v: number | null) => (v === null ? '–' : `${fmt(v)} ${o.unit}`),
      })),
    ],
    plugins: o.issues?.length ? [issueBands(o.issues)] : [],
  }
  const u = new uPlot(opts, align(lines, o.stepS), el)
  Object.defineProperty(el, 'uplot', { value: u, configurable: true })
  return u
}

/** A bar chart of sessions per score band (0–1 … 9–10), bars coloured poor / fair / good. */
export function scoreHistogram(
  el: HTMLElement,
  counts: readonly number[],
  width: number,
  poorBelow: number,
): uPlot {
  const bars = uPlot.paths.bars?.({ size: [0.8, 64] })
  const xs = counts.map((_c, i) => i)
  const band = (i: number): string => (i < poorBelow ? '#c4162a' : i < 8 ? '#e0b400' : '#37872d')
  const opts: uPlot.Options = {
    title: 'Score distribution',
    width,
    height: 220,
    legend: { show: false },
    cursor: { show: false },
    scales: {
      x: { time: false, range: [-0.5, counts.length - 0.5] },
      y: { range: (_u, _lo, hi) => [0, Math.max(1, hi * 1.15)] },
    },
    axes: [
      {
        stroke: '#555',
        grid: { show: false },
        splits: () => xs,
        values: (_u, s) => s.map((i) => `${i}–${i + 1}`),
      },
      // Whole sessions only on the count axis.
      {
        stroke: '#555',
        grid: { stroke: '#eee' },
        label: 'sessions',
        size: 50,
        incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      },
    ],
    series: [
      {},
      {
        label: 'sessions',
        paths: bars,
        points: { show: false },
        fill: (u: uPlot) => {
          // One colour per bar: a gradient of hard stops across the plot, band by band.
          const g = u.ctx.createLinearGradient(u.bbox.left, 0, u.bbox.left + u.bbox.width, 0)
          counts.forEach((_c, i) => {
            const a = (u.valToPos(i - 0.5, 'x', true) - u.bbox.left) / u.bbox.width
            const b = (u.valToPos(i + 0.5, 'x', true) - u.bbox.left) / u.bbox.width
            g.addColorStop(Math.min(1, Math.max(0, a)), band(i))
            g.addColorStop(Math.min(1, Math.max(0, b)), band(i))
          })
          return g
        },
        stroke: 'transparent',
      },
    ],
  }
  return new uPlot(opts, [xs, [...counts]] as uPlot.AlignedData, el)
}
