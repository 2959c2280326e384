// The per-stream aggregates computed in ClickHouse (analyzer/queries.ts) against hand-computed values on
// synthetic streams, on real chDB. Guards DESIGN.md invariant 1 on the read side (a resent row counts
// once), the ramp-up and muted-second rules of the bitrate CV, and that a counter reset is no spike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { analyzeSessions } from '../../analyzer/analyze.ts'
import type { StreamAnalysis } from '../../analyzer/analyze.ts'
import { sessionRows, storeSession } from '../../analyzer/offline.ts'
import { limitedBy } from '../../analyzer/detect-limitation.ts'
import { spanOf } from '../../analyzer/episodes.ts'
import { detectorSeries } from '../../analyzer/queries.ts'
import type { OfflineSession, Stat } from '../../analyzer/offline.ts'
import { targetBitrateBps, targetBitrateSql } from '../../analyzer/score.ts'
import { createChdbStore } from '../../store/chdb.ts'
import type { Store } from '../../store/index.ts'
import { migrate } from '../../store/migrate.ts'
import { guid, testDataDir } from '../helpers/collector.ts'

const T0 = 1_790_000_000_000
let store: Store

beforeAll(async () => {
  store = await createChdbStore({ dataDir: testDataDir(), database: guid('agg') })
  await migrate(store)
})
afterAll(async () => {
  await store?.close()
})

interface Second {
  bps: number
  /** No packets this second (muted or inactive). */
  muted?: boolean
  limitation?: string
  height?: number
  fps?: number
  resetBefore?: boolean
  /** The sender's bandwidth estimate this second (candidate-pair availableOutgoingBitrate), bps. */
  available?: number
}

/** One outbound video stream (ssrc 7) with the given per-second bitrates, as cumulative getStats() counters. */
function videoReports(seconds: Second[]): Stat[][] {
  let bytes = 0
  let packets = 0
  let frames = 0
  const durations: Record<string, number> = { none: 0, bandwidth: 0, cpu: 0, other: 0 }
  const reports: Stat[][] = []
  // Second 0 only primes the counters (its row has no rates).
  ;[{ bps: 0, muted: true } as Second, ...seconds].forEach((s, i) => {
    if (s.resetBefore) bytes = packets = frames = 0
    if (i > 0 && !s.muted) {
      bytes += s.bps / 8
      packets += Math.max(1, Math.round(s.bps / 8 / 1000))
      frames += s.fps ?? 30
    }
    const reason = s.limitation ?? 'none'
    if (i > 0) durations[reason] = (durations[reason] ?? 0) + 1
    const h = s.height ?? 720
    reports.push([
      {
        id: 'OT7',
        type: 'outbound-rtp',
        timestamp: T0 + i * 1000,
        kind: 'video',
        ssrc: 7,
        mid: '1',
        bytesSent: bytes,
        packetsSent: packets,
        framesEncoded: frames,
        frameWidth: (h * 16) / 9,
        frameHeight: h,
        qualityLimitationReason: reason,
        qualityLimitationDurations: { ...durations },
      },
      ...(s.available === undefined
        ? []
        : [
            {
              id: 'CP1',
              type: 'candidate-pair',
              timestamp: T0 + i * 1000,
              state: 'succeeded',
              nominated: true,
              availableOutgoingBitrate: s.available,
            },
          ]),
    ])
  })
  return reports
}

async function analyse(session: string, seconds: Second[]): Promise<StreamAnalysis> {
  const s: OfflineSession = {
    app: 'agg',
    session,
    peers: [{ peer: 'p' }],
    pcs: [{ peer: 'p', pc: 'pc', reports: videoReports(seconds) }],
  }
  await storeSession(store, s)
  const [a] = await analyzeSessions(store, 'agg', [session], { expectedFps: 30, final: true })
  return a?.streams[0] as StreamAnalysis
}

describe('stream aggregates', () => {
  it('computes the bitrate CV after ramp-up, without muted seconds', async () => {
    // Active bitrates (kbps): 100, 200, [muted], 1000, 1000, 1100, 900
    // Mean of the active seconds: 4300/6 = 716.67; ramp-up ends at the first second ≥ 358.33: the third
    // active one (2 s of ramp-up). Steady: 1000, 1000, 1100, 900 → μ 1000, σ = √((0+0+100²+100²)/4) = 70.71
    const s = await analyse('cv', [
      { bps: 100_000 },
      { bps: 200_000 },
      { bps: 0, muted: true },
      { bps: 1_000_000 },
      { bps: 1_000_000 },
      { bps: 1_100_000 },
      { bps: 900_000 },
    ])
    const a = s.aggregates
    expect(a.seconds).toBe(8)
    expect(a.active_seconds).toBe(6)
    expect(a.bitrate_mean).toBe(716_667)
    expect(a.ramp_up_s).toBe(2)
    expect(a.bitrate_sigma_kbps).toBeCloseTo(70.7, 1)
    expect(a.bitrate_cv).toBeCloseTo(0.0707, 3)
    // quantileExact: the element at floor(level·n) of the sorted active values.
    expect(a.bitrate_p50).toBe(1_000_000)
    expect(a.bitrate_p5).toBe(100_000)
    expect(a.bitrate_p95).toBe(1_100_000)
    expect(a.fps_mean).toBe(30)
  })

  it('counts a resent row once', async () => {
    const seconds = Array.from({ length: 10 }, (_, i) => ({ bps: 1_000_000 + (i % 3) * 100_000 }))
    const first = await analyse('dup', seconds)
    // The same frames stored again, as after a reconnect before the ack arrived.
    const rows = sessionRows({
      app: 'agg',
      session: 'dup',
      peers: [],
      pcs: [{ peer: 'p', pc: 'pc', reports: videoReports(seconds) }],
    })
    await store.insert('stream_seconds', rows.stream_seconds)
    const [again] = await analyzeSessions(store, 'agg', ['dup'], { expectedFps: 30 })
    expect(again?.streams[0]?.aggregates).toEqual(first.aggregates)
    expect(first.aggregates.seconds).toBe(11)
  })

  it('does not turn a counter reset into a spike', async () => {
    const s = await analyse('reset', [
      { bps: 1_000_000 },
      { bps: 1_000_000 },
      { bps: 1_000_000, resetBefore: true },
      { bps: 1_000_000 },
      { bps: 1_000_000 },
    ])
    // The reset second has no rate: 4 seconds of exactly 1 Mbps remain.
    expect(s.aggregates.bitrate_p95).toBe(1_000_000)
    expect(s.aggregates.bitrate_mean).toBe(1_000_000)
    expect(s.aggregates.bitrate_cv).toBe(0)
  })

  it('counts limitation only in seconds where it cost quality, with the sender evidence', async () => {
    // 6 s "bandwidth" at full quality (libwebrtc's ramp-up), then 4 s where the frames shrank to 360p
    // while the sender's estimate (400 kbps) was below what a 720p source needs (2.5 Mbps).
    const s = await analyse('limited', [
      ...Array.from({ length: 6 }, () => ({ bps: 2_500_000, limitation: 'bandwidth', available: 3_000_000 })),
      ...Array.from({ length: 4 }, () => ({
        bps: 500_000,
        limitation: 'bandwidth',
        height: 360,
        available: 400_000,
      })),
    ])
    expect(s.aggregates.limit_bandwidth_share).toBe(1)
    expect(s.aggregates.limited_share).toBe(0.4)
    // The same shrink with 5 Mbps available is not the network: no limited second.
    const ample = await analyse('limited-ample', [
      ...Array.from({ length: 6 }, () => ({ bps: 2_500_000, limitation: 'bandwidth', available: 5_000_000 })),
      ...Array.from({ length: 4 }, () => ({
        bps: 500_000,
        limitation: 'bandwidth',
        height: 360,
        available: 5_000_000,
      })),
    ])
    expect(ample.aggregates.limited_share).toBe(0)
  })

  it('counts limited seconds in SQL exactly as the detector does (one rule, thresholds.ts)', async () => {
    // Mixed seconds around every threshold: shrunk or not, estimate below/near/above 1.5 × need, a slow
    // source (12 fps, 2 fps), within and after the estimator start-up.
    const mixed: Second[] = Array.from({ length: 24 }, (_, i) => ({
      bps: [2_500_000, 500_000, 1_200_000][i % 3] as number,
      limitation: i % 5 === 4 ? 'none' : 'bandwidth',
      height: i % 2 ? 360 : 720,
      fps: i % 7 === 0 ? 12 : 30,
      available: [300_000, 3_000_000, 3_700_000, 3_800_000, 6_000_000][i % 5] as number,
    }))
    const s = await analyse('limited-agree', mixed)
    const [series] = await detectorSeries(
      store,
      { app: 'agg', sessions: ['limited-agree'], from: 0, to: 32503680000000 },
      [s.stream],
    )
    const rows = series?.rows ?? []
    const span = spanOf({ ...s, codecRateBps: null, rows })
    const ts = rows.filter((r) => limitedBy(r, span, 30) !== undefined).length
    expect(ts).toBeGreaterThan(0)
    expect(ts).toBeLessThan(s.aggregates.active_seconds)
    expect(Math.round((s.aggregates.limited_share ?? 0) * s.aggregates.active_seconds)).toBe(ts)
  })

  it('computes the CV over steady segments and reports resolution switches apart', async () => {
    // 9 s at 720p around 2.5 Mbps, then 180p around 300 kbps: the settling seconds after the switch (2)
    // are dropped; each segment is measured against its own mean.
    const hi = [
      2_400_000, 2_600_000, 2_500_000, 2_400_000, 2_600_000, 2_500_000, 2_400_000, 2_600_000, 2_500_000,
    ]
    const lo = [900_000, 600_000, 290_000, 310_000, 300_000, 290_000, 310_000, 300_000]
    const s = await analyse('switch', [
      ...hi.map((bps) => ({ bps })),
      ...lo.map((bps) => ({ bps, height: 180 })),
    ])
    const rel = (xs: number[]): number => {
      const m = xs.reduce((a, b) => a + b, 0) / xs.length
      return xs.reduce((a, x) => a + ((x - m) / m) ** 2, 0)
    }
    const steadyLo = lo.slice(2)
    const expected = Math.sqrt((rel(hi) + rel(steadyLo)) / (hi.length + steadyLo.length))
    expect(s.aggregates.resolution_switches).toBe(1)
    expect(s.aggregates.bitrate_cv).toBeCloseTo(expected, 3)
    expect(s.aggregates.bitrate_cv).toBeLessThan(0.1)
    expect(s.penalties?.variance).toBe(0)
  })

  it('reads the state snapshots and closed events the SDK sends', async () => {
    // sdk/src/monitor.ts sends every state change as a snapshot of all four states, and `closed` when a
    // pc is closed (close() fires no state event).
    const snap = (connectionState: string, iceConnectionState: string) => ({
      connectionState,
      iceConnectionState,
      iceGatheringState: 'complete',
      signalingState: 'stable',
    })
    const at = (s: number) => T0 + s * 1000
    const session: OfflineSession = {
      app: 'agg',
      session: 'sdk-events',
      peers: [{ peer: 'p' }],
      pcs: [
        {
          peer: 'p',
          pc: 'pc',
          reports: videoReports(Array.from({ length: 12 }, () => ({ bps: 2_500_000 }))),
          events: [
            { t: at(0.5), name: 'connectionstatechange', data: snap('connected', 'connected') },
            { t: at(3.5), name: 'iceconnectionstatechange', data: snap('connected', 'disconnected') },
            { t: at(4.5), name: 'connectionstatechange', data: snap('disconnected', 'disconnected') },
            { t: at(7.5), name: 'iceconnectionstatechange', data: snap('disconnected', 'connected') },
            { t: at(7.6), name: 'connectionstatechange', data: snap('connected', 'connected') },
            { t: at(12.5), name: 'closed' },
          ],
        },
      ],
    }
    await storeSession(store, session)
    const [a] = await analyzeSessions(store, 'agg', ['sdk-events'], { expectedFps: 30 })
    expect(a?.ended).toBe(true)
    expect(a?.issues).toMatchObject([
      {
        type: 'ice_disconnect',
        severity: 'warning',
        start: at(4.5),
        end: at(7.6),
        evidence: { recovered: 1 },
      },
    ])
  })

  it('uses the same target bitrate table in SQL as in TypeScript', async () => {
    const sizes = [
      [0, 0],
      [320, 180],
      [400, 224],
      [640, 360],
      [800, 450],
      [1280, 720],
      [1600, 900],
      [1920, 1080],
      [3840, 2160],
    ] as const
    for (const [w, h] of sizes) {
      const [row] = await store.query<{ v: number }>(`SELECT ${targetBitrateSql('{px:Float64}')} AS v`, {
        px: w * h,
      })
      expect(row?.v).toBeCloseTo(targetBitrateBps(w, h), 3)
    }
  })

  it('scores in pipelined batches exactly as in one query', async () => {
    const limited = Array.from({ length: 12 }, (_, i) => ({
      bps: 300_000,
      limitation: 'bandwidth',
      height: i % 2 ? 360 : 720,
      available: 350_000,
    }))
    await analyse('batch-a', limited)
    await analyse('batch-b', [{ bps: 500_000 }, { bps: 0, muted: true }, { bps: 600_000 }])
    const sessions = ['batch-a', 'cv', 'batch-b', 'dup', 'missing', 'reset']
    const opts = { expectedFps: 30, final: true, now: 1 }
    const whole = await analyzeSessions(store, 'agg', sessions, opts)
    const batched = await analyzeSessions(store, 'agg', sessions, { ...opts, batchSize: 2 })
    // Earlier tests' sessions are included when they ran; a session without rows is left out.
    expect(whole.map((a) => a.session)).toEqual(sessions.filter((id) => whole.some((a) => a.session === id)))
    expect(whole.map((a) => a.session)).toEqual(expect.arrayContaining(['batch-a', 'batch-b']))
    expect(whole.some((a) => a.session === 'missing')).toBe(false)
    expect(batched).toEqual(whole)
    expect(whole[0]?.issues.map((i) => i.type)).toContain('bandwidth_limitation')
  })
})
