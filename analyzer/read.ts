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
// (app, time) projection of 010; the filters test that newest row, as FINAL did.
//
// The page is found on narrow rows first — the key, the start and only the columns of the filters
// given — and only its rows are then read whole, by key (`scores` is ordered by app, session, peer).
// Carrying the list's arrays and maps through the dedupe of every session in range cost a third of it:
// 30 days of one app, 180,000 sessions, 540 → 332 CPU ms (bench/RESULTS.md, "Session list on narrow
// rows"). What remains is the dedupe itself: hashing every session in range.
const LIST_COLUMNS = `session_id, final, outcome, outcome_reason, outcome_detail,
  toUnixTimestamp64Milli(started_at) AS started_ms, toUnixTimestamp64Milli(ended_at) AS ended_ms,
  toUnixTimestamp64Milli(scored_at) AS scored_ms, score_version, peers, overall, audio_mos, video_score,
  issue_types, issues_warning, issues_critical, codecs, browsers, sdk_versions`
const IN_RANGE = `started_at >= fromUnixTimestamp64Milli({from:Int64}) AND started_at <= fromUnixTimestamp64Milli({to:Int64})`

/** Each filter of the list: the columns its test reads and the test (values stay bound parameters). */
const FILTERS = {
  scoreBelow: {
    columns: ['overall', 'outcome'],
    test: `(overall < {scoreBelow:Float64} OR outcome != 'ok')`,
  },
  outcome: { columns: ['outcome'], test: `outcome = {outcome:String}` },
  issue: { columns: ['issue_types'], test: `has(issue_types, {issue:String})` },
  codec: { columns: ['codecs'], test: `arrayExists(c -> lower(c) = lower({codec:String}), codecs)` },
  browser: {
    columns: ['browsers'],
    test: `arrayExists(b -> startsWith(lower(b), lower({browser:String})), browsers)`,
  },
  final: { columns: ['final'], test: `final = {final:UInt8}` },
} as const

/** The list's SQL for the filters that are set. */
function listSql(set: ReadonlyArray<keyof typeof FILTERS>): string {
  const narrow = new Set(['session_id', 'scored_at', 'started_at'])
  for (const k of set) for (const c of FILTERS[k].columns) narrow.add(c)
  const page = `SELECT session_id, scored_at
    FROM ${latestScored(
      'scores',
      [...narrow].join(', '),
      `app_id = {app:String} AND peer_id = '' AND ended_at >= fromUnixTimestamp64Milli({from:Int64})`,
    )}
    WHERE ${[IN_RANGE, ...set.map((k) => FILTERS[k].test)].join(' AND ')}
    ORDER BY started_at DESC, session_id
    LIMIT {limit:UInt32} OFFSET {offset:UInt32}`
  // A scoring written twice (an insert retried after it had landed) is two equal rows: LIMIT 1 BY.
  return `SELECT ${LIST_COLUMNS} FROM scores
    WHERE app_id = {app:String} AND peer_id = '' AND (session_id, scored_at) IN (${page})
    ORDER BY started_ms DESC, session_id
    LIMIT 1 BY session_id`
}

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
  // Each filter given is one bound parameter; a score bound above 10 holds every session: no test.
  const values: Partial<Record<keyof typeof FILTERS, string | number>> = {
    scoreBelow: f.scoreBelow !== undefined && f.scoreBelow <= 10 ? f.scoreBelow : undefined,
    outcome: f.outcome,
    issue: f.issue,
    codec: f.codec,
    browser: f.browser,
    final: f.final === undefined ? undefined : f.final ? 1 : 0,
  }
  const set = (Object.keys(FILTERS) as Array<keyof typeof FILTERS>).filter((k) => values[k] !== undefined)
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
  }>(listSql(set), {
    app: f.app,
    from: f.from,
    to: f.to,
    limit: f.limit,
    offset: f.offset,
    ...Object.fromEntries(set.map((k) => [k, values[k]])),
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
