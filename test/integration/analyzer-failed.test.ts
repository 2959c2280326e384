// Calls whose media never flowed must never score well (issue 10; analyzer/SCORING.md §0). Real
// @roamhq/wrtc peers whose ICE fails (each side given a wrong remote ice-pwd) or never starts (no
// candidate exchanged), monitored through the collector as the SDK monitors them; the analyzer scores
// them on the test's request (tick-free: finalize()). Real-time media: listed with the realtime suites in
// vitest.config.ts so no other call competes for the CPU.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runMonitoredCall } from '../helpers/analyzer-call.ts'
import { startAnalyzerHarness } from '../helpers/analyzer-env.ts'
import type { AnalyzerHarness } from '../helpers/analyzer-env.ts'
import { runFailedCall } from '../helpers/analyzer-failed-call.ts'
import { guid } from '../helpers/collector.ts'

interface Score {
  overall: number | null
  audio: { mos: number } | null
  video: { score: number } | null
  legs: number
}
interface Detail {
  final: boolean
  outcome: string
  outcomeReason: string
  outcomeDetail: string
  score: Score
  peers: { peer: string; outcome: string; outcomeReason: string; score: Score }[]
  streams: { peer: string; kind: string; videoScore: number | null; mos: number | null }[]
  issues: { type: string; severity: string; peer: string }[]
}

const APP = 'wrtc-failed'
let h: AnalyzerHarness

beforeAll(async () => {
  h = await startAnalyzerHarness()
})
afterAll(async () => {
  await h?.stop()
})

async function finalDetail(session: string): Promise<Detail> {
  const a = await h.analyzer.finalize(APP, session)
  expect(a?.final).toBe(true)
  const { status, body } = await h.get<Detail>(`/api/v1/sessions/${session}?app=${APP}&series=0`)
  expect(status).toBe(200)
  return body
}

describe('calls without media', () => {
  it('gives an ICE failure a failed outcome and no score', { timeout: 90_000 }, async () => {
    const session = guid('ice-failed')
    const states = await runFailedCall(h.streamUrl, {
      app: APP,
      session,
      ice: 'wrong-credentials',
      maxSeconds: 40,
    })
    expect(states).toEqual(['failed', 'failed'])
    const d = await finalDetail(session)
    console.log(`ICE failure: outcome ${d.outcome}/${d.outcomeReason} (${d.outcomeDetail}), score`, d.score)
    expect(d).toMatchObject({ final: true, outcome: 'failed', outcomeReason: 'ice_failed' })
    // Before score_version 2 this call scored 9.87 (video 10, MOS 4.38) beside its own ice_failure.
    expect(d.score.overall === null || d.score.overall <= 3).toBe(true)
    expect(d.score).toMatchObject({ overall: null, audio: null, video: null, legs: 0 })
    expect(d.peers.map((p) => [p.peer, p.outcome, p.outcomeReason])).toEqual([
      ['a', 'failed', 'ice_failed'],
      ['b', 'failed', 'ice_failed'],
    ])
    expect(d.streams.length).toBeGreaterThan(0)
    expect(d.streams.every((s) => s.videoScore === null && s.mos === null)).toBe(true)
    expect(d.issues.some((i) => i.type === 'ice_failure' && i.severity === 'critical')).toBe(true)

    const list = await h.get<{ sessions: { session: string; outcome: string; overall: number | null }[] }>(
      `/api/v1/sessions?app=${APP}&outcome=failed`,
    )
    expect(list.body.sessions).toMatchObject([{ session, outcome: 'failed', overall: null }])
    const metrics = (await h.get<string>('/metrics/analyzer')).body
    expect(metrics).toContain(
      `rtcpulse_analyzer_failed_sessions_total{app="${APP}",outcome="failed",reason="ice_failed"} 1`,
    )
  })

  it(
    'keeps a failed attempt under the same session id out of its good call’s score',
    { timeout: 90_000, retry: 1 },
    async () => {
      const session = guid('retry')
      // A good call whose video is clearly below 10 (180p costs 2 points), so an empty leg scored 10
      // would visibly raise the mean.
      await runMonitoredCall(h.streamUrl, {
        app: APP,
        session,
        seconds: 10,
        call: { width: 320, height: 180, fps: 30 },
      })
      const states = await runFailedCall(h.streamUrl, {
        app: APP,
        session,
        peers: ['c', 'd'],
        ice: 'withhold-candidates',
        maxSeconds: 6,
      })
      expect(states).toEqual(['new', 'new'])
      const d = await finalDetail(session)
      const peer = (id: string) => d.peers.find((p) => p.peer === id)
      console.log(
        `good call + failed attempt: session video ${d.score.video?.score}, peer b video ${peer('b')?.score.video?.score}`,
        d.peers.map((p) => `${p.peer}:${p.outcome}/${p.outcomeReason}`).join(' '),
      )
      expect(d.outcome).toBe('ok')
      const good = peer('b')?.score.video?.score as number
      expect(good).toBeLessThan(9)
      expect(d.score.video?.score).toBeCloseTo(good, 2)
      expect(d.score.legs).toBe(2)
      expect(peer('c')).toMatchObject({ outcome: 'failed', outcomeReason: 'never_connected' })
      expect(peer('d')).toMatchObject({ outcome: 'failed', outcomeReason: 'never_connected' })
      expect(peer('c')?.score.overall).toBeNull()
      const empty = d.streams.filter((s) => s.peer === 'c' || s.peer === 'd')
      expect(empty.length).toBeGreaterThan(0)
      expect(empty.every((s) => s.videoScore === null && s.mos === null)).toBe(true)
    },
  )
})
