// Turns stored per-second rows into scored sessions: aggregates (SQL, queries.ts) → legs → scores
// (score.ts) → issues (issues.ts). The same function serves the live window, the final score, the API
// and the offline CLI.
import type { Store } from '../store/index.ts'
import type { Aggregates } from './aggregates.ts'
import { LOW_CODEC_RATE_BPS, toAggregates } from './aggregates.ts'
import { detectIssues } from './issues.ts'
import type { Issue, StateEvent, StreamSecond, StreamSeries, TransportSeries } from './issues.ts'
import { buildLegs, combineLegs, legFlowed, scoreLeg } from './legs.ts'
import type { Score, StreamRef } from './legs.ts'
import { judgeOutcome } from './outcome.ts'
import type { Outcome } from './outcome.ts'
import {
  sessionBounds,
  sessionEvents,
  sessionPeers,
  streamAggregates,
  detectorSeries,
  transportAggregates,
  transportSeries,
  toSecond,
} from './queries.ts'
import type { PeerRow, Scope, TransportAggregateRow } from './queries.ts'
import { SCORE_VERSION } from './score.ts'
import type { Penalties } from './score.ts'

// Issues of a refused or failed getUserMedia/getDisplayMedia (detect-setup.ts).
const SETUP_TYPES: ReadonlySet<string> = new Set(['media_access_denied', 'media_device_error'])

export type { Aggregates } from './aggregates.ts'
export type { AudioScore, Score } from './legs.ts'
export type { Outcome, OutcomeReason, OutcomeStatus } from './outcome.ts'

export interface AnalyzeOptions {
  /** Frame rate a camera should reach; below 80% of it costs points. */
  expectedFps: number
}

export interface StreamAnalysis {
  peer: string
  pc: string
  stream: string
  direction: 'inbound' | 'outbound'
  kind: 'audio' | 'video'
  ssrc: number
  codec: string
  remotePeer: string
  aggregates: Aggregates
  /** The score of the leg(s) this stream carries. */
  mos: number | null
  videoScore: number | null
  penalties: Penalties | null
}

export interface PeerAnalysis extends Outcome {
  peer: string
  userId: string
  browser: string
  os: string
  sdk: string
  userAgent: string
  metadata: Record<string, string>
  score: Score
}

/** `outcome` says whether media flowed (SCORING.md §0); a failed session has null scores. */
export interface SessionAnalysis extends Outcome {
  app: string
  session: string
  scoreVersion: number
  final: boolean
  scoredAt: number
  /** The range scored (epoch ms): the whole session when final, the rolling window when live. */
  window: { start: number; end: number }
  startedAt: number
  endedAt: number
  /** Every peer said goodbye or closed all its peer connections. */
  ended: boolean
  /** The latest frame (raw_frames ts) the scheduler had seen when scoring, epoch ms; stored as frames_until. */
  framesUntil?: number
  score: Score
  peers: PeerAnalysis[]
  streams: StreamAnalysis[]
  transports: TransportAggregateRow[]
  issues: Issue[]
}

const key = (...parts: string[]): string => parts.join('\n')

function groupBy<T>(list: readonly T[], by: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>()
  for (const x of list) {
    const k = by(x)
    const g = m.get(k)
    if (g) g.push(x)
    else m.set(k, [x])
  }
  return m
}

type Range = { from: number; to: number }
export type AnalyzeSessionsOptions = AnalyzeOptions & {
  range?: Range
  final?: boolean
  now?: number
  /** Sessions per query batch (all in one when omitted). */
  batchSize?: number
}

/**
 * Analyses sessions of one app over `range` (epoch ms; the whole session when omitted). `final` only
 * labels the result. Rejects with StoreError. Sessions with neither a per-second row nor a connection
 * event or media error are left out (nothing to judge); one with events only gets a failed outcome.
 * With `batchSize`, the queries of the next batch run in ClickHouse while this one is scored in JS.
 */
export async function analyzeSessions(
  store: Store,
  app: string,
  sessions: string[],
  opts: AnalyzeSessionsOptions,
): Promise<SessionAnalysis[]> {
  const size = Math.max(1, opts.batchSize ?? sessions.length)
  // Batches of neighbours in the sorting key (app_id, session_id, …): a session's rows (2,400 for ten
  // minutes of two pcs) are a fraction of a granule (8,192 rows), so a batch of ids scattered over the
  // table decompresses whole granules mostly of other sessions (1.47× the rows for 10,000 sessions in
  // batches of 2,000, bench/RESULTS.md "Analyzer"). The results keep the order of `sessions`.
  const ordered = size < sessions.length ? [...sessions].sort() : sessions
  const batches: string[][] = []
  for (let i = 0; i < ordered.length; i += size) batches.push(ordered.slice(i, i + size))
  const out: SessionAnalysis[] = []
  let next = batches[0] ? fetchBatch(store, app, batches[0], opts) : undefined
  for (let i = 0; next; i++) {
    const fetched = await next
    const following = batches[i + 1]
    next = following ? fetchBatch(store, app, following, opts) : undefined
    // Awaited at the next turn; this only keeps a failure from counting as unhandled meanwhile.
    next?.catch(() => undefined)
    out.push(...scoreBatch(app, batches[i] as string[], fetched, opts))
  }
  if (ordered === sessions) return out
  const bySession = new Map(out.map((a) => [a.session, a]))
  return sessions.flatMap((s) => bySession.get(s) ?? [])
}

type Fetched = Awaited<ReturnType<typeof fetchBatch>>

/** Every read one batch needs: aggregates, then the few per-second series the detectors may need. */
async function fetchBatch(store: Store, app: string, sessions: string[], opts: AnalyzeSessionsOptions) {
  const scope: Scope = { app, sessions, from: opts.range?.from ?? 0, to: opts.range?.to ?? 32503680000000 }
  const [aggs, trs, events, peers, bounds] = await Promise.all([
    streamAggregates(store, scope, opts.expectedFps),
    transportAggregates(store, scope),
    sessionEvents(store, app, sessions),
    sessionPeers(store, app, sessions),
    // Without a range the window is the whole session: its bounds are the aggregates' own.
    opts.range ? sessionBounds(store, app, sessions) : Promise.resolve([]),
  ])

  // Only series that can hold an issue cross into JS (the query decides which: queries.ts NEEDS_SERIES);
  // inbound silence needs every inbound stream of its pc.
  const wanted = aggs.filter((r) => r.needs_series)
  const silentPcs = new Set(
    wanted
      .filter((r) => r.direction === 'inbound' && r.p_silent === 1)
      .map((r) => key(r.session_id, r.peer_id, r.pc_id)),
  )
  // Their siblings came without flagged seconds: all their seconds are read (a window function marking
  // them in the query cost a one-session analysis ~50 ms; bench/RESULTS.md, "Analyzer", round 3).
  const silentSiblings = aggs.filter(
    (o) =>
      !o.needs_series && o.direction === 'inbound' && silentPcs.has(key(o.session_id, o.peer_id, o.pc_id)),
  )
  wanted.push(...silentSiblings)
  const wantedPcs = trs.filter((t) => t.p_rtt === 1 || t.relay_seconds > 0)
  // The detectors read the flagged seconds the aggregate query already returned; audio at a very low
  // codec rate (whose MOS can drop with no flagged second) and the silent pcs' siblings have all their
  // seconds read.
  const whole = [
    ...wanted.filter(
      (w) => w.kind === 'audio' && w.codec_rate_bps !== null && w.codec_rate_bps < LOW_CODEC_RATE_BPS,
    ),
    ...silentSiblings,
  ]
  const [full, tseries] = await Promise.all([
    whole.length
      ? detectorSeries(store, { ...scope, sessions: [...new Set(whole.map((w) => w.session_id))] }, [
          ...new Set(whole.map((w) => w.stream_id)),
        ])
      : Promise.resolve([]),
    wantedPcs.length
      ? transportSeries(
          store,
          { ...scope, sessions: [...new Set(wantedPcs.map((t) => t.session_id))] },
          [...new Set(wantedPcs.map((t) => t.pc_id))],
          true,
        )
      : Promise.resolve([]),
  ])
  return { aggs, trs, events, peers, bounds, wanted, wantedPcs, whole, full, tseries }
}

/** Scores one fetched batch. Pure. */
function scoreBatch(
  app: string,
  sessions: readonly string[],
  { aggs, trs, events, peers, bounds, wanted, wantedPcs, whole, full, tseries }: Fetched,
  opts: AnalyzeSessionsOptions,
): SessionAnalysis[] {
  const seriesBy = new Map<string, StreamSecond[]>()
  for (const w of wanted)
    seriesBy.set(key(w.session_id, w.peer_id, w.pc_id, w.stream_id), w.flagged.map(toSecond))
  const wholeKeys = new Set(whole.map((w) => key(w.session_id, w.peer_id, w.pc_id, w.stream_id)))
  for (const f of full) {
    const k = key(f.session_id, f.peer_id, f.pc_id, f.stream_id)
    if (wholeKeys.has(k)) seriesBy.set(k, f.rows)
  }
  const wantedPcKeys = new Set(wantedPcs.map((t) => key(t.session_id, t.peer_id, t.pc_id)))
  const tseriesBy = new Map<string, TransportSeries>()
  for (const row of tseries) {
    const k = key(row.session_id, row.peer_id, row.pc_id)
    if (!wantedPcKeys.has(k)) continue
    let t = tseriesBy.get(k)
    if (!t) tseriesBy.set(k, (t = { peer: row.peer_id, pc: row.pc_id, rows: [] }))
    t.rows.push(row)
  }

  // Grouped once: a batch holds thousands of sessions, so no per-session scan of the whole batch.
  const aggsBy = groupBy(aggs, (a) => a.session_id)
  const trsBy = groupBy(trs, (t) => t.session_id)
  const peersBy = groupBy(peers, (p) => p.session_id)
  const eventsBy = groupBy(events, (e) => e.session)
  const boundsBy = new Map(bounds.map((b) => [b.session_id, b]))
  const tseriesBySession = groupBy([...tseriesBy.entries()], ([k]) => k.slice(0, k.indexOf('\n')))

  const scoredAt = Math.round(opts.now ?? Date.now())
  const out: SessionAnalysis[] = []
  for (const session of sessions) {
    const rows = aggsBy.get(session) ?? []
    const sessionEventsRows = eventsBy.get(session) ?? []
    // Without streams or events there is no time span to report (a pc with only transport rows).
    if (rows.length === 0 && sessionEventsRows.length === 0) continue
    const sessionTrs = trsBy.get(session) ?? []
    const refs: StreamRef[] = rows.map((row) => ({ row, agg: toAggregates(row) }))
    const pcTr = new Map(sessionTrs.map((t) => [key(t.peer_id, t.pc_id), t]))
    const pcRtt = (s: StreamRef | undefined): number | null =>
      s ? (pcTr.get(key(s.row.peer_id, s.row.pc_id))?.rtt_ms ?? null) : null
    const legs = buildLegs(refs)
    for (const leg of legs) scoreLeg(leg, opts, pcRtt)
    const evidence = (peer?: string) => {
      const mine = (x: { peer_id: string }): boolean => peer === undefined || x.peer_id === peer
      return {
        flowed: legs.some(
          (l) =>
            legFlowed(l) &&
            (peer === undefined || l.sender?.row.peer_id === peer || l.receiver?.row.peer_id === peer),
        ),
        streamPcs: new Set(rows.filter(mine).map((r) => key(r.peer_id, r.pc_id))),
        transportPcs: new Set(sessionTrs.filter(mine).map((t) => key(t.peer_id, t.pc_id))),
        events: sessionEventsRows.filter((e) => peer === undefined || e.peer === peer),
      }
    }
    const outcome = judgeOutcome(evidence())
    // Nothing to judge (no pc, no stream, no media error): not a call, not listed.
    if (!outcome) continue

    const sessionPeersRows = peersBy.get(session) ?? []
    const peerIds = [
      ...new Set([
        ...sessionPeersRows.map((p) => p.peer_id),
        ...rows.map((r) => r.peer_id),
        ...sessionEventsRows.map((e) => e.peer),
      ]),
    ].sort()
    const peerAnalyses = peerIds.map((peer) => {
      const received = legs.filter((l) => l.receiver?.row.peer_id === peer)
      const mine = received.length ? received : legs.filter((l) => l.sender?.row.peer_id === peer)
      const meta: PeerRow | undefined = sessionPeersRows.find((p) => p.peer_id === peer)
      return {
        peer,
        // A peer that shows nothing of its own (no pc, no error) shares the session's outcome.
        ...(judgeOutcome(evidence(peer)) ?? outcome),
        userId: meta?.user_id ?? '',
        browser: meta?.browser ?? '',
        os: meta?.os ?? '',
        sdk: meta?.sdk_version ?? '',
        userAgent: meta?.user_agent ?? '',
        metadata: meta?.metadata ?? {},
        score: combineLegs(mine),
      }
    })

    const streams: StreamAnalysis[] = refs.map((ref) => {
      const mine = legs.filter((l) => l.sender === ref || l.receiver === ref)
      const other = mine.map((l) => (l.sender === ref ? l.receiver : l.sender)).find((x) => x !== undefined)
      const sc = combineLegs(mine)
      return {
        peer: ref.row.peer_id,
        pc: ref.row.pc_id,
        stream: ref.row.stream_id,
        direction: ref.row.direction,
        kind: ref.row.kind,
        ssrc: ref.row.ssrc,
        codec: ref.row.codec,
        remotePeer: other?.row.peer_id ?? '',
        aggregates: ref.agg,
        mos: sc.audio?.mos ?? null,
        videoScore: sc.video?.score ?? null,
        penalties: sc.video?.penalties ?? null,
      }
    })

    const b = boundsBy.get(session)
    // A session without stream rows (events only) spans its events.
    const times = rows.length
      ? rows.flatMap((r) => [r.start_ms, r.end_ms])
      : sessionEventsRows.map((e) => e.t)
    const windowStart = Math.min(...times)
    const windowEnd = Math.max(...times)
    const streamSeriesList: StreamSeries[] = []
    for (const r of rows) {
      const list = seriesBy.get(key(session, r.peer_id, r.pc_id, r.stream_id))
      if (!list) continue
      streamSeriesList.push({
        peer: r.peer_id,
        pc: r.pc_id,
        stream: r.stream_id,
        direction: r.direction,
        kind: r.kind,
        codec: r.codec,
        codecRateBps: r.codec_rate_bps,
        rows: list,
        span: {
          start: r.start_ms,
          end: r.end_ms,
          firstActive: r.first_active_ms,
          lastActive: r.last_active_ms,
          maxHeight: r.max_height,
          minRttMs: r.min_rtt_ms,
        },
      })
    }
    const transportList = (tseriesBySession.get(session) ?? []).map(([, t]) => t)
    // A live window drops episodes that ended before it. The whole session keeps them all: a refused
    // camera or a failed first ICE attempt happens before the first stats row and still matters.
    const issues = detectIssues(streamSeriesList, transportList, sessionEventsRows, {
      expectedFps: opts.expectedFps,
      end: windowEnd,
    })
      .filter((i) => !opts.range || i.end >= windowStart)
      .map((i) =>
        // A media error of a peer whose media flowed anyway (the app retried with other constraints or
        // another device) cost the call nothing it could not recover: a warning, not a setup failure.
        SETUP_TYPES.has(i.type) && peerAnalyses.find((p) => p.peer === i.peer)?.outcome === 'ok'
          ? { ...i, severity: 'warning' as const }
          : i,
      )

    out.push({
      app,
      session,
      scoreVersion: SCORE_VERSION,
      final: opts.final ?? false,
      scoredAt,
      window: { start: windowStart, end: windowEnd },
      startedAt: b?.start_ms ?? windowStart,
      endedAt: b?.end_ms ?? windowEnd,
      ended: sessionEnded(peerIds, sessionEventsRows),
      ...outcome,
      score: combineLegs(legs),
      peers: peerAnalyses,
      streams,
      transports: sessionTrs,
      issues,
    })
  }
  return out
}

/**
 * True when every peer either sent `bye` (on the monitor channel `_`) or saw every one of its peer
 * connections reach connectionState `closed` (its last state event says so).
 */
export function sessionEnded(peers: readonly string[], events: readonly StateEvent[]): boolean {
  if (peers.length === 0) return false
  return peers.every((peer) => {
    const mine = events.filter((e) => e.peer === peer)
    if (mine.some((e) => e.name === 'bye')) return true
    const last = new Map<string, string>()
    for (const e of mine)
      if (
        e.name.toLowerCase().endsWith('connectionstatechange') &&
        !e.name.toLowerCase().endsWith('iceconnectionstatechange')
      )
        last.set(e.pc, e.state)
    return last.size > 0 && [...last.values()].every((s) => s === 'closed')
  })
}
