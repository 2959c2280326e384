// Whole-second buckets for the per-second series of the session detail API. Every client polls
// getStats() about once a second on its own clock and at its own phase within the second, so two peers
// (or two pcs of one page) never share millisecond timestamps; joined on exact times their points
// interleave and every chart line breaks between them. Each stream's samples are therefore put on whole
// epoch seconds, per stream, and every series of a session shares that axis.
//
// The rounding is chosen deliberately. A plain floor(ts / 1000) (or toStartOfSecond) fails a stream
// whose phase sits near a second boundary: with a few tens of ms of timer jitter, samples at .990 and
// (next second).010 alternate between "two samples in one second" and "none in the next", a null that
// is not missing data. Instead each sample is rounded to the nearest point of the stream's own 1 Hz grid
// (phase + k·1000 ms, the phase tracked as the timer drifts) and labelled with the whole second that grid
// point falls in (give or take SLACK_MS): jitter of up to ±500 ms around the grid cannot move a sample
// out of its second, and a label is within about a second of the poll's own time. A stall longer than
// that (a late poll followed by an early one) leaves a doubled second next to an empty one; the sample
// nearer the empty second is moved into it. And a timer slower than 1 Hz (Chromium's
// setInterval drifts a few ms a tick) has, now and then, a second that no poll falls in although no poll
// was missed: the later poll's values are rates over its whole interval, which covers that second, so
// they stand for it too (and so for a client polling less often than once a second). A second is null
// only when no report covers it: data is missing there (the SDK dropped frames, the tab slept, the peer
// was gone).
import { f32 } from './stored.ts'

// Weight of each sample's deviation in the tracked phase: follows a drifting timer (a few ms a second)
// within tens of samples while one jittered sample moves the phase by an eighth of its jitter.
const PHASE_GAIN = 0.125
// How far (ms) the grid may run past the second it is drawn in before it moves on to the next one.
const SLACK_MS = 250
// After a silence this long (ms) the next poll may start a new grid.
const RESTART_MS = 2500
// Typical poll intervals (ms) treated as 1 Hz, the SDK's default: the grid applies only to those.
const ONE_HZ: readonly [number, number] = [800, 1250]
// A poll this many typical intervals after the previous one missed none (a missed one makes it ~2).
const CONTIGUOUS = 1.5

/** The stream's typical poll interval (ms): the median time between consecutive samples. */
function typicalInterval(t: readonly number[]): number {
  const d: number[] = []
  for (let i = 1; i < t.length; i++) d.push((t[i] as number) - (t[i - 1] as number))
  d.sort((a, b) => a - b)
  return d[d.length >> 1] ?? 1000
}

/**
 * Whole epoch seconds, one per sample of one stream (`t`: epoch ms, ascending), non-decreasing. Equal
 * labels (two samples in one second) remain only where a stream truly reported faster than 1 Hz. A
 * stream polled at another rate (the SDK's `intervalMs`) is floored: polls more than a second apart
 * never share a second, and faster polls share them on purpose.
 */
export function secondLabels(t: readonly number[], interval = typicalInterval(t)): number[] {
  if (interval < ONE_HZ[0] || interval > ONE_HZ[1]) return t.map((ts) => Math.floor(ts / 1000))
  const labels: number[] = []
  // The stream's grid is phase + k·1000 ms (epoch), and grid point k is drawn at second k.
  let phase = 0
  let prev = Number.NEGATIVE_INFINITY
  for (const ts of t) {
    // After a silence, a poll far off the grid (a reconnected SDK polls at a new phase) starts a new one.
    const off = ts - phase - Math.round((ts - phase) / 1000) * 1000
    if (labels.length === 0 || (ts - prev > RESTART_MS && Math.abs(off) > SLACK_MS))
      phase = ts - Math.floor(ts / 1000) * 1000
    const k = Math.round((ts - phase) / 1000)
    phase += PHASE_GAIN * (ts - phase - k * 1000)
    // A phase drifted out of its second moves on to the next grid point's second, with hysteresis so
    // that a phase wobbling around a second boundary does not flip samples between two seconds.
    if (phase >= 1000 + SLACK_MS) phase -= 1000
    else if (phase < -SLACK_MS) phase += 1000
    // Never behind the previous sample, whatever the phase did.
    labels.push(Math.max(k, labels.at(-1) ?? Number.NEGATIVE_INFINITY))
    prev = ts
  }
  // Repair: a doubled second beside an empty one is one late or early sample, not missing data.
  for (let i = 1; i < labels.length; i++) {
    const l = labels[i] as number
    if (l !== labels[i - 1]) continue
    if (i >= 2 && (labels[i - 2] as number) < l - 1) labels[i - 1] = l - 1
    else if (i < labels.length - 1 && (labels[i + 1] as number) > l + 1) labels[i] = l + 1
  }
  return labels
}

export interface BucketedSeries {
  /** Epoch ms of each bucket start, every `stepS` seconds from the first bucket to the last. */
  t: number[]
  /** Per field, one value per bucket (the mean of its samples), null where no report covers it. */
  values: Record<string, (number | null)[]>
}

/**
 * Puts one stream's samples (`t` epoch ms ascending, `cols` one value per sample) on whole-second
 * buckets of `stepS` seconds (secondLabels, then floor to the step), dense from the first to the last:
 * a bucket no report covers holds null in every field. Each value is its bucket's mean of finite values.
 */
export function bucketSeries(
  t: readonly number[],
  cols: Readonly<Record<string, readonly (number | null | undefined)[]>>,
  fields: readonly string[],
  stepS: number,
): BucketedSeries {
  const step = Math.max(1, Math.floor(stepS))
  const interval = typicalInterval(t)
  const seconds = secondLabels(t, interval)
  const bucketOf = (s: number): number => Math.floor(s / step) * step
  const first = seconds[0]
  const last = seconds.at(-1)
  const values: Record<string, (number | null)[]> = Object.fromEntries(fields.map((f) => [f, []]))
  if (first === undefined || last === undefined) return { t: [], values }
  const base = bucketOf(first)
  const n = (bucketOf(last) - base) / step + 1
  const out = Array.from({ length: n }, (_x, k) => (base + k * step) * 1000)
  const index = (s: number): number => (bucketOf(s) - base) / step
  // (bucket index, sample index) pairs: each sample in its bucket and, when it follows the previous
  // poll without a missed one, in every empty bucket its interval covers.
  const at: number[] = []
  const contiguous = CONTIGUOUS * Math.max(1000, interval)
  seconds.forEach((s, i) => {
    const k = index(s)
    at.push(k, i)
    const before = seconds[i - 1]
    if (before === undefined || (t[i] as number) - (t[i - 1] as number) > contiguous) return
    const kb = index(before)
    for (let j = k - 1; j > kb; j--) at.push(j, i)
  })
  for (const f of fields) {
    const col = cols[f] ?? []
    const sum = new Float64Array(n)
    const count = new Uint32Array(n)
    for (let j = 0; j < at.length; j += 2) {
      const k = at[j] as number
      const v = col[at[j + 1] as number]
      if (typeof v === 'number' && Number.isFinite(v)) {
        sum[k] = (sum[k] as number) + v
        count[k] = (count[k] as number) + 1
      }
    }
    values[f] = Array.from(count, (c, k) => (c ? f32((sum[k] as number) / c) : null))
  }
  return { t: out, values }
}
