// Detectors over one RTP stream's per-second series, one function each, run from one table: jitter,
// loss, MOS, key-frame storms, freezes (detect-freezes.ts) and CPU/bandwidth limitation
// (detect-limitation.ts). Pure. Thresholds: thresholds.ts (shared with the SQL prefilter); sources: SCORING.md §6.
import { issue, persistentEpisodes, r1, r3, runs, spanOf, stats } from './episodes.ts'
import type { DetectOptions, Episode, Issue, IssueType, StreamSecond, StreamSeries } from './episodes.ts'
import { freezeIssues } from './detect-freezes.ts'
import { limitationIssues } from './detect-limitation.ts'
import { eModel } from './score.ts'
import {
  CRITICAL_JITTER_MS,
  CRITICAL_LOSS,
  CRITICAL_MOS,
  CRITICAL_STORM_KEYFRAMES,
  HIGH_JITTER_MS,
  LOSS,
  LOW_MOS,
  STORM_KEYFRAMES,
  STORM_STARTUP_MS,
  STORM_WINDOW_MS,
} from './thresholds.ts'

/** Per-second MOS of an audio row (the E-model of score.ts on that second's values), or null. */
export function secondMos(
  s: StreamSeries,
  r: StreamSecond,
  fallbackRttMs: number | null = null,
): number | null {
  if (s.kind !== 'audio' || r.active !== 1) return null
  const loss = Math.max(r.loss_ratio ?? 0, r.concealment_ratio ?? 0)
  return eModel({
    codec: s.codec,
    bitrateBps: s.codecRateBps,
    rttMs: r.rtt_ms ?? fallbackRttMs,
    jbMs: s.direction === 'inbound' ? r.jb_delay_ms : null,
    jitterMs: r.jitter_ms,
    loss,
  }).mos
}

/** What a stream detector gets besides the stream: options and the pc's RTT at a time (for the MOS). */
export interface StreamContext {
  opts: DetectOptions
  rttOf: (t: number) => number | null
}

/** One detector: the streams it looks at and the issues it finds on one of them. */
export interface StreamDetector {
  types: readonly IssueType[]
  applies: (s: StreamSeries) => boolean
  detect: (s: StreamSeries, ctx: StreamContext) => Issue[]
}

const at = (s: StreamSeries, i: number): StreamSecond => s.rows[i] as StreamSecond
const values = (s: StreamSeries, e: Episode, f: (r: StreamSecond) => number | null): number[] =>
  e.hits.map((i) => f(at(s, i))).filter((v): v is number => v !== null)

/** high_jitter: audio interarrival jitter above HIGH_JITTER_MS, 3 of 5. */
export function jitterIssues(s: StreamSeries): Issue[] {
  return persistentEpisodes(s.rows, (r) => (r.jitter_ms ?? 0) > HIGH_JITTER_MS).map((e) => {
    const v = stats(values(s, e, (r) => r.jitter_ms))
    return issue(
      s,
      'high_jitter',
      v.mean > CRITICAL_JITTER_MS ? 'critical' : 'warning',
      at(s, e.from).t,
      at(s, e.to).t,
      { seconds: e.hits.length, mean_jitter_ms: r1(v.mean), max_jitter_ms: r1(v.max) },
      `${s.direction} audio jitter above ${HIGH_JITTER_MS} ms in ${e.hits.length} s (mean ${r1(v.mean)} ms, max ${r1(v.max)} ms)`,
    )
  })
}

/** packet_loss: loss above LOSS, 3 of 5. */
export function lossIssues(s: StreamSeries): Issue[] {
  return persistentEpisodes(s.rows, (r) => (r.loss_ratio ?? 0) > LOSS).map((e) => {
    const v = stats(values(s, e, (r) => r.loss_ratio))
    return issue(
      s,
      'packet_loss',
      v.mean > CRITICAL_LOSS ? 'critical' : 'warning',
      at(s, e.from).t,
      at(s, e.to).t,
      { seconds: e.hits.length, mean_loss: r3(v.mean), max_loss: r3(v.max) },
      `${s.direction} ${s.kind} loss above ${LOSS * 100}% in ${e.hits.length} s (mean ${r1(v.mean * 100)}%, max ${r1(v.max * 100)}%)`,
    )
  })
}

/** low_mos: per-second E-model MOS below LOW_MOS, 3 of 5. */
export function lowMosIssues(s: StreamSeries, { rttOf }: StreamContext): Issue[] {
  const mos = new Map(s.rows.map((r) => [r, secondMos(s, r, rttOf(r.t))]))
  return persistentEpisodes(s.rows, (r) => {
    const m = mos.get(r)
    return m !== null && m !== undefined && m < LOW_MOS
  }).map((e) => {
    const hits = e.hits.map((i) => mos.get(at(s, i)) as number)
    const v = stats(hits)
    const min = Math.min(...hits)
    return issue(
      s,
      'low_mos',
      v.mean < CRITICAL_MOS ? 'critical' : 'warning',
      at(s, e.from).t,
      at(s, e.to).t,
      {
        seconds: e.hits.length,
        mean_mos: Math.round(v.mean * 100) / 100,
        min_mos: Math.round(min * 100) / 100,
      },
      `${s.direction} audio MOS below ${LOW_MOS} in ${e.hits.length} s (mean ${v.mean.toFixed(2)}, min ${min.toFixed(2)})`,
    )
  })
}

/** keyframe_storm: STORM_KEYFRAMES key frames within STORM_WINDOW_MS, the stream's start-up excepted. */
export function keyframeStormIssues(s: StreamSeries): Issue[] {
  const rows = s.rows
  // Start-up key frames are normal: the storm rule starts STORM_STARTUP_MS after the stream's first row.
  const t0 = spanOf(s).start + STORM_STARTUP_MS
  const counts = new Map(
    rows.map((r, i) => {
      let sum = 0
      for (let j = i; j >= 0 && r.t - at(s, j).t < STORM_WINDOW_MS; j--)
        if (at(s, j).t >= t0) sum += at(s, j).keyframes ?? 0
      return [r, sum]
    }),
  )
  // A storm second has key frames of its own: the episode ends at the last key frame, not 10 s later when
  // the window empties (the seconds between carry nothing, and the SQL prefilter reads only these).
  const storm = (r: StreamSecond): boolean =>
    (r.keyframes ?? 0) > 0 && (counts.get(r) as number) >= STORM_KEYFRAMES
  return runs(rows, storm, STORM_WINDOW_MS).map((e) => {
    const kf = e.hits.reduce((a, i) => a + (at(s, i).keyframes ?? 0), 0)
    const peak = Math.max(...e.hits.map((i) => counts.get(at(s, i)) as number))
    const pli = stats(values(s, e, (r) => r.pli_per_s))
    return issue(
      s,
      'keyframe_storm',
      peak >= CRITICAL_STORM_KEYFRAMES ? 'critical' : 'warning',
      at(s, e.from).t,
      at(s, e.to).t,
      { keyframes: kf, max_per_10s: peak, mean_pli_per_s: r1(pli.mean) },
      `${peak} key frames within 10 s on ${s.direction} video (mean ${r1(pli.mean)} PLI/s)`,
    )
  })
}

const audio = (s: StreamSeries): boolean => s.kind === 'audio'
const video = (s: StreamSeries): boolean => s.kind === 'video'

/** Every stream detector, in the order their issues are listed. */
export const STREAM_DETECTORS: readonly StreamDetector[] = [
  // Video RTP jitter includes the pacer spreading each frame's packets (all share one RTP timestamp), so
  // only audio jitter measures the network; video network jitter shows up as freezes and buffer delay.
  { types: ['high_jitter'], applies: audio, detect: jitterIssues },
  { types: ['packet_loss'], applies: () => true, detect: lossIssues },
  { types: ['low_mos'], applies: audio, detect: lowMosIssues },
  {
    types: ['freeze'],
    applies: (s) => video(s) && s.direction === 'inbound',
    detect: (s) => freezeIssues(s),
  },
  {
    types: ['bandwidth_limitation', 'cpu_limitation'],
    applies: (s) => video(s) && s.direction === 'outbound',
    detect: (s, { opts }) => limitationIssues(s, opts),
  },
  { types: ['keyframe_storm'], applies: video, detect: keyframeStormIssues },
]

/** Every stream-level issue of `s`; `rttOf` gives the pc's RTT at a time, for the MOS. */
export function streamIssues(
  s: StreamSeries,
  opts: DetectOptions,
  rttOf: (t: number) => number | null,
): Issue[] {
  const ctx = { opts, rttOf }
  return STREAM_DETECTORS.flatMap((d) => (d.applies(s) ? d.detect(s, ctx) : []))
}
