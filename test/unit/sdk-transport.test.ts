// The transport decides what survives a broken connection. Against the collector's real protocol logic
// (ClientSession + zod schemas) behind a FAKE WebSocket class and fake fetch (test/helpers/
// sdk-fake-collector.ts; unit tests only — test/integration runs real sockets), it must store every
// frame once across cuts, make dropped frames a `gap` the collector accepts, never retry what cannot
// succeed (auth, policy, size), fall back to HTTP batches and hand leftovers to sendBeacon on close.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { StatsState } from '../../core/delta.ts'
import { createOutbox } from '../../sdk/src/outbox.ts'
import { VERBOSE_FIELDS } from '../../core/protocol.ts'
import type { HelloFrame } from '../../core/protocol.ts'
import { backoff, createTransport } from '../../sdk/src/transport.ts'
import { MemoryCollector } from '../helpers/sdk-fake-collector.ts'
import { reportSequences, reportTs, stateOf } from '../helpers/sdk-fixtures.ts'

const reports = reportSequences().find((s) => s.reports.length > 10)?.reports ?? []
const HELLO: HelloFrame = { t: 'hello', v: 1, app: 'a', session: 's', peer: 'p', sdk: 'test' }

function setup(maxBytes = Infinity, hello: HelloFrame = HELLO) {
  const server = new MemoryCollector()
  vi.stubGlobal('fetch', server.fetch)
  const errors: { code: string; message: string }[] = []
  let dropped = 0
  const box = createOutbox(maxBytes, Infinity, (n) => (dropped += n))
  const transport = createTransport({
    collectorUrl: 'http://collector.test/',
    hello: () => Promise.resolve(JSON.stringify(hello)),
    outbox: box,
    WebSocketImpl: server.WebSocket,
    report: (code, message) => errors.push({ code, message: String(message) }),
  })
  let i = 0
  let last: StatsState = new Map()
  /** Polls `n` recorded reports into pc1, one second of report time apart. */
  const poll = (n = 1): void => {
    for (let k = 0; k < n; k++, i++) {
      const state = stateOf(reports[i % reports.length] ?? [])
      // What the collector should hold: the state less the fields the welcome's omit names.
      last = new Map(
        [...state].map(([id, o]) => [
          id,
          Object.fromEntries(Object.entries(o).filter(([f]) => !box.skip?.test(f))),
        ]),
      )
      box.stats('pc1', state, reportTs(reports[0] ?? []) + i * 1000)
    }
  }
  const codes = (): string[] => errors.map((e) => e.code)
  return { server, box, transport, poll, codes, errors, dropped: () => dropped, last: () => last }
}

const tick = async (ms: number): Promise<void> => {
  await vi.advanceTimersByTimeAsync(ms)
}

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('backoff', () => {
  it('stays within [0, base·2^attempt) and never above the cap', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const bound = Math.min(30_000, 500 * 2 ** attempt)
      expect(backoff(attempt, () => 0)).toBe(0)
      expect(backoff(attempt, () => 0.999999)).toBeLessThan(bound)
      expect(backoff(attempt, () => 0.999999)).toBeGreaterThan(bound * 0.99)
    }
    expect(backoff(50, () => 0.5)).toBe(15_000)
    expect(backoff(1e6, () => 0.5)).toBe(15_000)
  })

  it('spreads retries over the whole window (full jitter)', () => {
    const delays = Array.from({ length: 2000 }, () => backoff(4))
    expect(Math.min(...delays)).toBeLessThan(400)
    expect(Math.max(...delays)).toBeGreaterThan(7600)
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length
    expect(mean).toBeGreaterThan(3600)
    expect(mean).toBeLessThan(4400)
  })
})

describe('createTransport', () => {
  it('says hello, waits for welcome, then sends frames in order and has them acknowledged', async () => {
    const { server, box, poll, errors } = setup()
    poll(3)
    await tick(50)
    const sent = server.socket?.received.map((t) => JSON.parse(t) as { t: string; seq?: number }) ?? []
    expect(sent.map((f) => `${f.t}${f.seq ?? ''}`)).toEqual(['hello', 'stats1', 'stats2', 'stats3'])
    poll(2)
    await tick(50)
    expect(server.stored('pc1').map((f) => f.seq)).toEqual([1, 2, 3, 4, 5])
    expect(box.size).toBe(0)
    expect(errors).toEqual([])
  })

  it('takes the fields to leave out from the welcome, and none from a collector that names none', async () => {
    const { server, box } = setup()
    expect(box.skip).toBeUndefined()
    await tick(50)
    expect(box.skip?.source).toBe(new RegExp(VERBOSE_FIELDS).source)
    server.deps.config.sdkOmit = ''
    server.socket?.end(1001)
    await tick(31_000)
    expect(server.sockets.length).toBeGreaterThan(1)
    expect(box.skip?.test('lastPacketReceivedTimestamp')).toBe(false)
  })

  it('paces live frames too: a burst of 100 track events goes out at most 40 per second', async () => {
    const { server, box, codes } = setup()
    await tick(50)
    expect(server.socket?.received).toHaveLength(1) // the hello
    const t0 = Date.now()
    for (let i = 0; i < 100; i++) box.event('pc1', 'track.added', { id: `t${i}`, kind: 'video' }, t0)
    // The welcome advertises 50 frames/s: 80% of it per one-second window.
    expect(server.socket?.received).toHaveLength(1 + 40)
    // Windows start when the welcome came (50 ms before the burst).
    await tick(940)
    expect(server.socket?.received).toHaveLength(1 + 40)
    await tick(20)
    expect(server.socket?.received).toHaveLength(1 + 80)
    await tick(1000)
    expect(server.socket?.received).toHaveLength(1 + 100)
    await tick(50)
    expect(server.stored('pc1').map((f) => f.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
    expect(codes()).toEqual([])
  })

  it('stores every seq once across a cut, resending only what the welcome does not report stored', async () => {
    const { server, box, poll, codes, last } = setup()
    poll(2)
    await tick(50)
    server.holdAcks = true
    poll(2)
    await tick(50)
    server.holdAcks = false
    server.socket?.end(1006)
    poll(2)
    await tick(60_000)
    expect(codes()).toEqual(['disconnected'])
    expect(server.sockets).toHaveLength(2)
    expect(server.stored('pc1').map((f) => f.seq)).toEqual([1, 2, 3, 4, 5, 6])
    // 3 and 4 were stored but never acknowledged: the welcome said so, and they were not sent again.
    expect(server.inserts).toBe(6)
    expect(server.holes('pc1')).toBe(0)
    expect(server.decode('pc1')).toEqual(last())
    expect(box.size).toBe(0)
    expect(server.errors).toEqual([])
  })

  it('drops the oldest frames while the collector is away, and the collector accepts the gap', async () => {
    // Room for the ~19 KB keyframe and a few deltas: nothing is dropped while connected.
    const { server, box, poll, codes, dropped, last } = setup(30_000)
    poll(2)
    await tick(50)
    expect(box.size).toBe(0)
    server.up = false
    server.socket?.end(1006)
    poll(40)
    expect(dropped()).toBeGreaterThan(5)
    server.up = true
    await tick(60_000)
    expect(server.errors).toEqual([])
    expect(codes().filter((c) => c !== 'disconnected')).toEqual([])
    // The priming keyframe carries the state after the last dropped frame and is stored at its seq, so
    // one of the dropped seconds is recovered: the ledger's holes are all dropped frames but that one.
    expect(server.holes('pc1')).toBe(dropped() - 1)
    expect(server.decode('pc1')).toEqual(last())
    expect(box.size).toBe(0)
    // A new connection after that primes from the base and goes on without a gap.
    server.socket?.end(1006)
    poll(2)
    await tick(60_000)
    expect(server.holes('pc1')).toBe(dropped() - 1)
    expect(server.decode('pc1')).toEqual(last())
  })

  for (const [code, name] of [
    [4001, 'unauthenticated'],
    [4003, 'forbidden'],
    [1007, 'bad_frame'],
    [1008, 'policy'],
    [1009, 'frame_too_large'],
  ] as const) {
    it(`stops for good on close code ${code}`, async () => {
      const { server, poll, codes } = setup()
      poll(1)
      await tick(50)
      server.socket?.end(code)
      await tick(120_000)
      expect(codes()).toEqual([name])
      expect(server.sockets).toHaveLength(1)
    })
  }

  it('reports a refused hello with its codes and does not retry it', async () => {
    const { server, poll, errors } = setup(Infinity, { ...HELLO, peer: 'has space' })
    poll(1)
    await tick(120_000)
    expect(errors.map((e) => e.code)).toEqual(['bad_frame', 'policy'])
    expect(errors[0]?.message).toMatch(/^peer: /)
    expect(server.sockets).toHaveLength(1)
  })

  for (const code of [1001, 1006, 1011, 1013, 4029]) {
    it(`reconnects after close code ${code}`, async () => {
      const { server, box, poll } = setup()
      poll(1)
      await tick(50)
      server.socket?.end(code)
      poll(1)
      // The first retry waits a random [0, 500) ms.
      await tick(600)
      expect(server.sockets).toHaveLength(2)
      expect(box.size).toBe(0)
      expect(server.stored('pc1').map((f) => f.seq)).toEqual([1, 2])
    })
  }

  it('backs off further after each failed attempt, up to 30 s', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999)
    const { server } = setup()
    // No fetch: the transport keeps trying WebSockets instead of falling back to HTTP batches.
    vi.stubGlobal('fetch', undefined)
    await tick(50)
    server.up = false
    server.socket?.end(1006)
    const opened: number[] = []
    for (let t = 0; t < 200_000; t += 100) {
      const n = server.sockets.length
      await tick(100)
      if (server.sockets.length > n) opened.push(t)
    }
    const gaps = opened.slice(1).map((t, i) => t - (opened[i] ?? 0))
    expect(gaps.slice(0, 5)).toEqual(
      [1000, 2000, 4000, 8000, 16000].map((g): unknown => expect.closeTo(g, -3)),
    )
    expect(Math.max(...gaps)).toBeLessThanOrEqual(30_100)
  })

  it('reconnects and re-primes when the collector reports a seq gap', async () => {
    const { server, poll, codes } = setup()
    poll(2)
    await tick(50)
    server.socket?.onmessage?.({ data: JSON.stringify({ t: 'error', code: 'seq_gap', message: 'lost' }) })
    poll(1)
    await tick(1000)
    expect(codes()).toEqual(['seq_gap', 'disconnected'])
    expect(server.sockets).toHaveLength(2)
    const resent =
      server.sockets[1]?.received.map((t) => JSON.parse(t) as { t: string; seq?: number; key?: boolean }) ??
      []
    expect(resent.map((f) => `${f.t}${f.seq ?? ''}${f.key ? 'k' : ''}`)).toEqual([
      'hello',
      'stats2k',
      'stats3',
    ])
  })

  it('falls back to HTTP batches when no WebSocket ever opens, and stores everything', async () => {
    const { server, box, poll, codes, last } = setup()
    server.blockWebSocket = true
    for (let s = 0; s < 30; s++) {
      poll(1)
      await tick(1000)
    }
    expect(codes()).toEqual(['http_fallback'])
    // Three attempts, then batches only: this network does not pass WebSockets.
    expect(server.sockets).toHaveLength(3)
    expect(server.posts.length).toBeGreaterThan(3)
    await tick(5000)
    expect(server.stored('pc1').map((f) => f.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
    expect(server.holes('pc1')).toBe(0)
    expect(server.decode('pc1')).toEqual(last())
    expect(box.size).toBe(0)
    expect(server.errors).toEqual([])
  })

  it('keeps retrying WebSockets, without falling back, once one has opened', async () => {
    const { server, poll, codes } = setup()
    poll(1)
    await tick(50)
    server.blockWebSocket = true
    server.socket?.end(1006)
    for (let s = 0; s < 60; s++) {
      poll(1)
      await tick(1000)
    }
    expect(codes()).toEqual(['disconnected'])
    expect(server.posts).toEqual([])
    server.blockWebSocket = false
    await tick(31_000)
    expect(server.stored('pc1').map((f) => f.seq)).toEqual(Array.from({ length: 61 }, (_, i) => i + 1))
  })

  it('resolves close() once everything is acknowledged and closes the socket normally', async () => {
    const { server, box, transport, poll } = setup()
    poll(3)
    const closed = transport.close(5000)
    await tick(100)
    await expect(closed).resolves.toBeUndefined()
    expect(box.size).toBe(0)
    expect(server.sockets[0]?.closed).toBe(true)
  })

  it('gives up after the close timeout and hands the rest to sendBeacon', async () => {
    const { server, transport, poll } = setup()
    const beacons: string[] = []
    vi.stubGlobal('navigator', { sendBeacon: (_url: string, body: string) => beacons.push(body) > 0 })
    poll(1)
    await tick(50)
    server.holdAcks = true
    poll(2)
    const closed = transport.close(5000)
    await tick(5000)
    await expect(closed).resolves.toBeUndefined()
    expect(beacons).toHaveLength(1)
    const body = JSON.parse(beacons[0] ?? '{}') as {
      hello: HelloFrame
      frames: { seq: number; key?: boolean }[]
    }
    expect(body.hello).toEqual(HELLO)
    expect(body.frames.map((f) => `${f.seq}${f.key ? 'k' : ''}`)).toEqual(['1k', '2', '3'])
    // The collector's ingest endpoint accepts it as it is.
    const res = await server.fetch('http://collector.test/v1/ingest', { method: 'POST', body: beacons[0] })
    expect(await res.json()).toEqual({ seq: { pc1: 3 }, errors: [] })
  })
})
