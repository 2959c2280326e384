// The SDK and the collector share core/delta.ts, so "they agree" is only worth something if the
// encoding is lossless on real reports: every frame the outbox emits, serialised to JSON and parsed back as
// the collector receives it, must rebuild exactly the state the SDK encoded — through keyframes, deltas,
// removed fields and removed objects. It also holds the per-poll CPU budget (DESIGN.md invariant 3).
import { describe, expect, it } from 'vitest'
import {
  applyDelta,
  cloneState,
  encodeDelta,
  encodeReport,
  normalizeReport,
  readReport,
} from '../../core/delta.ts'
import type { StatsObject, StatsState } from '../../core/delta.ts'
import { createOutbox } from '../../sdk/src/outbox.ts'
import { VERBOSE_FIELDS } from '../../core/protocol.ts'
import type { StatsFrame } from '../../core/protocol.ts'
import { asReport, reportSequences, reportTs, stateOf } from '../helpers/sdk-fixtures.ts'
import type { Stat } from '../helpers/sdk-fixtures.ts'

const sequences = reportSequences()

describe('delta encoding on real reports', () => {
  it('has fixtures to run on', () => {
    expect(sequences.map((s) => s.name)).toEqual(expect.arrayContaining(['shared sender', 'shared receiver']))
  })

  for (const { name, reports } of sequences) {
    it(`round-trips every report of ${name} through JSON and applyDelta`, () => {
      const sent: string[] = []
      const box = createOutbox(Infinity, Infinity, () => {})
      box.sink = (t) => sent.push(...t)
      const states: StatsState[] = []
      for (const r of reports) {
        const state = stateOf(r)
        states.push(cloneState(state))
        box.stats('pc1', state, reportTs(r))
      }
      const decoded: StatsState = new Map()
      sent.forEach((text, i) => {
        const frame = JSON.parse(text) as StatsFrame
        expect(frame.seq).toBe(i + 1)
        expect(frame.key ?? false).toBe(i === 0)
        applyDelta(decoded, frame)
        expect(decoded).toEqual(states[i])
      })
    })
  }

  it('encodes a removed field as null and a removed object in rm', () => {
    const prev: StatsState = new Map<string, StatsObject>([
      ['a', { type: 'outbound-rtp', bytesSent: 1, qpSum: 5 }],
      ['b', { type: 'codec', mimeType: 'video/VP8' }],
    ])
    const next: StatsState = new Map<string, StatsObject>([['a', { type: 'outbound-rtp', bytesSent: 2 }]])
    const delta = encodeDelta(prev, next)
    expect(delta).toEqual({ key: false, d: { a: { bytesSent: 2, qpSum: null } }, rm: ['b'] })
    expect(applyDelta(cloneState(prev), JSON.parse(JSON.stringify(delta)) as StatsFrame)).toEqual(next)
  })

  it('sends nothing for objects whose only change is the timestamp', () => {
    const reports = sequences.find((s) => s.name === 'recorded sender')?.reports
    if (!reports) return
    const [r0, r1] = [reports[5] ?? [], reports[6] ?? []]
    const delta = encodeDelta(stateOf(r0), stateOf(r1))
    // Certificates, codecs and candidates do not change from one second to the next.
    for (const id of Object.keys(delta.d)) expect(id).not.toMatch(/^(RTCCertificate|RTCCodec)/)
    expect(JSON.stringify(delta.d).length).toBeLessThan(JSON.stringify(r1).length / 5)
  })

  it('reads, encodes and serialises one poll in well under 1 ms', () => {
    const reports = sequences.find((s) => s.reports.length > 10)?.reports ?? sequences[0]?.reports ?? []
    const box = createOutbox(1 << 20, Infinity, () => {})
    box.sink = () => {}
    const times: number[] = []
    for (let round = 0; round < 5; round++) {
      for (const r of reports) {
        const t0 = performance.now()
        box.stats('pc1', new Map(r.map((s) => [s.id, s])), reportTs(r))
        times.push(performance.now() - t0)
      }
      box.ack({ pc1: Infinity })
    }
    times.sort((a, b) => a - b)
    const median = times[times.length >> 1] ?? Infinity
    // The median, not the worst case: a GC pause or a busy CI core is not the SDK's doing.
    expect(median).toBeLessThan(1)
  })
})

describe('readReport', () => {
  const OMIT = new RegExp(VERBOSE_FIELDS)
  const receiver = sequences.find((s) => s.name === 'recorded receiver')?.reports ?? []

  it('takes the report time from the first object, in the same pass', () => {
    const r = receiver[3] ?? []
    const [state, ts] = readReport(asReport(r))
    expect(ts).toBe(reportTs(r))
    expect(state.size).toBe(r.length)
  })

  it("leaves out the fields the collector's default omit names, and only those", () => {
    const r = receiver[3] ?? []
    const [lean] = readReport(asReport(r), OMIT)
    const [full] = readReport(asReport(r))
    const fields = (st: StatsState) => new Set([...st.values()].flatMap((o) => Object.keys(o)))
    const dropped = [...fields(full)].filter((k) => !fields(lean).has(k))
    expect(dropped).toEqual(
      expect.arrayContaining([
        'lastPacketReceivedTimestamp',
        'totalSquaredInterFrameDelay',
        'totalAudioEnergy',
      ]),
    )
    // What the collector derives from stays (core/derive.ts).
    for (const k of [
      'bytesReceived',
      'packetsLost',
      'jitterBufferDelay',
      'totalSamplesReceived',
      'audioLevel',
    ])
      expect(fields(lean).has(k)).toBe(true)
    expect(full).toEqual(normalizeReport(asReport(r), reportTs(r)))
  })

  it('makes the deltas of a receiving pc at least 15% smaller on the recorded call', () => {
    const bytes = (full: boolean): number => {
      let prev: StatsState | undefined
      let n = 0
      for (const r of receiver) {
        const [state] = readReport(asReport(r), full ? undefined : OMIT)
        if (prev) n += JSON.stringify(encodeDelta(prev, state).d).length
        prev = state
      }
      return n
    }
    expect(bytes(false)).toBeLessThan(bytes(true) * 0.85)
  })
})

describe('encodeReport', () => {
  const OMIT = new RegExp(VERBOSE_FIELDS)
  /** A report as the browser hands it over: stats objects by id. */
  const keyed = (stats: readonly Stat[]) => new Map(stats.map((s) => [s.id, s]))

  for (const { name, reports } of sequences) {
    it(`encodes in one pass what readReport then encodeDelta encode, on ${name}`, () => {
      for (const omit of [undefined, OMIT]) {
        let prev: StatsState | undefined
        let mine: StatsState | undefined
        for (const r of reports) {
          const [next, ts] = readReport(asReport(r), omit)
          const [d, rm, state, t] = encodeReport(keyed(r), mine, omit)
          const want = encodeDelta(prev, next)
          expect(t).toBe(ts)
          expect(d).toEqual(want.d)
          expect(rm).toEqual(want.rm)
          expect(state).toEqual(next)
          prev = next
          mine = state
        }
      }
    })
  }

  it('finds a removed field when another is added to the same object in the same poll', () => {
    const [, , s0] = encodeReport(keyed([{ id: 'a', type: 'x', p: 1, q: 2 }]))
    const [d, rm, s1] = encodeReport(keyed([{ id: 'a', type: 'x', p: 1, r: 3 }]), s0)
    expect(d).toEqual({ a: { r: 3, q: null } })
    expect(rm).toEqual([])
    expect(s1.get('a')).toEqual({ type: 'x', p: 1, r: 3 })
  })

  it('removes an own timestamp once it equals the report time again, and lists removed objects', () => {
    const [, , s0] = encodeReport(
      keyed([
        { id: 'a', timestamp: 10 },
        { id: 'r', timestamp: 5, v: 1 },
      ]),
    )
    expect(s0.get('r')).toEqual({ timestamp: 5, v: 1 })
    const [d, rm] = encodeReport(
      keyed([
        { id: 'a', timestamp: 20 },
        { id: 'n', timestamp: 20 },
      ]),
      s0,
    )
    expect(d).toEqual({ n: {} })
    expect(rm).toEqual(['r'])
  })

  it('drops unchanged fields a new filter names only when told to look at every field again', () => {
    const r = [{ id: 'a', type: 'inbound-rtp', googX: 'same', bytes: 1 }]
    const [, , s0] = encodeReport(keyed(r))
    const [quiet] = encodeReport(keyed(r), cloneState(s0), OMIT)
    expect(quiet).toEqual({})
    const [d, , s1] = encodeReport(keyed(r), s0, OMIT, undefined, true)
    expect(d).toEqual({ a: { googX: null } })
    expect(s1.get('a')).toEqual({ type: 'inbound-rtp', bytes: 1 })
  })

  it('leaves frames already queued unchanged by later polls (resends and the base read them)', () => {
    const reports = sequences.find((s) => s.name === 'recorded sender')?.reports ?? []
    const box = createOutbox(Infinity, 3000, () => {})
    const sent: string[] = []
    box.sink = (t) => sent.push(...t)
    for (const r of reports) box.stats('pc1', keyed(r), reportTs(r))
    expect(sent.length).toBe(reports.length)
    // Every queued frame serialises again as it was first sent, keyframes included.
    expect(box.resume({})).toEqual(sent)
  })
})
