// What the detectors share: the issue vocabulary, the per-second rows they read, and the episode rules
// (DESIGN.md "Issues": a condition must persist, 3 of 5 seconds, before it is an issue). Pure.
import { PERSIST_HITS, PERSIST_SECONDS } from './thresholds.ts'

export const ISSUE_TYPES = [
  'high_rtt',
  'high_jitter',
  'packet_loss',
  'low_mos',
  'freeze',
  'cpu_limitation',
  'bandwidth_limitation',
  'ice_disconnect',
  'ice_failure',
  'relay',
  'tcp_relay',
  'no_inbound_media',
  'keyframe_storm',
  'media_access_denied',
  'media_device_error',
] as const
export type IssueType = (typeof ISSUE_TYPES)[number]
export type Severity = 'info' | 'warning' | 'critical'
export const SEVERITY_RANK: Record<Severity, number> = { info: 1, warning: 2, critical: 3 }

export interface Issue {
  type: IssueType
  severity: Severity
  peer: string
  pc: string
  /** Stats id of the RTP stream, '' for transport- or connection-level issues. */
  stream: string
  /** Epoch ms of the first and last second of the episode. */
  start: number
  end: number
  evidence: Record<string, number>
  detail: string
}

/** One stream_seconds row as the detectors read it (nullable as stored). */
export interface StreamSecond {
  t: number
  interval_ms: number
  active: number
  bitrate_bps: number | null
  packets_per_s: number | null
  fps: number | null
  width: number
  height: number
  loss_ratio: number | null
  jitter_ms: number | null
  rtt_ms: number | null
  jb_delay_ms: number | null
  freeze_count: number | null
  frozen_share: number | null
  limitation: string
  limit_bandwidth_share: number | null
  limit_cpu_share: number | null
  keyframes: number | null
  pli_per_s: number | null
  concealment_ratio: number | null
  /** Columns of migration 006 (absent in rows stored before it, and in hand-written series). */
  pause_count?: number | null
  paused_share?: number | null
  source_fps?: number | null
  source_width?: number
  source_height?: number
  available_out_bps?: number | null
}

export interface StreamSeries {
  peer: string
  pc: string
  stream: string
  direction: 'inbound' | 'outbound'
  kind: 'audio' | 'video'
  codec: string
  /** The stream's codec rate for the E-model (p90 bitrate), bps. */
  codecRateBps: number | null
  /**
   * All seconds of the stream, or only those where some detector condition holds (the analyzer reads
   * no more): the rules are time-based, so unflagged seconds are gaps either way. Sparse rows need `span`.
   */
  rows: StreamSecond[]
  span?: StreamSpan
}

/** What a sparse series cannot tell by itself, from the stream's aggregates (epoch ms). */
export interface StreamSpan {
  start: number
  end: number
  firstActive: number | null
  lastActive: number | null
  /** Largest frame height of an active second. */
  maxHeight: number
  /** The stream's lowest RTT (ms), the baseline for RTT growth; null when unknown. */
  minRttMs?: number | null
}

/** The span of `s`: as given, or read off its rows (a full series). */
export function spanOf(s: StreamSeries): StreamSpan {
  if (s.span) return s.span
  const active = s.rows.filter((r) => r.active === 1)
  return {
    start: s.rows[0]?.t ?? 0,
    end: s.rows[s.rows.length - 1]?.t ?? 0,
    firstActive: active[0]?.t ?? null,
    lastActive: active[active.length - 1]?.t ?? null,
    maxHeight: Math.max(0, ...active.map((r) => r.height)),
    minRttMs: s.rows.some((r) => r.rtt_ms !== null)
      ? Math.min(...s.rows.flatMap((r) => (r.rtt_ms !== null ? [r.rtt_ms] : [])))
      : null,
  }
}

export interface TransportSecond {
  t: number
  rtt_ms: number | null
  local_type: string
  relay_protocol: string
}

export interface TransportSeries {
  peer: string
  pc: string
  rows: TransportSecond[]
}

/**
 * A connection-state event: `name` as the SDK sent it, `state` from its data. For a
 * `getUserMedia.error` / `getDisplayMedia.error` event, `error` holds the DOMException's name and message.
 */
export interface StateEvent {
  peer: string
  pc: string
  t: number
  name: string
  state: string
  error?: { name: string; message: string }
}

export interface DetectOptions {
  /** Frame rate a camera stream should reach (fps); limitation only counts when it cost quality. */
  expectedFps: number
  /** End of the analysed range (epoch ms): open ICE episodes end here. */
  end: number
}

// Persistence rule of DESIGN.md: a condition must hold in 3 of 5 consecutive seconds.
const K = PERSIST_HITS
const N = PERSIST_SECONDS
export const SECOND = 1000

export interface Episode {
  from: number
  to: number
  /** Indexes of the flagged rows inside the episode. */
  hits: number[]
}

/**
 * Episodes where `flag` holds in at least `k` of `n` consecutive seconds (time-based windows, so a
 * missing second counts as unflagged). An episode runs from the first to the last flagged second of the
 * windows that met the rule; windows that overlap or touch join one episode.
 */
export function persistentEpisodes<R extends { t: number }>(
  rows: readonly R[],
  flag: (r: R) => boolean,
  k = K,
  n = N,
): Episode[] {
  const flagged: number[] = []
  rows.forEach((r, i) => {
    if (flag(r)) flagged.push(i)
  })
  const episodes: Episode[] = []
  let lo = 0
  for (let hi = 0; hi < flagged.length; hi++) {
    const tHi = (rows[flagged[hi] as number] as R).t
    while (tHi - (rows[flagged[lo] as number] as R).t > (n - 0.5) * SECOND) lo++
    if (hi - lo + 1 < k) continue
    const window = flagged.slice(lo, hi + 1)
    const last = episodes[episodes.length - 1]
    const firstT = (rows[window[0] as number] as R).t
    if (last && firstT <= (rows[last.to] as R).t + n * SECOND) {
      for (const i of window) if (i > last.to) last.hits.push(i)
      last.to = flagged[hi] as number
    } else episodes.push({ from: window[0] as number, to: flagged[hi] as number, hits: [...window] })
  }
  return episodes
}

/** Runs of flagged rows, joined across gaps of at most `gapMs`. */
export function runs<R extends { t: number }>(
  rows: readonly R[],
  flag: (r: R) => boolean,
  gapMs: number,
): Episode[] {
  const out: Episode[] = []
  rows.forEach((r, i) => {
    if (!flag(r)) return
    const last = out[out.length - 1]
    if (last && r.t - (rows[last.to] as R).t <= gapMs) {
      last.to = i
      last.hits.push(i)
    } else out.push({ from: i, to: i, hits: [i] })
  })
  return out
}

export const r1 = (v: number): number => Math.round(v * 10) / 10
export const r3 = (v: number): number => Math.round(v * 1000) / 1000
export function stats(values: number[]): { mean: number; max: number } {
  let sum = 0
  let max = -Infinity
  for (const v of values) {
    sum += v
    if (v > max) max = v
  }
  return { mean: values.length ? sum / values.length : 0, max: values.length ? max : 0 }
}

/** An Issue of the stream or pc `s`. */
export function issue(
  s: { peer: string; pc: string; stream?: string },
  type: IssueType,
  severity: Severity,
  start: number,
  end: number,
  evidence: Record<string, number>,
  detail: string,
): Issue {
  return { type, severity, peer: s.peer, pc: s.pc, stream: s.stream ?? '', start, end, evidence, detail }
}
