// Decodes a session's stored analysis (tables of store/migrations/002_analyzer.sql) back into the shape
// analyze.ts produces, so the API serves stored and freshly computed analyses alike. Scoped by app.
import type { Store } from '../store/index.ts'
import { sessionEnded } from './analyze.ts'
import type { Aggregates, PeerAnalysis, Score, SessionAnalysis, StreamAnalysis } from './analyze.ts'
import { OUTCOMES } from './outcome.ts'
import type { Outcome } from './outcome.ts'
import type { Issue, IssueType, Severity } from './issues.ts'
import { latestScored } from './latest.ts'
import { queryBatch } from './batch.ts'
import { sessionEventsSql, sessionPeersSql, toSessionEvents, transportDetailSql } from './queries.ts'
import type { PeerRow, TransportAggregateRow, TransportDetailRow } from './queries.ts'
import { PENALTIES } from './score.ts'
import type { Penalties } from './score.ts'

/** Float32 columns read back with binary noise (0.0770000070); six significant digits are plenty. */
export const f32 = (v: number | null): number | null =>
  v === null ? null : Math.abs(v) >= 1000 ? Math.round(v) : Number(v.toPrecision(6))
export const iso = (ms: number): string => new Date(ms).toISOString()

interface ScoreRow {
  peer_id: string
  final: number
  outcome: string
  outcome_reason: string
  outcome_detail: string
  score_version: number
  scored_at: number
  window_start: number
  window_end: number
  started_at: number
  ended_at: number
  legs: number
  overall: number | null
  audio_score: number | null
  audio_mos: number | null
  video_score: number | null
  penalties: Record<string, number>
  audio_terms: Record<string, number>
}

function toOutcome(r: ScoreRow): Outcome {
  return {
    outcome: (OUTCOMES as readonly string[]).includes(r.outcome) ? (r.outcome as Outcome['outcome']) : 'ok',
    outcomeReason: r.outcome_reason as Outcome['outcomeReason'],
    outcomeDetail: r.outcome_detail,
  }
}

function toScore(r: ScoreRow): Score {
  const penalties = {} as Penalties
  for (const k of PENALTIES) penalties[k] = f32(r.penalties[k] ?? 0) as number
  const t = (k: string): number => f32(r.audio_terms[k] ?? 0) as number
  return {
    overall: f32(r.overall),
    audio:
      r.audio_mos === null
        ? null
        : {
            mos: f32(r.audio_mos) as number,
            score: f32(r.audio_score) as number,
            terms: {
              d: t('d'),
              id: t('id'),
              ie: t('ie'),
              bpl: t('bpl'),
              ppl: t('ppl'),
              ieEff: t('ieEff'),
              r: t('r'),
            },
          },
    video: r.video_score === null ? null : { score: f32(r.video_score) as number, penalties },
    legs: r.legs,
  }
}

const AGG_KEYS: ReadonlyArray<keyof Aggregates> = [
  'seconds',
  'active_seconds',
  'bitrate_mean',
  'bitrate_p5',
  'bitrate_p50',
  'bitrate_p95',
  'bitrate_cv',
  'bitrate_sigma_kbps',
  'ramp_up_s',
  'resolution_switches',
  'layer_switches',
  'target_bitrate',
  'fps_mean',
  'fps_cv',
  'width',
  'height',
  'freeze_count',
  'frozen_s',
  'frozen_share',
  'paused_s',
  'loss',
  'jitter_ms',
  'jitter_p95_ms',
  'rtt_ms',
  'rtt_p95_ms',
  'jb_delay_ms',
  'qp',
  'limit_bandwidth_share',
  'limit_cpu_share',
  'limited_share',
  'source_fps',
  'silent',
  'nack_per_s',
  'pli_per_s',
  'keyframes',
  'dropped_share',
  'concealment',
]

// One session's rows: a key lookup (the tables are ordered by app, session).
const SESSION = 'app_id = {app:String} AND session_id = {session:String}'

interface IssueRow {
  peer_id: string
  pc_id: string
  stream_id: string
  type: IssueType
  severity: Severity
  start: number
  end: number
  evidence: Record<string, number>
  detail: string
  final: number
}

/**
 * The reads of one stored analysis (bound parameters: app, session, sessions = [session], from, to),
 * for queryBatch: the newest scoring's rows of the three score tables (latest.ts), the peers' metadata
 * (with `clock`, their clock skew too), the transport aggregates (with `series`, their per-second
 * series too) and the state events, all without FINAL.
 */
export function storedQueries(opts: { clock: boolean; series: boolean }): Record<StoredRead, string> {
  return {
    scores: `SELECT peer_id, final, outcome, outcome_reason, outcome_detail, score_version, toUnixTimestamp64Milli(scored_at) AS scored_at,
         toUnixTimestamp64Milli(window_start) AS window_start, toUnixTimestamp64Milli(window_end) AS window_end,
         toUnixTimestamp64Milli(started_at) AS started_at, toUnixTimestamp64Milli(ended_at) AS ended_at,
         legs, overall, audio_score, audio_mos, video_score, penalties, audio_terms
       FROM ${latestScored('scores', '*', SESSION)} ORDER BY peer_id`,
    streams: `SELECT * EXCEPT (app_id, session_id, scored_at, score_version, final, started_at, ended_at),
         toUnixTimestamp64Milli(started_at) AS started_at, toUnixTimestamp64Milli(ended_at) AS ended_at
       FROM ${latestScored('stream_scores', '*', SESSION)} ORDER BY peer_id, pc_id, stream_id`,
    issues: `SELECT peer_id, pc_id, stream_id, type, toString(severity) AS severity, toUnixTimestamp64Milli(start) AS start,
         toUnixTimestamp64Milli(end) AS end, evidence, detail, final
       FROM ${latestScored('issues', '*', SESSION)} ORDER BY start, type`,
    peers: sessionPeersSql(opts.clock),
    transports: transportDetailSql(opts.series),
    events: sessionEventsSql(false),
  }
}

export type StoredRead = 'scores' | 'streams' | 'issues' | 'peers' | 'transports' | 'events'

/** The bound parameters of storedQueries for one session. */
export const storedParams = (app: string, session: string): Record<string, unknown> => ({
  app,
  session,
  sessions: [session],
  from: 0,
  to: 32503680000000,
})

/** The stored analysis of a session, or undefined when it was never scored. Rejects with StoreError. */
export async function storedAnalysis(
  store: Store,
  app: string,
  session: string,
): Promise<SessionAnalysis | undefined> {
  const rows = await queryBatch(
    store,
    storedQueries({ clock: false, series: false }),
    storedParams(app, session),
  )
  return decodeStored(app, session, rows)
}

/** The analysis in the rows of storedQueries, or undefined when the session was never scored. */
export function decodeStored(
  app: string,
  session: string,
  rows: Record<StoredRead, Record<string, unknown>[]>,
): SessionAnalysis | undefined {
  const scores = rows.scores as unknown as ScoreRow[]
  const streams = rows.streams
  const issues = rows.issues as unknown as IssueRow[]
  const peers = rows.peers as unknown as PeerRow[]
  const transports = (rows.transports as unknown as TransportDetailRow[]).map(
    ({ series: _s, ...agg }): TransportAggregateRow => agg,
  )
  const events = toSessionEvents(rows.events)
  const head = scores.find((r) => r.peer_id === '')
  if (!head) return undefined
  // Final issues replace the live ones (whose episodes may have been cut by the rolling window).
  const finalIssues = issues.some((i) => i.final === 1)
  const peerIds = scores.filter((r) => r.peer_id !== '').map((r) => r.peer_id)
  return {
    app,
    session,
    scoreVersion: head.score_version,
    final: head.final === 1,
    scoredAt: head.scored_at,
    window: { start: head.window_start, end: head.window_end },
    startedAt: head.started_at,
    endedAt: head.ended_at,
    ended: sessionEnded(peerIds, events),
    ...toOutcome(head),
    score: toScore(head),
    peers: scores
      .filter((r) => r.peer_id !== '')
      .map((r): PeerAnalysis => {
        const m = peers.find((x) => x.peer_id === r.peer_id)
        return {
          peer: r.peer_id,
          userId: m?.user_id ?? '',
          browser: m?.browser ?? '',
          os: m?.os ?? '',
          sdk: m?.sdk_version ?? '',
          userAgent: m?.user_agent ?? '',
          metadata: m?.metadata ?? {},
          ...toOutcome(r),
          score: toScore(r),
        }
      }),
    streams: streams.map((r): StreamAnalysis => {
      const aggregates = { started_at: r.started_at as number, ended_at: r.ended_at as number } as Aggregates
      for (const k of AGG_KEYS)
        (aggregates as unknown as Record<string, unknown>)[k] = f32(r[k] as number | null)
      const pen = r.penalties as Record<string, number>
      return {
        peer: r.peer_id as string,
        pc: r.pc_id as string,
        stream: r.stream_id as string,
        direction: r.direction as 'inbound' | 'outbound',
        kind: r.kind as 'audio' | 'video',
        ssrc: r.ssrc as number,
        codec: r.codec as string,
        remotePeer: r.remote_peer_id as string,
        aggregates,
        mos: f32(r.mos as number | null),
        videoScore: f32(r.video_score as number | null),
        penalties: Object.keys(pen).length
          ? (Object.fromEntries(PENALTIES.map((k) => [k, f32(pen[k] ?? 0)])) as Penalties)
          : null,
      }
    }),
    transports,
    issues: issues
      .filter((i) => i.final === (finalIssues ? 1 : 0))
      .map((i): Issue => ({
        type: i.type,
        severity: i.severity,
        peer: i.peer_id,
        pc: i.pc_id,
        stream: i.stream_id,
        start: i.start,
        end: i.end,
        evidence: i.evidence,
        detail: i.detail,
      })),
  }
}
