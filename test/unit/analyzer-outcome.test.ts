// A call whose media never flowed must never look good (analyzer/SCORING.md §0, issue 10): a leg with no
// active second is not scored and not averaged; a session or peer without media gets a failed outcome
// with its reason; a refused getUserMedia raises an issue naming the error.
import { describe, expect, it } from 'vitest'
import type { Aggregates } from '../../analyzer/aggregates.ts'
import { setupIssues } from '../../analyzer/detect-setup.ts'
import type { StateEvent } from '../../analyzer/episodes.ts'
import { buildLegs, combineLegs, legFlowed, scoreLeg } from '../../analyzer/legs.ts'
import type { StreamRef } from '../../analyzer/legs.ts'
import { judgeOutcome } from '../../analyzer/outcome.ts'
import type { OutcomeEvidence } from '../../analyzer/outcome.ts'
import type { StreamAggregateRow } from '../../analyzer/queries.ts'

/** A stream with only what legs.ts reads; the rest of the aggregates are unknown (null). */
function ref(
  peer: string,
  direction: 'inbound' | 'outbound',
  kind: 'audio' | 'video',
  ssrc: number,
  active: number,
  extra: Partial<Aggregates> = {},
): StreamRef {
  const row = {
    peer_id: peer,
    pc_id: 'pc1',
    stream_id: `${direction}-${kind}`,
    direction,
    kind,
    ssrc,
    codec: 'VP8',
  }
  const agg = {
    seconds: 10,
    active_seconds: active,
    width: 0,
    height: 0,
    freeze_count: 0,
    frozen_s: 0,
    keyframes: 0,
    ...extra,
  } as unknown as Aggregates
  return { row: { ...row, bitrate_p50: null, bitrate_p90: null } as unknown as StreamAggregateRow, agg }
}

const score = (refs: StreamRef[]) => {
  const legs = buildLegs(refs)
  for (const l of legs) scoreLeg(l, { expectedFps: 30 }, () => null)
  return { legs, score: combineLegs(legs) }
}

describe('legs without media', () => {
  it('leaves a leg with no active second unscored', () => {
    const { legs, score: s } = score([
      ref('c', 'outbound', 'video', 7, 0),
      ref('c', 'outbound', 'audio', 8, 0),
    ])
    expect(legs.map(legFlowed)).toEqual([false, false])
    expect(legs.every((l) => l.mos === null && l.video === null)).toBe(true)
    // Before score_version 2 these legs scored video 10 and MOS 4.38 from missing inputs.
    expect(s).toEqual({ overall: null, audio: null, video: null, legs: 0 })
  })

  it('judges a leg by its receiver: packets sent but none received is no media', () => {
    const { legs } = score([ref('a', 'outbound', 'video', 5, 10), ref('b', 'inbound', 'video', 5, 0)])
    expect(legs).toHaveLength(1)
    expect(legFlowed(legs[0]!)).toBe(false)
    expect(legs[0]!.video).toBeNull()
  })

  it('keeps an empty leg out of the session mean', () => {
    const poor = { width: 320, height: 180, fps_mean: 10 }
    const good = score([ref('a', 'outbound', 'video', 5, 10), ref('b', 'inbound', 'video', 5, 10, poor)])
    const withEmpty = score([
      ref('a', 'outbound', 'video', 5, 10),
      ref('b', 'inbound', 'video', 5, 10, poor),
      ref('c', 'outbound', 'video', 9, 0),
    ])
    expect(good.score.video?.score).toBeLessThan(8)
    expect(withEmpty.score.video?.score).toBe(good.score.video?.score)
    expect(withEmpty.score.legs).toBe(1)
  })
})

const ev = (pc: string, name: string, state: string, t = 1000, peer = 'a'): StateEvent => ({
  peer,
  pc,
  t,
  name,
  state,
})
const evidence = (o: Partial<OutcomeEvidence>): OutcomeEvidence => ({
  flowed: false,
  streamPcs: new Set(),
  transportPcs: new Set(),
  events: [],
  ...o,
})
const denied: StateEvent = {
  ...ev('_', 'getUserMedia.error', ''),
  error: { name: 'NotAllowedError', message: 'Permission denied' },
}

describe('judgeOutcome', () => {
  it('is ok whenever media flowed, even after a refused camera', () => {
    expect(judgeOutcome(evidence({ flowed: true, events: [denied] }))?.outcome).toBe('ok')
  })

  it('names a refused getUserMedia as a setup failure', () => {
    expect(judgeOutcome(evidence({ events: [denied] }))).toEqual({
      outcome: 'setup_failed',
      outcomeReason: 'media_access_denied',
      outcomeDetail: 'getUserMedia failed with NotAllowedError: Permission denied',
    })
    const notFound = {
      ...denied,
      name: 'getDisplayMedia.error',
      error: { name: 'NotFoundError', message: '' },
    }
    expect(judgeOutcome(evidence({ events: [notFound] }))).toMatchObject({
      outcome: 'setup_failed',
      outcomeReason: 'media_device_error',
      outcomeDetail: 'getDisplayMedia failed with NotFoundError',
    })
  })

  it('tells an ICE failure from a pc that never connected and from a connected pc without packets', () => {
    const failed = [
      ev('pc1', 'connectionstatechange', 'connecting'),
      ev('pc1', 'connectionstatechange', 'failed'),
    ]
    expect(judgeOutcome(evidence({ events: failed }))).toMatchObject({
      outcome: 'failed',
      outcomeReason: 'ice_failed',
    })
    const stuck = evidence({
      streamPcs: new Set(['a\npc1']),
      events: [ev('pc1', 'connectionstatechange', 'new')],
    })
    expect(judgeOutcome(stuck)).toMatchObject({ outcome: 'failed', outcomeReason: 'never_connected' })
    const silent = evidence({ streamPcs: new Set(['a\npc1']), transportPcs: new Set(['a\npc1']) })
    expect(judgeOutcome(silent)).toMatchObject({ outcome: 'failed', outcomeReason: 'no_media' })
  })

  it('prefers connectionState (it includes DTLS) over ICE state', () => {
    const dtlsFailed = [
      ev('pc1', 'iceconnectionstatechange', 'connected'),
      ev('pc1', 'connectionstatechange', 'failed'),
    ]
    expect(judgeOutcome(evidence({ events: dtlsFailed }))?.outcomeReason).toBe('ice_failed')
  })

  it('accepts a data-channel-only call and ignores a monitor without any pc', () => {
    expect(judgeOutcome(evidence({ transportPcs: new Set(['a\npc1']) }))?.outcome).toBe('ok')
    expect(judgeOutcome(evidence({ events: [ev('_', 'bye', '')] }))).toBeUndefined()
    expect(judgeOutcome(evidence({}))).toBeUndefined()
  })
})

describe('setupIssues', () => {
  it('raises one critical issue per distinct error, naming it', () => {
    const again = { ...denied, t: 5000 }
    const busy = { ...denied, t: 6000, error: { name: 'NotReadableError', message: 'Device in use' } }
    const issues = setupIssues([denied, again, busy, ev('pc1', 'connectionstatechange', 'failed')])
    expect(issues).toEqual([
      {
        type: 'media_access_denied',
        severity: 'critical',
        peer: 'a',
        pc: '_',
        stream: '',
        start: 1000,
        end: 5000,
        evidence: { count: 2 },
        detail: 'getUserMedia failed with NotAllowedError: Permission denied',
      },
      expect.objectContaining({
        type: 'media_device_error',
        detail: 'getUserMedia failed with NotReadableError: Device in use',
      }),
    ])
  })
})
