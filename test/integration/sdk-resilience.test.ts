// Invariant 1 across a crash: a real wrtc call monitored by the SDK while the collector process is killed
// with SIGKILL (no flush, no close frame; frames in its batch are lost unacknowledged) and restarted on the
// same port, data folder and database. The SDK must resend exactly what was not stored: afterwards every
// seq of every pc from 1 to the last the SDK sent is stored once (FINAL, so a harmless resend of a frame
// stored-but-unacked collapses as ReplacingMergeTree does), with no gap, and every second of
// stream_seconds once. A second case takes the network away (a TCP proxy resets every connection) while
// the call goes on, with a small buffer, so frames are dropped: the collector must accept the SDK's `gap`.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { guid, startTestCollector } from '../helpers/collector.ts'
import { startChildCollector } from '../helpers/fault-child.ts'
import { monitoredCall } from '../helpers/sdk-node.ts'
import { startByteProxy } from '../helpers/sdk-proxy.ts'
import { freePort } from '../helpers/ports.ts'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

interface Ledger {
  pc_id: string
  n: number
  u: number
  hi: number
  gaps: number
}

const LEDGER_SQL = `SELECT pc_id, count() AS n, uniqExact(seq) AS u, max(seq) AS hi, sum(gap) AS gaps
  FROM raw_frames FINAL WHERE app_id = {app:String} AND session_id = {session:String}
  GROUP BY pc_id ORDER BY pc_id`

// Rows per (pc, stream) against distinct seconds: a second stored twice would show as n > u.
const SECONDS_SQL = `SELECT pc_id, stream_id, count() AS n, uniqExact(seq) AS u, uniqExact(ts) AS t
  FROM stream_seconds FINAL WHERE app_id = {app:String} AND session_id = {session:String}
  GROUP BY pc_id, stream_id`

describe('SDK resilience', () => {
  it(
    'stores every second exactly once when the collector is killed and restarted mid-call',
    { timeout: 120_000 },
    async () => {
      const app = 'sdk-resilience'
      const session = guid('s')
      const env = {
        RTCPULSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'rtcpulse-sdk-resilience-')),
        CLICKHOUSE_DATABASE: guid('db'),
        RTCPULSE_BATCH_MS: '200',
      }
      const port = await freePort()
      let child = await startChildCollector(port, env)
      const { call, monitor, log, errors } = monitoredCall({ url: child.url, app, session })
      try {
        await call.waitConnected()
        await sleep(4000)
        await child.kill9()
        // The call goes on; the SDK keeps its frames and retries with backoff.
        await sleep(3000)
        child = await startChildCollector(port, env)
        await sleep(5000)
      } finally {
        await monitor.close()
        await call.close()
        await child.stop()
      }
      expect(errors.map((e) => e.code)).toContain('disconnected')
      expect(errors.filter((e) => e.code !== 'disconnected')).toEqual([])
      expect(log.sockets).toBeGreaterThanOrEqual(2)

      const running = await startTestCollector(env)
      try {
        const ledger = await running.store.query<Ledger>(LEDGER_SQL, { app, session })
        // The monitor channel `_` holds the bye that close() sent.
        expect(ledger.map((l) => l.pc_id)).toEqual(['_', 'receiver', 'sender'])
        for (const l of ledger) {
          expect(l).toEqual({ pc_id: l.pc_id, n: l.hi, u: l.hi, hi: log.maxSeq.get(l.pc_id), gaps: 0 })
          // 12 s of call at 1 Hz, minus start-up.
          if (l.pc_id !== '_') expect(l.hi).toBeGreaterThanOrEqual(10)
        }
        const seconds = await running.store.query<{ pc_id: string; n: number; u: number; t: number }>(
          SECONDS_SQL,
          {
            app,
            session,
          },
        )
        expect(seconds.length).toBeGreaterThanOrEqual(4)
        for (const s of seconds) expect(s.n, JSON.stringify(s)).toBe(s.u)
        for (const s of seconds) expect(s.t, JSON.stringify(s)).toBe(s.u)
      } finally {
        await running.stop()
      }
    },
  )

  it(
    'drops the oldest frames during a long network cut and the collector accepts the gap',
    { timeout: 90_000 },
    async () => {
      const app = 'sdk-resilience'
      const session = guid('s')
      const running = await startTestCollector()
      const { hostname, port } = new URL(running.url)
      const proxy = await startByteProxy({ host: hostname, port: Number(port) })
      // Less than a keyframe of each pc plus the deltas of a 12 s outage (~1.3 KB per pc per second).
      const { call, monitor, log, errors } = monitoredCall({
        url: proxy.url,
        app,
        session,
        maxBufferBytes: 24_000,
      })
      try {
        await call.waitConnected()
        await sleep(3000)
        // 12 s without a network: ~24 frames of ~1.3 KB overflow the 24 KB buffer.
        proxy.block(true)
        await sleep(12_000)
        proxy.block(false)
        await sleep(5000)
      } finally {
        await monitor.close()
        await call.close()
        await proxy.close()
      }
      try {
        const dropped = errors
          .filter((e) => e.code === 'buffer_overflow')
          .reduce((n, e) => n + Number(/^(\d+)/.exec(e.message)?.[1] ?? 0), 0)
        expect(dropped).toBeGreaterThan(0)
        expect(errors.filter((e) => !['buffer_overflow', 'disconnected'].includes(e.code))).toEqual([])
        const ledger = await running.store.query<Ledger>(LEDGER_SQL, { app, session })
        let gaps = 0
        for (const l of ledger) {
          // Every seq is either stored once or counted in the gap of the frame after it.
          expect(l.n).toBe(l.u)
          expect(l.n + l.gaps).toBe(l.hi)
          expect(l.hi).toBe(log.maxSeq.get(l.pc_id))
          gaps += l.gaps
        }
        // Frames dropped after being sent may have been stored; the ones never sent are the gaps, less the
        // one per priming keyframe that is stored in a dropped frame's place.
        expect(gaps).toBeGreaterThan(0)
        expect(gaps).toBeLessThanOrEqual(dropped)
      } finally {
        await running.stop()
      }
    },
  )
})
