// When scoring happens. Every `intervalMs` the analyzer finds sessions that received frames, re-scores
// each over its last `windowMs` (a live score: "how is the call now"), and finalises a session over its
// whole span once every peer said goodbye or nothing arrived for `idleMs`. State lives in ClickHouse
// (scores.final = 0 marks a session still live), so a restarted analyzer picks up where it stopped.
import type { Logger } from 'pino'
import { Registry } from '../lib/metrics.ts'
import type { Counter, Gauge, Histogram } from '../lib/metrics.ts'
import type { Store } from '../store/index.ts'
import { analyzeSessions } from './analyze.ts'
import { storeAnalyses, storeAnalysis } from './persist.ts'
import type { SessionAnalysis } from './analyze.ts'
import type { AnalyzerConfig } from './config.ts'
import { ISSUE_TYPES, mergeIssues } from './issues.ts'
import type { Issue } from './issues.ts'
import { POOR_SCORE } from './score.ts'

interface LiveSession {
  app: string
  session: string
  /** Latest frame timestamp seen (report clock, epoch ms). */
  lastTs: number
  /** When (analyzer clock) lastTs last advanced. */
  advancedAt: number
  issues: Issue[]
  /** Live issues ongoing at the last scoring. */
  active: Issue[]
}

export interface AnalyzerMetrics {
  registry: Registry
  scored: Counter
  scores: Histogram
  poor: Gauge
  failed: Counter
  activeIssues: Gauge
  live: Gauge
  issues: Counter
  ticks: Histogram
  errors: Counter
}

/**
 * The analyzer's Prometheus metrics (README: alerting). `poor` means overall < POOR_SCORE or media never
 * flowed (outcome `failed`/`setup_failed`, SCORING.md §0).
 */
export function createAnalyzerMetrics(registry = new Registry()): AnalyzerMetrics {
  return {
    registry,
    scored: registry.counter(
      'rtcpulse_analyzer_sessions_scored_total',
      'Sessions finalised and scored, by app',
      ['app'],
    ),
    scores: registry.histogram(
      'rtcpulse_analyzer_session_score',
      'Final overall session scores (0-10), by app',
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      ['app'],
    ),
    poor: registry.gauge(
      'rtcpulse_analyzer_poor_session_ratio',
      `Share of sessions finalised in the last hour with overall score below ${POOR_SCORE} or no media (failed), by app`,
      ['app'],
    ),
    failed: registry.counter(
      'rtcpulse_analyzer_failed_sessions_total',
      'Sessions finalised whose media never flowed, by app, outcome (failed, setup_failed) and reason',
      ['app', 'outcome', 'reason'],
    ),
    activeIssues: registry.gauge(
      'rtcpulse_analyzer_active_issues',
      'Issues ongoing in live sessions, by app and type',
      ['app', 'type'],
    ),
    live: registry.gauge('rtcpulse_analyzer_live_sessions', 'Sessions currently scored live, by app', [
      'app',
    ]),
    issues: registry.counter(
      'rtcpulse_analyzer_issues_total',
      'Issues in finalised sessions, by app, type and severity',
      ['app', 'type', 'severity'],
    ),
    ticks: registry.histogram(
      'rtcpulse_analyzer_tick_seconds',
      'Duration of one scoring pass',
      [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30],
    ),
    errors: registry.counter(
      'rtcpulse_analyzer_errors_total',
      'Scoring passes that failed (retried next pass)',
    ),
  }
}

export interface AnalyzerDeps {
  store: Store
  log: Logger
  config: Pick<
    AnalyzerConfig,
    'intervalMs' | 'windowMs' | 'idleMs' | 'lookbackMs' | 'expectedFps' | 'batchSize'
  >
  metrics?: AnalyzerMetrics
  /** Clock, epoch ms (tests move it). */
  now?: () => number
}

export interface TickResult {
  live: SessionAnalysis[]
  finalized: SessionAnalysis[]
}

export interface Analyzer {
  readonly metrics: AnalyzerMetrics
  /** One pass: discover, re-score live sessions, finalise ended or idle ones. Rejects with StoreError. */
  tick(): Promise<TickResult>
  /** Scores a session over its whole span now and stores it as final. */
  finalize(app: string, session: string): Promise<SessionAnalysis | undefined>
  /** Runs tick() every intervalMs (never two at once); errors are logged and counted. */
  start(): void
  /** Stops the loop and waits for a running pass. Never rejects. */
  stop(): Promise<void>
}

// Discovery reads raw_frames, the ledger the collector writes last in each batch: a frame seen there
// has its per-second rows stored already (collector/ingest.ts).
const DISCOVER_SQL = `SELECT app_id, session_id, toUnixTimestamp64Milli(max(ts)) AS last
  FROM raw_frames WHERE ts >= fromUnixTimestamp64Milli({since:Int64})
  GROUP BY app_id, session_id`
const UNFINISHED_SQL = `SELECT app_id, session_id, toUnixTimestamp64Milli(window_end) AS last
  FROM scores FINAL WHERE peer_id = '' AND final = 0`
const POOR_SQL = `SELECT app_id, countIf(overall < {poor:Float64} OR outcome != 'ok') / count() AS ratio
  FROM scores FINAL WHERE peer_id = '' AND final = 1 AND ended_at >= fromUnixTimestamp64Milli({since:Int64})
  GROUP BY app_id`

/** Creates the analyzer loop. Nothing runs until start() or tick(). */
export function createAnalyzer(deps: AnalyzerDeps): Analyzer {
  const { store, log, config } = deps
  const metrics = deps.metrics ?? createAnalyzerMetrics()
  const now = deps.now ?? Date.now
  const live = new Map<string, LiveSession>()
  // Finalised recently: a late frame re-opens the session, but it is counted in the metrics once.
  const finalized = new Map<string, { lastTs: number; at: number }>()
  let recovered = false
  let poorRefreshedAt = -Infinity
  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> | undefined
  let stopped = false
  const k = (app: string, session: string): string => `${app}\n${session}`

  async function scoreBatch(list: LiveSession[], final: boolean): Promise<SessionAnalysis[]> {
    const out: SessionAnalysis[] = []
    const byApp = new Map<string, LiveSession[]>()
    for (const s of list) byApp.set(s.app, [...(byApp.get(s.app) ?? []), s])
    for (const [app, sessions] of byApp) {
      if (final) {
        // One call: it queries batch by batch, the next batch's queries overlapping this one's scoring.
        out.push(
          ...(await analyzeSessions(
            store,
            app,
            sessions.map((s) => s.session),
            { expectedFps: config.expectedFps, final: true, now: now(), batchSize: config.batchSize },
          )),
        )
        continue
      }
      for (let i = 0; i < sessions.length; i += config.batchSize) {
        const batch = sessions.slice(i, i + config.batchSize)
        // One query serves one time range, so sessions are grouped by their latest frame (clients' clocks
        // differ): within a group the window is at most one interval longer than configured.
        const sorted = [...batch].sort((a, b) => a.lastTs - b.lastTs)
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
    return out
  }

  async function storeLive(a: SessionAnalysis): Promise<void> {
    const s = live.get(k(a.app, a.session))
    const known = s?.issues ?? []
    const changed = mergeIssues(known, a.issues, 2 * config.intervalMs + 5000)
    a.issues = known.filter((i) => i.end >= a.window.start - config.windowMs)
    await storeAnalysis(store, a, changed)
    if (s) s.active = known.filter((i) => i.end >= a.window.end - Math.max(3000, config.intervalMs))
  }

  async function finalizeMany(list: LiveSession[]): Promise<SessionAnalysis[]> {
    if (list.length === 0) return []
    const results = await scoreBatch(list, true)
    await storeAnalyses(store, results)
    for (const a of results) {
      const key = k(a.app, a.session)
      if (!finalized.has(key)) {
        metrics.scored.inc({ app: a.app })
        if (a.score.overall !== null) metrics.scores.observe(a.score.overall, { app: a.app })
        if (a.outcome !== 'ok')
          metrics.failed.inc({ app: a.app, outcome: a.outcome, reason: a.outcomeReason })
        for (const i of a.issues) metrics.issues.inc({ app: a.app, type: i.type, severity: i.severity })
      }
    }
    for (const s of list) {
      live.delete(k(s.app, s.session))
      finalized.set(k(s.app, s.session), { lastTs: s.lastTs, at: now() })
    }
    return results
  }

  async function refreshGauges(finalizedNow: boolean): Promise<void> {
    metrics.live.reset()
    metrics.activeIssues.reset()
    const liveBy = new Map<string, number>()
    const issuesBy = new Map<string, Map<string, number>>()
    for (const s of live.values()) {
      liveBy.set(s.app, (liveBy.get(s.app) ?? 0) + 1)
      const m = issuesBy.get(s.app) ?? new Map<string, number>()
      for (const i of s.active) m.set(i.type, (m.get(i.type) ?? 0) + 1)
      issuesBy.set(s.app, m)
    }
    for (const [app, n] of liveBy) metrics.live.set(n, { app })
    for (const [app, m] of issuesBy)
      for (const type of ISSUE_TYPES) metrics.activeIssues.set(m.get(type) ?? 0, { app, type })
    // The poor-session share reads the store: after finalising, else once a minute (plenty for alerting).
    if (finalizedNow || now() - poorRefreshedAt >= 60_000) {
      poorRefreshedAt = now()
      const rows = await store.query<{ app_id: string; ratio: number }>(POOR_SQL, {
        poor: POOR_SCORE,
        since: Math.floor(now() - 3_600_000),
      })
      metrics.poor.reset()
      for (const r of rows) metrics.poor.set(Math.round(r.ratio * 1000) / 1000, { app: r.app_id })
    }
  }

  async function tick(): Promise<TickResult> {
    const t = now()
    if (!recovered) {
      // Sessions a previous run left live: finalise them unless frames still arrive.
      for (const r of await store.query<{ app_id: string; session_id: string; last: number }>(
        UNFINISHED_SQL,
      )) {
        const key = k(r.app_id, r.session_id)
        if (!live.has(key))
          live.set(key, {
            app: r.app_id,
            session: r.session_id,
            lastTs: r.last,
            advancedAt: t,
            issues: [],
            active: [],
          })
      }
      recovered = true
    }
    const seen = await store.query<{ app_id: string; session_id: string; last: number }>(DISCOVER_SQL, {
      since: Math.floor(t - config.lookbackMs),
    })
    const active: LiveSession[] = []
    for (const r of seen) {
      const key = k(r.app_id, r.session_id)
      let s = live.get(key)
      if (!s) {
        const f = finalized.get(key)
        if (f && r.last <= f.lastTs) continue
        live.set(
          key,
          (s = {
            app: r.app_id,
            session: r.session_id,
            lastTs: r.last,
            advancedAt: t,
            issues: [],
            active: [],
          }),
        )
        active.push(s)
      } else if (r.last > s.lastTs) {
        s.lastTs = r.last
        s.advancedAt = t
        active.push(s)
      }
    }
    const scored = await scoreBatch(active, false)
    const ended: LiveSession[] = []
    for (const a of scored) {
      await storeLive(a)
      const s = live.get(k(a.app, a.session))
      if (a.ended && s) ended.push(s)
    }
    const idle = [...live.values()].filter((s) => t - s.advancedAt >= config.idleMs && !ended.includes(s))
    const done = await finalizeMany([...ended, ...idle])
    for (const [key, f] of finalized) if (t - f.at > config.lookbackMs) finalized.delete(key)
    await refreshGauges(done.length > 0)
    return { live: scored, finalized: done }
  }

  function loop(): void {
    if (stopped) return
    const started = performance.now()
    const pass = tick().then(
      (r) => {
        if (r.finalized.length || r.live.length)
          log.debug({ live: r.live.length, finalized: r.finalized.length }, 'scored')
      },
      (err: unknown) => {
        metrics.errors.inc()
        log.error({ err }, 'scoring pass failed; retrying next interval')
      },
    )
    running = pass.finally(() => {
      metrics.ticks.observe((performance.now() - started) / 1000)
      running = undefined
      if (!stopped) timer = setTimeout(loop, config.intervalMs).unref()
    })
  }

  return {
    metrics,
    tick,
    async finalize(app, session) {
      const s = live.get(k(app, session)) ?? {
        app,
        session,
        lastTs: 0,
        advancedAt: now(),
        issues: [],
        active: [],
      }
      return (await finalizeMany([s]))[0]
    },
    start() {
      stopped = false
      if (!timer && !running) timer = setTimeout(loop, 0).unref()
    },
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      timer = undefined
      await running
    },
  }
}
