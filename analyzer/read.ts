// Reads stored analyses for the HTTP API: the session list here; one session in full from detail.ts and
// group comparisons from compare.ts (re-exported). All SQL is parameterised; every query is scoped by app.
import type { Store } from '../store/index.ts'
import type { IssueType } from './issues.ts'
import { latestScored } from './latest.ts'
import type { OutcomeReason, OutcomeStatus } from './outcome.ts'
import { f32, iso } from './stored.ts'

export { detailJson, sessionDetail, SERIES_FIELDS } from './detail.ts'
export type { SessionDetail, StreamSeriesJson } from './detail.ts'
export { compareGroups } from './compare.ts'
export type { CompareBy, GroupStats } from './compare.ts'

export interface ListFilter {
  app: string
  from: number
  to: number
  /** Sessions whose overall score is below this (0–10), and failed ones (they have no score). */
  scoreBelow?: number
  /** Sessions with this outcome (`ok`, `failed`, `setup_failed`). */
  outcome?: OutcomeStatus
  issue?: IssueType
  codec?: string
  /** Browser name prefix, case-insensitive: `chrome` matches `Chrome 131`. */
  browser?: string
  final?: boolean
  limit: number
  offset: number
}

// The newest scoring of each session (latest.ts) whose end is in range: `ended_at` only grows with each
// scoring and a session ends after it starts, so this keeps every session that can match, through the
// (app, time) projection of 010; the filters below test that newest row, as FINAL did.
const LIST_COLUMNS = `session_id, final, outcome, outcome_reason, outcome_detail, started_at, ended_at, scored_at,
  score_version, peers, overall, audio_mos, video_score, issue_types, issues_warning, issues_critical, codecs,
  browsers, sdk_versions`
const LIST_SQL = `
SELECT session_id, final, outcome, outcome_reason, outcome_detail, toUnixTimestamp64Milli(started_at) AS started_ms, toUnixTimestamp64Milli(ended_at) AS ended_ms,
  toUnixTimestamp64Milli(scored_at) AS scored_ms, score_version, peers, overall, audio_mos, video_score,
  issue_types, issues_warning, issues_critical, codecs, browsers, sdk_versions
FROM ${latestScored(
  'scores',
  LIST_COLUMNS,
  `app_id = {app:String} AND peer_id = '' AND ended_at >= fromUnixTimestamp64Milli({from:Int64})`,
)}
WHERE started_at >= fromUnixTimestamp64Milli({from:Int64}) AND started_at <= fromUnixTimestamp64Milli({to:Int64})
  AND ({scoreBelow:Float64} > 10 OR overall < {scoreBelow:Float64} OR outcome != 'ok')
  AND ({outcome:String} = '' OR outcome = {outcome:String})
  AND ({issue:String} = '' OR has(issue_types, {issue:String}))
  AND ({codec:String} = '' OR arrayExists(c -> lower(c) = lower({codec:String}), codecs))
  AND ({browser:String} = '' OR arrayExists(b -> startsWith(lower(b), lower({browser:String})), browsers))
  AND ({final:Int8} < 0 OR final = {final:Int8})
ORDER BY started_ms DESC, session_id
LIMIT {limit:UInt32} OFFSET {offset:UInt32}`

export interface SessionSummary {
  session: string
  final: boolean
  /** Whether media flowed (SCORING.md §0); `failed`/`setup_failed` sessions have no scores. */
  outcome: OutcomeStatus
  outcomeReason: OutcomeReason | ''
  outcomeDetail: string
  startedAt: string
  endedAt: string
  durationS: number
  scoredAt: string
  scoreVersion: number
  peers: number
  overall: number | null
  audioMos: number | null
  videoScore: number | null
  issues: { types: string[]; warning: number; critical: number }
  codecs: string[]
  browsers: string[]
  sdkVersions: string[]
}

/** Scored sessions matching `f`, newest first. Rejects with StoreError. */
export async function listSessions(store: Store, f: ListFilter): Promise<SessionSummary[]> {
  const rows = await store.query<{
    session_id: string
    final: number
    outcome: OutcomeStatus
    outcome_reason: OutcomeReason | ''
    outcome_detail: string
    started_ms: number
    ended_ms: number
    scored_ms: number
    score_version: number
    peers: number
    overall: number | null
    audio_mos: number | null
    video_score: number | null
    issue_types: string[]
    issues_warning: number
    issues_critical: number
    codecs: string[]
    browsers: string[]
    sdk_versions: string[]
  }>(LIST_SQL, {
    app: f.app,
    from: f.from,
    to: f.to,
    scoreBelow: f.scoreBelow ?? 11,
    outcome: f.outcome ?? '',
    issue: f.issue ?? '',
    codec: f.codec ?? '',
    browser: f.browser ?? '',
    final: f.final === undefined ? -1 : f.final ? 1 : 0,
    limit: f.limit,
    offset: f.offset,
  })
  return rows.map((r) => ({
    session: r.session_id,
    final: r.final === 1,
    outcome: r.outcome,
    outcomeReason: r.outcome_reason,
    outcomeDetail: r.outcome_detail,
    startedAt: iso(r.started_ms),
    endedAt: iso(r.ended_ms),
    durationS: Math.round((r.ended_ms - r.started_ms) / 1000),
    scoredAt: iso(r.scored_ms),
    scoreVersion: r.score_version,
    peers: r.peers,
    overall: f32(r.overall),
    audioMos: f32(r.audio_mos),
    videoScore: f32(r.video_score),
    issues: { types: r.issue_types, warning: r.issues_warning, critical: r.issues_critical },
    codecs: r.codecs,
    browsers: r.browsers,
    sdkVersions: r.sdk_versions,
  }))
}
