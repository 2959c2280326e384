// One scoring pass of one analyzer instance: heartbeat, find the sessions it owns that received frames,
// re-score each over its last `windowMs` (a live score: "how is the call now"), and finalise a session
// over its whole span once every peer said goodbye or nothing arrived for `idleMs`. State lives in
// ClickHouse (scores.final = 0 marks a session still live, scores.frames_until the latest frame a score
// covered), so a restarted analyzer, or one taking over a dead one's sessions, picks up where it stopped.
// When the passes run is analyzer/scheduler.ts's business.
import type { Logger } from 'pino'
import type { Store } from '../store/index.ts'
import { analyzeSessions } from './analyze.ts'
import type { SessionAnalysis } from './analyze.ts'
import type { AnalyzerMetrics } from './analyzer-metrics.ts'
import type { AnalyzerConfig } from './config.ts'
import { activeSessions, priorScores, unfinishedSessions } from './discover.ts'
import type { Prior, SeenSession } from './discover.ts'
import { ISSUE_TYPES, mergeIssues } from './issues.ts'
import type { Issue } from './issues.ts'
import { LiveSessions } from './live-sessions.ts'
import type { LiveSession } from './live-sessions.ts'
import type { Membership } from './members.ts'
import { storeAnalyses } from './persist.ts'
import { POOR_SCORE } from './score.ts'

export type PassConfig = Pick<
  AnalyzerConfig,
  'intervalMs' | 'windowMs' | 'idleMs' | 'lookbackMs' | 'expectedFps' | 'batchSize'
>

export interface PassDeps {
  store: Store
  log: Logger
  config: PassConfig
  metrics: AnalyzerMetrics
  members: Membership
  now: () => number
}

export interface TickResult {
  live: SessionAnalysis[]
  finalized: SessionAnalysis[]
}

const POOR_SQL = `SELECT app_id, countIf(overall < {poor:Float64} OR outcome != 'ok') / count() AS ratio
  FROM scores FINAL WHERE peer_id = '' AND final = 1 AND ended_at >= fromUnixTimestamp64Milli({since:Int64})
  GROUP BY app_id`

function byApp<T extends { app: string }>(list: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>()
  for (const s of list) m.set(s.app, [...(m.get(s.app) ?? []), s])
  return m
}

/** The passes of one analyzer instance; its state is the fields below. */
export class ScoringPasses {
  private readonly sessions = new LiveSessions()
  private poorRefreshedAt = -Infinity

  constructor(private readonly deps: PassDeps) {}

  /** One pass: heartbeat, discover, re-score live sessions, finalise ended or idle ones. Rejects with StoreError. */
  async tick(): Promise<TickResult> {
    const { store, config, members, metrics, now } = this.deps
    const t = now()
    const changed = await members.heartbeat()
    const owner = { buckets: members.buckets }
    if (changed) {
      // The members changed: sessions another instance owns now are its to score; those a departed
      // owner left live (final = 0) are adopted, finalised once idle unless frames still arrive.
      const dropped = this.sessions.retain((s) => members.owns(s.app, s.session))
      const adopted = await this.adopt(await unfinishedSessions(store, owner), t, true)
      this.deps.log.info(
        { members: members.members, dropped, adopted: adopted.length },
        'analyzer members changed',
      )
    }
    metrics.members.set(members.members.length)
    const seen = await activeSessions(store, t - config.lookbackMs, owner)
    const active = await this.discover(seen, t)
    const scored = await this.scoreLive(active)
    const ended = scored.filter((a) => a.ended).map((a) => this.sessions.get(a.app, a.session))
    const idle = [...this.sessions.values()].filter(
      (s) => t - s.advancedAt >= config.idleMs && !ended.includes(s),
    )
    const finishing = [...ended, ...idle].filter((s): s is LiveSession => s !== undefined)
    // A pass that stalled past its heartbeat's lifetime may have lost these sessions to another member.
    const done = members.current() ? await this.finalizeMany(finishing) : []
    if (finishing.length && !members.current())
      this.deps.log.warn({ sessions: finishing.length }, 'pass outlived its heartbeat; not finalising')
    this.sessions.expire(t - config.lookbackMs)
    await this.refreshGauges(done.length > 0)
    return { live: scored, finalized: done }
  }

  /** Scores a session over its whole span now and stores it as final, whoever owns it. */
  async finalize(app: string, session: string): Promise<SessionAnalysis | undefined> {
    const s =
      this.sessions.get(app, session) ??
      ({
        app,
        session,
        lastTs: 0,
        advancedAt: this.deps.now(),
        issues: [],
        active: [],
        counted: this.sessions.status(app, session, 0) === 'known',
      } satisfies LiveSession)
    return (await this.finalizeMany([s]))[0]
  }

  /** Sessions with newer frames: those already live here advance; new ones are checked against the store. */
  private async discover(seen: readonly SeenSession[], t: number): Promise<LiveSession[]> {
    const active: LiveSession[] = []
    const unknown: SeenSession[] = []
    for (const r of seen) {
      const status = this.sessions.status(r.app_id, r.session_id, r.last)
      const s = this.sessions.get(r.app_id, r.session_id)
      if (s && r.last > s.lastTs) {
        s.lastTs = r.last
        s.advancedAt = t
        active.push(s)
      } else if (status === 'reopened')
        active.push(this.sessions.open(r.app_id, r.session_id, r.last, t, true))
      else if (status === 'new') unknown.push(r)
    }
    active.push(...(await this.adopt(unknown, t, false)))
    return active
  }

  /**
   * Opens sessions new to this instance, unless the store holds a final score covering their latest
   * frame (another instance, or this one before a restart, finalised them). `recovered` sessions come
   * from live rows: they are known to be unfinished.
   */
  private async adopt(list: readonly SeenSession[], t: number, recovered: boolean): Promise<LiveSession[]> {
    const out: LiveSession[] = []
    const apps = byApp(list.map((r) => ({ ...r, app: r.app_id })))
    for (const [app, rows] of apps) {
      for (let i = 0; i < rows.length; i += this.deps.config.batchSize) {
        const batch = rows.slice(i, i + this.deps.config.batchSize)
        const prior = recovered
          ? new Map<string, Prior>()
          : await priorScores(
              this.deps.store,
              app,
              batch.map((r) => r.session_id),
            )
        for (const r of batch) {
          if (this.sessions.get(app, r.session_id)) continue
          const p = prior.get(r.session_id)
          if (p?.final && p.until >= r.last) this.sessions.markFinal(app, r.session_id, p.until, t)
          else out.push(this.sessions.open(app, r.session_id, r.last, t, p?.final ?? false))
        }
      }
    }
    return out
  }

  /** Scores `list` live, in batches by time range, and writes every result in one insert per table. */
  private async scoreLive(list: LiveSession[]): Promise<SessionAnalysis[]> {
    const { store, config, now } = this.deps
    const out: SessionAnalysis[] = []
    for (const [app, sessions] of byApp(list)) {
      for (let i = 0; i < sessions.length; i += config.batchSize) {
        // One query serves one time range, so sessions are grouped by their latest frame (clients' clocks
        // differ): within a group the window is at most one interval longer than configured.
        const sorted = sessions.slice(i, i + config.batchSize).sort((a, b) => a.lastTs - b.lastTs)
        while (sorted.length) {
          const first = (sorted[0] as LiveSession).lastTs
          const n = sorted.findIndex((s) => s.lastTs - first > config.intervalMs)
          const group = sorted.splice(0, n < 0 ? sorted.length : n)
          const to = (group[group.length - 1] as LiveSession).lastTs
          const range = { from: first - config.windowMs, to }
          out.push(
            ...(await analyzeSessions(
              store,
              app,
              group.map((s) => s.session),
              { expectedFps: config.expectedFps, range, now: now() },
            )),
          )
        }
      }
    }
    const changed = new Map<SessionAnalysis, Issue[]>()
    for (const a of out) {
      const s = this.sessions.get(a.app, a.session)
      const known = s?.issues ?? []
      changed.set(a, mergeIssues(known, a.issues, 2 * config.intervalMs + 5000))
      a.issues = known.filter((i) => i.end >= a.window.start - config.windowMs)
      a.framesUntil = s?.lastTs
      if (s) s.active = known.filter((i) => i.end >= a.window.end - Math.max(3000, config.intervalMs))
    }
    // One insert per table for the whole pass (issue 13): a pass over thousands of live sessions is three
    // inserts, not three per session.
    await storeAnalyses(store, out, (a) => changed.get(a) ?? [])
    return out
  }

  private async finalizeMany(list: LiveSession[]): Promise<SessionAnalysis[]> {
    if (list.length === 0) return []
    const { store, config, metrics, now } = this.deps
    const results: SessionAnalysis[] = []
    for (const [app, sessions] of byApp(list)) {
      // One call: it queries batch by batch, the next batch's queries overlapping this one's scoring.
      results.push(
        ...(await analyzeSessions(
          store,
          app,
          sessions.map((s) => s.session),
          { expectedFps: config.expectedFps, final: true, now: now(), batchSize: config.batchSize },
        )),
      )
    }
    const byKey = new Map(list.map((s) => [`${s.app}\n${s.session}`, s]))
    const of = (a: SessionAnalysis): LiveSession | undefined => byKey.get(`${a.app}\n${a.session}`)
    for (const a of results) a.framesUntil = of(a)?.lastTs
    await storeAnalyses(store, results)
    for (const a of results) {
      if (of(a)?.counted) continue
      metrics.scored.inc({ app: a.app })
      if (a.score.overall !== null) metrics.scores.observe(a.score.overall, { app: a.app })
      if (a.outcome !== 'ok') metrics.failed.inc({ app: a.app, outcome: a.outcome, reason: a.outcomeReason })
      for (const i of a.issues) metrics.issues.inc({ app: a.app, type: i.type, severity: i.severity })
    }
    for (const s of list) this.sessions.markFinal(s.app, s.session, s.lastTs, now())
    return results
  }

  private async refreshGauges(finalizedNow: boolean): Promise<void> {
    const { store, metrics, members, now } = this.deps
    metrics.live.reset()
    metrics.activeIssues.reset()
    const liveBy = new Map<string, number>()
    const issuesBy = new Map<string, Map<string, number>>()
    for (const s of this.sessions.values()) {
      liveBy.set(s.app, (liveBy.get(s.app) ?? 0) + 1)
      const m = issuesBy.get(s.app) ?? new Map<string, number>()
      for (const i of s.active) m.set(i.type, (m.get(i.type) ?? 0) + 1)
      issuesBy.set(s.app, m)
    }
    for (const [app, n] of liveBy) metrics.live.set(n, { app })
    for (const [app, m] of issuesBy)
      for (const type of ISSUE_TYPES) metrics.activeIssues.set(m.get(type) ?? 0, { app, type })
    // The poor-session share is the store's, the same for every instance: the leader alone reports it
    // (summed over instances it would count N times). It is read after finalising, else once a minute.
    if (!members.leader) {
      metrics.poor.reset()
      this.poorRefreshedAt = -Infinity
      return
    }
    if (finalizedNow || now() - this.poorRefreshedAt >= 60_000) {
      this.poorRefreshedAt = now()
      const rows = await store.query<{ app_id: string; ratio: number }>(POOR_SQL, {
        poor: POOR_SCORE,
        since: Math.floor(now() - 3_600_000),
      })
      metrics.poor.reset()
      for (const r of rows) metrics.poor.set(Math.round(r.ratio * 1000) / 1000, { app: r.app_id })
    }
  }
}
