// Collector health on Prometheus: the collector's own /metrics (collector/stats.ts, ingest.ts, app.ts)
// and the analyzer's, for the on-call engineer an alert sent here. Same job label as the alert rules.
import { DataqueryBuilder, QueryEditorMode } from '@grafana/grafana-foundation-sdk/prometheus'
import {
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard'
import type { DashboardBuilder as Dashboard } from '@grafana/grafana-foundation-sdk/dashboard'
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common'
import { PROMETHEUS_PLUGIN } from './clickhouse.ts'
import { stat, timeSeries, withSections } from './panels.ts'
import { analyzerHealthPanels } from './collector-analyzer.ts'

export const COLLECTOR_UID = 'rtcpulse-collector'

export const prometheus: DataSourceRef = { type: PROMETHEUS_PLUGIN, uid: '${datasource}' }

/** The label selector every panel applies: the chosen job and instances. */
export const SEL = 'job=~"$job", instance=~"$instance"'

/** A PromQL target; `legend` is a Grafana legend format such as `{{instance}}`. */
export const prom = (expr: string, legend = '', refId = 'A'): DataqueryBuilder =>
  new DataqueryBuilder()
    .datasource(prometheus)
    .editorMode(QueryEditorMode.Code)
    .expr(expr)
    .legendFormat(legend || '__auto')
    .range()
    .refId(refId)

/** Builds the collector health dashboard. */
export function collectorDashboard(): Dashboard {
  const d = new DashboardBuilder('rtcpulse / Collector health')
    .uid(COLLECTOR_UID)
    .description('The collector process: connections, frames, rejections, store writes and ingest lag.')
    .tags(['rtcpulse', 'prometheus'])
    .time({ from: 'now-3h', to: 'now' })
    .timezone('browser')
    .refresh('30s')
    .tooltip(DashboardCursorSync.Crosshair)
    .withVariable(new DatasourceVariableBuilder('datasource').label('Prometheus').type(PROMETHEUS_PLUGIN))
    .withVariable(
      new QueryVariableBuilder('job')
        .label('Job')
        .datasource(prometheus)
        .query({ query: 'label_values(rtcpulse_connections, job)', refId: 'job' })
        .definition('label_values(rtcpulse_connections, job)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc),
    )
    .withVariable(
      new QueryVariableBuilder('instance')
        .label('Instance')
        .datasource(prometheus)
        .query({ query: 'label_values(rtcpulse_connections{job=~"$job"}, instance)', refId: 'instance' })
        .definition('label_values(rtcpulse_connections{job=~"$job"}, instance)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.*'),
    )

  return withSections(d, [
    [
      'Now',
      [
        stat('Collectors up', prom(`sum(up{${SEL}})`), {
          unit: 'none',
          width: 4,
          thresholds: ['red', [1, 'green']],
        }),
        stat('Open streams', prom(`sum(rtcpulse_connections{${SEL}})`), { unit: 'none', width: 4 }),
        stat('Frames stored / s', prom(`sum(rate(rtcpulse_frames_total{${SEL}}[$__rate_interval]))`), {
          unit: 'none',
          width: 4,
        }),
        stat('Store writes healthy', prom(`min(rtcpulse_store_healthy{${SEL}})`), {
          unit: 'none',
          width: 4,
          thresholds: ['red', [1, 'green']],
          description: '1 while every collector is writing to the store; 0 while some retry failed writes.',
        }),
        stat('Pending frames', prom(`sum(rtcpulse_pending_frames{${SEL}})`), {
          unit: 'none',
          width: 4,
          thresholds: ['green', [20000, 'orange'], [100000, 'red']],
          description: 'Frames accepted but not yet stored, so not yet acknowledged.',
        }),
        stat(
          'Rejected share',
          prom(
            `sum(rate(rtcpulse_rejected_frames_total{${SEL}}[$__rate_interval])) / ` +
              `(sum(rate(rtcpulse_frames_total{${SEL}}[$__rate_interval])) + sum(rate(rtcpulse_rejected_frames_total{${SEL}}[$__rate_interval])))`,
          ),
          { unit: 'percentunit', width: 4, thresholds: ['green', [0.01, 'orange'], [0.05, 'red']] },
        ),
      ],
    ],
    [
      'Streams',
      [
        timeSeries('Open streams', prom(`sum by (instance) (rtcpulse_connections{${SEL}})`, '{{instance}}'), {
          unit: 'none',
          min: 0,
          width: 8,
        }),
        timeSeries(
          'Frames / s by type',
          prom(`sum by (type) (rate(rtcpulse_frames_total{${SEL}}[$__rate_interval]))`, '{{type}}'),
          { unit: 'none', min: 0, width: 8, stacked: true },
        ),
        timeSeries(
          'Received',
          prom(
            `sum by (instance) (rate(rtcpulse_received_bytes_total{${SEL}}[$__rate_interval]))`,
            '{{instance}}',
          ),
          { unit: 'Bps', min: 0, width: 8 },
        ),
        timeSeries(
          'Rejected / s by reason',
          prom(
            `sum by (reason) (rate(rtcpulse_rejected_frames_total{${SEL}}[$__rate_interval]))`,
            '{{reason}}',
          ),
          {
            unit: 'none',
            min: 0,
            width: 8,
            stacked: true,
            description: 'Frames and connections refused: validation, auth, limits, backpressure.',
          },
        ),
        timeSeries(
          'Closes / s by code',
          prom(`sum by (code) (rate(rtcpulse_closes_total{${SEL}}[$__rate_interval]))`, '{{code}}'),
          {
            unit: 'none',
            min: 0,
            width: 8,
            stacked: true,
            description: '1008 policy, 1009 too big, 1013 overloaded, 4001/4003 auth, 4029 rate limited.',
          },
        ),
        timeSeries(
          'Duplicate frames / s',
          prom(
            `sum by (instance) (rate(rtcpulse_duplicate_frames_total{${SEL}}[$__rate_interval]))`,
            '{{instance}}',
          ),
          {
            unit: 'none',
            min: 0,
            width: 8,
            description: 'Frames resent after a reconnect that were already stored (harmless, skipped).',
          },
        ),
      ],
    ],
    [
      'Store',
      [
        timeSeries(
          'Pending frames',
          prom(`sum by (instance) (rtcpulse_pending_frames{${SEL}})`, '{{instance}}'),
          {
            unit: 'none',
            min: 0,
            width: 8,
          },
        ),
        timeSeries(
          'Batch write time',
          prom(
            `histogram_quantile(0.99, sum by (le) (rate(rtcpulse_insert_duration_seconds_bucket{${SEL}}[$__rate_interval])))`,
            'p99',
          ),
          {
            unit: 's',
            min: 0,
            width: 8,
            description: 'Time to write one batch to every table, retries included.',
          },
        ).withTarget(
          prom(
            `histogram_quantile(0.5, sum by (le) (rate(rtcpulse_insert_duration_seconds_bucket{${SEL}}[$__rate_interval])))`,
            'p50',
            'B',
          ),
        ),
        timeSeries(
          'Rows written / s by table',
          prom(`sum by (table) (rate(rtcpulse_rows_written_total{${SEL}}[$__rate_interval]))`, '{{table}}'),
          { unit: 'none', min: 0, width: 8 },
        ),
        timeSeries(
          'Failed batch writes / s',
          prom(
            `sum by (instance, retryable) (rate(rtcpulse_store_write_errors_total{${SEL}}[$__rate_interval]))`,
            '{{instance}} retryable={{retryable}}',
          ),
          { unit: 'none', min: 0, width: 8 },
        ),
        timeSeries(
          'Store writes healthy',
          prom(`min by (instance) (rtcpulse_store_healthy{${SEL}})`, '{{instance}}'),
          { unit: 'none', min: 0, max: 1, width: 8 },
        ),
        timeSeries(
          'Rows per batch',
          prom(
            `histogram_quantile(0.5, sum by (le) (rate(rtcpulse_batch_rows_bucket{${SEL}}[$__rate_interval])))`,
            'p50',
          ),
          { unit: 'none', min: 0, width: 8 },
        ),
      ],
    ],
    ...analyzerHealthPanels(),
  ])
}
