// Compares two groups of scored sessions of an app (by codec, browser, SDK version or an app tag): the
// question "is H.264 worse than VP8 for us?". Final scores only unless `live` (a live score covers a
// rolling window, not the call). Failed sessions (no media, SCORING.md §0) have no score: they are
// counted (`failed`) and poor, never averaged. All SQL is parameterised and scoped by app.
import type { Store } from '../store/index.ts'
import { latestScored } from './latest.ts'
import { f32 } from './stored.ts'
import { POOR_SCORE } from './score.ts'

export type CompareBy = 'codec' | 'browser' | 'sdk' | `tag:${string}`

// The membership test of one group, chosen from constants by `by`; the value (`{a:String}` or
// `{b:String}`) and the tag key stay bound.
const GROUP_CONDITION: Record<'codec' | 'browser' | 'sdk' | 'tag', (v: string) => string> = {
  codec: (v) => `arrayExists(c -> lower(c) = lower({${v}:String}), codecs)`,
  browser: (v) => `arrayExists(b -> startsWith(lower(b), lower({${v}:String})), browsers)`,
  sdk: (v) => `has(sdk_versions, {${v}:String})`,
  tag: (v) => `tags[{tag:String}] = {${v}:String}`,
}
// The one column GROUP_CONDITION reads: the others are not read at all (arrays and maps of 30 days of
// sessions are most of the bytes a comparison reads).
const GROUP_COLUMN: Record<'codec' | 'browser' | 'sdk' | 'tag', string> = {
  codec: 'codecs',
  browser: 'browsers',
  sdk: 'sdk_versions',
  tag: 'tags',
}

// Both groups are read in one pass over the newest scoring of each session (latest.ts: no FINAL, so the
// (app, time) projection of 010 serves the range). A session's `ended_at` only grows with each scoring
// and it ends after it started, so `ended_at >= from` keeps the newest row of every session that can
// match; what a re-scoring may change (final, outcome, started_at, codecs, …) is tested on that row.
const IN_RANGE = `started_at >= fromUnixTimestamp64Milli({from:Int64}) AND started_at <= fromUnixTimestamp64Milli({to:Int64})
  AND (final = 1 OR {live:UInt8} = 1)`
const SINCE = `app_id = {app:String} AND ended_at >= fromUnixTimestamp64Milli({from:Int64})`

// Standard deviations are taken over Float64: over the Float32 columns, stddevSamp of 170,000 scores
// changed in its 4th digit from run to run (its sums follow the threads' block order).
/** Aggregates of the sessions matching `m` (an SQL condition), named with suffix `g`. */
const sessionAggregates = (m: string, g: string): string =>
  `countIf(${m}) AS sessions_${g}, countIf(${m} AND outcome != 'ok') AS failed_${g},
   avgIf(overall, ${m}) AS overall_mean_${g}, quantileExactIf(0.5)(overall, ${m}) AS overall_p50_${g},
   stddevSampIf(toFloat64(overall), ${m}) AS overall_sd_${g}, countIf(${m} AND overall IS NOT NULL) AS overall_n_${g},
   avgIf(video_score, ${m}) AS video_mean_${g}, stddevSampIf(toFloat64(video_score), ${m}) AS video_sd_${g},
   countIf(${m} AND video_score IS NOT NULL) AS video_n_${g},
   avgIf(audio_mos, ${m}) AS mos_mean_${g}, stddevSampIf(toFloat64(audio_mos), ${m}) AS mos_sd_${g},
   countIf(${m} AND audio_mos IS NOT NULL) AS mos_n_${g},
   (countIf(${m} AND overall < {poor:Float64}) + failed_${g}) / nullIf(overall_n_${g} + failed_${g}, 0) AS poor_${g},
   sumMapIf(issue_types, arrayMap(x -> toUInt64(1), issue_types), ${m}) AS issue_map_${g},
   issue_map_${g}.1 AS issue_keys_${g}, issue_map_${g}.2 AS issue_counts_${g}`

/** Aggregates of the video streams (of sessions' newest scorings) whose codec is `{v:String}`. */
const streamAggregates = (v: string, g: string): string => {
  const m = `lower(codec) = lower({${v}:String})`
  return `countIf(${m}) AS streams_${g}, avgIf(video_score, ${m}) AS video_score_${g},
   avgIf(bitrate_cv, ${m} AND direction = 'outbound') AS bitrate_cv_${g},
   avgIf(bitrate_sigma_kbps, ${m} AND direction = 'outbound') AS bitrate_sigma_kbps_${g},
   avgIf(bitrate_mean, ${m}) AS bitrate_mean_${g}, avgIf(fps_mean, ${m}) AS fps_mean_${g},
   avgIf(frozen_share, ${m} AND direction = 'inbound') AS frozen_share_${g}, avgIf(qp, ${m}) AS qp_${g},
   avgIf(loss, ${m}) AS loss_${g}, avgIf(limited_share, ${m} AND direction = 'outbound') AS limited_share_${g}`
}
// The per-stream figures of `by=codec`, in this order.
const STREAM_FIELDS = [
  'streams',
  'video_score',
  'bitrate_cv',
  'bitrate_sigma_kbps',
  'bitrate_mean',
  'fps_mean',
  'frozen_share',
  'qp',
  'loss',
  'limited_share',
] as const

export interface GroupStats {
  value: string
  sessions: number
  /** Sessions whose media never flowed (outcome `failed` or `setup_failed`): no score, counted as poor. */
  failed: number
  overall: { mean: number | null; p50: number | null; sd: number | null; n: number }
  video: { mean: number | null; sd: number | null; n: number }
  audioMos: { mean: number | null; sd: number | null; n: number }
  /** Share of poor sessions: overall below POOR_SCORE, or failed; over scored and failed sessions. */
  poorShare: number | null
  /** Why a statistic is missing, e.g. `one session: no interval`. */
  note?: string
  /** Share of the group's sessions with at least one issue of each type. */
  issueShare: Record<string, number>
  /** Only for `by=codec`: the group's video streams of that codec. */
  videoStreams?: Record<string, number | null>
}

/** A difference a − b of two means; `ci95` and `significant` are null (with a `note`) when unknown. */
export interface Difference {
  aMinusB: number
  ci95: [number, number] | null
  significant: boolean | null
  note?: string
}

/**
 * Compares two groups of scored sessions of an app; differences a−b with a 95% Welch interval. Final
 * scores only unless `live`. A metric that one group lacks entirely has a null difference.
 */
export async function compareGroups(
  store: Store,
  q: { app: string; by: CompareBy; a: string; b: string; from: number; to: number; live?: boolean },
): Promise<{
  by: string
  live: boolean
  a: GroupStats
  b: GroupStats
  diff: Record<string, Difference | null>
}> {
  const kind = q.by.startsWith('tag:') ? 'tag' : (q.by as 'codec' | 'browser' | 'sdk')
  const tag = kind === 'tag' ? q.by.slice(4) : ''
  const p = {
    app: q.app,
    a: q.a,
    b: q.b,
    tag,
    from: q.from,
    to: q.to,
    poor: POOR_SCORE,
    live: q.live ? 1 : 0,
  }
  const member = (v: 'a' | 'b'): string => `(${GROUP_CONDITION[kind](v)})`
  const [row] = await store.query<Record<string, unknown>>(
    `SELECT ${sessionAggregates(member('a'), 'a')}, ${sessionAggregates(member('b'), 'b')}
     FROM ${latestScored(
       'scores',
       `outcome, overall, video_score, audio_mos, issue_types, final, started_at, ${GROUP_COLUMN[kind]}`,
       `${SINCE} AND peer_id = ''`,
     )}
     WHERE ${IN_RANGE}`,
    p,
  )
  // A stream's kind never changes between scorings (an RTP stream has one kind, webrtc-stats §8.1).
  const [streams] =
    kind === 'codec'
      ? await store.query<Record<string, number | null>>(
          `SELECT ${streamAggregates('a', 'a')}, ${streamAggregates('b', 'b')}
           FROM ${latestScored(
             'stream_scores',
             `codec, direction, video_score, bitrate_cv, bitrate_sigma_kbps, bitrate_mean, fps_mean, frozen_share,
              qp, loss, limited_share, active_seconds, final, started_at`,
             `${SINCE} AND kind = 'video'`,
           )}
           WHERE ${IN_RANGE} AND active_seconds > 0`,
          p,
        )
      : []
  const group = (v: string, g: 'a' | 'b'): GroupStats => {
    const r = Object.fromEntries(
      Object.entries(row ?? {})
        .filter(([k]) => k.endsWith(`_${g}`))
        .map(([k, x]) => [k.slice(0, -2), x]),
    ) as {
      sessions: number
      failed: number
      overall_mean: number | null
      overall_p50: number | null
      overall_sd: number | null
      overall_n: number
      video_mean: number | null
      video_sd: number | null
      video_n: number
      mos_mean: number | null
      mos_sd: number | null
      mos_n: number
      poor: number | null
      issue_keys: string[]
      issue_counts: number[]
    }
    const out: GroupStats = {
      value: v,
      sessions: r.sessions,
      failed: r.failed,
      overall: { mean: f32(r.overall_mean), p50: f32(r.overall_p50), sd: f32(r.overall_sd), n: r.overall_n },
      video: { mean: f32(r.video_mean), sd: f32(r.video_sd), n: r.video_n },
      audioMos: { mean: f32(r.mos_mean), sd: f32(r.mos_sd), n: r.mos_n },
      poorShare: f32(r.poor),
      issueShare: Object.fromEntries(
        r.issue_keys.map((k, i) => [
          k,
          f32((r.issue_counts[i] as number) / Math.max(1, r.sessions)) as number,
        ]),
      ),
    }
    if (r.overall_n === 1) out.note = 'one session: no interval'
    else if (r.overall_n === 0) out.note = r.failed ? 'only failed sessions: no score' : 'no scored session'
    if (streams)
      out.videoStreams = Object.fromEntries(STREAM_FIELDS.map((k) => [k, f32(streams[`${k}_${g}`] ?? null)]))
    return out
  }
  const a = group(q.a, 'a')
  const b = group(q.b, 'b')
  const welch = (
    x: { mean: number | null; sd: number | null; n: number },
    y: typeof x,
  ): Difference | null => {
    if (x.mean === null || y.mean === null) return null
    const d = x.mean - y.mean
    const r = (v: number): number => Math.round(v * 1000) / 1000
    // Welch's interval needs each group's sample variance: a group of one has none.
    const ones = [x.n < 2 ? 'a' : '', y.n < 2 ? 'b' : ''].filter(Boolean)
    if (ones.length || x.sd === null || y.sd === null)
      return {
        aMinusB: r(d),
        ci95: null,
        significant: null,
        note: `one session in group ${ones.join(' and ') || 'a or b'}: no interval`,
      }
    const se = Math.sqrt((x.sd * x.sd) / x.n + (y.sd * y.sd) / y.n)
    return {
      aMinusB: r(d),
      ci95: [r(d - 1.96 * se), r(d + 1.96 * se)] as [number, number],
      significant: Math.abs(d) > 1.96 * se,
    }
  }
  return {
    by: q.by,
    live: q.live ?? false,
    a,
    b,
    diff: {
      overall: welch(a.overall, b.overall),
      video: welch(a.video, b.video),
      audioMos: welch(a.audioMos, b.audioMos),
    },
  }
}
