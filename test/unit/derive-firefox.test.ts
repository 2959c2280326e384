// Derivation meets the other engine: 30 s of real getStats() reports of a clean loopback call in Firefox
// ESR 153 (test/fixtures/firefox/). Firefox's stats differ from libwebrtc's in Chromium: no
// qualityLimitationReason or availableOutgoingBitrate, `peer-connection` and track-keyed `media-source`
// objects, remote-* objects refreshed only with RTCP, and a selected candidate pair whose round-trip
// times stay 0 while responses arrive. Every derived second must still be true: no invented zero RTT,
// no loss, framerate and bitrate as sent.
import { describe, expect, it } from 'vitest'
import { deriveSecond } from '../../core/derive.ts'
import type { Derived, Snapshot, StreamMetrics } from '../../core/derive.ts'
import { normalizeReport } from '../../core/delta.ts'
import { loadRecorded } from '../helpers/recorded.ts'
import { asReport } from '../helpers/reports.ts'

const END = 1_900_000_000_000

function deriveAll(name: string): Derived[] {
  let snap: Snapshot | undefined
  return loadRecorded(name, END).map((stats) => {
    const ts = stats[0]?.timestamp ?? 0
    const d = deriveSecond(normalizeReport(asReport(stats), ts), ts, snap)
    snap = d.snapshot
    return d
  })
}

const streams = (ds: Derived[], direction: string, kind: string): StreamMetrics[] =>
  ds.slice(1).map((d) => {
    const s = d.streams.find((x) => x.direction === direction && x.kind === kind)
    if (!s) throw new Error(`no ${direction} ${kind} stream`)
    return s
  })

describe('deriveSecond on a Firefox ESR 153 call', () => {
  const sender = deriveAll('firefox/sender-30s.json')
  const receiver = deriveAll('firefox/receiver-30s.json')

  it('derives the sent video as sent: VP8, ~30 fps, a real bitrate, RTT from RTCP', () => {
    const video = streams(sender, 'outbound', 'video')
    for (const s of video) {
      expect(s.codec).toBe('VP8')
      expect(s.active).toBe(1)
      expect(s.fps).toBeGreaterThan(25)
      expect(s.fps).toBeLessThan(35)
      expect(s.bitrate_bps).toBeGreaterThan(100_000)
      expect(s.loss_ratio).toBe(0)
      // Firefox has no qualityLimitationReason/Durations: unknown, not "none".
      expect(s.limitation).toBe('')
      expect(s.limit_bandwidth_share).toBeNull()
      expect(s.limit_cpu_share).toBeNull()
    }
    // The encoder ramps 320x180 → 640x360 as its bandwidth estimate grows (bandwidth-limited, silently).
    expect(video.at(-1)).toMatchObject({ width: 640, height: 360 })
    const rtts = video.map((s) => s.rtt_ms).filter((v) => v !== null)
    expect(rtts.length).toBeGreaterThan(20)
    for (const r of rtts) expect(r).toBeGreaterThan(0)
    for (const r of rtts) expect(r).toBeLessThan(50)
  })

  it('derives the received audio and video: no loss, jitter and jitter-buffer delay in ms', () => {
    const audio = streams(receiver, 'inbound', 'audio')
    // Two real concealment events (70 and 24 ms, NetEq on a busy machine): counted as they happened.
    const concealed = audio.map((s) => s.concealment_ratio ?? NaN)
    expect(concealed.filter((c) => c > 0)).toEqual([0.07, 0.0226])
    for (const s of audio) {
      expect(s.codec).toBe('opus')
      expect(s.loss_ratio).toBe(0)
      expect(s.jitter_ms).toBeLessThan(30)
      expect(s.jb_delay_ms).toBeGreaterThan(20)
      expect(s.jb_delay_ms).toBeLessThan(200)
    }
    for (const s of streams(receiver, 'inbound', 'video')) {
      expect(s.fps).toBeGreaterThan(25)
      expect(s.frozen_share).toBe(0)
      expect(s.frames_dropped).toBe(0)
      expect(s.jb_delay_ms).toBeLessThan(150)
    }
  })

  it('never reports a 0 ms RTT from the candidate pair whose round-trip times Firefox leaves at 0', () => {
    for (const d of [...sender, ...receiver].slice(1)) {
      expect(d.transport).toMatchObject({ state: 'succeeded', local_type: 'host', protocol: 'udp' })
      expect(d.transport?.rtt_ms).toBeNull()
      expect(d.transport?.available_out_bps).toBeNull()
      // Inbound streams have no RTCP RTT in Firefox (remote-outbound-rtp has no roundTripTime).
      for (const s of d.streams) if (s.direction === 'inbound') expect(s.rtt_ms).toBeNull()
    }
  })
})
