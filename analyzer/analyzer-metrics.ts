// The analyzer's Prometheus metrics (README: alerting). Each analyzer instance counts only the sessions
// it finalised itself and reports only the live sessions it owns (analyzer/members.ts), so sums over the
// instances are the fleet's figures; the store-wide poor-session share is reported by the leader alone.
import { Registry } from '../lib/metrics.ts'
import type { Counter, Gauge, Histogram } from '../lib/metrics.ts'
import { POOR_SCORE } from './score.ts'

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
  members: Gauge
}

/**
 * The analyzer's metrics on `registry`. `poor` means overall < POOR_SCORE or media never flowed
 * (outcome `failed`/`setup_failed`, SCORING.md §0).
 */
export function createAnalyzerMetrics(registry = new Registry()): AnalyzerMetrics {
  return {
    registry,
    scored: registry.counter(
      'rtcpulse_analyzer_sessions_scored_total',
      'Sessions finalised and scored by this instance, by app',
      ['app'],
    ),
    scores: registry.histogram(
      'rtcpulse_analyzer_session_score',
      'Final overall session scores (0-10) of sessions this instance finalised, by app',
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      ['app'],
    ),
    poor: registry.gauge(
      'rtcpulse_analyzer_poor_session_ratio',
      `Share of sessions finalised in the last hour with overall score below ${POOR_SCORE} or no media (failed), by app; reported by the leading analyzer instance only`,
      ['app'],
    ),
    failed: registry.counter(
      'rtcpulse_analyzer_failed_sessions_total',
      'Sessions finalised whose media never flowed, by app, outcome (failed, setup_failed) and reason',
      ['app', 'outcome', 'reason'],
    ),
    activeIssues: registry.gauge(
      'rtcpulse_analyzer_active_issues',
      'Issues ongoing in live sessions this instance owns, by app and type',
      ['app', 'type'],
    ),
    live: registry.gauge(
      'rtcpulse_analyzer_live_sessions',
      'Sessions currently scored live by this instance, by app',
      ['app'],
    ),
    issues: registry.counter(
      'rtcpulse_analyzer_issues_total',
      'Issues in sessions this instance finalised, by app, type and severity',
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
    members: registry.gauge(
      'rtcpulse_analyzer_members',
      'Analyzer instances sharing the sessions, as this instance saw them at its last pass',
    ),
  }
}
