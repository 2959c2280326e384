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
// they stand for it too. A second is null only when no report covers it: data is missing there (the SDK
// dropped frames, the tab slept, the peer was gone).
import { f32 } from './stored.ts'

// Weight of each sample's deviation in the tracked phase: follows a drifting timer (a few ms a second)
// within tens of samples while one jittered sample moves the phase by an eighth of its jitter.
const PHASE_GAIN = 0.125
// How far (ms) the grid may run past the second it is drawn in before it moves on to the next one.
const SLACK_MS = 250
// A silence this long (ms) restarts the grid at the next sample: a reconnected SDK polls at a new phase.
const RESTART_MS = 2500
// Two polls closer than this (ms) missed none between them (a missed poll makes the interval ~2 s).
const CONTIGUOUS_MS = 1500

/**
 * Whole epoch seconds, one per sample of one stream (`t`: epoch ms, ascending), non-decreasing. Equal
 * labels (two samples in one second) remain only where a stream truly reported faster than 1 Hz.
 */
export function secondLabels(t: readonly number[]): number[] {
  const labels: number[] = []
  // The stream's grid is phase + k·1000 ms (epoch), and grid point k is drawn at second k.
  let phase = 0
  let prev = Number.NEGATIVE_INFINITY
  for (const ts of t) {
    if (ts - prev > RESTART_MS) phase = ts - Math.floor(ts / 1000) * 1000
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
  const buckets = secondLabels(t).map((s) => Math.floor(s / step) * step)
  const first = buckets[0]
  const last = buckets.at(-1)
  const values: Record<string, (number | null)[]> = Object.fromEntries(fields.map((f) => [f, []]))
  if (first === undefined || last === undefined) return { t: [], values }
  const n = (last - first) / step + 1
  const out = Array.from({ length: n }, (_x, k) => (first + k * step) * 1000)
  // (bucket index, sample index) pairs: each sample in its bucket, and a contiguous poll also in the
  // empty bucket its interval covers.
  const at: number[] = []
  buckets.forEach((b, i) => {
    const k = (b - first) / step
    at.push(k, i)
    if (i > 0 && k - ((buckets[i - 1] as number) - first) / step === 2) {
      if ((t[i] as number) - (t[i - 1] as number) < CONTIGUOUS_MS) at.push(k - 1, i)
    }
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
