// Invariant 1 end to end on a real call: two @roamhq/wrtc peers (audio + video over loopback) monitored by
// the SDK against a real collector on chDB. Every frame the SDK numbered must be in raw_frames exactly
// once — count() without FINAL, so a needless resend would show — and the per-second rows decoded from
// the SDK's deltas must carry real bitrates and framerates. It also measures what the SDK puts on the
// wire, through a byte-counting TCP proxy (permessage-deflate and WebSocket framing included).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { guid, startTestCollector } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { monitoredCall } from '../helpers/sdk-node.ts'
import { startByteProxy } from '../helpers/sdk-proxy.ts'
import type { ByteProxy } from '../helpers/sdk-proxy.ts'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

let running: TestCollector
let proxy: ByteProxy

beforeAll(async () => {
  running = await startTestCollector()
  const { hostname, port } = new URL(running.url)
  proxy = await startByteProxy({ host: hostname, port: Number(port) })
})

afterAll(async () => {
  await proxy?.close()
  await running?.stop()
})

describe('SDK on a real wrtc call', () => {
  it(
    'stores every frame of both peer connections once, with real per-second metrics',
    { timeout: 90_000 },
    async () => {
      const app = 'sdk-wrtc'
      const session = guid('s')
      const { call, monitor, log, errors } = monitoredCall({
        url: proxy.url,
        app,
        session,
        call: { width: 640, height: 360 },
      })
      let steady: { t: number; up: number; raw: number } | undefined
      try {
        await call.waitConnected()
        // The first seconds hold the keyframes and the encoder ramp-up; measure the steady state after them.
        await sleep(3000)
        steady = { t: performance.now(), up: proxy.up, raw: log.bytes }
        await sleep(5000)
      } finally {
        await monitor.close()
        await call.close()
      }
      const seconds = (performance.now() - (steady?.t ?? 0)) / 1000
      const wire = (proxy.up - (steady?.up ?? 0)) / seconds
      const raw = (log.bytes - (steady?.raw ?? 0)) / seconds
      console.log(
        `SDK steady state, 2 pcs (sender + receiver): ${raw.toFixed(0)} B/s JSON, ${wire.toFixed(0)} B/s on the wire`,
      )

      expect(errors).toEqual([])
      const frames = await running.store.query<{
        pc_id: string
        n: number
        u: number
        lo: number
        hi: number
      }>(
        `SELECT pc_id, count() AS n, uniqExact(seq) AS u, min(seq) AS lo, max(seq) AS hi FROM raw_frames
       WHERE app_id = {app:String} AND session_id = {session:String} GROUP BY pc_id ORDER BY pc_id`,
        { app, session },
      )
      // The monitor channel `_` holds the bye that close() sent.
      expect(frames.map((f) => f.pc_id)).toEqual(['_', 'receiver', 'sender'])
      for (const f of frames) {
        expect(f).toEqual({ pc_id: f.pc_id, n: f.hi, u: f.hi, lo: 1, hi: log.maxSeq.get(f.pc_id) })
        if (f.pc_id !== '_') expect(f.hi).toBeGreaterThanOrEqual(8)
      }

      const streams = await running.store.query<{
        pc_id: string
        direction: string
        kind: string
        good: number
      }>(
        `SELECT pc_id, toString(direction) AS direction, toString(kind) AS kind,
         countIf(kind = 'audio' OR (fps > 10 AND (direction = 'inbound' OR bitrate_bps > 50000))) AS good
       FROM stream_seconds FINAL
       WHERE app_id = {app:String} AND session_id = {session:String}
       GROUP BY pc_id, direction, kind ORDER BY pc_id, direction, kind`,
        { app, session },
      )
      expect(streams.map((s) => `${s.pc_id} ${s.direction} ${s.kind}`)).toEqual([
        'receiver inbound audio',
        'receiver inbound video',
        'sender outbound audio',
        'sender outbound video',
      ])
      // Eight seconds of call: at least four seconds of each stream with real media after the ramp-up.
      for (const s of streams) expect(s.good, `${s.pc_id} ${s.direction} ${s.kind}`).toBeGreaterThanOrEqual(4)

      const events = await running.store.query<{ pc_id: string; data: string }>(
        `SELECT pc_id, data FROM events FINAL
       WHERE app_id = {app:String} AND session_id = {session:String} AND name = 'connectionstatechange'`,
        { app, session },
      )
      for (const pc of ['sender', 'receiver']) {
        const states = events
          .filter((e) => e.pc_id === pc)
          .map((e) => (JSON.parse(e.data) as { connectionState: string }).connectionState)
        expect(states).toContain('connected')
      }
      // DESIGN.md target: ≤ 700 B/s on the wire per sending pc with audio and video. Both pcs share the socket.
      expect(wire).toBeLessThan(2 * 700)
    },
  )
})
