// Compares two groups of scored sessions of an app (by codec, browser, SDK version or an app tag): the
// question "is H.264 worse than VP8 for us?". Final scores only unless `live` (a live score covers a
// rolling window, not the call). Failed sessions (no media, SCORING.md §0) have no score: they are
// counted (`failed`) and poor, never averaged. All SQL is parameterised and scoped by app.
import type { Store } from '../store/index.ts'
import { f32 } from './stored.ts'
import { POOR_SCORE } from './score.ts'

export type CompareBy = 'codec' | 'browser' | 'sdk' | `tag:${string}`

// The membership test of one group, chosen from constants by `by`; the value and tag key stay bound.
const GROUP_CONDITION: Record<'codec' | 'browser' | 'sdk' | 'tag', string> = {
  codec: `arrayExists(c -> lower(c) = lower({v:String}), codecs)`,
  browser: `arrayExists(b -> startsWith(lower(b), lower({v:String})), browsers)`,
  sdk: `has(sdk_versions, {v:String})`,
  tag: `tags[{tag:String}] = {v:String}`,
}

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
  const group = async (v: string): Promise<GroupStats> => {
    const p = { app: q.app, v, tag, from: q.from, to: q.to, poor: POOR_SCORE, live: q.live ? 1 : 0 }
    const [row] = await store.query<{
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
    }>(
      `SELECT count() AS sessions, countIf(outcome != 'ok') AS failed, avg(overall) AS overall_mean, quantileExact(0.5)(overall) AS overall_p50,
         stddevSamp(overall) AS overall_sd, count(overall) AS overall_n,
         avg(video_score) AS video_mean, stddevSamp(video_score) AS video_sd, count(video_score) AS video_n,
         avg(audio_mos) AS mos_mean, stddevSamp(audio_mos) AS mos_sd, count(audio_mos) AS mos_n,
         (countIf(overall < {poor:Float64}) + failed) / nullIf(count(overall) + failed, 0) AS poor,
         sumMap(issue_types, arrayMap(x -> toUInt64(1), issue_types)) AS issue_map,
         issue_map.1 AS issue_keys, issue_map.2 AS issue_counts
       FROM scores FINAL
       WHERE app_id = {app:String} AND peer_id = '' AND ${GROUP_CONDITION[kind]}
         AND (final = 1 OR {live:UInt8} = 1)
         AND started_at >= fromUnixTimestamp64Milli({from:Int64}) AND started_at <= fromUnixTimestamp64Milli({to:Int64})`,
      p,
    )
    const r = row as NonNullable<typeof row>
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
    if (kind === 'codec') {
      const [s] = await store.query<Record<string, number | null>>(
        `SELECT count() AS streams, avg(video_score) AS video_score, avgIf(bitrate_cv, direction = 'outbound') AS bitrate_cv,
           avgIf(bitrate_sigma_kbps, direction = 'outbound') AS bitrate_sigma_kbps, avg(bitrate_mean) AS bitrate_mean,
           avg(fps_mean) AS fps_mean, avgIf(frozen_share, direction = 'inbound') AS frozen_share, avg(qp) AS qp,
           avg(loss) AS loss, avgIf(limited_share, direction = 'outbound') AS limited_share
         FROM stream_scores FINAL
         WHERE app_id = {app:String} AND kind = 'video' AND lower(codec) = lower({v:String})
           AND (final = 1 OR {live:UInt8} = 1) AND active_seconds > 0
           AND started_at >= fromUnixTimestamp64Milli({from:Int64}) AND started_at <= fromUnixTimestamp64Milli({to:Int64})`,
        p,
      )
      out.videoStreams = Object.fromEntries(Object.entries(s ?? {}).map(([k, x]) => [k, f32(x)]))
    }
    return out
  }
  const [a, b] = await Promise.all([group(q.a), group(q.b)])
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
