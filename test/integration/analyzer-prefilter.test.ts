// The detectors' thresholds and their SQL prefilter are one set of constants (analyzer/thresholds.ts),
// and this holds them to the same answer: on random streams whose per-second values straddle every
// threshold, the analyzer (which reads only the streams and seconds its SQL flags) finds exactly the
// issues the detectors find on every second of every stream. A prefilter weaker than its detector would
// hide issues; under score_version 6 the MOS prefilter left out the estimated jitter buffer and the
// 20 ms of packetisation and let 1–2% loss through, under which the E-model can fall below 3.5.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { analyzeSessions } from '../../analyzer/analyze.ts'
import { detectIssues } from '../../analyzer/issues.ts'
import type { Issue, StreamSeries } from '../../analyzer/issues.ts'
import { detectorSeries, streamAggregates } from '../../analyzer/queries.ts'
import { oneWayDelayMs, oneWayDelaySql } from '../../analyzer/score.ts'
import { createChdbStore } from '../../store/chdb.ts'
import type { Store } from '../../store/index.ts'
import { migrate, removeRetention } from '../../store/migrate.ts'
import { guid, testDataDir } from '../helpers/collector.ts'
import { prng } from '../helpers/prng.ts'

const APP = 'prefilter'
const T0 = 1_790_000_000_000
const SECONDS = 40
let store: Store

beforeAll(async () => {
  store = await createChdbStore({ dataDir: testDataDir(), database: guid('prefilter') })
  await migrate(store)
  await removeRetention(store)
})
afterAll(async () => {
  await store?.close()
})

type Kind = 'audio' | 'video'
type Direction = 'inbound' | 'outbound'

/** One random stream: calm seconds with bursts that cross each threshold by a little or a lot. */
function streamRows(
  rand: () => number,
  session: string,
  id: string,
  kind: Kind,
  direction: Direction,
  /** Seconds every inbound stream of the pc goes without packets (no_inbound_media). */
  pcSilence?: [number, number],
): object[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T
  // Each stream gets a few bursts of one condition; values near the thresholds are the interesting ones.
  const bursts = Array.from({ length: 3 }, () => ({
    at: Math.floor(rand() * SECONDS),
    len: 1 + Math.floor(rand() * 6),
    what: pick([
      'loss',
      'jitter',
      'rtt',
      'jb',
      'conceal',
      'silent',
      'freeze',
      'keyframes',
      'limited',
    ] as const),
    level: rand(),
  }))
  const rows: object[] = []
  for (let i = 0; i < SECONDS; i++) {
    const b = bursts.find((x) => i >= x.at && i < x.at + x.len)
    const on = (w: string): number | undefined => (b?.what === w ? b.level : undefined)
    const lv = (w: string, calm: number, lo: number, hi: number): number => {
      const l = on(w)
      return l === undefined ? calm : lo + l * (hi - lo)
    }
    const pcSilent = pcSilence !== undefined && i >= pcSilence[0] && i < pcSilence[1]
    const active = on('silent') !== undefined || pcSilent ? 0 : 1
    const audio = kind === 'audio'
    const h = on('limited') !== undefined ? 180 : 360
    rows.push({
      app_id: APP,
      session_id: session,
      peer_id: 'p',
      pc_id: direction === 'inbound' ? 'recv' : 'send',
      stream_id: id,
      seq: i + 1,
      ts: T0 + i * 1000,
      interval_ms: 1000,
      direction,
      kind,
      ssrc: 0,
      mid: '0',
      codec: audio ? pick(['opus', 'opus', 'PCMU']) : 'VP8',
      active,
      bitrate_bps: active ? (audio ? pick([8000, 12_000, 32_000]) : 600_000 + 100_000 * rand()) : 0,
      packets_per_s: active ? (audio ? 50 : 60) : 0,
      packets_lost: 0,
      loss_ratio: lv('loss', 0, 0.005, 0.08),
      jitter_ms: lv('jitter', 5 + 10 * rand(), 20, 130),
      rtt_ms: lv('rtt', 40 + 40 * rand(), 150, 1200),
      jb_delay_ms: direction === 'inbound' ? lv('jb', 40, 60, 260) : null,
      concealment_ratio: audio && direction === 'inbound' ? lv('conceal', 0, 0.005, 0.06) : null,
      audio_level: audio ? 0.2 : null,
      fps: audio ? null : lv('freeze', 30, 0, 2),
      width: audio ? 0 : (h * 16) / 9,
      height: audio ? 0 : h,
      freeze_count:
        !audio && direction === 'inbound' ? (on('freeze') !== undefined && rand() < 0.5 ? 1 : 0) : null,
      frozen_share: !audio && direction === 'inbound' ? lv('freeze', 0, 0.1, 0.9) : null,
      keyframes: audio ? null : on('keyframes') !== undefined ? 1 + Math.floor(3 * rand()) : 0,
      pli_per_s: audio ? null : 0,
      limitation: on('limited') !== undefined ? 'bandwidth' : 'none',
      limit_bandwidth_share: audio || direction === 'inbound' ? null : on('limited') !== undefined ? 1 : 0,
      limit_cpu_share: audio || direction === 'inbound' ? null : 0,
      source_fps: !audio && direction === 'outbound' ? 30 : null,
      source_width: !audio && direction === 'outbound' ? 640 : 0,
      source_height: !audio && direction === 'outbound' ? 360 : 0,
      available_out_bps:
        !audio && direction === 'outbound' ? lv('limited', 5_000_000, 200_000, 1_000_000) : null,
    })
  }
  return rows
}

const key = (i: Issue): string => `${i.type} ${i.pc} ${i.stream} ${i.start}-${i.end} ${i.severity}`

describe('detector thresholds and their SQL prefilter', () => {
  it('find the same issues on random streams straddling every threshold', async () => {
    const rand = prng(20261203)
    const sessions: string[] = []
    const rows: object[] = []
    for (let n = 0; n < 24; n++) {
      const session = `s${n}`
      sessions.push(session)
      for (const [kind, direction] of [
        ['audio', 'inbound'],
        ['audio', 'outbound'],
        ['video', 'inbound'],
        ['video', 'outbound'],
      ] as const)
        rows.push(
          ...streamRows(
            rand,
            session,
            `${kind}-${direction}`,
            kind,
            direction,
            direction === 'inbound' && n % 6 === 0 ? [20, 24 + (n % 4)] : undefined,
          ),
        )
    }
    // And the case the score_version 6 prefilter missed: a sender's audio at its old bounds (1% loss,
    // 30 ms jitter, RTT/2 + measured jitter buffer = 150 ms) whose E-model, with the estimated jitter
    // buffer and the packetisation delay (d = 250 ms), is MOS 3.4 for 12 s.
    sessions.push('edge')
    rows.push(
      ...streamRows(prng(1), 'edge', 'audio-outbound', 'audio', 'outbound').map((r, i) =>
        i >= 10 && i < 22
          ? { ...r, codec: 'opus', bitrate_bps: 12_000, loss_ratio: 0.01, jitter_ms: 30, rtt_ms: 300 }
          : { ...r, codec: 'opus', bitrate_bps: 12_000, loss_ratio: 0, jitter_ms: 5, rtt_ms: 40 },
      ),
    )
    await store.insert('stream_seconds', rows)

    const analysed = await analyzeSessions(store, APP, sessions, { expectedFps: 30, final: true })
    const scope = { app: APP, sessions, from: 0, to: 32503680000000 }
    const aggs = await streamAggregates(store, scope, 30)
    const full = await detectorSeries(store, scope, [...new Set(aggs.map((a) => a.stream_id))])
    let compared = 0
    for (const a of analysed) {
      const series: StreamSeries[] = full
        .filter((f) => f.session_id === a.session)
        .map((f) => {
          const g = aggs.find((x) => x.session_id === f.session_id && x.stream_id === f.stream_id)
          if (!g) throw new Error(`no aggregates for ${f.stream_id}`)
          return {
            peer: f.peer_id,
            pc: f.pc_id,
            stream: f.stream_id,
            direction: g.direction,
            kind: g.kind,
            codec: g.codec,
            codecRateBps: g.codec_rate_bps,
            rows: f.rows,
          }
        })
      const expected = detectIssues(series, [], [], { expectedFps: 30, end: a.endedAt })
      compared += expected.length
      expect(a.issues.map(key).sort(), a.session).toEqual(expected.map(key).sort())
    }
    // The random streams did raise issues of most kinds (else the comparison proves little).
    const types = new Set(analysed.flatMap((a) => a.issues.map((i) => i.type)))
    console.log(`prefilter agreement: ${compared} issues of types ${[...types].sort().join(', ')}`)
    for (const t of ['packet_loss', 'high_jitter', 'low_mos', 'freeze', 'keyframe_storm', 'no_inbound_media'])
      expect(types, t).toContain(t)
    const edge = analysed.find((a) => a.session === 'edge')
    expect(edge?.issues.map((i) => `${i.type} ${(i.end - i.start) / 1000}`)).toEqual(['low_mos 11'])
  }, 120_000)

  it('computes the E-model delay in SQL as score.ts does', async () => {
    const cases: [number | null, number | null, number | null][] = [
      [null, null, null],
      [60, 10, 100],
      [null, 30, 300],
      [200, null, null],
      [null, 45.5, 17],
    ]
    for (const [jb, jitter, rtt] of cases) {
      const v = (x: number | null): string => (x === null ? 'NULL' : String(x))
      const [row] = await store.query<{ d: number }>(
        `SELECT toFloat64(${oneWayDelaySql(v(jb), v(jitter), v(rtt))}) AS d`,
      )
      expect(row?.d, `${jb} ${jitter} ${rtt}`).toBeCloseTo(oneWayDelayMs(jb, jitter, rtt), 6)
    }
  })
})
