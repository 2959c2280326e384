// Guards DESIGN.md's metric rules: rates over the report's own Δt, and a counter that goes down (or a
// missing previous sample) yields null for that second — never a zero or a spike in the stored series.
import { describe, expect, it } from 'vitest'
import type { Derived, StreamMetrics } from '../../core/derive.ts'
import { reportSequence } from '../helpers/reports.ts'
import type { Stat } from '../helpers/reports.ts'
import { deriveAll } from '../helpers/derive-series.ts'
import { loadRecordedAsIs } from '../helpers/recorded.ts'

const stream = (d: Derived | undefined, direction: string, kind: string): StreamMetrics => {
  const s = d?.streams.find((x) => x.direction === direction && x.kind === kind)
  if (!s) throw new Error(`no ${direction} ${kind} stream`)
  return s
}

describe('deriveSecond', () => {
  it('gives null rates for the first sample and real rates after', () => {
    const [first, second] = deriveAll(reportSequence('sender', 2, { videoBytesPerSecond: 125_000 }))
    expect(stream(first, 'outbound', 'video').bitrate_bps).toBeNull()
    const v = stream(second, 'outbound', 'video')
    expect(v.bitrate_bps).toBe(1_000_000)
    expect(v.fps).toBe(30)
    expect(v.qp_avg).toBe(20)
    expect(v.header_bitrate_bps).toBe(24_000)
    expect(v.interval_ms).toBe(1000)
    expect(v.codec).toBe('VP8')
    expect(v.width).toBe(640)
    expect(v.active).toBe(1)
  })

  it('computes inbound loss, jitter-buffer delay and concealment from deltas', () => {
    const [, d] = deriveAll(reportSequence('receiver', 2, { lostPerSecond: 6 }))
    const video = stream(d, 'inbound', 'video')
    expect(video.packets_lost).toBe(6)
    expect(video.loss_ratio).toBeCloseTo(6 / 126, 4)
    expect(video.fps).toBe(30)
    expect(video.jb_delay_ms).toBe(50)
    const audio = stream(d, 'inbound', 'audio')
    expect(audio.jb_delay_ms).toBe(60)
    expect(audio.concealment_ratio).toBe(0.01)
    expect(audio.fps).toBeNull()
  })

  it('yields null, not zero or a spike, when a counter goes down', () => {
    const seq = reportSequence('sender', 3, {}, (i, stats) => {
      if (i !== 2) return
      // A replaced encoder restarts its counters (same stats id).
      const v = stats.find((s) => s.type === 'outbound-rtp' && s.kind === 'video') as Stat
      v.bytesSent = 1000
      v.framesSent = 3
    })
    const [, ok, reset] = deriveAll(seq)
    expect(stream(ok, 'outbound', 'video').bitrate_bps).toBeGreaterThan(0)
    const r = stream(reset, 'outbound', 'video')
    expect(r.bitrate_bps).toBeNull()
    expect(r.fps).toBeNull()
    // Audio on the same report is unaffected.
    expect(stream(reset, 'outbound', 'audio').bitrate_bps).toBe(32_000)
  })

  it('starts a new series with null when the ssrc (stats id) changes', () => {
    const seq = reportSequence('receiver', 3, {}, (i, stats) => {
      if (i !== 2) return
      const v = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'video') as Stat
      v.id = 'RTCInboundRTPVideoStream_42'
      v.ssrc = 42
    })
    const last = deriveAll(seq)[2]
    const v = stream(last, 'inbound', 'video')
    expect(v.ssrc).toBe(42)
    expect(v.bitrate_bps).toBeNull()
  })

  it('gives null for Δt <= 0', () => {
    const seq = reportSequence('sender', 2)
    for (const s of seq[1] as Stat[]) s.timestamp = (seq[0]?.[0]?.timestamp as number) - 5
    const [, d] = deriveAll(seq)
    expect(stream(d, 'outbound', 'video').bitrate_bps).toBeNull()
  })

  it('reads limitation shares from qualityLimitationDurations deltas', () => {
    const seq = reportSequence('sender', 2, {}, (i, stats) => {
      const v = stats.find((s) => s.type === 'outbound-rtp' && s.kind === 'video') as Stat
      v.qualityLimitationDurations = { bandwidth: 10 + 0.75 * i, cpu: 2 + 0.25 * i, none: 5, other: 0 }
      v.qualityLimitationReason = 'bandwidth'
    })
    const v = stream(deriveAll(seq)[1], 'outbound', 'video')
    expect(v.limitation).toBe('bandwidth')
    expect(v.limit_bandwidth_share).toBe(0.75)
    expect(v.limit_cpu_share).toBe(0.25)
    expect(v.limit_other_share).toBe(0)
  })

  it('reports the selected candidate pair as the transport row', () => {
    const [, d] = deriveAll(reportSequence('sender', 2, { videoBytesPerSecond: 125_000 }))
    expect(d?.transport?.rtt_ms).toBe(50)
    expect(d?.transport?.send_bps).toBe(8 * 129_000)
    expect(d?.transport?.local_type).toBe('host')
    expect(d?.transport?.state).toBe('succeeded')
    // RTT of streams falls back to the pair when RTCP gave no new measurement.
    expect(stream(d, 'outbound', 'video').rtt_ms).toBe(50)
  })

  it('stores the source frame rate and the sender bandwidth estimate beside outbound video', () => {
    // A recorded @roamhq/wrtc call: media-source framesPerSecond 30ish, candidate pair estimate in Mbps.
    const seq = loadRecordedAsIs('sender-30s.json').slice(8, 11) as unknown as Stat[][]
    const v = stream(deriveAll(seq)[2], 'outbound', 'video')
    expect(v.source_fps).toBeGreaterThan(20)
    expect(v.available_out_bps).toBeGreaterThan(1_000_000)
    expect(stream(deriveAll(seq)[2], 'outbound', 'audio').source_fps).toBeNull()
  })

  it('derives pauses of inbound video like freezes (webrtc-stats totalPausesDuration)', () => {
    // The recorded receiver, modified minimally: a 6 s pause ends in the third report. libwebrtc M106
    // keeps the pause counters on the (deprecated) track object, as before M110.
    const seq = loadRecordedAsIs('receiver-30s.json').slice(8, 11) as unknown as Stat[][]
    const video = (seq[2] as Stat[]).find((s) => s.type === 'track' && s.kind === 'video') as Stat
    video.pauseCount = 1
    video.totalPausesDuration = 6
    const [, quiet, paused] = deriveAll(seq)
    expect(stream(quiet, 'inbound', 'video').paused_share).toBe(0)
    expect(stream(paused, 'inbound', 'video').pause_count).toBe(1)
    expect(stream(paused, 'inbound', 'video').paused_share).toBe(1)
  })
})
