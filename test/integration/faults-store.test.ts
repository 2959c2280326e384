// Guards invariants 1 and 2 through a store outage: real SDK monitors stream while the store refuses
// every call for 30 s (a FaultyStore around the real chDB store). Meanwhile the collector stops
// acknowledging, reports not-ready, pushes clients back with 1013 (memory stays bounded), and refuses
// new hellos; once the store is back it recovers by itself, and every frame each monitor produced is
// stored exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFaultyCollector } from '../helpers/fault-store.ts'
import type { FaultyCollector } from '../helpers/fault-store.ts'
import { checkExactlyOnce, errorCounts, sleep, startFleet, until } from '../helpers/fault-sdk.ts'
import { connect, helloFor } from '../helpers/stream-client.ts'

const MAX_PENDING_FRAMES = 3000
const OUTAGE_MS = 30_000

let c: FaultyCollector
beforeAll(async () => {
  c = await startFaultyCollector({
    RTCPULSE_MAX_FRAMES_PER_SECOND: '200',
    RTCPULSE_MAX_PENDING_FRAMES: String(MAX_PENDING_FRAMES),
    RTCPULSE_STORE_RETRY_MAX_MS: '250',
  })
})
afterAll(async () => {
  await c.stop()
})

const readyStatus = async (): Promise<number> => (await fetch(`${c.url}/readyz`)).status

describe('faults: store outage', () => {
  it('stops acking, pushes back, stays bounded, recovers, and loses nothing over a 30 s outage', async () => {
    const started = Date.now()
    const monitors = 20
    const fleet = startFleet({ url: c.url, app: 'demo', prefix: 'outage', monitors, intervalMs: 200 })
    await until(() => fleet.acks > 100, 10_000, 'first acks')
    await sleep(2000)
    expect(await readyStatus()).toBe(200)

    c.faulty.down = true
    const outageStart = Date.now()
    const heapBefore = process.memoryUsage().heapUsed
    let acksAtGrace = -1
    let maxPending = 0
    let maxPendingBytes = 0
    let maxHeap = 0
    const ready: number[] = []
    while (Date.now() - outageStart < OUTAGE_MS) {
      await sleep(250)
      maxPending = Math.max(maxPending, c.collector.ingest.pendingFrames)
      maxPendingBytes = Math.max(maxPendingBytes, c.collector.ingest.pendingBytes)
      maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed)
      // A batch written just before the outage may still be acked; after 1 s nothing may be.
      if (acksAtGrace < 0 && Date.now() - outageStart > 1000) acksAtGrace = fleet.acks
      if (Date.now() - outageStart > 500) ready.push(await readyStatus())
    }
    const acksAtEnd = fleet.acks
    const refusedHellosDuringOutage = fleet.closes.get(1013) ?? 0
    c.faulty.down = false
    const recoveryStart = Date.now()
    await until(async () => (await readyStatus()) === 200, 15_000, 'ready again')
    const readyAfterMs = Date.now() - recoveryStart
    // SDKs come back on their own backoff (capped at 30 s) and resend what was never acked.
    await until(
      () =>
        fleet.sockets.size === monitors &&
        [...fleet.sent].every(([k, n]) => (fleet.acked.get(k) ?? 0) >= n - 30),
      // The SDK's reconnect backoff is capped at 30 s (with full jitter), and there is no knob for it.
      120_000,
      'every monitor reconnected and caught up',
    )
    const caughtUpMs = Date.now() - recoveryStart
    await sleep(1000)
    await fleet.close()
    // What reached the collector is written (as a graceful stop would); the check is on storage.
    await c.collector.ingest.flush()
    const result = await checkExactlyOnce(c.store, 'demo', fleet)
    console.log(
      `[faults-store] ${monitors} monitors, ${result.channels} channels, ${result.produced} frames produced, ` +
        `${fleet.framesOnWire} sent incl. resends, outage ${OUTAGE_MS} ms: acks ${acksAtGrace}→${acksAtEnd}, ` +
        `1013 closes ${refusedHellosDuringOutage}, max pending frames ${maxPending} (limit ${MAX_PENDING_FRAMES}), ` +
        `max pending ${Math.round(maxPendingBytes / 1024)} KiB, ` +
        `test process heap (SDKs and collector) ${Math.round(heapBefore / 2 ** 20)}→max ${Math.round(maxHeap / 2 ** 20)} MiB, ` +
        `store calls refused ${c.faulty.refused}; ready ${readyAfterMs} ms and caught up ${caughtUpMs} ms ` +
        `after recovery; SDK errors ${errorCounts(fleet)}; total ${Date.now() - started} ms`,
    )
    expect(acksAtEnd).toBe(acksAtGrace)
    expect(ready.length).toBeGreaterThan(20)
    expect(ready.every((s) => s === 503)).toBe(true)
    expect(refusedHellosDuringOutage).toBeGreaterThan(0)
    // Bounded: the limit, plus at most one frame per connection that raced the check.
    expect(maxPending).toBeLessThanOrEqual(MAX_PENDING_FRAMES + monitors)
    expect(maxPendingBytes).toBeLessThan(16 * 2 ** 20)
    // The heap holds the SDKs' 30 s of buffered frames too; this only guards against a runaway.
    expect(maxHeap - heapBefore).toBeLessThan(512 * 2 ** 20)
    expect(result.bad).toEqual([])
    expect(result.rows).toBe(result.produced)
    expect(result.overAcked).toEqual([])
    expect(fleet.errors.filter((e) => e.code === 'buffer_overflow')).toEqual([])
  }, 240_000)

  it("drops only the row the store refuses, never the batch it shares with others' frames", async () => {
    c.faulty.poison = (table, row) => table === 'events' && row.name === 'custom.poison'
    try {
      const bad = await connect(c.streamUrl)
      const good = await connect(c.streamUrl)
      bad.send(helloFor('poison-bad'))
      good.send(helloFor('poison-good'))
      await bad.waitFor((f) => f.t === 'welcome')
      await good.waitFor((f) => f.t === 'welcome')
      // Same batch window: the poison row and 20 good frames are written together.
      for (let i = 1; i <= 20; i++) {
        good.send({ t: 'event', pc: 'pc1', seq: i, ts: Date.now(), name: 'custom.ok' })
        if (i === 10) bad.send({ t: 'event', pc: 'pc1', seq: 1, ts: Date.now(), name: 'custom.poison' })
      }
      bad.send({ t: 'event', pc: 'pc1', seq: 2, ts: Date.now(), name: 'custom.ok' })
      await good.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 20)
      await bad.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 2)
      good.close()
      bad.close()
      const events = await c.store.query<{ session_id: string; n: number }>(
        `SELECT session_id, count() AS n FROM events WHERE session_id IN ('poison-good', 'poison-bad')
         GROUP BY session_id ORDER BY session_id`,
      )
      expect(events).toEqual([
        { session_id: 'poison-bad', n: 1 },
        { session_id: 'poison-good', n: 20 },
      ])
      // The frame itself is kept for forensics in raw_frames; only its unstorable row went.
      const [raw] = await c.store.query<{ n: number }>(
        "SELECT count() AS n FROM raw_frames WHERE session_id = 'poison-bad'",
      )
      expect(raw?.n).toBe(2)
      expect(await c.collector.metrics.registry.render()).toMatch(
        /^rtcpulse_rows_rejected_total\{table="events"\} 1$/m,
      )
    } finally {
      c.faulty.poison = undefined
    }
  })

  it('stops within its deadline when the store is down at shutdown, acking nothing it did not store', async () => {
    const own = await startFaultyCollector({ RTCPULSE_STORE_RETRY_MAX_MS: '250' })
    const client = await connect(own.streamUrl)
    client.send(helloFor('shutdown-outage'))
    await client.waitFor((f) => f.t === 'welcome')
    own.faulty.down = true
    for (let i = 1; i <= 5; i++) client.send({ t: 'event', pc: 'pc1', seq: i, ts: Date.now(), name: 'x' })
    await sleep(300)
    const started = Date.now()
    await own.stop()
    const stopMs = Date.now() - started
    expect((await client.closed).code).toBe(1001)
    expect(client.acked('pc1')).toBe(0)
    expect(stopMs).toBeLessThan(15_000)
  }, 30_000)
})
