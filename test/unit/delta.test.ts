// Guards the codec both ends share: decoding the encoder's output must reproduce every report exactly,
// whatever was added, changed or removed in between — a drift here silently corrupts every metric.
import { describe, expect, it } from 'vitest'
import {
  applyDelta,
  cloneState,
  encodeDelta,
  materialize,
  mergeDelta,
  normalizeReport,
} from '../../core/delta.ts'
import type { StatsState } from '../../core/delta.ts'
import { asReport, loadFixture, reportSequence } from '../helpers/reports.ts'
import type { Stat } from '../helpers/reports.ts'

const tsOf = (stats: Stat[]): number => stats[0]?.timestamp ?? 0
const norm = (stats: Stat[]): StatsState => normalizeReport(asReport(stats), tsOf(stats))

describe('normalizeReport', () => {
  it('drops id and timestamps equal to the report time but keeps differing ones', () => {
    const stats = loadFixture('sender')
    const state = norm(stats)
    expect(state.size).toBe(stats.length)
    const out = [...state.values()].find((o) => o.type === 'outbound-rtp')
    expect(out).toBeDefined()
    expect(out).not.toHaveProperty('id')
    expect(out).not.toHaveProperty('timestamp')
    // remote-inbound-rtp carries the RTCP arrival time, which differs from the report time.
    const remote = [...state.values()].find((o) => o.type === 'remote-inbound-rtp')
    expect(remote?.timestamp).toBeTypeOf('number')
  })

  it('restores the original objects through materialize', () => {
    const stats = loadFixture('receiver')
    const state = norm(stats)
    for (const s of stats) expect(materialize(state, s.id, tsOf(stats))).toEqual(s)
  })
})

describe('encodeDelta / applyDelta', () => {
  it('round-trips a 20-second real sequence on both sides', () => {
    for (const side of ['sender', 'receiver'] as const) {
      const seq = reportSequence(side, 20)
      let prev: StatsState | undefined
      const decoded: StatsState = new Map()
      for (const stats of seq) {
        const next = norm(stats)
        const delta = encodeDelta(prev, next)
        applyDelta(decoded, delta)
        expect(decoded).toEqual(next)
        prev = next
      }
    }
  })

  it('sends only changed fields after the keyframe', () => {
    const [a, b] = reportSequence('sender', 2) as [Stat[], Stat[]]
    const key = encodeDelta(undefined, norm(a))
    const delta = encodeDelta(norm(a), norm(b))
    expect(key.key).toBe(true)
    expect(delta.key).toBe(false)
    expect(JSON.stringify(delta.d).length).toBeLessThan(JSON.stringify(key.d).length / 5)
    // Certificates and codecs never change: they are absent from the delta.
    for (const id of Object.keys(delta.d)) expect(id).not.toMatch(/Certificate|Codec/)
  })

  it('encodes removed fields as null and removed objects in rm', () => {
    const [a, b] = reportSequence('receiver', 2, {}, (i, stats) => {
      if (i !== 1) return
      const inbound = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'video') as Stat
      delete inbound.qpSum
      stats.splice(
        stats.findIndex((s) => s.type === 'data-channel'),
        1,
      )
      stats.push({ id: 'RTCNew_1', type: 'data-channel', timestamp: inbound.timestamp, label: 'x' })
    }) as [Stat[], Stat[]]
    const delta = encodeDelta(norm(a), norm(b))
    const videoId = b.find((s) => s.type === 'inbound-rtp' && s.kind === 'video')?.id as string
    expect(delta.d[videoId]?.qpSum).toBeNull()
    expect(delta.rm).toHaveLength(1)
    expect(delta.d.RTCNew_1).toEqual({ type: 'data-channel', label: 'x' })
    expect(applyDelta(cloneState(norm(a)), delta)).toEqual(norm(b))
  })

  it('treats nested records (qualityLimitationDurations) by value', () => {
    const a = normalizeReport(asReport([{ id: 'o', type: 'outbound-rtp', timestamp: 1, q: { cpu: 1 } }]), 1)
    const same = normalizeReport(
      asReport([{ id: 'o', type: 'outbound-rtp', timestamp: 2, q: { cpu: 1 } }]),
      2,
    )
    const changed = normalizeReport(
      asReport([{ id: 'o', type: 'outbound-rtp', timestamp: 3, q: { cpu: 2 } }]),
      3,
    )
    expect(encodeDelta(a, same).d).toEqual({})
    expect(encodeDelta(a, changed).d).toEqual({ o: { q: { cpu: 2 } } })
  })

  it('starts from empty on a keyframe', () => {
    const state: StatsState = new Map([['stale', { type: 'x' }]])
    applyDelta(state, { key: true, d: { a: { type: 'y' } } })
    expect([...state.keys()]).toEqual(['a'])
  })
})

describe('mergeDelta', () => {
  it('applied once equals the two deltas applied in order', () => {
    const seq = reportSequence('sender', 4, {}, (i, stats) => {
      if (i === 2)
        stats.splice(
          stats.findIndex((s) => s.type === 'data-channel'),
          1,
        )
    })
    const states = seq.map(norm)
    const d1 = encodeDelta(states[0], states[1] as StatsState)
    const d2 = encodeDelta(states[1], states[2] as StatsState)
    const d3 = encodeDelta(states[2], states[3] as StatsState)
    const merged = mergeDelta(mergeDelta(d1, d2), d3)
    expect(applyDelta(cloneState(states[0] as StatsState), merged)).toEqual(states[3])
  })

  it('keeps a removed-then-re-added object free of its old fields', () => {
    const base: StatsState = new Map([['x', { type: 't', old: 1 }]])
    const merged = mergeDelta(
      { key: false, d: {}, rm: ['x'] },
      { key: false, d: { x: { type: 't', fresh: 2 } }, rm: [] },
    )
    expect(applyDelta(base, merged).get('x')).toEqual({ type: 't', fresh: 2 })
  })
})
