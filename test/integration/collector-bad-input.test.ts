// Guards invariant 2: a bad client gets a precise error frame or close code, the process keeps serving,
// a well-behaved client streaming at the same time loses nothing, and nothing malformed is stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCollector } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { reportSequence } from '../helpers/reports.ts'
import { connect, helloFor, statsFrames } from '../helpers/stream-client.ts'
import type { StreamClient } from '../helpers/stream-client.ts'
import type { ErrorFrame, ServerFrame, StatsFrame } from '../../core/protocol.ts'

let c: TestCollector
beforeAll(async () => {
  c = await startTestCollector({
    RTCPULSE_MAX_FRAME_BYTES: '65536',
    RTCPULSE_MAX_FRAMES_PER_SECOND: '20',
    RTCPULSE_MAX_PCS: '3',
  })
})
afterAll(async () => {
  await c.stop()
})

const isError =
  (code: string) =>
  (f: ServerFrame): f is ErrorFrame =>
    f.t === 'error' && f.code === code

async function opened(session: string): Promise<StreamClient> {
  const client = await connect(c.streamUrl)
  client.send(helloFor(session))
  await client.waitFor((f) => f.t === 'welcome')
  return client
}

describe('collector under bad input', () => {
  it('answers malformed JSON and unknown frames with error frames and keeps the connection', async () => {
    const client = await opened('bad-json')
    client.send('{"t":"stats",')
    await client.waitFor(isError('bad_json'))
    client.send({ t: 'teleport', pc: 'pc1' })
    const bad = await client.waitFor(isError('bad_frame'))
    expect(bad.message).toMatch(/^t: /)
    // An envelope that is wrong refuses the frame (nothing to store, nothing to ack)...
    client.send({ t: 'stats', pc: 'pc 1', seq: 1, ts: Date.now(), key: true, d: {} })
    await client.waitFor((f) => isError('bad_frame')(f) && f.message.startsWith('pc: '))
    // The connection is still usable.
    client.send(statsFrames('pc1', reportSequence('sender', 1))[0] as object)
    await client.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 1)
    client.close()
  })

  it('keeps a stats frame whose values are refused, without them, so its channel goes on', async () => {
    // A newer browser may report a value the schema refuses. Refusing the frame would stall the channel
    // for good (the SDK would resend it on every reconnect); the frame is stored without those values.
    const client = await opened('bad-values')
    const [first, second] = statsFrames('pc1', reportSequence('sender', 2)) as [StatsFrame, StatsFrame]
    const firstId = Object.keys(first.d)[0] as string
    const bad: StatsFrame = {
      ...first,
      d: {
        ...first.d,
        [firstId]: { ...first.d[firstId], huge: 'x'.repeat(5000), nested: { a: 'str' as unknown as number } },
        ['i'.repeat(300)]: { type: 'codec' },
      },
    }
    client.send(bad)
    const err = await client.waitFor(isError('bad_frame'))
    expect(err).toMatchObject({ pc: 'pc1', seq: 1 })
    expect(err.message).toMatch(/^values left out: /)
    await client.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 1)
    client.send(second)
    await client.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 2)
    client.close()

    const rows = await c.store.query<{ seq: number; frame: string }>(
      "SELECT seq, frame FROM raw_frames WHERE session_id = 'bad-values' ORDER BY seq",
    )
    expect(rows.map((r) => r.seq)).toEqual([1, 2])
    const stored = JSON.parse((rows[0] as { frame: string }).frame) as StatsFrame
    // A refused value is sent as null: the field leaves the decoded state instead of keeping a stale value.
    expect(stored.d[firstId]?.huge).toBeNull()
    expect(stored.d[firstId]?.nested).toBeNull()
    expect(Object.keys(stored.d)).not.toContain('i'.repeat(300))
    expect(Object.keys(stored.d).length).toBe(Object.keys(first.d).length)
    const streams = await c.store.query<{ n: number }>(
      "SELECT count() AS n FROM stream_seconds WHERE session_id = 'bad-values'",
    )
    expect(streams[0]?.n).toBeGreaterThan(0)
  })

  it('applies the same repair to frames posted to the HTTP fallback, and says so in the answer', async () => {
    const [first] = statsFrames('pc1', reportSequence('sender', 1)) as [StatsFrame]
    const id = Object.keys(first.d)[0] as string
    const odd = { ...first, d: { ...first.d, [id]: { ...first.d[id], huge: 'x'.repeat(5000) } } }
    const res = await fetch(`${c.url}/v1/ingest`, {
      method: 'POST',
      body: JSON.stringify({ hello: helloFor('http-bad-values'), frames: [odd] }),
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { seq: Record<string, number>; errors: ErrorFrame[] }
    expect(body.seq).toEqual({ pc1: 1 })
    expect(body.errors).toEqual([
      expect.objectContaining({
        code: 'bad_frame',
        pc: 'pc1',
        seq: 1,
        message: expect.stringMatching(/^values left out: d\./) as unknown,
      }),
    ])
    const [row] = await c.store.query<{ frame: string }>(
      "SELECT frame FROM raw_frames WHERE session_id = 'http-bad-values'",
    )
    expect((JSON.parse(row?.frame ?? '{}') as StatsFrame).d[id]?.huge).toBeNull()
  })

  it('closes with 1008 on a wrong protocol version and on frames before hello', async () => {
    const v2 = await connect(c.streamUrl)
    v2.send({ ...helloFor('v2'), v: 2 })
    expect((await v2.waitFor(isError('unsupported_version'))).message).toMatch(/speaks v1/)
    expect((await v2.closed).code).toBe(1008)

    const early = await connect(c.streamUrl)
    early.send(statsFrames('pc1', reportSequence('sender', 1))[0] as object)
    await early.waitFor(isError('hello_required'))
    expect((await early.closed).code).toBe(1008)
  })

  it('closes with 1009 on an oversize frame', async () => {
    const client = await opened('oversize')
    client.send({
      t: 'event',
      pc: 'pc1',
      seq: 1,
      ts: Date.now(),
      name: 'big',
      data: { blob: 'x'.repeat(70_000) },
    })
    expect((await client.closed).code).toBe(1009)
  })

  it('refuses seq going backwards, gaps, and deltas without a keyframe', async () => {
    const client = await opened('seq-order')
    const frames = statsFrames('pc1', reportSequence('sender', 5))
    client.send({ ...frames[1], seq: 1 }) // a delta first: no keyframe to apply it to
    await client.waitFor((f) => f.t === 'error' && f.code === 'seq_gap' && /no keyframe/.test(f.message))
    client.send(frames[0] as object)
    client.send(frames[1] as object)
    client.send(frames[1] as object) // seq 2 again
    await client.waitFor(isError('seq_regression'))
    client.send(frames[3] as object) // seq 4 skips 3
    await client.waitFor(isError('seq_gap'))
    client.send({ ...frames[3], gap: 1 }) // … unless the SDK says it dropped one
    await client.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 4)
    client.close()
    const seqs = await c.store.query<{ seq: number }>(
      "SELECT seq FROM raw_frames WHERE session_id = 'seq-order' ORDER BY seq",
    )
    expect(seqs.map((r) => r.seq)).toEqual([1, 2, 4])
  })

  it('limits peer connections per monitor', async () => {
    const client = await opened('many-pcs')
    for (let i = 0; i < 4; i++) client.send({ t: 'event', pc: `pc${i}`, seq: 1, ts: Date.now(), name: 'x' })
    const err = await client.waitFor(isError('too_many_pcs'))
    expect(err.pc).toBe('pc3')
    client.close()
  })

  it('closes a client that exceeds the frame rate with 4029', async () => {
    const client = await opened('flood')
    for (let i = 1; i <= 60; i++) client.send({ t: 'event', pc: 'pc1', seq: i, ts: Date.now(), name: 'x' })
    expect((await client.closed).code).toBe(4029)
  })

  it('keeps a good client whole while bad ones misbehave beside it', async () => {
    const good = await opened('good-neighbour')
    const frames = statsFrames('pc1', reportSequence('receiver', 15))
    const abuse = (async () => {
      for (let i = 0; i < 20; i++) {
        const bad = await connect(c.streamUrl)
        bad.send(i % 2 ? '\u0000garbage' : JSON.stringify({ t: 'hello', v: 1 }))
        bad.send(Buffer.from([1, 2, 3]))
        bad.ws.terminate()
      }
    })()
    for (const f of frames) {
      good.send(f)
      await new Promise((r) => setTimeout(r, 20))
    }
    await abuse
    await good.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 15)
    good.close()
    const [row] = await c.store.query<{ n: number; sessions: number }>(
      'SELECT count() AS n, uniqExact(session_id) AS sessions FROM raw_frames WHERE app_id = {a:String}',
      { a: 'demo' },
    )
    expect(row?.n).toBeGreaterThanOrEqual(15)
    const malformed = await c.store.query("SELECT 1 FROM raw_frames WHERE frame NOT LIKE '{%'")
    expect(malformed).toEqual([])
    expect((await fetch(`${c.url}/healthz`)).status).toBe(200)
  })
})
