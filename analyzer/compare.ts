// Compares two groups of scored sessions of an app (by codec, browser, SDK version or an app tag): the
// question "is H.264 worse than VP8 for us?". All SQL is parameterised and scoped by app.
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
  overall: { mean: number | null; p50: number | null; sd: number | null; n: number }
  video: { mean: number | null; sd: number | null; n: number }
  audioMos: { mean: number | null; sd: number | null; n: number }
  poorShare: number | null
  /** Share of the group's sessions with at least one issue of each type. */
  issueShare: Record<string, number>
  /** Only for `by=codec`: the group's video streams of that codec. */
  videoStreams?: Record<string, number | null>
}

/** Compares two groups of scored sessions of an app; differences a−b with a 95% Welch interval. */
export async function compareGroups(
  store: Store,
  q: { app: string; by: CompareBy; a: string; b: string; from: number; to: number },
): Promise<{
  by: string
  a: GroupStats
  b: GroupStats
  diff: Record<string, { aMinusB: number; ci95: [number, number]; significant: boolean } | null>
}> {
  const kind = q.by.startsWith('tag:') ? 'tag' : (q.by as 'codec' | 'browser' | 'sdk')
  const tag = kind === 'tag' ? q.by.slice(4) : ''
  const group = async (v: string): Promise<GroupStats> => {
    const p = { app: q.app, v, tag, from: q.from, to: q.to, poor: POOR_SCORE }
    const [row] = await store.query<{
      sessions: number
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
      `SELECT count() AS sessions, avg(overall) AS overall_mean, quantileExact(0.5)(overall) AS overall_p50,
         stddevSamp(overall) AS overall_sd, count(overall) AS overall_n,
         avg(video_score) AS video_mean, stddevSamp(video_score) AS video_sd, count(video_score) AS video_n,
         avg(audio_mos) AS mos_mean, stddevSamp(audio_mos) AS mos_sd, count(audio_mos) AS mos_n,
         countIf(overall < {poor:Float64}) / nullIf(count(overall), 0) AS poor,
         sumMap(issue_types, arrayMap(x -> toUInt64(1), issue_types)) AS issue_map,
         issue_map.1 AS issue_keys, issue_map.2 AS issue_counts
       FROM scores FINAL
       WHERE app_id = {app:String} AND peer_id = '' AND ${GROUP_CONDITION[kind]}
         AND started_at >= fromUnixTimestamp64Milli({from:Int64}) AND started_at <= fromUnixTimestamp64Milli({to:Int64})`,
      p,
    )
    const r = row as NonNullable<typeof row>
    const out: GroupStats = {
      value: v,
      sessions: r.sessions,
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
    if (kind === 'codec') {
      const [s] = await store.query<Record<string, number | null>>(
        `SELECT count() AS streams, avg(video_score) AS video_score, avgIf(bitrate_cv, direction = 'outbound') AS bitrate_cv,
           avgIf(bitrate_sigma_kbps, direction = 'outbound') AS bitrate_sigma_kbps, avg(bitrate_mean) AS bitrate_mean,
           avg(fps_mean) AS fps_mean, avgIf(frozen_share, direction = 'inbound') AS frozen_share, avg(qp) AS qp,
           avg(loss) AS loss, avgIf(limited_share, direction = 'outbound') AS limited_share
         FROM stream_scores FINAL
         WHERE app_id = {app:String} AND kind = 'video' AND lower(codec) = lower({v:String})
           AND started_at >= fromUnixTimestamp64Milli({from:Int64}) AND started_at <= fromUnixTimestamp64Milli({to:Int64})`,
        p,
      )
      out.videoStreams = Object.fromEntries(Object.entries(s ?? {}).map(([k, x]) => [k, f32(x)]))
    }
    return out
  }
  const [a, b] = await Promise.all([group(q.a), group(q.b)])
  const welch = (x: { mean: number | null; sd: number | null; n: number }, y: typeof x) => {
    if (x.mean === null || y.mean === null || x.n < 2 || y.n < 2 || x.sd === null || y.sd === null)
      return null
    const d = x.mean - y.mean
    const se = Math.sqrt((x.sd * x.sd) / x.n + (y.sd * y.sd) / y.n)
    const r = (v: number): number => Math.round(v * 1000) / 1000
    return {
      aMinusB: r(d),
      ci95: [r(d - 1.96 * se), r(d + 1.96 * se)] as [number, number],
      significant: Math.abs(d) > 1.96 * se,
    }
  }
  return {
    by: q.by,
    a,
    b,
    diff: {
      overall: welch(a.overall, b.overall),
      video: welch(a.video, b.video),
      audioMos: welch(a.audioMos, b.audioMos),
    },
  }
}
