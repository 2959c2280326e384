// Guards invariant 1 under network faults: real SDK monitors stream through a TCP proxy that cuts every
// connection every 1.5 s (both ends see a reset, mid-frame or mid-ack); afterwards every frame each
// monitor produced is stored exactly once — no holes, no duplicate rows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCollector } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { startFaultProxy } from '../helpers/fault-proxy.ts'
import type { FaultProxy } from '../helpers/fault-proxy.ts'
import { checkExactlyOnce, errorCounts, sleep, startFleet, until } from '../helpers/fault-sdk.ts'

let c: TestCollector
let proxy: FaultProxy
beforeAll(async () => {
  c = await startTestCollector({ RTCPULSE_MAX_FRAMES_PER_SECOND: '200' })
  proxy = await startFaultProxy({ host: '127.0.0.1', port: Number(new URL(c.url).port) })
})
afterAll(async () => {
  await proxy.close()
  await c.stop()
})

describe('faults: dropped sockets', () => {
  it('stores every frame exactly once while the network drops every connection repeatedly', async () => {
    const started = Date.now()
    const fleet = startFleet({ url: proxy.url, app: 'demo', prefix: 'drop', monitors: 20 })
    const drops: number[] = []
    for (let i = 0; i < 10; i++) {
      await sleep(1500)
      drops.push(proxy.dropAll())
    }
    // Let the fleet reconnect and resend what the drops cut off, then stop it (close waits for the last acks).
    await until(
      () => [...fleet.sent].every(([k, n]) => (fleet.acked.get(k) ?? 0) >= n - 30),
      60_000,
      'every monitor caught up after the last drop',
    )
    await fleet.close()
    // What reached the collector is written (as a graceful stop would); the check is on storage.
    await c.collector.ingest.flush()
    const result = await checkExactlyOnce(c.store, 'demo', fleet)
    console.log(
      `[faults-network] ${fleet.sessions.length} monitors, ${result.channels} channels, ` +
        `${result.produced} frames produced, ${fleet.framesOnWire} sent incl. resends, ` +
        `${proxy.dropped} connections cut in ${drops.length} drops, SDK errors ${errorCounts(fleet)}, ` +
        `${Date.now() - started} ms`,
    )
    expect(drops.filter((n) => n > 0).length).toBeGreaterThanOrEqual(8)
    expect(result.bad).toEqual([])
    expect(result.rows).toBe(result.produced)
    expect(fleet.errors.filter((e) => e.code === 'buffer_overflow')).toEqual([])
    // No ack ever covered a frame that is not stored.
    expect(result.overAcked).toEqual([])
  }, 120_000)
})
