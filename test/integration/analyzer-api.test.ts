// The analyzer end to end on recorded real calls: frames go through the collector's WebSocket (so
// through its validation, de-delta and derivation), the analyzer scores them live, finalises them after
// goodbye or idle time, and the API answers scoped by app. Guards DESIGN.md invariant 4 (the API is
// scoped by app) and the scheduling contract of issue 4.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openFeeder, replayPeer } from '../helpers/analyzer-feed.ts'
import { startAnalyzerHarness } from '../helpers/analyzer-env.ts'
import { connect, helloFor } from '../helpers/stream-client.ts'
import type { AnalyzerHarness } from '../helpers/analyzer-env.ts'
import { loadRecorded } from '../helpers/recorded.ts'
import type { RecordedStat } from '../helpers/recorded.ts'

type Report = RecordedStat[]
// Every recording ends a minute before the test's clock: stored rows must be younger than the TTLs.
const recordedEnd = Date.now() - 60_000
const load = (name: string): Report[] => loadRecorded(name, recordedEnd)

const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0'
const DEMO_KEY = 'demo-key-0123456789'
const OTHER_KEY = 'other-key-0123456789'
const ADMIN_KEY = 'admin-key-0123456789'

const calls = {
  clean: { sender: load('sender-30s.json'), receiver: load('receiver-30s.json') },
  freeze: { sender: load('sender-freeze-30s.json'), receiver: load('receiver-freeze-30s.json') },
}
const lastTs = Math.max(
  ...Object.values(calls).flatMap((c) =>
    [c.sender, c.receiver].map((r) => (r.at(-1) as Report)[0]?.timestamp ?? 0),
  ),
)

type Json = Record<string, unknown>
interface Detail {
  final: boolean
  score: {
    overall: number
    audio: { mos: number }
    video: { score: number; penalties: Record<string, number> }
  }
  peers: { peer: string; browser: string; score: { overall: number } }[]
  streams: {
    peer: string
    direction: string
    kind: string
    remotePeer: string
    aggregates: Json
    videoScore: number | null
    mos: number | null
  }[]
  issues: { type: string; severity: string; start: string; end: string; evidence: Json }[]
  series: { stepS: number; streams: { t: number[]; values: Record<string, (number | null)[]> }[] }
}

let h: AnalyzerHarness
let clock = lastTs + 1000

async function replayCall(
  app: string,
  session: string,
  call: (typeof calls)['clean'],
  variant: string,
  ua: string,
): Promise<void> {
  const meta = { variant }
  await replayPeer(h.streamUrl, { app, session, peer: 'a', ua, meta }, [{ pc: 'pc1', reports: call.sender }])
  await replayPeer(h.streamUrl, { app, session, peer: 'b', ua: FIREFOX, meta }, [
    { pc: 'pc1', reports: call.receiver },
  ])
}

beforeAll(async () => {
  h = await startAnalyzerHarness({
    now: () => clock,
    apiKeys: [
      { app: 'demo', key: DEMO_KEY },
      { app: 'other', key: OTHER_KEY },
      { app: '*', key: ADMIN_KEY },
    ],
    config: { idleMs: 20_000, windowMs: 60_000 },
  })
  await replayCall('demo', 'clean', calls.clean, 'clean', CHROME)
  await replayCall('demo', 'freeze', calls.freeze, 'freeze', CHROME)
  await replayCall('other', 'clean', calls.clean, 'clean', CHROME)
})

afterAll(async () => {
  await h?.stop()
})

describe('analyzer scheduling', () => {
  it('scores active sessions live, finalises on goodbye, then on idle time', async () => {
    const first = await h.analyzer.tick()
    expect(first.live.map((a) => `${a.app}/${a.session}`).sort()).toEqual([
      'demo/clean',
      'demo/freeze',
      'other/clean',
    ])
    expect(first.finalized).toEqual([])
    const live = await h.get<{ sessions: { session: string; final: boolean }[] }>(
      '/api/v1/sessions?app=demo',
      DEMO_KEY,
    )
    expect(live.body.sessions.map((s) => [s.session, s.final]).sort()).toEqual([
      ['clean', false],
      ['freeze', false],
    ])

    // Both peers of `freeze` say goodbye on the monitor channel: finalised at the next pass.
    clock += 2000
    for (const peer of ['a', 'b']) {
      // The hello a reconnecting SDK sends: the same as before. `peers` keeps one row per session and
      // peer once merged (ReplacingMergeTree), the latest hello's, so a bare hello would erase the
      // browser and tags of the first one.
      const again = { ua: peer === 'a' ? CHROME : FIREFOX, meta: { variant: 'freeze' } }
      const f = await openFeeder(h.streamUrl, { app: 'demo', session: 'freeze', peer, ...again })
      f.event('_', 'bye', { reason: 'hangup' }, lastTs + 500)
      await f.close()
    }
    const second = await h.analyzer.tick()
    expect(second.finalized.map((a) => a.session)).toEqual(['freeze'])

    // Nothing new for longer than idleMs: the rest is finalised.
    clock += 20_000
    const third = await h.analyzer.tick()
    expect(third.finalized.map((a) => `${a.app}/${a.session}`).sort()).toEqual(['demo/clean', 'other/clean'])
    const done = await h.get<{ sessions: { session: string; final: boolean }[] }>(
      '/api/v1/sessions?app=demo',
      DEMO_KEY,
    )
    expect(done.body.sessions.every((s) => s.final)).toBe(true)
    expect((await h.analyzer.tick()).finalized).toEqual([])
  })
})

describe('analyzer API', () => {
  it('scores the clean recorded call at least 8.5 with no issues', async () => {
    const { status, body } = await h.get<Detail>('/api/v1/sessions/clean?app=demo', DEMO_KEY)
    expect(status).toBe(200)
    expect(body.final).toBe(true)
    expect(body.score.overall).toBeGreaterThanOrEqual(8.5)
    expect(body.score.audio.mos).toBeGreaterThan(4.2)
    expect(body.issues).toEqual([])
    // Each direction is one leg seen from both ends: a's outbound pairs with b's inbound.
    const inVideo = body.streams.find((s) => s.peer === 'b' && s.kind === 'video')
    expect(inVideo?.remotePeer).toBe('a')
    expect(inVideo?.aggregates).toMatchObject({ width: 640, height: 360, freeze_count: 0 })
    expect(inVideo?.aggregates.bitrate_cv as number).toBeLessThan(0.2)
    expect(body.peers.map((p) => p.browser)).toEqual(['Chrome 131', 'Firefox 133'])
  })

  it('scores the call with withheld video clearly lower and reports the freeze with its evidence', async () => {
    const clean = (await h.get<Detail>('/api/v1/sessions/clean?app=demo', DEMO_KEY)).body
    const { body } = await h.get<Detail>('/api/v1/sessions/freeze?app=demo', DEMO_KEY)
    expect(body.score.overall).toBeLessThan(clean.score.overall - 1)
    expect(body.score.video.penalties.freezes).toBeGreaterThan(1)
    const freeze = body.issues.find((i) => i.type === 'freeze')
    expect(freeze).toBeDefined()
    // Frames were withheld for 6 s: 5 s without packets plus the freeze counted when video resumed.
    expect(freeze?.evidence.frozen_s as number).toBeGreaterThanOrEqual(5)
    expect(Date.parse(freeze?.end as string) - Date.parse(freeze?.start as string)).toBeGreaterThanOrEqual(
      4000,
    )
  })

  it('returns per-second series and answers one session within the latency target', async () => {
    const { body, ms } = await h.get<Detail>('/api/v1/sessions/freeze?app=demo', DEMO_KEY)
    expect(body.series.stepS).toBe(1)
    const s = body.series.streams[0]
    expect(s?.t.length).toBe(30)
    expect(s?.values.bitrate_bps?.length).toBe(30)
    const timings: number[] = []
    for (let i = 0; i < 5; i++) timings.push((await h.get('/api/v1/sessions/freeze?app=demo', DEMO_KEY)).ms)
    timings.sort((a, b) => a - b)
    // DESIGN.md target is 50 ms on an idle machine; the suite runs in parallel, so this only catches
    // regressions by an order of magnitude. The measured median is printed for the report.
    console.log(`session detail: first ${ms.toFixed(1)} ms, median of 5 ${timings[2]?.toFixed(1)} ms`)
    expect(timings[2]).toBeLessThan(500)
  })

  it('filters the session list by score, issue, codec and browser', async () => {
    const list = async (q: string): Promise<string[]> =>
      (
        await h.get<{ sessions: { session: string }[] }>(`/api/v1/sessions?app=demo${q}`, DEMO_KEY)
      ).body.sessions
        .map((s) => s.session)
        .sort()
    expect(await list('')).toEqual(['clean', 'freeze'])
    expect(await list('&scoreBelow=8.5')).toEqual(['freeze'])
    expect(await list('&issue=freeze')).toEqual(['freeze'])
    expect(await list('&issue=high_rtt')).toEqual([])
    expect(await list('&codec=vp8')).toEqual(['clean', 'freeze'])
    expect(await list('&codec=h264')).toEqual([])
    expect(await list('&browser=firefox')).toEqual(['clean', 'freeze'])
    expect(await list('&browser=safari')).toEqual([])
    expect(await list(`&to=${Math.floor(lastTs) - 3_600_000}`)).toEqual([])
    expect((await h.get('/api/v1/sessions?app=demo&issue=nonsense', DEMO_KEY)).status).toBe(400)
  })

  it('compares two groups of sessions with a difference and its interval', async () => {
    const { status, body } = await h.get<{
      a: { sessions: number; overall: { mean: number }; issueShare: Record<string, number> }
      b: { sessions: number; overall: { mean: number }; issueShare: Record<string, number> }
      diff: Record<string, unknown>
    }>('/api/v1/compare?app=demo&by=tag:variant&a=clean&b=freeze', DEMO_KEY)
    expect(status).toBe(200)
    expect(body.a.sessions).toBe(1)
    expect(body.b.sessions).toBe(1)
    expect(body.a.overall.mean).toBeGreaterThan(body.b.overall.mean)
    expect(body.b.issueShare.freeze).toBe(1)
    // One session per group: its means, and no variance, so no interval (and it says so).
    expect(body.diff.overall).toMatchObject({
      ci95: null,
      significant: null,
      note: 'one session in group a and b: no interval',
    })
    expect((body.diff.overall as { aMinusB: number }).aMinusB).toBeCloseTo(
      body.a.overall.mean - body.b.overall.mean,
      2,
    )
    expect(body.a).toMatchObject({ note: 'one session: no interval', failed: 0 })
    const codec = await h.get<{ a: { videoStreams: { streams: number; bitrate_cv: number } } }>(
      '/api/v1/compare?app=demo&by=codec&a=VP8&b=H264',
      DEMO_KEY,
    )
    expect(codec.body.a.videoStreams.streams).toBe(4)
    expect(codec.body.a.videoStreams.bitrate_cv).toBeGreaterThan(0)
  })

  it('requires a key of the requested app', async () => {
    expect((await h.get('/api/v1/sessions?app=demo')).status).toBe(401)
    expect((await h.get('/api/v1/sessions?app=demo', 'wrong-key-0123456789')).status).toBe(401)
    expect((await h.get('/api/v1/sessions?app=demo', OTHER_KEY)).status).toBe(403)
    expect((await h.get('/api/v1/sessions/clean?app=demo', OTHER_KEY)).status).toBe(403)
    expect((await h.get('/api/v1/sessions?app=demo', ADMIN_KEY)).status).toBe(200)
    expect((await h.get('/api/v1/sessions')).status).toBe(400)
    // The same session id in another app is that app's own session.
    const other = await h.get<{ sessions: { session: string }[] }>('/api/v1/sessions?app=other', OTHER_KEY)
    expect(other.body.sessions.map((s) => s.session)).toEqual(['clean'])
    expect((await h.get('/api/v1/sessions/freeze?app=other', OTHER_KEY)).status).toBe(404)
  })

  it('exposes Prometheus metrics per app', async () => {
    const { status, body } = await h.get<string>('/metrics/analyzer')
    expect(status).toBe(200)
    expect(body).toContain('rtcpulse_analyzer_sessions_scored_total{app="demo"} 2')
    expect(body).toContain('rtcpulse_analyzer_sessions_scored_total{app="other"} 1')
    expect(body).toContain('rtcpulse_analyzer_session_score_count{app="demo"} 2')
    // Labels in the order the scheduler passes them (Prometheus matches labels by name, not position).
    expect(body).toContain('rtcpulse_analyzer_issues_total{app="demo",type="freeze",severity="critical"} 1')
    expect(body).toMatch(/rtcpulse_analyzer_poor_session_ratio\{app="demo"\} 0\b/)
  })
})

// Issue 11: a session whose only data is a refused getUserMedia is a session (listed, shown, with an
// issue naming the error); issue 10: it is a failed outcome, never a score, and counts as poor.
describe('setup failures and compare', () => {
  const deniedAt = lastTs + 30_000

  it('compares final scores only unless live=true', async () => {
    // Another `clean` call, scored live only: the default comparison must not see it.
    await replayCall('demo', 'clean-live', calls.clean, 'clean', CHROME)
    const pass = await h.analyzer.tick()
    expect(pass.live.map((a) => a.session)).toContain('clean-live')
    type Cmp = { live: boolean; a: { sessions: number; note?: string }; diff: { overall: Json | null } }
    const q = '/api/v1/compare?app=demo&by=tag:variant&a=clean&b=freeze'
    const final = (await h.get<Cmp>(q, DEMO_KEY)).body
    expect(final.live).toBe(false)
    expect(final.a.sessions).toBe(1)
    const live = (await h.get<Cmp>(`${q}&live=true`, DEMO_KEY)).body
    expect(live.live).toBe(true)
    expect(live.a.sessions).toBe(2)
    expect(live.a.note).toBeUndefined()
    // Group a has two sessions now, group b still one: still no interval, and it says which group.
    expect(live.diff.overall).toMatchObject({ ci95: null, note: 'one session in group b: no interval' })
  })

  it('lists, shows and raises an issue for a camera-denied session with nothing but its error', async () => {
    const client = await connect(h.streamUrl)
    client.send(helloFor('denied', { app: 'demo', peer: 'alice' }))
    await client.waitFor((f) => f.t === 'welcome')
    client.send({
      t: 'event',
      pc: '_',
      seq: 1,
      ts: deniedAt,
      name: 'getUserMedia.error',
      data: { name: 'NotAllowedError', message: 'Permission denied', constraint: '' },
    })
    await client.waitFor((f) => f.t === 'ack' && f.seq._ === 1)
    client.close()

    type D = Json & { issues: { type: string; severity: string; detail: string }[]; peers: Json[] }
    // Shown before the analyzer has scored it (analysed on request), then once scored.
    const early = await h.get<D>('/api/v1/sessions/denied?app=demo', DEMO_KEY)
    expect(early.status).toBe(200)
    expect(early.body).toMatchObject({ stored: false, outcome: 'setup_failed' })

    clock = deniedAt + 1000
    await h.analyzer.tick()
    clock += 20_000
    const done = await h.analyzer.tick()
    expect(done.finalized.map((a) => a.session)).toContain('denied')

    const { status, body } = await h.get<D>('/api/v1/sessions/denied?app=demo', DEMO_KEY)
    expect(status).toBe(200)
    expect(body).toMatchObject({
      final: true,
      stored: true,
      outcome: 'setup_failed',
      outcomeReason: 'media_access_denied',
      outcomeDetail: 'getUserMedia failed with NotAllowedError: Permission denied',
      score: { overall: null, audio: null, video: null, legs: 0 },
    })
    expect(body.peers).toMatchObject([{ peer: 'alice', outcome: 'setup_failed' }])
    expect(body.issues).toMatchObject([
      {
        type: 'media_access_denied',
        severity: 'critical',
        detail: 'getUserMedia failed with NotAllowedError: Permission denied',
      },
    ])

    type L = { sessions: { session: string; outcome: string; overall: number | null }[] }
    const list = async (q: string): Promise<L['sessions']> =>
      (await h.get<L>(`/api/v1/sessions?app=demo${q}`, DEMO_KEY)).body.sessions
    expect((await list('')).find((s) => s.session === 'denied')).toMatchObject({
      outcome: 'setup_failed',
      overall: null,
    })
    expect((await list('&outcome=setup_failed')).map((s) => s.session)).toEqual(['denied'])
    expect((await list('&outcome=ok')).map((s) => s.session)).not.toContain('denied')
    expect((await list('&issue=media_access_denied')).map((s) => s.session)).toEqual(['denied'])
    // A failed session has no score, so it is below any threshold.
    expect((await list('&scoreBelow=1')).map((s) => s.session)).toEqual(['denied'])
    expect((await h.get('/api/v1/sessions?app=demo&outcome=broken', DEMO_KEY)).status).toBe(400)

    const metrics = (await h.get<string>('/metrics/analyzer')).body
    expect(metrics).toContain(
      'rtcpulse_analyzer_failed_sessions_total{app="demo",outcome="setup_failed",reason="media_access_denied"} 1',
    )
    // Poor: the failed session among the demo sessions finalised in the last hour.
    const poor = /rtcpulse_analyzer_poor_session_ratio\{app="demo"\} ([\d.]+)/.exec(metrics)
    expect(Number(poor?.[1])).toBeGreaterThan(0)
  })

  it('keeps a refused camera that preceded a good call as an issue, not as a failure', async () => {
    const first = (calls.clean.sender[0] as Report)[0]?.timestamp as number
    const f = await openFeeder(h.streamUrl, { app: 'demo', session: 'denied-then-ok', peer: 'a' })
    f.event(
      '_',
      'getUserMedia.error',
      { name: 'NotAllowedError', message: 'Permission denied' },
      first - 5000,
    )
    await f.close()
    await replayCall('demo', 'denied-then-ok', calls.clean, 'retry', CHROME)
    type D = Json & { score: { overall: number }; issues: { type: string; severity: string }[] }
    const { body } = await h.get<D>('/api/v1/sessions/denied-then-ok?app=demo&series=0', DEMO_KEY)
    expect(body).toMatchObject({ stored: false, outcome: 'ok', outcomeReason: '' })
    expect(body.score.overall).toBeGreaterThanOrEqual(8.5)
    // Its media flowed after all: the refusal is a warning, not a setup failure.
    expect(body.issues.map((i) => `${i.type}/${i.severity}`)).toEqual(['media_access_denied/warning'])
  })
})
