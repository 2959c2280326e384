// Guards invariant 1 through crashes: the collector runs as its own process (`rtcpulse start --dev`) and
// is killed with SIGKILL twice while real SDK monitors stream to it — no flush, no close frames, batches
// lost mid-write — and restarted on the same port and data folder. Afterwards every frame each monitor
// produced is stored exactly once. The store is opened here only after the child exited (chDB binds one
// data folder per process).
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createChdbStore } from '../../store/chdb.ts'
import { guid } from '../helpers/collector.ts'
import { startChildCollector } from '../helpers/fault-child.ts'
import type { ChildCollector } from '../helpers/fault-child.ts'
import { checkExactlyOnce, errorCounts, sleep, startFleet, until } from '../helpers/fault-sdk.ts'
import { freePort } from '../helpers/ports.ts'

let child: ChildCollector | undefined
afterAll(async () => {
  await child?.kill9()
})

describe('faults: collector crash', () => {
  it('stores every frame exactly once across kill -9 and restart of the collector', async () => {
    const started = Date.now()
    const port = await freePort()
    const env = {
      RTCPULSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'rtcpulse-crash-')),
      CLICKHOUSE_DATABASE: guid('crash'),
      RTCPULSE_BATCH_MS: '50',
      RTCPULSE_MAX_FRAMES_PER_SECOND: '200',
    }
    child = await startChildCollector(port, env)
    const monitors = 20
    const fleet = startFleet({ url: child.url, app: 'demo', prefix: 'crash', monitors })
    await until(() => fleet.acks > 100, 15_000, 'first acks')
    const kills: number[] = []
    for (let k = 0; k < 2; k++) {
      await sleep(3000)
      // Frames are in flight at this moment: sent, some batched, some being written, none acked yet.
      await child.kill9()
      kills.push(Date.now() - started)
      await sleep(1000)
      child = await startChildCollector(port, env)
    }
    const restartedAt = Date.now()
    // The SDKs reconnect on their own backoff (some via the HTTP fallback, polled every 5 s).
    await until(
      () => [...fleet.sent].every(([k, n]) => (fleet.acked.get(k) ?? 0) >= n - 60),
      60_000,
      'every monitor caught up after the restarts',
    )
    const caughtUpMs = Date.now() - restartedAt
    await sleep(1000)
    await fleet.close()
    expect(await child.stop()).toBe(0)
    child = undefined

    const store = await createChdbStore({ dataDir: env.RTCPULSE_DATA_DIR, database: env.CLICKHOUSE_DATABASE })
    try {
      const result = await checkExactlyOnce(store, 'demo', fleet)
      console.log(
        `[faults-crash] ${monitors} monitors, ${result.channels} channels, ${result.produced} frames produced, ` +
          `${fleet.framesOnWire} sent incl. resends (${fleet.posts} HTTP fallback posts), kill -9 at ` +
          `${kills.join(' and ')} ms, caught up ${caughtUpMs} ms after the last restart, ` +
          `closes ${JSON.stringify(Object.fromEntries(fleet.closes))}, SDK errors ${errorCounts(fleet)}, total ${Date.now() - started} ms`,
      )
      expect(result.bad).toEqual([])
      expect(result.rows).toBe(result.produced)
      expect(fleet.errors.filter((e) => e.code === 'buffer_overflow')).toEqual([])
      // No ack ever covered a frame that is not stored.
      expect(result.overAcked).toEqual([])
    } finally {
      await store.close()
    }
  }, 120_000)
})
