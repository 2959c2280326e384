// Guards the shared time axis of the per-second series (analyzer/seconds.ts): samples of streams polled
// on different clocks, at different phases and with timer jitter land on whole seconds, one per second,
// so a chart joins them without breaks; a second is empty only when no report covers it.
import { describe, expect, it } from 'vitest'
import { bucketSeries, secondLabels } from '../../analyzer/seconds.ts'
import { prng } from '../helpers/prng.ts'

const T0 = 1_800_000_000_000 // any whole second; nothing depends on the date

/** `n` poll times 1 s apart from `T0 + phaseMs`, each moved by up to ±`jitterMs` (seeded). */
function polls(n: number, phaseMs: number, jitterMs: number, seed: number, periodMs = 1000): number[] {
  const rnd = prng(seed)
  return Array.from({ length: n }, (_x, i) => T0 + phaseMs + i * periodMs + (rnd() * 2 - 1) * jitterMs)
}

const consecutive = (labels: number[]): boolean => labels.every((l, i) => i === 0 || l === labels[i - 1]! + 1)

describe('secondLabels', () => {
  it('puts a jittered stream whose phase sits on a second boundary on consecutive seconds', () => {
    for (const phase of [0, 5, 497, 503, 990, 999]) {
      const t = polls(600, phase, 80, phase + 1)
      const labels = secondLabels(t)
      expect(consecutive(labels), `phase ${phase}`).toBe(true)
      // Each label is the second of the poll's de-jittered time: within one second of the poll itself.
      labels.forEach((l, i) => expect(Math.abs(l * 1000 - (t[i] as number))).toBeLessThan(1600))
    }
  })

  it('floors a plain, unjittered stream', () => {
    expect(secondLabels([T0 + 250, T0 + 1250, T0 + 2250])).toEqual([T0 / 1000, T0 / 1000 + 1, T0 / 1000 + 2])
  })

  it('repairs a late poll followed by an early one', () => {
    // 0.1, 1.7 (600 ms late), 2.05, 3.1: the late poll is nearest second 2, the early one too.
    const t = [100, 1700, 2050, 3100].map((x) => T0 + x)
    expect(secondLabels(t).map((l) => l - T0 / 1000)).toEqual([0, 1, 2, 3])
  })

  it('follows a timer that drifts a few ms a tick without dropping a second', () => {
    for (const period of [997, 1004]) {
      const t = polls(900, 900, 20, period, period)
      const { t: axis, values } = bucketSeries(t, { v: t.map(() => 1) }, ['v'], 1)
      // 900 polls over 900 ± 3 s: every second of the span is covered, by one poll or its interval.
      expect(
        values.v?.every((v) => v === 1),
        `period ${period}`,
      ).toBe(true)
      expect(Math.abs(axis.length - 900)).toBeLessThanOrEqual(4)
    }
  })
})

describe('bucketSeries', () => {
  it('gives two peers 437 ms apart with jittered phases 60 points on one axis without nulls', () => {
    const a = polls(60, 980, 60, 7)
    const b = a.map((x, i) => x + 437 + ((i * 37) % 50) - 25)
    const sa = bucketSeries(a, { bitrate: a.map((_x, i) => 1000 + i) }, ['bitrate'], 1)
    const sb = bucketSeries(b, { bitrate: b.map((_x, i) => 2000 + i) }, ['bitrate'], 1)
    for (const s of [sa, sb]) {
      expect(s.t).toHaveLength(60)
      expect(s.t.every((x) => x % 1000 === 0)).toBe(true)
      expect(s.values.bitrate?.filter((v) => v !== null)).toHaveLength(60)
    }
    // One axis: the two streams share 59 or 60 of their seconds (their first polls may fall in
    // neighbouring seconds), and every value is in its own second.
    const shared = sa.t.filter((x) => sb.t.includes(x))
    expect(shared.length).toBeGreaterThanOrEqual(59)
    expect(sa.values.bitrate).toEqual(a.map((_x, i) => 1000 + i))
  })

  it('leaves nulls exactly where reports are missing', () => {
    const t = polls(30, 300, 50, 3).filter((_x, i) => i < 10 || i >= 13)
    const s = bucketSeries(t, { v: t.map(() => 5) }, ['v'], 1)
    expect(s.t).toHaveLength(30)
    expect(s.values.v?.map((v, i) => (v === null ? i : -1)).filter((i) => i >= 0)).toEqual([10, 11, 12])
  })

  it('averages whole-second buckets into steps of several seconds', () => {
    const t = polls(20, 100, 30, 9)
    const s = bucketSeries(t, { v: t.map((_x, i) => i) }, ['v'], 5)
    expect(s.t).toEqual([0, 1, 2, 3].map((k) => T0 + k * 5000))
    expect(s.values.v).toEqual([2, 7, 12, 17])
  })

  it('covers every second for a client polling every 2 s, and averages one polling twice a second', () => {
    const slow = polls(30, 400, 50, 5, 2000)
    const s = bucketSeries(slow, { v: slow.map((_x, i) => i) }, ['v'], 1)
    expect(s.t).toHaveLength(59)
    // Each poll's rates hold over its 2 s interval: the second before it shows the same value.
    expect(s.values.v).toEqual([0, ...Array.from({ length: 29 }, (_x, i) => [i + 1, i + 1]).flat()])
    const fast = polls(60, 100, 20, 6, 500)
    const f = bucketSeries(fast, { v: fast.map((_x, i) => i) }, ['v'], 1)
    expect(f.t).toHaveLength(30)
    expect(f.values.v).toEqual(Array.from({ length: 30 }, (_x, i) => 2 * i + 0.5))
  })

  it('returns nothing for a stream without samples', () => {
    expect(bucketSeries([], {}, ['v'], 1)).toEqual({ t: [], values: { v: [] } })
  })
})
