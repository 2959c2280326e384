// The alert rules, defined once. `npm run dashboards` renders them as Prometheus rule files
// (dashboards/alerts/*.yml, checked by promtool) and as Grafana-managed rules
// (dashboards/grafana/provisioning/alerting/), so both alerting paths page on the same conditions.
// Each rule compares one measured PromQL value against a threshold, optionally `and` a guard that
// keeps it quiet on too little traffic; RUNBOOK.md has a section per alert.

export type Severity = 'critical' | 'warning'

export interface AlertRule {
  /** Alert name: Prometheus `alertname`, the Grafana rule title and the RUNBOOK.md heading. */
  alert: string
  /** Rule group (one Prometheus rule file per group). */
  group: 'rtcpulse-collector' | 'rtcpulse-analyzer'
  /** PromQL of the measured value: one series per label set that can alert on its own. */
  value: string
  op: '>' | '<'
  threshold: number
  /** PromQL appended as `and <guard>`: the value only counts where the guard has a series. */
  guard?: string
  /** How long the condition must hold before the alert fires. */
  for: string
  /** critical pages the on-call engineer; warning goes to the team's channel. */
  severity: Severity
  /** One line; may use {{ $labels.x }} and {{ $value }} (Prometheus templating). */
  summary: string
  description: string
  /** Grafana only: what an empty query result means. Prometheus never fires on an absent series. */
  noData?: 'OK' | 'Alerting'
}

/** Scrape job of the collector's /metrics: the docker-compose and test job name. */
export const JOB = 'rtcpulse'
/** Scrape job of the analyzer's /metrics/analyzer (same port as the collector when it runs inside it). */
export const ANALYZER_JOB = 'rtcpulse-analyzer'

/** Where `runbook_url` annotations point; change it if you host the runbook elsewhere. */
export const RUNBOOK_BASE = 'https://github.com/rtcpulse/rtcpulse/blob/main/dashboards/alerts/RUNBOOK.md'

const J = `job="${JOB}"`
const BY = 'job, instance'

export const COLLECTOR_RULES: AlertRule[] = [
  {
    alert: 'RtcpulseCollectorDown',
    group: 'rtcpulse-collector',
    value: `up{${J}}`,
    op: '<',
    threshold: 1,
    for: '2m',
    severity: 'critical',
    summary: 'Collector {{ $labels.instance }} is down',
    description:
      'Prometheus cannot scrape {{ $labels.instance }}. SDKs buffer and retry, but their buffers are bounded.',
    noData: 'Alerting',
  },
  {
    alert: 'RtcpulseCollectorAbsent',
    group: 'rtcpulse-collector',
    value: `absent(up{${J}})`,
    op: '>',
    threshold: 0,
    for: '10m',
    severity: 'critical',
    summary: 'No rtcpulse collector is being scraped',
    description: `Prometheus has no target with ${J}: service discovery lost every collector, or all were removed.`,
  },
  {
    alert: 'RtcpulseStoreWritesFailing',
    group: 'rtcpulse-collector',
    value: `min by (${BY}) (rtcpulse_store_healthy{${J}})`,
    op: '<',
    threshold: 1,
    for: '2m',
    severity: 'critical',
    summary: 'Collector {{ $labels.instance }} cannot write to the store',
    description:
      'Batch writes to ClickHouse fail and are retried; nothing is acknowledged and pending frames grow.',
  },
  {
    alert: 'RtcpulseStoreWriteErrors',
    group: 'rtcpulse-collector',
    value: `sum by (${BY}) (rate(rtcpulse_store_write_errors_total{${J}}[10m]))`,
    op: '>',
    threshold: 0,
    for: '15m',
    severity: 'warning',
    summary: 'Collector {{ $labels.instance }} keeps hitting store write errors',
    description:
      'Batch writes fail {{ $value | humanize }} times per second; retries succeed often enough to keep up.',
  },
  {
    alert: 'RtcpulseSlowStoreWrites',
    group: 'rtcpulse-collector',
    value:
      `histogram_quantile(0.99, sum by (${BY}, le) ` +
      `(rate(rtcpulse_insert_duration_seconds_bucket{${J}}[5m])))`,
    op: '>',
    threshold: 1,
    for: '10m',
    severity: 'warning',
    summary: 'Collector {{ $labels.instance }} takes {{ $value | humanizeDuration }} per batch write (p99)',
    description:
      'Acks wait for batch writes: slow writes mean slow acks and growing client buffers (target: ack p99 1 s, batch wait included).',
  },
  {
    alert: 'RtcpulseIngestBacklog',
    group: 'rtcpulse-collector',
    value: `min by (${BY}) (min_over_time(rtcpulse_pending_frames{${J}}[5m]))`,
    op: '>',
    threshold: 20000,
    for: '5m',
    severity: 'warning',
    summary:
      'Collector {{ $labels.instance }} has held {{ $value | humanize }}+ unstored frames for 5 minutes',
    description:
      'Frames arrive faster than the store absorbs them; at RTCPULSE_MAX_PENDING_FRAMES clients are pushed back.',
  },
  {
    alert: 'RtcpulseClientsPushedBack',
    group: 'rtcpulse-collector',
    value: `sum by (${BY}) (rate(rtcpulse_rejected_frames_total{${J}, reason="backpressure"}[5m]))`,
    op: '>',
    threshold: 0,
    for: '5m',
    severity: 'critical',
    summary: 'Collector {{ $labels.instance }} is overloaded and closing streams (1013)',
    description:
      'Pending frames passed RTCPULSE_MAX_PENDING_FRAMES; clients retry later and buffer meanwhile.',
  },
  {
    alert: 'RtcpulseFramesRejected',
    group: 'rtcpulse-collector',
    value:
      `sum by (${BY}) (rate(rtcpulse_rejected_frames_total{${J}}[10m]))\n` +
      `/\n` +
      `(\n` +
      `  sum by (${BY}) (rate(rtcpulse_frames_total{${J}}[10m]))\n` +
      `  + sum by (${BY}) (rate(rtcpulse_rejected_frames_total{${J}}[10m]))\n` +
      `)`,
    op: '>',
    threshold: 0.05,
    guard: `sum by (${BY}) (rate(rtcpulse_rejected_frames_total{${J}}[10m])) > 0.1`,
    for: '15m',
    severity: 'warning',
    summary: 'Collector {{ $labels.instance }} rejects {{ $value | humanizePercentage }} of frames',
    description: 'See rtcpulse_rejected_frames_total by reason: bad frames, tokens, origins or rate limits.',
  },
]

const A = `job="${ANALYZER_JOB}"`
/** Sessions finalised per app in the last hour (max over analyzer instances, which each score all). */
const scoredLastHour = `max by (app) (increase(rtcpulse_analyzer_sessions_scored_total{${A}}[1h]))`
/** Mean final session score per app over the hour ending `offset` ago. */
const meanScore = (offset: string): string =>
  `sum by (app) (increase(rtcpulse_analyzer_session_score_sum{${A}}[1h]${offset}))\n` +
  `  / sum by (app) (increase(rtcpulse_analyzer_session_score_count{${A}}[1h]${offset}))`

export const ANALYZER_RULES: AlertRule[] = [
  {
    alert: 'RtcpulsePoorSessions',
    group: 'rtcpulse-analyzer',
    value: `max by (app) (rtcpulse_analyzer_poor_session_ratio{${A}})`,
    op: '>',
    threshold: 0.2,
    guard: `${scoredLastHour} >= 5`,
    for: '15m',
    severity: 'critical',
    summary: '{{ $value | humanizePercentage }} of {{ $labels.app }} sessions in the last hour were poor',
    description:
      'More than 20% of finished sessions scored below 6/10. Open the fleet dashboard for the issue types.',
  },
  {
    alert: 'RtcpulseScoreDrop',
    group: 'rtcpulse-analyzer',
    value: `(\n  ${meanScore(' offset 1d')}\n)\n-\n(\n  ${meanScore('')}\n)`,
    op: '>',
    threshold: 1,
    guard: `${scoredLastHour} >= 20`,
    for: '30m',
    severity: 'warning',
    summary:
      'Mean {{ $labels.app }} session score is {{ $value | humanize }} points below the same hour yesterday',
    description:
      'A release, a network change or a region outage lowered call quality compared with yesterday.',
  },
  {
    alert: 'RtcpulseIceFailures',
    group: 'rtcpulse-analyzer',
    value:
      `sum by (app) (increase(rtcpulse_analyzer_issues_total{${A}, type="ice_failure"}[1h]))\n` +
      `/\n` +
      `sum by (app) (increase(rtcpulse_analyzer_sessions_scored_total{${A}}[1h]))`,
    op: '>',
    threshold: 0.05,
    guard: `${scoredLastHour} >= 20`,
    for: '15m',
    severity: 'critical',
    summary: '{{ $labels.app }}: {{ $value | humanizePercentage }} of sessions have ICE failures',
    description: 'Peers cannot connect: check TURN servers, their credentials and firewall changes.',
  },
  {
    alert: 'RtcpulseAnalyzerFailing',
    group: 'rtcpulse-analyzer',
    value: `sum by (job, instance) (rate(rtcpulse_analyzer_errors_total{${A}}[10m]))`,
    op: '>',
    threshold: 0,
    for: '15m',
    severity: 'warning',
    summary: 'Analyzer {{ $labels.instance }} scoring passes keep failing',
    description: 'Sessions are not being scored, so quality alerts and dashboards go stale. Check its logs.',
  },
]

export const ALL_RULES: AlertRule[] = [...COLLECTOR_RULES, ...ANALYZER_RULES]

/** The Prometheus expression of a rule: `value op threshold [and guard]`. */
export function promExpr(rule: AlertRule): string {
  const cmp = `${rule.value} ${rule.op} ${rule.threshold}`
  return rule.guard ? `${cmp}\nand\n${rule.guard}` : cmp
}

/** The runbook link of a rule (a GitHub heading anchor). */
export const runbookUrl = (rule: AlertRule): string => `${RUNBOOK_BASE}#${rule.alert.toLowerCase()}`

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 }

/** Parses a Prometheus duration (`90s`, `1h30m`) into seconds. Throws on anything else. */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)]
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new Error(`bad duration ${text}`)
  return parts.reduce((sum, p) => sum + Number(p[1]) * (UNITS[p[2] as string] as number), 0)
}

/** Formats seconds as a Prometheus duration in whole seconds (or ms below one second). */
export const formatDuration = (seconds: number): string =>
  seconds >= 1 ? `${Math.round(seconds)}s` : `${Math.round(seconds * 1000)}ms`

/**
 * The same rule on a faster clock, for end-to-end tests: every duration — `for`, range selectors
 * `[5m]` and `offset` — divided by `factor`, with range windows kept at `minWindowSeconds` or more so a
 * 1 s scrape still puts several samples in each. Thresholds, labels and expressions are untouched.
 */
export function scaleRule(rule: AlertRule, factor: number, minWindowSeconds = 4): AlertRule {
  const scale = (text: string): string =>
    text
      .replace(
        /\[(\d+(?:ms|s|m|h|d|w|y))+\]/g,
        (m) => `[${formatDuration(Math.max(minWindowSeconds, parseDuration(m.slice(1, -1)) / factor))}]`,
      )
      .replace(
        /offset (\d+(?:ms|s|m|h|d|w|y))+/g,
        (m) => `offset ${formatDuration(parseDuration(m.slice(7)) / factor)}`,
      )
  return {
    ...rule,
    value: scale(rule.value),
    guard: rule.guard === undefined ? undefined : scale(rule.guard),
    for: formatDuration(Math.max(1, parseDuration(rule.for) / factor)),
  }
}
