// Guards invariant 1 end to end over a real socket: a frame is acked only once stored, every frame is
// stored exactly once, and a client that reconnects and resends what it had not seen acked creates no
// duplicates and no holes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCollector } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { reportSequence } from '../helpers/reports.ts'
import { connect, helloFor, keyframeAt, statsFrames } from '../helpers/stream-client.ts'
import type { ServerFrame, WelcomeFrame } from '../../core/protocol.ts'

let c: TestCollector
beforeAll(async () => {
  c = await startTestCollector()
})
afterAll(async () => {
  await c.stop()
})

const isWelcome = (f: ServerFrame): f is WelcomeFrame => f.t === 'welcome'
const count = async (sql: string, session: string): Promise<number> =>
  (await c.store.query<{ n: number }>(sql, { s: session }))[0]?.n ?? -1

describe('collector stream', () => {
  it('stores every frame once, derives rows, and acks only what is stored', async () => {
    const session = 'stream-once'
    const reports = reportSequence('sender', 10)
    const frames = statsFrames('pc1', reports)
    const client = await connect(c.streamUrl)
    client.send(helloFor(session))
    const welcome = await client.waitFor(isWelcome)
    expect(welcome.resume).toEqual({})
    for (const f of frames) client.send(f)
    client.send({
      t: 'event',
      pc: 'pc1',
      seq: 11,
      ts: Date.now(),
      name: 'connectionstatechange',
      data: { state: 'connected' },
    })
    await client.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 11)
    client.close()

    expect(await count('SELECT count() AS n FROM raw_frames WHERE session_id = {s:String}', session)).toBe(11)
    expect(await count('SELECT count() AS n FROM events WHERE session_id = {s:String}', session)).toBe(1)
    // Two outbound streams (audio, video) per second.
    expect(
      await count('SELECT count() AS n FROM stream_seconds WHERE session_id = {s:String}', session),
    ).toBe(20)
    expect(
      await count('SELECT count() AS n FROM transport_seconds WHERE session_id = {s:String}', session),
    ).toBe(10)
    const video = await c.store.query<{ bitrate_bps: number | null; fps: number | null; seq: number }>(
      `SELECT bitrate_bps, fps, seq FROM stream_seconds
       WHERE session_id = {s:String} AND kind = 'video' ORDER BY seq`,
      { s: session },
    )
    expect(video[0]?.bitrate_bps).toBeNull()
    expect(video.slice(1).every((r) => r.bitrate_bps === 1_000_000 && r.fps === 30)).toBe(true)
    const [peer] = await c.store.query<{ browser: string; os: string }>(
      'SELECT browser, os FROM peers FINAL WHERE session_id = {s:String}',
      { s: session },
    )
    expect(peer).toEqual({ browser: 'Chrome 131', os: 'Linux' })
  })

  it('resumes after a reconnect without duplicates or holes', async () => {
    const session = 'stream-resume'
    const reports = reportSequence('sender', 20)
    const frames = statsFrames('pc1', reports)

    const first = await connect(c.streamUrl)
    first.send(helloFor(session))
    await first.waitFor(isWelcome)
    for (const f of frames.slice(0, 8)) first.send(f)
    await first.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 8)
    // Frames 9..12 leave, then the socket drops before their acks can arrive.
    for (const f of frames.slice(8, 12)) first.send(f)
    first.ws.terminate()
    await new Promise((r) => setTimeout(r, 300))

    const second = await connect(c.streamUrl)
    second.send(helloFor(session))
    const welcome = await second.waitFor(isWelcome)
    const resume = welcome.resume.pc1 ?? 0
    expect(resume).toBeGreaterThanOrEqual(8)
    // Like the SDK: a priming keyframe at the resume point, then everything after it.
    second.send(keyframeAt('pc1', reports, resume - 1, resume))
    for (const f of frames.slice(resume)) second.send(f)
    await second.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 20)
    second.close()

    const rows = await c.store.query<{ seq: number; n: number }>(
      'SELECT seq, count() AS n FROM raw_frames WHERE session_id = {s:String} GROUP BY seq ORDER BY seq',
      { s: session },
    )
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    expect(rows.every((r) => r.n === 1)).toBe(true)
    // The priming keyframe lets the first resent second have real rates.
    const [after] = await c.store.query<{ bitrate_bps: number | null }>(
      `SELECT bitrate_bps FROM stream_seconds FINAL
       WHERE session_id = {s:String} AND kind = 'video' AND seq = {q:UInt64}`,
      { s: session, q: resume + 1 },
    )
    expect(after?.bitrate_bps).toBe(1_000_000)
  })

  it('skips frames a naive client resends in full after a reconnect', async () => {
    const session = 'stream-naive'
    const frames = statsFrames('pc1', reportSequence('receiver', 6))
    const first = await connect(c.streamUrl)
    first.send(helloFor(session))
    await first.waitFor(isWelcome)
    for (const f of frames) first.send(f)
    await first.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 6)
    first.close()

    const second = await connect(c.streamUrl)
    second.send(helloFor(session))
    expect((await second.waitFor(isWelcome)).resume).toEqual({ pc1: 6 })
    for (const f of frames) second.send(f)
    // One new frame after the resent ones: its ack proves the resent ones were processed (and skipped).
    second.send({ t: 'event', pc: 'pc1', seq: 7, ts: Date.now(), name: 'custom.after' })
    await second.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 7)
    second.close()
    expect(await count('SELECT count() AS n FROM raw_frames WHERE session_id = {s:String}', session)).toBe(7)
    expect(
      await count('SELECT count() AS n FROM stream_seconds WHERE session_id = {s:String}', session),
    ).toBe(12)
  })

  it('serves health, readiness and metrics', async () => {
    expect((await fetch(`${c.url}/healthz`)).status).toBe(200)
    const ready = await fetch(`${c.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ ok: true, store: 'ok' })
    const metrics = await (await fetch(`${c.url}/metrics`)).text()
    expect(metrics).toMatch(/^rtcpulse_frames_total\{type="stats"\} \d+/m)
    expect(metrics).toMatch(/^rtcpulse_rows_written_total\{table="stream_seconds"\} \d+/m)
    expect(metrics).toMatch(/^rtcpulse_insert_duration_seconds_count \d+/m)
    // prom-client's process metrics, in the same exposition.
    expect(metrics).toMatch(/^nodejs_eventloop_lag_seconds \d/m)
    expect(metrics).toMatch(/^nodejs_heap_size_used_bytes \d+/m)
    expect(metrics).toMatch(/^process_open_fds \d+/m)
    expect(metrics).toMatch(/^# TYPE nodejs_gc_duration_seconds histogram$/m)
    expect(metrics).toMatch(/^process_resident_memory_bytes \d+/m)
  })

  it('accepts the same frames over the HTTP fallback and answers with stored seqs', async () => {
    const session = 'http-fallback'
    const frames = statsFrames('pc9', reportSequence('sender', 5))
    const post = (body: object) =>
      fetch(`${c.url}/v1/ingest`, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'text/plain' },
      })
    const res = await post({ hello: helloFor(session), frames: frames.slice(0, 3) })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ seq: { pc9: 3 }, errors: [] })
    // A second request resends frame 3 as its priming keyframe, then 4 and 5.
    const again = await post({
      hello: helloFor(session),
      frames: [{ ...frames[2], key: true, d: frames[0]?.d }, ...frames.slice(3)],
    })
    expect(await again.json()).toEqual({ seq: { pc9: 5 }, errors: [] })
    expect(await count('SELECT count() AS n FROM raw_frames WHERE session_id = {s:String}', session)).toBe(5)
    expect((await post({ nonsense: true })).status).toBe(400)
  })
})
