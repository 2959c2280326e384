// Physical bounds of the derived metrics. A client can send any counter (`bytesSent: 1e20`); a value no
// real stream can reach is a lie or a bug, and stored it would poison every average and score over it.
// Such a value is stored as null (unknown, as for a counter reset), or as 0 for the resolution, which is
// a non-null key column where 0 already means unknown, and counted per metric in /metrics.
import type { StreamMetrics, TransportMetrics } from './derive.ts'

type Bounds<T> = Partial<Record<keyof T, readonly [min: number, max: number]>>

// Per RTP stream: 1 Gbps is beyond any WebRTC encoder (libwebrtc caps video at a few tens of Mbps).
const GBPS = 1e9
// RTT and jitter: 60 s is beyond any RTCP report interval or ICE consent timeout (RFC 7675: 30 s).
const MINUTE_MS = 60_000
// Frame rates: 240 fps is the fastest capture browsers expose.
const MAX_FPS = 240
// Resolution: 8K UHD (7680×4320), in either orientation.
const MAX_SIDE = 7680
const MAX_SHORT_SIDE = 4320

const SHARE = [0, 1] as const

/** Bounds per column of `stream_seconds`; columns not listed are unbounded here (fitStream keeps types). */
export const STREAM_BOUNDS: Bounds<StreamMetrics> = {
  bitrate_bps: [0, GBPS],
  header_bitrate_bps: [0, GBPS],
  retransmit_bitrate_bps: [0, GBPS],
  target_bitrate_bps: [0, GBPS],
  rtt_ms: [0, MINUTE_MS],
  jitter_ms: [0, MINUTE_MS],
  jb_delay_ms: [0, MINUTE_MS],
  fps: [0, MAX_FPS],
  loss_ratio: SHARE,
  frozen_share: SHARE,
  limit_bandwidth_share: SHARE,
  limit_cpu_share: SHARE,
  limit_other_share: SHARE,
  concealment_ratio: SHARE,
  audio_level: SHARE,
}

// A transport carries every stream of the connection: ten streams' worth.
export const TRANSPORT_BOUNDS: Bounds<TransportMetrics> = {
  rtt_ms: [0, MINUTE_MS],
  available_out_bps: [0, 10 * GBPS],
  available_in_bps: [0, 10 * GBPS],
  send_bps: [0, 10 * GBPS],
  recv_bps: [0, 10 * GBPS],
}

function nullOutside<T>(row: T, bounds: Bounds<T>, out: string[]): void {
  const r = row as Record<string, unknown>
  for (const k in bounds) {
    const v = r[k]
    const [lo, hi] = bounds[k as keyof T] as readonly [number, number]
    if (typeof v === 'number' && (v < lo || v > hi)) {
      r[k] = null
      out.push(k)
    }
  }
}

/**
 * Replaces the implausible values of a stream row in place (null; width and height 0) and appends the
 * name of each replaced column to `out`. Never throws.
 */
export function boundStream(s: StreamMetrics, out: string[]): void {
  nullOutside(s, STREAM_BOUNDS, out)
  const long = Math.max(s.width, s.height)
  const short = Math.min(s.width, s.height)
  if (long > MAX_SIDE || short > MAX_SHORT_SIDE) {
    s.width = 0
    s.height = 0
    out.push('resolution')
  }
}

/** As boundStream, for the transport row. */
export function boundTransport(t: TransportMetrics, out: string[]): void {
  nullOutside(t, TRANSPORT_BOUNDS, out)
}
