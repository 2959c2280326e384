// Collector-health rows for the analyzer's Prometheus metrics (analyzer/scheduler.ts), scraped from
// /metrics/analyzer as job rtcpulse-analyzer on the same instances as the collector.
import type { Builder } from '@grafana/grafana-foundation-sdk/cog'
import type { Panel } from '@grafana/grafana-foundation-sdk/dashboard'
import { ANALYZER_JOB } from '../alerts/rules.ts'
import { prom } from './collector.ts'
import { stat, timeSeries } from './panels.ts'

type Section = [string, Array<Builder<Panel> & { id(id: number): unknown }>]

const A = `job="${ANALYZER_JOB}", instance=~"$instance"`

/** Rows of analyzer panels for the collector health dashboard. */
export function analyzerHealthPanels(): Section[] {
  return [
    [
      'Analyzer',
      [
        stat('Live sessions', prom(`sum(max by (app) (rtcpulse_analyzer_live_sessions{${A}}))`), {
          unit: 'none',
          width: 6,
        }),
        stat(
          'Sessions scored / h',
          prom(`sum(max by (app) (increase(rtcpulse_analyzer_sessions_scored_total{${A}}[1h])))`),
          { unit: 'none', width: 6 },
        ),
        stat('Worst poor-session share', prom(`max(rtcpulse_analyzer_poor_session_ratio{${A}})`), {
          unit: 'percentunit',
          width: 6,
          thresholds: ['green', [0.1, 'orange'], [0.2, 'red']],
          description: 'Highest share of poor sessions (score below 6) over the last hour among the apps.',
        }),
        stat('Failed scoring passes / h', prom(`sum(increase(rtcpulse_analyzer_errors_total{${A}}[1h]))`), {
          unit: 'none',
          width: 6,
          thresholds: ['green', [1, 'red']],
        }),
        timeSeries(
          'Poor-session share by app',
          prom(`max by (app) (rtcpulse_analyzer_poor_session_ratio{${A}})`, '{{app}}'),
          { unit: 'percentunit', min: 0, max: 1, width: 8 },
        ),
        timeSeries(
          'Mean session score by app',
          prom(
            `sum by (app) (rate(rtcpulse_analyzer_session_score_sum{${A}}[$__rate_interval]))` +
              ` / sum by (app) (rate(rtcpulse_analyzer_session_score_count{${A}}[$__rate_interval]))`,
            '{{app}}',
          ),
          { unit: 'none', min: 0, max: 10, width: 8 },
        ),
        timeSeries(
          'Sessions scored / min by app',
          prom(
            `max by (app) (rate(rtcpulse_analyzer_sessions_scored_total{${A}}[$__rate_interval])) * 60`,
            '{{app}}',
          ),
          { unit: 'none', min: 0, width: 8 },
        ),
        timeSeries(
          'Active issues by type',
          prom(`sum by (type) (max by (app, type) (rtcpulse_analyzer_active_issues{${A}}))`, '{{type}}'),
          { unit: 'none', min: 0, width: 8, stacked: true, description: 'Issues ongoing in live sessions.' },
        ),
        timeSeries(
          'Issues / min by type',
          prom(
            `sum by (type) (rate(rtcpulse_analyzer_issues_total{${A}}[$__rate_interval])) * 60`,
            '{{type}}',
          ),
          {
            unit: 'none',
            min: 0,
            width: 8,
            stacked: true,
            description: 'Issues in sessions as they finish.',
          },
        ),
        timeSeries(
          'Scoring pass time',
          prom(
            `histogram_quantile(0.99, sum by (le) (rate(rtcpulse_analyzer_tick_seconds_bucket{${A}}[$__rate_interval])))`,
            'p99',
          ),
          { unit: 's', min: 0, width: 8 },
        ),
      ],
    ],
  ]
}
