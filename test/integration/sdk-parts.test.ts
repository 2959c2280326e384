// No frame too big at any N (issue 17): a receiving pc with 100 remote participants (200 inbound streams)
// has keyframes of ~330 KB of JSON, past the collector's 256 KiB frame limit, whose refusal (1009) is final
// for the SDK. Monitored by the real SDK against a real collector, every keyframe — the first, the
// periodic ones — must go out in parts far under the limit, be joined, stored and derived: no refused
// frame, no close, every stream stored.
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMonitor } from '../../sdk/src/index.ts'
import type { MonitorError } from '../../sdk/src/index.ts'
import { guid, startTestCollector } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { replayingPc, sfuReports } from '../helpers/sfu-reports.ts'

const N = 100
const REPORTS = 8
const LIMIT = 256 * 1024

/** A ws WebSocket (compressing every frame, as sdk/README.md advises) recording each text frame's bytes. */
function recording(): { WebSocket: new (url: string) => unknown; sizes: number[]; closes: number[] } {
  const sizes: number[] = []
  const closes: number[] = []
  class Recording extends WebSocket {
    constructor(url: string) {
      super(url, { perMessageDeflate: { threshold: 0 } })
      const send = this.send.bind(this)
      this.send = ((data: string) => {
        sizes.push(Buffer.byteLength(data))
        send(data)
      }) as typeof this.send
      this.on('close', (code) => closes.push(code))
    }
  }
  return { WebSocket: Recording, sizes, closes }
}

describe('SDK at 100 remote participants', () => {
  let collector: TestCollector
  beforeAll(async () => {
    collector = await startTestCollector()
  })
  afterAll(async () => {
    await collector?.stop()
  })

  it(
    'sends every keyframe in parts under the frame limit, and the collector stores every stream',
    { timeout: 60_000 },
    async () => {
      const app = 'sdk-parts'
      const session = guid('s')
      const reports = sfuReports(N, REPORTS)
      const whole = JSON.stringify(reports[0])
      expect(Buffer.byteLength(whole)).toBeGreaterThan(LIMIT)
      const { WebSocket: Ws, sizes, closes } = recording()
      const errors: MonitorError[] = []
      // A receiving pc as an SFU call has it; getStats() gives the next report until the last.
      const { pc, polls } = replayingPc(reports)
      const monitor = createMonitor({
        url: collector.url,
        app,
        session,
        peer: 'p1',
        intervalMs: 250,
        // Periodic keyframes too (report time), not only the first.
        keyframeIntervalMs: 3000,
        // Room for every frame while acks lag on a loaded machine (a drop is not what this test is about).
        maxBufferBytes: 1 << 25,
        WebSocket: Ws,
        onError: (e) => errors.push(e),
      })
      const handle = monitor.add(pc, { label: 'recv' })
      const deadline = Date.now() + 30_000
      while (polls() < REPORTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
      handle.remove()
      await monitor.close()

      expect(errors).toEqual([])
      expect(closes.filter((c) => c !== 1000 && c !== 1005)).toEqual([])
      expect(Math.max(...sizes)).toBeLessThan(LIMIT / 2)
      // Keyframes at reports 1, 4 and 7 (3 s of report time apart), each in several parts.
      expect(sizes.filter((s) => s > 50_000).length).toBeGreaterThanOrEqual(3 * 4)

      const frames = await collector.store.query<{ n: number; keys: number; hi: number }>(
        `SELECT count() AS n, countIf(position(frame, '"key":true') > 0) AS keys, max(seq) AS hi
         FROM raw_frames FINAL WHERE app_id = {app:String} AND session_id = {session:String} AND pc_id = 'recv'`,
        { app, session },
      )
      expect(frames[0]).toEqual({ n: REPORTS, keys: 3, hi: REPORTS })
      const streams = await collector.store.query<{
        kind: string
        direction: string
        streams: number
        seconds: number
      }>(
        `SELECT kind, direction, uniqExact(stream_id) AS streams, count() AS seconds
         FROM stream_seconds FINAL WHERE app_id = {app:String} AND session_id = {session:String}
         GROUP BY kind, direction ORDER BY kind, direction`,
        { app, session },
      )
      expect(streams.map((s) => [s.kind, s.direction, s.streams])).toEqual([
        ['audio', 'inbound', N],
        ['video', 'inbound', N],
      ])
    },
  )
})
