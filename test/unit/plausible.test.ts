// The physical bounds of derived metrics (core/plausible.ts): what no real stream reaches is
// dropped to null (resolution to 0) and named, and what real streams do reach is kept as it is.
import { describe, expect, it } from 'vitest'
import type { StreamMetrics, TransportMetrics } from '../../core/derive.ts'
import { boundStream, boundTransport } from '../../core/plausible.ts'

const stream = (over: Partial<StreamMetrics>): StreamMetrics =>
  ({
    width: 1280,
    height: 720,
    bitrate_bps: 2.5e6,
    fps: 30,
    rtt_ms: 40,
    loss_ratio: 0.01,
    ...over,
  }) as StreamMetrics

describe('boundStream', () => {
  it('keeps values real streams reach, up to the bounds', () => {
    const s = stream({ bitrate_bps: 1e9, fps: 240, rtt_ms: 60_000, jitter_ms: 0, width: 4320, height: 7680 })
    const out: string[] = []
    boundStream(s, out)
    expect(out).toEqual([])
    expect(s).toMatchObject({ bitrate_bps: 1e9, fps: 240, rtt_ms: 60_000, width: 4320, height: 7680 })
  })

  it('nulls each value beyond its bound and names it', () => {
    const s = stream({
      bitrate_bps: 8e20,
      fps: 241,
      rtt_ms: 60_001,
      jitter_ms: -1,
      loss_ratio: 1.5,
      frozen_share: 2,
      limit_cpu_share: -0.1,
    })
    const out: string[] = []
    boundStream(s, out)
    expect(out.sort()).toEqual(
      ['bitrate_bps', 'fps', 'frozen_share', 'jitter_ms', 'limit_cpu_share', 'loss_ratio', 'rtt_ms'].sort(),
    )
    expect(s).toMatchObject({ bitrate_bps: null, fps: null, rtt_ms: null, loss_ratio: null, width: 1280 })
  })

  it('zeroes a resolution beyond 8K (7680×4320, either orientation)', () => {
    for (const [width, height] of [
      [7681, 100],
      [5000, 5000],
    ] as const) {
      const s = stream({ width, height })
      const out: string[] = []
      boundStream(s, out)
      expect(out).toEqual(['resolution'])
      expect([s.width, s.height]).toEqual([0, 0])
    }
  })
})

describe('boundTransport', () => {
  it('nulls an RTT over a minute and a send rate over 10 Gbps', () => {
    const t = { rtt_ms: 1e9, send_bps: 2e10, recv_bps: 1e6 } as TransportMetrics
    const out: string[] = []
    boundTransport(t, out)
    expect(out).toEqual(['rtt_ms', 'send_bps'])
    expect(t).toMatchObject({ rtt_ms: null, send_bps: null, recv_bps: 1e6 })
  })
})
