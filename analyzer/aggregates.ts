// Per-stream aggregates as the API, the CLI and the stored `stream_scores` rows present them (DESIGN.md
// "Metrics and scores"), from the rows queries.ts computes in SQL. Pure.
import type { StreamAggregateRow } from './queries.ts'
import { LOW_CODEC_RATE_BPS } from './thresholds.ts'

/** What the API and the CLI show for one stream: DESIGN.md's per-stream aggregates, rounded. */
export interface Aggregates {
  seconds: number
  active_seconds: number
  started_at: number
  ended_at: number
  bitrate_mean: number | null
  bitrate_p5: number | null
  bitrate_p50: number | null
  bitrate_p95: number | null
  bitrate_cv: number | null
  bitrate_sigma_kbps: number | null
  ramp_up_s: number | null
  /** Resolution or layer switches (frame-height changes), reported apart from the CV. */
  resolution_switches: number
  /** Simulcast top-layer (SSRC) switches, reported apart from the CV. */
  layer_switches: number
  target_bitrate: number | null
  fps_mean: number | null
  fps_cv: number | null
  width: number
  height: number
  freeze_count: number
  frozen_s: number
  frozen_share: number | null
  /** Inbound video: of frozen_s, the time paused (the sender stopped: webrtc-stats pauses). */
  paused_s: number
  loss: number | null
  jitter_ms: number | null
  jitter_p95_ms: number | null
  rtt_ms: number | null
  rtt_p95_ms: number | null
  jb_delay_ms: number | null
  qp: number | null
  limit_bandwidth_share: number | null
  limit_cpu_share: number | null
  limited_share: number | null
  /** Outbound video: the media-source's mean frame rate, when reported. */
  source_fps: number | null
  /** Audio that never rose above silence/DTX (muted or silent): 1; its MOS ignores the codec rate. */
  silent: number
  nack_per_s: number | null
  pli_per_s: number | null
  keyframes: number
  dropped_share: number | null
  concealment: number | null
}

/** Rounds to `digits` decimals; null for missing or non-finite values. */
export const round = (v: number | null | undefined, digits = 3): number | null => {
  if (v === null || v === undefined || !Number.isFinite(v)) return null
  const f = 10 ** digits
  return Math.round(v * f) / f
}

/** The stored aggregates of a row: stalls count as frozen time for inbound video (SCORING.md). */
export function toAggregates(r: StreamAggregateRow): Aggregates {
  const inVideo = r.kind === 'video' && r.direction === 'inbound'
  const frozen = inVideo ? r.frozen_stat_s + r.stalled_s : 0
  return {
    seconds: r.seconds,
    active_seconds: r.active_seconds,
    started_at: r.start_ms,
    ended_at: r.end_ms,
    bitrate_mean: round(r.bitrate_mean, 0),
    bitrate_p5: round(r.bitrate_p5, 0),
    bitrate_p50: round(r.bitrate_p50, 0),
    bitrate_p95: round(r.bitrate_p95, 0),
    bitrate_cv: round(r.bitrate_cv),
    bitrate_sigma_kbps: round(r.bitrate_sigma_kbps, 1),
    ramp_up_s: r.ramp_up_s,
    resolution_switches: r.kind === 'video' ? r.resolution_switches : 0,
    layer_switches: r.kind === 'video' ? r.layer_switches : 0,
    target_bitrate: round(r.target_bitrate, 0),
    fps_mean: round(r.fps_mean, 2),
    fps_cv: round(r.fps_cv),
    width: r.width,
    height: r.height,
    freeze_count: inVideo ? Math.max(r.freeze_count, r.stalled_s > 0 && r.freeze_count === 0 ? 1 : 0) : 0,
    frozen_s: round(frozen, 2) ?? 0,
    frozen_share: inVideo && r.duration_s > 0 ? round(Math.min(1, frozen / r.duration_s), 4) : null,
    paused_s: inVideo ? (round(r.paused_s, 2) ?? 0) : 0,
    loss: round(r.loss, 4),
    jitter_ms: round(r.jitter_ms, 1),
    jitter_p95_ms: round(r.jitter_p95_ms, 1),
    rtt_ms: round(r.rtt_ms, 1),
    rtt_p95_ms: round(r.rtt_p95_ms, 1),
    jb_delay_ms: round(r.jb_delay_ms, 1),
    qp: round(r.qp, 1),
    limit_bandwidth_share: round(r.limit_bandwidth_share),
    limit_cpu_share: round(r.limit_cpu_share),
    limited_share:
      r.kind === 'video' && r.direction === 'outbound' && r.active_seconds > 0
        ? round(r.limited_seconds / r.active_seconds)
        : null,
    source_fps: round(r.source_fps, 2),
    silent: r.silent,
    nack_per_s: round(r.nack_per_s, 2),
    pli_per_s: round(r.pli_per_s, 2),
    keyframes: r.keyframes,
    dropped_share: round(r.dropped_share, 4),
    concealment: round(r.concealment, 4),
  }
}

export { LOW_CODEC_RATE_BPS }
