// Peers on different clocks, end to end through a real collector (WebSocket, derivation, chDB) and the
// session detail API: each stream's per-second series lands on whole seconds that every stream of the
// session shares (analyzer/seconds.ts), null only where reports are missing; and each peer's clock skew
// against the collector is estimated from its stats times (collector/clock-skew.ts), stored in
// peers.clock_skew_ms and returned per peer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openFeeder, replayPeer } from '../helpers/analyzer-feed.ts'
import { startAnalyzerHarness } from '../helpers/analyzer-env.ts'
import type { AnalyzerHarness } from '../helpers/analyzer-env.ts'
import { prng } from '../helpers/prng.ts'
import { reportSequence } from '../helpers/reports.ts'
import type { Stat } from '../helpers/reports.ts'

interface Series {
  peer: string
  direction: string
  kind: string
  t: number[]
  values: Record<string, (number | null)[]>
}
interface Detail {
  peers: { peer: string; clockSkewMs: number | null }[]
  series: { stepS: number; streams: Series[]; transports: Series[] }
}

/** Moves report `i` (every object of it, keeping remote-* lags) to `times[i]`. */
function retime(reports: Stat[][], times: readonly number[]): Stat[][] {
  return reports.map((stats, i) => {
    const shift = (times[i] as number) - (stats[0]?.timestamp ?? 0)
    for (const s of stats) s.timestamp += shift
    return stats
  })
}

/**
 * Poll times of a peer: `n` polls one second apart starting at `startMs`, each moved by up to ±60 ms
 * (seeded), as a browser's setInterval and getStats() deliver them.
 */
function pollTimes(n: number, startMs: number, seed: number): number[] {
  const rnd = prng(seed)
  return Array.from({ length: n }, (_x, i) => startMs + i * 1000 + Math.round((rnd() * 2 - 1) * 60))
}

/** Feeds a two-peer call: the sender at `phaseMs` into its second, the receiver `offsetMs` later. */
async function twoPeerCall(
  h: AnalyzerHarness,
  session: string,
  opts: { phaseMs: number; offsetMs: number; receiverMissing?: (i: number) => boolean },
): Promise<void> {
  const n = 61
  const start = Math.floor((Date.now() - 120_000) / 1000) * 1000 + opts.phaseMs
  const sender = retime(reportSequence('sender', n), pollTimes(n, start, 1))
  const receiver = retime(reportSequence('receiver', n), pollTimes(n, start + opts.offsetMs, 2)).filter(
    (_r, i) => !opts.receiverMissing?.(i),
  )
  await replayPeer(h.streamUrl, { app: 'demo', session, peer: 'a' }, [{ pc: 'pc1', reports: sender }])
  await replayPeer(h.streamUrl, { app: 'demo', session, peer: 'b' }, [{ pc: 'pc1', reports: receiver }])
}

const videoOf = (d: Detail, peer: string): Series => {
  const s = d.series.streams.find((x) => x.peer === peer && x.kind === 'video')
  if (!s) throw new Error(`no video stream of ${peer}`)
  return s
}
const nonNull = (v: (number | null)[] | undefined): number => (v ?? []).filter((x) => x !== null).length

let h: AnalyzerHarness

beforeAll(async () => {
  h = await startAnalyzerHarness()
})

afterAll(async () => {
  await h?.stop()
})

describe('per-second series of peers on different clocks', () => {
  it('puts two peers 437 ms apart, with jittered phases, on one axis with all 60 points each', async () => {
    // The sender polls 980 ms into each second: plain flooring would split it around the boundary.
    await twoPeerCall(h, 'offset', { phaseMs: 980, offsetMs: 437 })
    const { status, body } = await h.get<Detail>('/api/v1/sessions/offset?app=demo')
    expect(status).toBe(200)
    expect(body.series.stepS).toBe(1)
    const a = videoOf(body, 'a')
    const b = videoOf(body, 'b')
    for (const s of [a, b]) {
      // 61 reports: 60 bitrates (the first report has no previous one to take a rate from).
      expect(s.t).toHaveLength(61)
      expect(s.t.every((x, i) => x % 1000 === 0 && (i === 0 || x - (s.t[i - 1] as number) === 1000))).toBe(
        true,
      )
      expect(nonNull(s.values.bitrate_bps)).toBe(60)
      expect(s.values.bitrate_bps?.slice(1).every((v) => v !== null)).toBe(true)
    }
    // One time axis: the peers share at least 60 of their 61 seconds.
    expect(a.t.filter((x) => b.t.includes(x)).length).toBeGreaterThanOrEqual(60)
    // Transport series are on the same whole seconds.
    for (const tr of body.series.transports) expect(tr.t.every((x) => x % 1000 === 0)).toBe(true)
  })

  it('leaves nulls only in the seconds whose reports are missing', async () => {
    await twoPeerCall(h, 'gap', { phaseMs: 10, offsetMs: 437, receiverMissing: (i) => i >= 30 && i < 33 })
    const { body } = await h.get<Detail>('/api/v1/sessions/gap?app=demo')
    const b = videoOf(body, 'b')
    expect(b.t).toHaveLength(61)
    const nulls = (b.values.packets_per_s ?? []).flatMap((v, i) => (v === null ? [i] : []))
    // Second 0 has no rate yet; 30–32 had no report.
    expect(nulls).toEqual([0, 30, 31, 32])
    expect(nonNull(videoOf(body, 'a').values.packets_per_s)).toBe(60)
  })
})

describe('clock skew per peer', () => {
  it('stores about +5000 ms for a client whose report times are 5 s ahead, and about 0 for one on time', async () => {
    const reports = reportSequence('sender', 10)
    const ahead = await openFeeder(h.streamUrl, { app: 'demo', session: 'skew', peer: 'ahead' })
    const onTime = await openFeeder(h.streamUrl, { app: 'demo', session: 'skew', peer: 'ontime' })
    // First a burst of frames the SDK had buffered (taken 20 s ago): poor bounds the estimate must
    // outgrow. Then live polls, sent as they are taken.
    for (let i = 0; i < 3; i++)
      ahead.stats('pc1', reports[i] as Stat[], Date.now() + 5000 - 20_000 + i * 1000)
    for (let i = 3; i < 10; i++) {
      ahead.stats('pc1', reports[i] as Stat[], Date.now() + 5000)
      onTime.stats('pc1', reports[i] as Stat[], Date.now())
      await new Promise((r) => setTimeout(r, 100))
    }
    await Promise.all([ahead.close(), onTime.close()])
    const skews = async (): Promise<Record<string, number | null>> => {
      const { body } = await h.get<Detail>('/api/v1/sessions/skew?app=demo')
      return Object.fromEntries(body.peers.map((p) => [p.peer, p.clockSkewMs]))
    }
    await expect.poll(async () => (await skews()).ahead, { timeout: 10_000 }).not.toBeNull()
    const s = await skews()
    // The estimate is a lower bound short of the truth by the one-way delay (loopback here, plus the
    // collector's event-loop wait on a busy machine): within 500 ms below, never above.
    expect(s.ahead).toBeGreaterThan(4500)
    expect(s.ahead).toBeLessThanOrEqual(5000)
    expect(s.ontime).toBeGreaterThan(-500)
    expect(s.ontime).toBeLessThanOrEqual(0)
  })

  it('answers null for a peer that sent no stats', async () => {
    const feeder = await openFeeder(h.streamUrl, { app: 'demo', session: 'skew-none', peer: 'p' })
    feeder.event('_', 'getUserMedia', { error: 'NotAllowedError' })
    await feeder.close()
    const rows = await h.store.query<{ clock_skew_ms: number | null }>(
      `SELECT clock_skew_ms FROM peers WHERE session_id = 'skew-none'`,
    )
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.every((r) => r.clock_skew_ms === null)).toBe(true)
  })
})
