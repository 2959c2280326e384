// Runs a real two-peer @roamhq/wrtc call and monitors both peers the way the SDK does: one getStats()
// per peer per second, delta-encoded over the collector's WebSocket, plus connection-state events and a
// goodbye at the end. Peer `a` sends audio+video, peer `b` receives.
import { startWrtcCall } from './wrtc-call.ts'
import type { WrtcCallOptions } from './wrtc-call.ts'
import { openFeeder } from './analyzer-feed.ts'
import type { Feeder } from './analyzer-feed.ts'

export interface MonitoredCall {
  app: string
  session: string
  /** Seconds of stats after both peers connected. */
  seconds: number
  call?: WrtcCallOptions
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)))

/** Runs the call to the end and resolves once every frame is acknowledged. Always closes the call. */
export async function runMonitoredCall(streamUrl: string, m: MonitoredCall): Promise<void> {
  const call = startWrtcCall(m.call)
  const ua = 'Mozilla/5.0 (X11; Linux x86_64) Node.js/v20 @roamhq/wrtc/0.10'
  try {
    await call.waitConnected()
    const open = (peer: string): Promise<Feeder> =>
      openFeeder(streamUrl, { app: m.app, session: m.session, peer, ua, meta: { test: 'wrtc' } })
    const [a, b] = await Promise.all([open('a'), open('b')])
    const feeders = [a, b]
    for (const f of feeders) f.event('pc1', 'connectionstatechange', { state: 'connected' })
    const start = performance.now()
    for (let i = 1; i <= m.seconds; i++) {
      // Absolute deadlines, so slow getStats() calls do not stretch the call.
      await sleep(start + i * 1000 - performance.now())
      const [ra, rb] = await Promise.all([call.a.getStats(), call.b.getStats()])
      a.stats('pc1', ra)
      b.stats('pc1', rb)
    }
    for (const f of feeders) {
      f.event('pc1', 'connectionstatechange', { state: 'closed' })
      f.event('_', 'bye', { reason: 'hangup' })
    }
    await Promise.all(feeders.map((f) => f.close()))
  } finally {
    await call.close()
  }
}
