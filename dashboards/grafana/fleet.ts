// Fleet overview: how every call of the selected apps went, over time and broken down by codec,
// browser, OS and app. Raw per-second tables here; the analyzer's scores and issues in fleetScores().
import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  TimePickerBuilder,
} from '@grafana/grafana-foundation-sdk/dashboard'
import type { DashboardBuilder as Dashboard } from '@grafana/grafana-foundation-sdk/dashboard'
import { clickhouseDatasourceVariable, clickhouseVariable, inVariable, sql } from './clickhouse.ts'
import { stat, table, timeSeries, withSections } from './panels.ts'
import { SESSION_UID } from './session.ts'
import { analyzerSections } from './fleet-scores.ts'
import { POINT, ROLLUP_NOTE, SERIES_NOTE, rollupRows, rollupSeriesRows } from './rollups.ts'

export const FLEET_UID = 'rtcpulse-fleet'

const APPS = inVariable('app_id', 'app')

// The network panels read the rollups (per minute, 009_fleet_rollups.sql, and per hour,
// 014_fleet_hours.sql; rollups.ts says how), fed at ingest with the peer's browser and OS, instead of
// every per-second row joined to `peers`. Their time series have one-minute resolution at best (the
// panels' minimum interval), one hour over ranges longer than a day.
const ROLLUP_INTERVAL = '1m'
const APPROX = 'Distinct counts are approximate (uniq, within ~2%).'

const sessionLink = (field: string): string =>
  `/d/${SESSION_UID}/rtcpulse-session?\${__url_time_range}&var-datasource=\${datasource}` +
  `&var-app=\${__data.fields.app}&var-session=\${__data.fields.${field}}`

/** Builds the fleet overview dashboard. */
export function fleetDashboard(): Dashboard {
  const d = new DashboardBuilder('rtcpulse / Fleet overview')
    .uid(FLEET_UID)
    .description('Every call of the selected apps: volume, network quality and scores over time.')
    .tags(['rtcpulse', 'webrtc'])
    .time({ from: 'now-24h', to: 'now' })
    .timezone('browser')
    // One viewer of a week used to keep ~46 CPU s busy every minute (issue 16). The rollups make a
    // refresh cheap, but a fleet view changes slowly: refresh every 5 min at most.
    .refresh('5m')
    .timepicker(new TimePickerBuilder().refreshIntervals(['5m', '15m', '30m', '1h', '2h', '1d']))
    .tooltip(DashboardCursorSync.Crosshair)
    .withVariable(clickhouseDatasourceVariable())
    .withVariable(
      clickhouseVariable(
        'app',
        'App',
        `SELECT DISTINCT app_id FROM peers WHERE $__timeFilter(connected_at) ORDER BY app_id`,
      )
        .multi(true)
        .includeAll(true),
    )
    .link(
      new DashboardLinkBuilder('Session drill-down')
        .type(DashboardLinkType.Dashboards)
        .tags(['rtcpulse'])
        .asDropdown(true)
        .keepTime(true),
    )

  return withSections(d, [
    [
      'Volume',
      [
        stat(
          'Sessions',
          sql(`SELECT uniq(app_id, session_id) AS sessions FROM peers
               WHERE $__timeFilter(connected_at) AND ${APPS}`),
          { unit: 'none', width: 6, description: `Sessions with a peer connected in the range. ${APPROX}` },
        ),
        stat(
          'Peers',
          sql(`SELECT uniq(app_id, session_id, peer_id) AS peers FROM peers
               WHERE $__timeFilter(connected_at) AND ${APPS}`),
          { unit: 'none', width: 6, description: `Peers connected in the range. ${APPROX}` },
        ),
        stat(
          'Media stream time',
          sql(`
            SELECT sum(stream_ms) / 1000 AS seconds
            FROM ${rollupRows('stream', 'stream_ms')}`),
          {
            unit: 's',
            width: 6,
            description: `Stream-seconds stored: one per RTP stream per second. ${ROLLUP_NOTE}`,
          },
        ),
        stat(
          'Relayed connections',
          sql(`
            SELECT uniqMergeIf(connections, relay = 1) / nullIf(uniqMerge(connections), 0) AS relayed
            FROM ${rollupRows('transport', 'relay, connections')}`),
          {
            unit: 'percentunit',
            width: 6,
            description: `Share of peer connections that used a TURN relay at some point. ${APPROX} ${ROLLUP_NOTE}`,
          },
        ),
        timeSeries(
          'New sessions',
          sql(`
            SELECT $__timeInterval(connected_at) AS time, app_id AS app, uniq(session_id) AS sessions
            FROM peers
            WHERE $__timeFilter(connected_at) AND ${APPS}
            GROUP BY time, app
            ORDER BY time`).timeSeries(),
          { unit: 'none', min: 0, bars: true, stacked: true, description: APPROX },
        ).displayName('${__field.labels.app}'),
        timeSeries(
          'Active peer connections',
          sql(`
            SELECT ${POINT} AS time, app_id AS app, uniqMerge(connections) AS connections
            FROM ${rollupSeriesRows('transport', 'app_id, connections')}
            GROUP BY time, app
            ORDER BY time`).timeSeries(),
          {
            unit: 'none',
            min: 0,
            stacked: true,
            description: `Peer connections with stats in each interval. ${APPROX} ${SERIES_NOTE}`,
          },
        )
          .displayName('${__field.labels.app}')
          .interval(ROLLUP_INTERVAL),
      ],
    ],
    [
      'Network quality',
      [
        timeSeries(
          'Inbound loss by codec',
          sql(`
            SELECT ${POINT} AS time, codec, avgMerge(loss) AS loss
            FROM ${rollupSeriesRows('stream', 'codec, loss', "direction = 'inbound' AND codec != ''")}
            GROUP BY time, codec
            ORDER BY time`).timeSeries(),
          {
            unit: 'percentunit',
            min: 0,
            description: `Mean per-second loss of inbound streams. ${SERIES_NOTE}`,
          },
        )
          .displayName('${__field.labels.codec}')
          .interval(ROLLUP_INTERVAL),
        timeSeries(
          'RTT p95 by browser',
          sql(`
            SELECT ${POINT} AS time, browser, quantilesBFloat16Merge(0.5, 0.95)(rtt)[2] AS rtt
            FROM ${rollupSeriesRows('transport', 'browser, rtt')}
            GROUP BY time, browser
            ORDER BY time`).timeSeries(),
          {
            unit: 'ms',
            min: 0,
            description: `Candidate-pair RTT, p95 (estimate from a bfloat16 histogram, within ~1%). ${SERIES_NOTE}`,
          },
        )
          .displayName('${__field.labels.browser}')
          .interval(ROLLUP_INTERVAL),
        timeSeries(
          'Frozen video share by OS',
          sql(`
            SELECT ${POINT} AS time, os, avgMerge(frozen) AS frozen
            FROM ${rollupSeriesRows('stream', 'os, frozen', "direction = 'inbound' AND kind = 'video'")}
            GROUP BY time, os
            ORDER BY time`).timeSeries(),
          { unit: 'percentunit', min: 0, description: `Mean frozen share of received video. ${SERIES_NOTE}` },
        )
          .displayName('${__field.labels.os}')
          .interval(ROLLUP_INTERVAL),
        timeSeries(
          'Sent video bitrate by app',
          sql(`
            SELECT ${POINT} AS time, app_id AS app, avgMerge(bitrate) AS bitrate
            FROM ${rollupSeriesRows('stream', 'app_id, bitrate', "direction = 'outbound' AND kind = 'video'")}
            GROUP BY time, app
            ORDER BY time`).timeSeries(),
          { unit: 'bps', min: 0, description: `Mean per-second bitrate of sent video. ${SERIES_NOTE}` },
        )
          .displayName('${__field.labels.app}')
          .interval(ROLLUP_INTERVAL),
        table(
          'Quality by browser and OS',
          sql(`
            SELECT browser, os, ifNull(p.sessions, 0) AS sessions, r.rtt_p50_ms AS rtt_p50_ms, inbound_loss_pct,
                   frozen_pct, received_fps
            FROM (
              SELECT browser, os,
                     round(avgMergeIf(loss, direction = 'inbound') * 100, 3) AS inbound_loss_pct,
                     round(avgMergeIf(frozen, direction = 'inbound' AND kind = 'video') * 100, 3) AS frozen_pct,
                     round(avgMergeIf(fps, direction = 'inbound' AND kind = 'video'), 1) AS received_fps
              FROM ${rollupRows('stream', 'browser, os, direction, kind, loss, frozen, fps')}
              GROUP BY browser, os
            ) AS m
            -- RTT from the connections' rollup: a quarter of the rows of stream_minutes, whose quantile
            -- states took most of this panel's time over a week (bench/RESULTS.md, "Fleet dashboards").
            LEFT JOIN (
              SELECT browser, os, round(quantilesBFloat16Merge(0.5, 0.95)(rtt)[1], 1) AS rtt_p50_ms
              FROM ${rollupRows('transport', 'browser, os, rtt')}
              GROUP BY browser, os
            ) AS r USING (browser, os)
            -- Sessions from the hellos: merging a week of per-minute uniq states took most of this
            -- panel's time (bench/RESULTS.md, "Fleet dashboards").
            LEFT JOIN (
              SELECT browser, os, uniq(app_id, session_id) AS sessions FROM peers
              WHERE $__timeFilter(connected_at) AND ${APPS}
              GROUP BY browser, os
            ) AS p USING (browser, os)
            ORDER BY sessions DESC
            LIMIT 50`),
          {
            width: 12,
            height: 8,
            description:
              'Per browser and OS of the peer that sent the stats; sessions are those that started in the range. ' +
              `RTT is the candidate pair's; its median is estimated from a bfloat16 histogram (within ~1%). ${APPROX} ${ROLLUP_NOTE}`,
          },
        ),
        table(
          'Recent sessions',
          sql(`
            SELECT app_id AS app, session_id AS session, uniqExact(peer_id) AS peers,
                   min(connected_at) AS started, groupUniqArray(browser) AS browsers
            FROM peers
            WHERE $__timeFilter(connected_at) AND ${APPS}
              -- The 100 latest, found first on the key alone: building each session's peer and browser
              -- sets for every session of a week was most of this panel's time (bench/RESULTS.md).
              AND (app_id, session_id) IN (
                SELECT app_id, session_id FROM peers
                WHERE $__timeFilter(connected_at) AND ${APPS}
                GROUP BY app_id, session_id
                ORDER BY min(connected_at) DESC
                LIMIT 100
              )
            GROUP BY app, session
            ORDER BY started DESC
            LIMIT 100`),
          { width: 12, height: 8, description: 'Click a session to open its drill-down.' },
        ).overrideByName('session', [
          {
            id: 'links',
            value: [{ title: 'Open session', url: sessionLink('session') }],
          },
        ]),
      ],
    ],
    ...analyzerSections(sessionLink),
  ])
}
