// Guards the simulcast row (core/simulcast.ts): an outbound video source with several encodings is
// one stream whose row each second is its top active layer's, keyed by that layer's SSRC, so a receiver of
// that layer pairs with it and a layer switch is a change of SSRC, never a step in a summed bitrate.
import { describe, expect, it } from 'vitest'
import type { Derived, StreamMetrics } from '../../core/derive.ts'
import { reportSequence } from '../helpers/reports.ts'
import type { Stat } from '../helpers/reports.ts'
import { deriveAll } from '../helpers/derive-series.ts'

const outVideo = (d: Derived | undefined): StreamMetrics[] =>
  d?.streams.filter((s) => s.direction === 'outbound' && s.kind === 'video') ?? []

/** The sender fixture with its video as three layers q/h/f (180p, 360p, 720p); `fOff(i)` stops f. */
function simulcast(count: number, fOff: (i: number) => boolean = () => false): Stat[][] {
  const bytes: Record<string, number> = { q: 20_000, h: 60_000, f: 250_000 }
  const size: Record<string, [number, number]> = { q: [320, 180], h: [640, 360], f: [1280, 720] }
  const sent: Record<string, number> = { q: 0, h: 0, f: 0 }
  return reportSequence('sender', count, {}, (i, stats) => {
    const v = stats.find((s) => s.type === 'outbound-rtp' && s.kind === 'video') as Stat
    const at = stats.indexOf(v)
    const layers = (['q', 'h', 'f'] as const).map((rid, n) => {
      const off = rid === 'f' && fOff(i)
      if (i > 0 && !off) sent[rid] = (sent[rid] ?? 0) + 1
      const k = sent[rid] ?? 0
      return {
        ...v,
        id: `${v.id}_${rid}`,
        ssrc: 1000 + n,
        rid,
        active: !off,
        bytesSent: (bytes[rid] ?? 0) * k,
        packetsSent: 100 * k,
        framesEncoded: 30 * k,
        framesSent: 30 * k,
        frameWidth: size[rid]?.[0],
        frameHeight: size[rid]?.[1],
      }
    })
    stats.splice(at, 1, ...layers)
  })
}

describe('mergeSimulcast', () => {
  it("keeps one row per source: the top active layer's, with its SSRC and rid", () => {
    const d = deriveAll(simulcast(3))
    const rows = outVideo(d[2])
    expect(rows).toHaveLength(1)
    const r = rows[0] as StreamMetrics
    expect(r.ssrc).toBe(1002)
    expect(r.rid).toBe('f')
    expect(r.width).toBe(1280)
    // The top layer's media rate, not the three layers' sum (2.64 Mbps).
    expect(r.bitrate_bps).toBe(2_000_000)
    expect(r.layers).toBe(3)
    expect(r.active).toBe(1)
  })

  it('switches to the next layer, under the same stream id, when the top layer stops', () => {
    const d = deriveAll(simulcast(5, (i) => i >= 3))
    const on = outVideo(d[2])[0] as StreamMetrics
    const off = outVideo(d[4])[0] as StreamMetrics
    expect(off.stream_id).toBe(on.stream_id)
    expect(off.ssrc).toBe(1001)
    expect(off.rid).toBe('h')
    expect(off.height).toBe(360)
    expect(off.bitrate_bps).toBe(480_000)
    expect(off.layers).toBe(2)
  })

  it('leaves a single-encoding source alone, with layers 1 while it sends', () => {
    const d = deriveAll(reportSequence('sender', 2))
    const r = outVideo(d[1])[0] as StreamMetrics
    expect(r.layers).toBe(1)
    expect(r.rid).toBe('')
  })
})
