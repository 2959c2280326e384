// The API reads the analyzer's tables without FINAL (analyzer/latest.ts): every re-scoring of a session
// adds rows (live windows, the final score, a re-scoring after a late frame re-opened the session) that
// only a background merge collapses. This guards that the newest scoring of each key wins in the session
// list, the comparison and a session's detail while the older rows are still stored — the same answer
// FINAL gives — including a session whose newest scoring is live again, and one whose codec changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { queryBatch } from '../../analyzer/batch.ts'
import {
  sessionEventsSql,
  streamAggregates,
  streamColumns,
  transportAggregates,
  transportDetail,
} from '../../analyzer/queries.ts'
import { compareGroups, listSessions } from '../../analyzer/read.ts'
import { storedAnalysis } from '../../analyzer/stored.ts'
import type { Store } from '../../store/index.ts'
import { openStore } from '../../store/open.ts'
import { guid, testDataDir } from '../helpers/collector.ts'

const APP = 'latest'
// A whole hour a day before the test runs: inside every table's retention whatever the date.
const T = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 86_400_000
const iso = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
const RANGE = { from: T - 3_600_000, to: T + 3_600_000 }

/** One scoring of a session: its session row and one peer row, and one video stream and one issue. */
function scoring(o: {
  session: string
  at: number
  final: 0 | 1
  overall: number
  codec: string
  endedAt: number
  severity: 'warning' | 'critical'
}): { scores: object[]; streams: object[]; issues: object[] } {
  const times = {
    scored_at: iso(o.at),
    started_at: iso(T - 600_000),
    ended_at: iso(o.endedAt),
    window_start: iso(T - 600_000),
    window_end: iso(o.endedAt),
  }
  const row = {
    app_id: APP,
    session_id: o.session,
    score_version: 4,
    final: o.final,
    ...times,
    peers: 1,
    legs: 1,
    overall: o.overall,
    video_score: o.overall,
    audio_mos: 4,
    codecs: [o.codec, 'opus'],
    browsers: ['Chrome 131'],
    issue_types: ['freeze'],
  }
  return {
    scores: [
      { ...row, peer_id: '' },
      { ...row, peer_id: 'alice' },
    ],
    streams: [
      {
        app_id: APP,
        session_id: o.session,
        peer_id: 'alice',
        pc_id: 'pc1',
        stream_id: 'in-video',
        score_version: 4,
        scored_at: times.scored_at,
        final: o.final,
        direction: 'inbound',
        kind: 'video',
        codec: o.codec,
        started_at: times.started_at,
        ended_at: times.ended_at,
        seconds: 600,
        active_seconds: 600,
        bitrate_mean: o.overall * 100_000,
        fps_mean: 30,
        video_score: o.overall,
      },
    ],
    issues: [
      {
        app_id: APP,
        session_id: o.session,
        peer_id: 'alice',
        pc_id: 'pc1',
        stream_id: 'in-video',
        type: 'freeze',
        start: iso(T - 300_000),
        end: iso(T - 290_000),
        severity: o.severity,
        detail: `${o.severity} at ${o.at - T}`,
        score_version: 4,
        scored_at: times.scored_at,
        final: o.final,
      },
    ],
  }
}

// Oldest first; each scoring is its own INSERT, so its own part, and merges are stopped.
const SCORINGS = [
  // Live, then final: the final one counts.
  { session: 'live-then-final', at: T, final: 0, overall: 4, codec: 'VP8', endedAt: T - 60_000 },
  { session: 'live-then-final', at: T + 30_000, final: 1, overall: 8, codec: 'VP8', endedAt: T },
  // Final, then live again after a late frame: it is not final any more, so compare skips it.
  { session: 'reopened', at: T, final: 1, overall: 9, codec: 'VP8', endedAt: T },
  { session: 'reopened', at: T + 60_000, final: 0, overall: 3, codec: 'VP8', endedAt: T + 50_000 },
  // Re-scored final with another codec: only the newest codec counts.
  { session: 'codec-changed', at: T, final: 1, overall: 2, codec: 'H264', endedAt: T },
  { session: 'codec-changed', at: T + 90_000, final: 1, overall: 6, codec: 'VP8', endedAt: T },
] as const

describe('reads of re-scored sessions without FINAL', () => {
  let store: Store
  beforeAll(async () => {
    store = await openStore({ dataDir: testDataDir(), database: guid('latest'), clickhouse: undefined })
    for (const t of ['scores', 'stream_scores', 'issues', 'stream_seconds', 'transport_seconds', 'events'])
      await store.exec(`SYSTEM STOP MERGES ${t}`)
    for (const s of SCORINGS) {
      const rows = scoring({ ...s, severity: s.final ? 'critical' : 'warning' })
      await store.insert('scores', rows.scores)
      await store.insert('stream_scores', rows.streams)
      await store.insert('issues', rows.issues)
    }
  })
  afterAll(async () => {
    await store?.close()
  })

  it('still stores every scoring (the reads below must dedupe)', async () => {
    const [n] = await store.query<{ rows: number; final: number }>(
      `SELECT (SELECT count() FROM scores WHERE app_id = {app:String}) AS rows,
         (SELECT count() FROM scores FINAL WHERE app_id = {app:String}) AS final`,
      { app: APP },
    )
    expect(n).toEqual({ rows: 12, final: 6 })
  })

  it('lists each session once, as its newest scoring', async () => {
    const list = await listSessions(store, { app: APP, ...RANGE, limit: 100, offset: 0 })
    const got = Object.fromEntries(list.map((s) => [s.session, { overall: s.overall, final: s.final }]))
    expect(got).toEqual({
      'live-then-final': { overall: 8, final: true },
      reopened: { overall: 3, final: false },
      'codec-changed': { overall: 6, final: true },
    })
    // The same as FINAL.
    const ref = await store.query<{ session_id: string; overall: number }>(
      `SELECT session_id, overall FROM scores FINAL WHERE app_id = {app:String} AND peer_id = ''`,
      { app: APP },
    )
    expect(Object.fromEntries(ref.map((r) => [r.session_id, r.overall]))).toEqual(
      Object.fromEntries(list.map((s) => [s.session, s.overall])),
    )
    const finals = await listSessions(store, { app: APP, ...RANGE, final: true, limit: 100, offset: 0 })
    expect(finals.map((s) => s.session).sort()).toEqual(['codec-changed', 'live-then-final'])
    const h264 = await listSessions(store, { app: APP, ...RANGE, codec: 'h264', limit: 100, offset: 0 })
    expect(h264).toEqual([])
  })

  it('compares the newest final scorings only', async () => {
    const c = await compareGroups(store, { app: APP, by: 'codec', a: 'VP8', b: 'H264', ...RANGE })
    // VP8: live-then-final (8) and codec-changed (6); `reopened` is live now; nothing is H.264 any more.
    expect(c.a).toMatchObject({ sessions: 2, overall: { mean: 7, n: 2 } })
    expect(c.a.videoStreams).toMatchObject({ streams: 2, bitrate_mean: 700_000, video_score: 7 })
    expect(c.b).toMatchObject({ sessions: 0, overall: { mean: null, n: 0 } })
    expect(c.b.videoStreams).toMatchObject({ streams: 0, bitrate_mean: null })
    const live = await compareGroups(store, {
      app: APP,
      by: 'codec',
      a: 'VP8',
      b: 'H264',
      ...RANGE,
      live: true,
    })
    expect(live.a).toMatchObject({ sessions: 3, overall: { mean: 5.66667, n: 3 } })
  })

  it('lists a scoring written twice (an insert retried after it landed) once, with its filters', async () => {
    // Last in this file's order of scorings: the list tests above count three sessions.
    const twice = scoring({
      session: 'written-twice',
      at: T + 120_000,
      final: 1,
      overall: 5,
      codec: 'H264',
      endedAt: T,
      severity: 'critical',
    })
    await store.insert('scores', twice.scores)
    await store.insert('scores', twice.scores)
    for (const f of [{}, { codec: 'H264' }, { scoreBelow: 6 }, { final: true }]) {
      const list = await listSessions(store, { app: APP, ...RANGE, ...f, limit: 100, offset: 0 })
      expect(list.filter((s) => s.session === 'written-twice')).toHaveLength(1)
    }
    const page = await listSessions(store, { app: APP, ...RANGE, codec: 'h264', limit: 1, offset: 0 })
    expect(page.map((s) => [s.session, s.overall])).toEqual([['written-twice', 5]])
  })

  it("shows a session's newest scores, streams and issues", async () => {
    const a = await storedAnalysis(store, APP, 'live-then-final')
    expect(a).toMatchObject({ final: true, score: { overall: 8 }, scoredAt: T + 30_000 })
    expect(a?.peers.map((p) => [p.peer, p.score.overall])).toEqual([['alice', 8]])
    expect(a?.streams.map((s) => [s.stream, s.aggregates.bitrate_mean])).toEqual([['in-video', 800_000]])
    expect(a?.issues.map((i) => [i.type, i.severity])).toEqual([['freeze', 'critical']])
    const r = await storedAnalysis(store, APP, 'reopened')
    expect(r).toMatchObject({ final: false, score: { overall: 3 } })
    expect(r?.issues.map((i) => i.severity)).toEqual(['warning'])
  })

  it('keeps the last stored copy of a per-second row in the detail series, as FINAL does', async () => {
    // Seconds 1–3 of one stream and pc; second 2 stored again later with other values (a resend
    // re-derived after a crash, say): the series must hold it once, with the later values.
    const key = { app_id: APP, session_id: 'resent', peer_id: 'alice', pc_id: 'pc1' }
    const second = (seq: number, bitrate: number): { stream: object; transport: object } => ({
      stream: {
        ...key,
        stream_id: 'out-video',
        seq,
        ts: iso(T + seq * 1000),
        direction: 'outbound',
        kind: 'video',
        bitrate_bps: bitrate,
      },
      transport: { ...key, seq, ts: iso(T + seq * 1000), rtt_ms: bitrate / 1000 },
    })
    const first = [second(1, 1000), second(2, 2000), second(3, 3000)]
    await store.insert(
      'stream_seconds',
      first.map((r) => r.stream),
    )
    await store.insert(
      'transport_seconds',
      first.map((r) => r.transport),
    )
    await store.insert('stream_seconds', [second(2, 2500).stream])
    await store.insert('transport_seconds', [second(2, 2500).transport])
    const scope = { app: APP, sessions: ['resent'], from: 0, to: T + 3_600_000 }
    const [cols] = await streamColumns(store, scope, ['bitrate_bps'])
    expect(cols?.t).toEqual([T + 1000, T + 2000, T + 3000])
    expect(cols?.values.bitrate_bps).toEqual([1000, 2500, 3000])
    const ref = await store.query<{ b: number }>(
      `SELECT bitrate_bps AS b FROM stream_seconds FINAL WHERE session_id = 'resent' ORDER BY seq`,
    )
    expect(ref.map((r) => r.b)).toEqual(cols?.values.bitrate_bps)
    const [tr] = await transportDetail(store, scope)
    expect(tr?.seconds).toBe(3)
    expect(tr?.series.map((x) => x[1])).toEqual([1, 2.5, 3])
  })

  it('keeps one copy of each resent event in the detail, as FINAL does', async () => {
    // A reconnect resends the unacknowledged frames: the same events, stored a second time.
    const ev = (seq: number, state: string): object => ({
      app_id: APP,
      session_id: 'resent-events',
      peer_id: 'alice',
      pc_id: 'pc1',
      seq,
      ts: iso(T + seq * 1000),
      name: 'connectionstatechange',
      data: JSON.stringify({ state }),
    })
    await store.insert('events', [ev(1, 'connecting'), ev(2, 'connected'), ev(3, 'disconnected')])
    await store.insert('events', [ev(2, 'connected'), ev(3, 'disconnected')])
    await store.insert('events', [{ ...ev(4, ''), name: 'bye', data: '' }])
    const p = { app: APP, sessions: ['resent-events'] }
    const [stored] = await store.query<{ n: number }>(
      `SELECT count() AS n FROM events WHERE session_id = 'resent-events'`,
    )
    expect(stored?.n).toBe(6)
    const got = await queryBatch(store, { latest: sessionEventsSql(false), final: sessionEventsSql(true) }, p)
    expect(got.latest.map((e) => e.data)).toEqual([
      '{"state":"connecting"}',
      '{"state":"connected"}',
      '{"state":"disconnected"}',
      '',
    ])
    expect(got.latest).toEqual(got.final)
  })

  it('aggregates a session with a resent second as FINAL does, keeping the order of the batch', async () => {
    // The aggregates read without FINAL and re-read with it only the sessions where a key repeats
    // (latest.ts resendSafe). agg-a and agg-c hold second 3 twice (the later copy with other values),
    // agg-b none: each must count 6 seconds, with the later values, in session order.
    const row = (session: string, seq: number, bitrate: number): { stream: object; transport: object } => {
      const key = { app_id: APP, session_id: session, peer_id: 'bob', pc_id: 'pc1' }
      const ts = iso(T + seq * 1000)
      return {
        stream: {
          ...key,
          stream_id: 'out-video',
          seq,
          ts,
          direction: 'outbound',
          kind: 'video',
          active: 1,
          bitrate_bps: bitrate,
        },
        transport: { ...key, seq, ts, rtt_ms: bitrate / 1000 },
      }
    }
    for (const session of ['agg-a', 'agg-b', 'agg-c']) {
      const rows = [1, 2, 3, 4, 5, 6].map((seq) => row(session, seq, seq * 1000))
      await store.insert(
        'stream_seconds',
        rows.map((r) => r.stream),
      )
      await store.insert(
        'transport_seconds',
        rows.map((r) => r.transport),
      )
      if (session === 'agg-b') continue
      await store.insert('stream_seconds', [row(session, 3, 9000).stream])
      await store.insert('transport_seconds', [row(session, 3, 9000).transport])
    }
    const scope = { app: APP, sessions: ['agg-c', 'agg-b', 'agg-a'], from: 0, to: T + 3_600_000 }
    const aggs = await streamAggregates(store, scope, 30)
    expect(aggs.map((a) => [a.session_id, a.seconds, a.bitrate_mean])).toEqual([
      ['agg-a', 6, 27_000 / 6],
      ['agg-b', 6, 21_000 / 6],
      ['agg-c', 6, 27_000 / 6],
    ])
    expect(aggs.every((a) => !('resent' in a))).toBe(true)
    const trs = await transportAggregates(store, scope)
    expect(trs.map((t) => [t.session_id, t.seconds, t.rtt_ms])).toEqual([
      ['agg-a', 6, 27 / 6],
      ['agg-b', 6, 21 / 6],
      ['agg-c', 6, 27 / 6],
    ])
    expect(trs.every((t) => !('resent' in t))).toBe(true)
  })
})
