import { describe, it, expect } from 'vitest'
import { startWrtcCall } from '../helpers/wrtc-call.ts'

const FPS = 30
const WINDOW_MS = 4000

interface RtpCounters {
  bytesSent: number
  framesDecoded: number
  packetsReceived: number
}

// Sums the counters of the rtp stats of one kind; getStats() values are untyped (`any`) in lib.dom.
async function rtpCounters(pc: RTCPeerConnection, type: string, kind: string): Promise<RtpCounters> {
  const report = await pc.getStats()
  const out: RtpCounters = { bytesSent: 0, framesDecoded: 0, packetsReceived: 0 }
  report.forEach((value: unknown) => {
    const s = value as Record<string, unknown>
    if (s.type !== type || s.kind !== kind) return
    for (const key of Object.keys(out) as (keyof RtpCounters)[]) {
      const v = s[key]
      if (typeof v === 'number') out[key] += v
    }
  })
  return out
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

describe('wrtc loopback call', () => {
  it('sends video and audio that the receiver decodes at roughly the configured rate', async () => {
    const call = startWrtcCall({ width: 320, height: 180, fps: FPS })
    try {
      await call.waitConnected()
      // Let the encoder and jitter buffer start before taking the first sample.
      await sleep(1000)
      const sent0 = await rtpCounters(call.a, 'outbound-rtp', 'video')
      const video0 = await rtpCounters(call.b, 'inbound-rtp', 'video')
      const audio0 = await rtpCounters(call.b, 'inbound-rtp', 'audio')
      const t0 = performance.now()
      await sleep(WINDOW_MS)
      const sent1 = await rtpCounters(call.a, 'outbound-rtp', 'video')
      const video1 = await rtpCounters(call.b, 'inbound-rtp', 'video')
      const audio1 = await rtpCounters(call.b, 'inbound-rtp', 'audio')
      const seconds = (performance.now() - t0) / 1000

      const kbps = ((sent1.bytesSent - sent0.bytesSent) * 8) / 1000 / seconds
      const fps = (video1.framesDecoded - video0.framesDecoded) / seconds
      const audioPps = (audio1.packetsReceived - audio0.packetsReceived) / seconds
      // Uncapped 320x180 settles around 400-600 kbps on loopback; well above the capped test below.
      expect(kbps).toBeGreaterThan(150)
      expect(fps).toBeGreaterThan(10)
      expect(fps).toBeLessThan(FPS * 1.5)
      // Opus packs 20 ms per packet by default: ~50 packets/s.
      expect(audioPps).toBeGreaterThan(25)
      expect(call.sinkCounts().videoFrames).toBeGreaterThan(0)
      expect(call.sinkCounts().audioChunks).toBeGreaterThan(0)
    } finally {
      await expect(call.close()).resolves.toBeUndefined()
    }
  })

  it('caps video with maxBitrateBps and rejects setMaxBitrate, which this wrtc build cannot apply', async () => {
    const cap = 80_000
    const call = startWrtcCall({ width: 320, height: 180, fps: FPS, audio: false, maxBitrateBps: cap })
    try {
      await call.waitConnected()
      // The first second carries the key frame and the start-up overshoot.
      await sleep(1000)
      const sent0 = await rtpCounters(call.a, 'outbound-rtp', 'video')
      const t0 = performance.now()
      await sleep(3000)
      const sent1 = await rtpCounters(call.a, 'outbound-rtp', 'video')
      const bps = ((sent1.bytesSent - sent0.bytesSent) * 8) / ((performance.now() - t0) / 1000)
      expect(bps).toBeGreaterThan(0)
      expect(bps).toBeLessThan(cap * 1.5)
      await expect(call.setMaxBitrate(150_000)).rejects.toThrow(/setParameters\(\) is not supported/)
    } finally {
      await call.close()
    }
  })
})
