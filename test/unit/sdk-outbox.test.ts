// The outbox is where invariant 1 is kept or lost on the client: a frame leaves it only when the server
// stored it or when the byte bound forced it out, and in both cases its stats fold into the "base" so the
// next connection can be primed with exactly the state the following deltas were encoded against. A drop
// must surface as a `gap` the collector accepts — never as a silent hole or a refused sequence.
import { describe, expect, it } from 'vitest'
import { applyDelta, cloneState } from '../../core/delta.ts'
import type { StatsState } from '../../core/delta.ts'
import { createOutbox } from '../../sdk/src/outbox.ts'
import type { ChannelFrame, StatsFrame } from '../../core/protocol.ts'
import { reportSequences, reportTs, stateOf } from '../helpers/sdk-fixtures.ts'

const reports = reportSequences().find((s) => s.reports.length > 10)?.reports ?? []
const parse = (texts: string[]): ChannelFrame[] => texts.map((t) => JSON.parse(t) as ChannelFrame)
const bytesOf = (texts: string[]): number => texts.reduce((n, t) => n + t.length, 0)

/** Feeds `n` recorded reports into `pc`; returns a copy of each state pushed. */
function feed(box: ReturnType<typeof createOutbox>, pc: string, n: number, from = 0): StatsState[] {
  const states: StatsState[] = []
  for (let i = from; i < from + n; i++) {
    const r = reports[i % reports.length] ?? []
    const state = stateOf(r)
    states.push(cloneState(state))
    // Report time moves on one second per report, also when the recording wraps around.
    box.stats(pc, state, reportTs(reports[0] ?? []) + i * 1000)
  }
  return states
}

describe('createOutbox', () => {
  it('has a recorded sequence to work with', () => {
    expect(reports.length).toBeGreaterThan(10)
  })

  it('numbers each channel from 1, stats and events sharing the counter', () => {
    const box = createOutbox(Infinity, Infinity, () => {})
    feed(box, 'a', 2)
    box.event('a', 'connectionstatechange', { connectionState: 'connected' }, 1)
    box.event('_', 'custom.x', undefined, 1)
    feed(box, 'b', 1)
    const frames = parse(box.resume({}))
    expect(frames.map((f) => `${f.pc}:${f.seq}:${f.t}`)).toEqual([
      'a:1:stats',
      'a:2:stats',
      'a:3:event',
      '_:1:event',
      'b:1:stats',
    ])
    expect(frames[0]).toMatchObject({ key: true })
    expect(frames[1]).not.toHaveProperty('key')
    expect(frames[3]).not.toHaveProperty('data')
  })

  it('sends a keyframe first and again once keyframeMs of report time passed', () => {
    const box = createOutbox(Infinity, 5000, () => {})
    feed(box, 'a', 12)
    const keys = parse(box.resume({})).flatMap((f) => (f.t === 'stats' && f.key ? [f.seq] : []))
    expect(keys).toEqual([1, 6, 11])
  })

  it('holds at most maxBytes of frames, dropping the oldest and counting them', () => {
    const drops: number[] = []
    const max = 20_000
    const box = createOutbox(max, Infinity, (n) => drops.push(n))
    feed(box, 'a', 40)
    const queued = box.resume({}).slice(1) // after the priming keyframe
    expect(bytesOf(queued)).toBeLessThanOrEqual(max)
    expect(box.size).toBe(queued.length)
    const dropped = drops.reduce((a, b) => a + b, 0)
    expect(dropped + queued.length).toBe(40)
    // The first queued frame follows the dropped ones directly.
    expect((JSON.parse(queued[0] ?? '{}') as ChannelFrame).seq).toBe(dropped + 1)
  })

  it('keeps the newest frame even when it alone is over the bound', () => {
    const box = createOutbox(100, Infinity, () => {})
    feed(box, 'a', 3)
    expect(box.size).toBe(1)
  })

  it('advances the base over acknowledged frames and primes the next connection with it', () => {
    const box = createOutbox(Infinity, Infinity, () => {})
    const states = feed(box, 'a', 6)
    box.ack({ a: 4 })
    expect(box.size).toBe(2)
    const [primer, ...rest] = parse(box.resume({ a: 4 }))
    expect(primer).toMatchObject({ t: 'stats', pc: 'a', seq: 4, key: true })
    expect(primer).not.toHaveProperty('gap')
    expect(new Map(Object.entries((primer as StatsFrame).d))).toEqual(states[3])
    expect(rest.map((f) => f.seq)).toEqual([5, 6])
    // The deltas that follow decode against the primer to the states the SDK encoded.
    const decoded = applyDelta(new Map(), primer as StatsFrame)
    for (const [i, f] of rest.entries()) expect(applyDelta(decoded, f as StatsFrame)).toEqual(states[4 + i])
  })

  it('primes at the last dropped seq with a gap covering the frames dropped after the stored ones', () => {
    const drops: number[] = []
    const box = createOutbox(12_000, Infinity, (n) => drops.push(n))
    const states = feed(box, 'a', 20)
    const dropped = drops.reduce((a, b) => a + b, 0)
    // The server stored 3 frames before the connection broke; 4..dropped were dropped unsent.
    const [primer, first] = parse(box.resume({ a: 3 }))
    expect(primer).toMatchObject({ seq: dropped, key: true, gap: dropped - 3 - 1 })
    expect(new Map(Object.entries((primer as StatsFrame).d))).toEqual(states[dropped - 1])
    expect(first?.seq).toBe(dropped + 1)
  })

  it('does not spend a seq on an event whose data cannot be serialised', () => {
    const box = createOutbox(Infinity, Infinity, () => {})
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => box.event('_', 'custom.bad', cyclic, 1)).toThrow()
    box.event('_', 'custom.good', { ok: true }, 2)
    expect(parse(box.resume({})).map((f) => f.seq)).toEqual([1])
  })

  it('resends an event as it was first sent, whatever the app does to its data afterwards', () => {
    const box = createOutbox(Infinity, Infinity, () => {})
    const sent: string[] = []
    box.sink = (t) => sent.push(...t)
    const data: Record<string, unknown> = { step: 1 }
    box.event('_', 'custom.step', data, 1)
    data.step = 2
    data.self = data
    expect(box.resume({})).toEqual(sent)
  })

  it('retires what the welcome reports stored and resends the rest in order', () => {
    const box = createOutbox(Infinity, Infinity, () => {})
    feed(box, 'a', 3)
    feed(box, 'b', 3)
    box.resume({}) // the first connection sent them all
    const frames = parse(box.resume({ a: 2, b: 3 }))
    // a: primer at 2 (base = state 2), then 3. b: everything stored, primer only (it may send more).
    expect(frames.map((f) => `${f.pc}:${f.seq}:${f.t === 'stats' && f.key ? 'key' : 'delta'}`)).toEqual([
      'a:2:key',
      'b:3:key',
      'a:3:delta',
    ])
  })

  it('stops priming a finished channel once all its frames are stored', () => {
    const box = createOutbox(Infinity, Infinity, () => {})
    feed(box, 'a', 2)
    box.end('a')
    box.resume({})
    expect(parse(box.resume({ a: 1 })).map((f) => f.seq)).toEqual([1, 2])
    box.ack({ a: 2 })
    expect(box.resume({ a: 2 })).toEqual([])
  })

  it('continues after seqs another monitor stored under the same ids instead of losing its frames', () => {
    const box = createOutbox(Infinity, Infinity, () => {})
    const states = feed(box, 'a', 3)
    box.event('a', 'negotiationneeded', undefined, 1)
    // A page reload: the server already holds a:1..50 from the previous page.
    const frames = parse(box.resume({ a: 50 }))
    expect(frames.map((f) => f.seq)).toEqual([51, 52, 53, 54])
    expect(frames[0]).toMatchObject({ key: true })
    const decoded = applyDelta(new Map(), frames[0] as StatsFrame)
    applyDelta(decoded, frames[1] as StatsFrame)
    expect(applyDelta(decoded, frames[2] as StatsFrame)).toEqual(states[2])
    feed(box, 'a', 1, 3)
    expect(parse(box.resume({ a: 54 })).map((f) => f.seq)).toEqual([54, 55])
  })

  it('returns queued frames up to maxBytes, always at least one', () => {
    const box = createOutbox(Infinity, Infinity, () => {})
    feed(box, 'a', 10)
    const some = box.resume({}, 25_000)
    expect(some.length).toBeGreaterThan(1)
    expect(some.length).toBeLessThan(10)
    expect(bytesOf(some)).toBeLessThanOrEqual(25_000)
    expect(box.resume({}, 1)).toHaveLength(1)
  })
})
