// Writes analyses to the tables of store/migrations/002_analyzer.sql (and 005_outcome.sql's columns):
// `scores` (session and peers, with their outcome),
// `stream_scores` and `issues`. Every score carries its score_version and every penalty.
import type { Store } from '../store/index.ts'
import type { SessionAnalysis } from './analyze.ts'
import type { Issue } from './issues.ts'
import type { Score } from './legs.ts'
import type { Outcome } from './outcome.ts'

const outcomeColumns = (o: Outcome) => ({
  outcome: o.outcome,
  outcome_reason: o.outcomeReason,
  outcome_detail: o.outcomeDetail,
})

const scoreColumns = (s: Score) => ({
  legs: s.legs,
  overall: s.overall,
  audio_score: s.audio?.score ?? null,
  audio_mos: s.audio?.mos ?? null,
  video_score: s.video?.score ?? null,
  penalties: s.video?.penalties ?? {},
  audio_terms: s.audio?.terms ?? {},
})

/** Rows for the `scores`, `stream_scores` and `issues` tables (store/migrations/002_analyzer.sql). */
export function toRows(a: SessionAnalysis): { scores: object[]; stream_scores: object[]; issues: object[] } {
  const common = {
    app_id: a.app,
    session_id: a.session,
    score_version: a.scoreVersion,
    scored_at: a.scoredAt,
    final: a.final ? 1 : 0,
  }
  const issueTypes = [...new Set(a.issues.map((i) => i.type))].sort()
  const tags: Record<string, string> = {}
  for (const p of a.peers) for (const [k, v] of Object.entries(p.metadata)) tags[k] ??= v
  const session = {
    ...common,
    peer_id: '',
    window_start: a.window.start,
    window_end: a.window.end,
    started_at: a.startedAt,
    ended_at: a.endedAt,
    peers: a.peers.length,
    ...outcomeColumns(a),
    ...scoreColumns(a.score),
    issue_types: issueTypes,
    issues_warning: a.issues.filter((i) => i.severity === 'warning').length,
    issues_critical: a.issues.filter((i) => i.severity === 'critical').length,
    codecs: [...new Set(a.streams.map((s) => s.codec).filter(Boolean))].sort(),
    browsers: [...new Set(a.peers.map((p) => p.browser).filter(Boolean))].sort(),
    sdk_versions: [...new Set(a.peers.map((p) => p.sdk).filter(Boolean))].sort(),
    tags,
    // The latest frame this score covered: an analyzer taking the session over reads it (migration 011).
    frames_until: a.framesUntil ?? 0,
  }
  const peers = a.peers.map((p) => {
    const mine = a.issues.filter((i) => i.peer === p.peer)
    return {
      ...session,
      peer_id: p.peer,
      peers: 1,
      ...outcomeColumns(p),
      ...scoreColumns(p.score),
      issue_types: [...new Set(mine.map((i) => i.type))].sort(),
      issues_warning: mine.filter((i) => i.severity === 'warning').length,
      issues_critical: mine.filter((i) => i.severity === 'critical').length,
      codecs: [
        ...new Set(
          a.streams
            .filter((s) => s.peer === p.peer)
            .map((s) => s.codec)
            .filter(Boolean),
        ),
      ].sort(),
      browsers: p.browser ? [p.browser] : [],
      sdk_versions: p.sdk ? [p.sdk] : [],
      tags: p.metadata,
    }
  })
  const streams = a.streams.map((s) => {
    const { started_at, ended_at, ...rest } = s.aggregates
    return {
      ...common,
      peer_id: s.peer,
      pc_id: s.pc,
      stream_id: s.stream,
      direction: s.direction,
      kind: s.kind,
      ssrc: s.ssrc,
      codec: s.codec,
      remote_peer_id: s.remotePeer,
      started_at,
      ended_at,
      ...rest,
      mos: s.mos,
      video_score: s.videoScore,
      penalties: s.penalties ?? {},
    }
  })
  return { scores: [session, ...peers], stream_scores: streams, issues: a.issues.map((i) => issueRow(a, i)) }
}

/** One `issues` row. */
export function issueRow(
  a: Pick<SessionAnalysis, 'app' | 'session' | 'scoreVersion' | 'scoredAt' | 'final'>,
  i: Issue,
): object {
  return {
    app_id: a.app,
    session_id: a.session,
    peer_id: i.peer,
    pc_id: i.pc,
    stream_id: i.stream,
    type: i.type,
    start: i.start,
    end: i.end,
    severity: i.severity,
    evidence: i.evidence,
    detail: i.detail,
    score_version: a.scoreVersion,
    scored_at: a.scoredAt,
    final: a.final ? 1 : 0,
  }
}

/**
 * Writes many analyses in one insert per table (a pass's live scores, a batch of final scores): three
 * inserts instead of three per session. `issuesOf` picks the issues rows to write (default: all of the
 * analysis; a live pass writes only those that changed). Rejects with StoreError.
 */
export async function storeAnalyses(
  store: Store,
  list: readonly SessionAnalysis[],
  issuesOf: (a: SessionAnalysis) => readonly Issue[] = (a) => a.issues,
): Promise<void> {
  const scores: object[] = []
  const streams: object[] = []
  const issues: object[] = []
  for (const a of list) {
    const rows = toRows(a)
    scores.push(...rows.scores)
    streams.push(...rows.stream_scores)
    for (const i of issuesOf(a)) issues.push(issueRow(a, i))
  }
  await store.insert('scores', scores)
  await store.insert('stream_scores', streams)
  await store.insert('issues', issues)
}

/** Writes an analysis (scores, streams, issues). Rejects with StoreError. */
export async function storeAnalysis(
  store: Store,
  a: SessionAnalysis,
  issues: readonly Issue[] = a.issues,
): Promise<void> {
  const rows = toRows(a)
  await store.insert('scores', rows.scores)
  await store.insert('stream_scores', rows.stream_scores)
  if (issues.length)
    await store.insert(
      'issues',
      issues.map((i) => issueRow(a, i)),
    )
}
