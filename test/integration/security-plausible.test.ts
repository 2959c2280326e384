// Guards "no lies stored": a value beyond physical bounds is stored as null and counted in /metrics
// (core/plausible.ts), the monitor channel `_` takes no stats, and the collector answers every
// frame it refuses for its seq (first frame of a channel, seq 0, a seq going back) with an error frame.
// Real collector on chDB, real socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ErrorFrame, ServerFrame } from '../../core/protocol.ts'
import { guid, startTestCollector } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { reportSequence } from '../helpers/reports.ts'
import { connect, helloFor, statsFrames } from '../helpers/stream-client.ts'
import type { StreamClient } from '../helpers/stream-client.ts'

let c: TestCollector
beforeAll(async () => {
  c = await startTestCollector({ RTCPULSE_ANALYZER: 'false' })
})
afterAll(async () => {
  await c.stop()
})

async function open(session: string): Promise<StreamClient> {
  const client = await connect(c.streamUrl)
  client.send(helloFor(session))
  await client.waitFor((f) => f.t === 'welcome')
  return client
}

const isError =
  (code: string, seq?: number) =>
  (f: ServerFrame): f is ErrorFrame =>
    f.t === 'error' && f.code === code && (seq === undefined || f.seq === seq)

const metricValue = async (name: string, metric: string): Promise<number> => {
  const text = await (await fetch(`${c.url}/metrics`)).text()
  const m = new RegExp(`^${name}\\{metric="${metric}"\\} (\\d+)$`, 'm').exec(text)
  return m ? Number(m[1]) : 0
}

describe('plausibility bounds', () => {
  it('stores bytesSent: 1e20 as a null bitrate and counts it', async () => {
    const session = guid('lie')
    const before = await metricValue('rtcpulse_implausible_values_total', 'bitrate_bps')
    const reports = reportSequence('sender', 3)
    const video = reports[0]?.find((s) => s.type === 'outbound-rtp' && s.kind === 'video')
    expect(video).toBeDefined()
    const lie = reports[1]?.find((s) => s.id === video?.id)
    if (lie) lie.bytesSent = 1e20
    const client = await open(session)
    for (const f of statsFrames('pc1', reports)) client.send(f)
    await client.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 3)
    const rows = await c.store.query<{ seq: number; bitrate_bps: number | null }>(
      `SELECT seq, bitrate_bps FROM stream_seconds
       WHERE app_id = 'demo' AND session_id = {s:String} AND stream_id = {id:String} ORDER BY seq`,
      { s: session, id: video?.id ?? '' },
    )
    // Seq 1 has no previous sample; seq 2 is the lie (8e20 bps); seq 3's counter went down (a reset).
    expect(rows.map((r) => [r.seq, r.bitrate_bps])).toEqual([
      [1, null],
      [2, null],
      [3, null],
    ])
    // The honest streams of the same seconds keep their values.
    const [audio] = await c.store.query<{ b: number | null }>(
      `SELECT bitrate_bps AS b FROM stream_seconds
       WHERE app_id = 'demo' AND session_id = {s:String} AND kind = 'audio' AND direction = 'outbound' AND seq = 2`,
      { s: session },
    )
    expect(audio?.b).toBeGreaterThan(0)
    expect(await metricValue('rtcpulse_implausible_values_total', 'bitrate_bps')).toBe(before + 1)
    client.close()
  })
})

describe('channel and seq rules', () => {
  it('refuses stats on the monitor channel, but takes the SDK gap marker there', async () => {
    const client = await open(guid('mon'))
    const [key] = statsFrames('_', reportSequence('sender', 1))
    client.send(key as object)
    const err = await client.waitFor(isError('bad_frame', 1))
    expect(err.message).toMatch(/events only/)
    // An empty keyframe carrying gap: the SDK's marker for events dropped before they were sent.
    client.send({ t: 'stats', pc: '_', seq: 3, ts: Date.now(), key: true, d: {}, gap: 2 })
    client.send({ t: 'event', pc: '_', seq: 4, ts: Date.now(), name: 'custom.x' })
    await client.waitFor((f) => f.t === 'ack' && f.seq._ === 4)
    client.close()
  })

  it("answers a channel's first frame at seq 3 without gap with seq_gap, and takes it with gap", async () => {
    const client = await open(guid('first'))
    const frames = statsFrames('pc1', reportSequence('sender', 3))
    client.send({ ...frames[0], seq: 3 })
    await client.waitFor(isError('seq_gap', 3))
    client.send({ t: 'event', pc: 'ev', seq: 2, ts: Date.now(), name: 'custom.x' })
    await client.waitFor(isError('seq_gap', 2))
    client.send({ ...frames[0], seq: 3, gap: 2 })
    await client.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 3)
    client.close()
  })

  it('answers seq 0 and a seq going back, even at or below the stored point', async () => {
    const client = await open(guid('back'))
    const frames = statsFrames('pc1', reportSequence('sender', 2))
    client.send({ ...frames[0], seq: 0 })
    expect((await client.waitFor(isError('bad_frame'))).message).toMatch(/^seq:/)
    client.send(frames[0] as object)
    client.send(frames[1] as object)
    await client.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 2)
    // Stored already: before, this was dropped as a duplicate without a word.
    client.send(frames[0] as object)
    await client.waitFor(isError('seq_regression', 1))
    client.send({ t: 'event', pc: 'pc1', seq: 2, ts: Date.now(), name: 'custom.x' })
    await client.waitFor(isError('seq_regression', 2))
    client.close()
  })
})
