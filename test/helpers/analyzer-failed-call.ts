// A real two-peer @roamhq/wrtc call that never carries media (ICE fails, or never starts), monitored the
// way the SDK monitors one: a getStats() per peer per second as stats frames, every connection-state
// change as an event with the SDK's snapshot of the four states, then `closed` and a goodbye.
import { openFeeder } from './analyzer-feed.ts'
import type { Feeder } from './analyzer-feed.ts'
import { startWrtcCall } from './wrtc-call.ts'
import type { WrtcCallOptions } from './wrtc-call.ts'

export interface FailedCall {
  app: string
  session: string
  /** Monitored peer ids of the sender and the receiver, default `a`, `b`. */
  peers?: [string, string]
  ice: 'withhold-candidates' | 'wrong-credentials'
  /** Stop after this many seconds of stats, or 2 s after both pcs reached `failed`. */
  maxSeconds: number
  call?: WrtcCallOptions
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)))
const snapshot = (pc: RTCPeerConnection) => ({
  connectionState: pc.connectionState,
  iceConnectionState: pc.iceConnectionState,
  iceGatheringState: pc.iceGatheringState,
  signalingState: pc.signalingState,
})

/** Runs the failed call; resolves with each pc's last connectionState once every frame is acknowledged. */
export async function runFailedCall(streamUrl: string, m: FailedCall): Promise<string[]> {
  const [pa, pb] = m.peers ?? ['a', 'b']
  const call = startWrtcCall({ ...m.call, ice: m.ice })
  const ua = 'Mozilla/5.0 (X11; Linux x86_64) Node.js/v20 @roamhq/wrtc/0.10'
  let open = true
  try {
    const open1 = (peer: string): Promise<Feeder> =>
      openFeeder(streamUrl, { app: m.app, session: m.session, peer, ua, meta: { test: 'wrtc-failed' } })
    const [fa, fb] = await Promise.all([open1(pa), open1(pb)])
    const sides: [RTCPeerConnection, Feeder][] = [
      [call.a, fa],
      [call.b, fb],
    ]
    for (const [pc, f] of sides) {
      f.event('pc1', 'connectionstatechange', snapshot(pc))
      for (const name of ['connectionstatechange', 'iceconnectionstatechange'])
        pc.addEventListener(name, () => {
          if (open) f.event('pc1', name, snapshot(pc))
        })
    }
    const start = performance.now()
    let failedAt: number | undefined
    for (let i = 1; i <= m.maxSeconds; i++) {
      await sleep(start + i * 1000 - performance.now())
      const [ra, rb] = await Promise.all([call.a.getStats(), call.b.getStats()])
      fa.stats('pc1', ra)
      fb.stats('pc1', rb)
      if (call.a.connectionState === 'failed' && call.b.connectionState === 'failed') failedAt ??= i
      if (failedAt !== undefined && i >= failedAt + 2) break
    }
    open = false
    const states = [call.a.connectionState as string, call.b.connectionState as string]
    for (const [, f] of sides) {
      f.event('pc1', 'connectionstatechange', { state: 'closed' })
      f.event('_', 'bye', { reason: 'hangup' })
    }
    await Promise.all([fa.close(), fb.close()])
    return states
  } finally {
    open = false
    await call.close()
  }
}
