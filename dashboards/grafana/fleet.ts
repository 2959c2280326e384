// Fleet overview: how every call of the selected apps went, over time and broken down by codec,
// browser, OS and app. Raw per-second tables here; the analyzer's scores and issues in fleetScores().
import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
} from '@grafana/grafana-foundation-sdk/dashboard'
import type { DashboardBuilder as Dashboard } from '@grafana/grafana-foundation-sdk/dashboard'
import { clickhouseDatasourceVariable, clickhouseVariable, inVariable, sql } from './clickhouse.ts'
import { stat, table, timeSeries, withSections } from './panels.ts'
import { SESSION_UID } from './session.ts'
import { analyzerSections } from './fleet-scores.ts'

export const FLEET_UID = 'rtcpulse-fleet'

const APPS = inVariable('app_id', 'app')

// Browser and OS live on `peers`; join them onto per-second rows by (app, session, peer).
const PEER_ATTRS = `(
      SELECT app_id, session_id, peer_id, any(browser) AS browser, any(os) AS os
      FROM peers
      WHERE ${APPS}
      GROUP BY app_id, session_id, peer_id
    ) AS p USING (app_id, session_id, peer_id)`

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
    .refresh('1m')
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
          sql(`SELECT uniqExact(app_id, session_id) AS sessions FROM peers
               WHERE $__timeFilter(connected_at) AND ${APPS}`),
          { unit: 'none', width: 6 },
        ),
        stat(
          'Peers',
          sql(`SELECT uniqExact(app_id, session_id, peer_id) AS peers FROM peers
               WHERE $__timeFilter(connected_at) AND ${APPS}`),
          { unit: 'none', width: 6 },
        ),
        stat(
          'Media stream time',
          sql(`SELECT sum(interval_ms) / 1000 AS seconds FROM stream_seconds
               WHERE $__timeFilter(ts) AND ${APPS}`),
          { unit: 's', width: 6, description: 'Stream-seconds stored: one per RTP stream per second.' },
        ),
        stat(
          'Relayed connections',
          sql(`SELECT uniqExactIf((app_id, session_id, peer_id, pc_id), local_type = 'relay' OR remote_type = 'relay')
                      / nullIf(uniqExact(app_id, session_id, peer_id, pc_id), 0) AS relayed
               FROM transport_seconds WHERE $__timeFilter(ts) AND ${APPS}`),
          {
            unit: 'percentunit',
            width: 6,
            description: 'Share of peer connections that used a TURN relay at some point.',
          },
        ),
        timeSeries(
          'New sessions',
          sql(`
            SELECT $__timeInterval(connected_at) AS time, app_id AS app, uniqExact(session_id) AS sessions
            FROM peers
            WHERE $__timeFilter(connected_at) AND ${APPS}
            GROUP BY time, app
            ORDER BY time`).timeSeries(),
          { unit: 'none', min: 0, bars: true, stacked: true },
        ).displayName('${__field.labels.app}'),
        timeSeries(
          'Active peer connections',
          sql(`
            SELECT $__timeInterval(ts) AS time, app_id AS app,
                   uniqExact(session_id, peer_id, pc_id) AS connections
            FROM transport_seconds
            WHERE $__timeFilter(ts) AND ${APPS}
            GROUP BY time, app
            ORDER BY time`).timeSeries(),
          { unit: 'none', min: 0, stacked: true },
        ).displayName('${__field.labels.app}'),
      ],
    ],
    [
      'Network quality',
      [
        timeSeries(
          'Inbound loss by codec',
          sql(`
            SELECT $__timeInterval(ts) AS time, codec, avg(loss_ratio) AS loss
            FROM stream_seconds
            WHERE $__timeFilter(ts) AND ${APPS} AND direction = 'inbound' AND codec != ''
            GROUP BY time, codec
            ORDER BY time`).timeSeries(),
          { unit: 'percentunit', min: 0 },
        ).displayName('${__field.labels.codec}'),
        timeSeries(
          'RTT p95 by browser',
          sql(`
            SELECT $__timeInterval(ts) AS time, browser, quantile(0.95)(rtt_ms) AS rtt
            FROM transport_seconds
            INNER JOIN ${PEER_ATTRS}
            WHERE $__timeFilter(ts) AND ${APPS}
            GROUP BY time, browser
            ORDER BY time`).timeSeries(),
          { unit: 'ms', min: 0 },
        ).displayName('${__field.labels.browser}'),
        timeSeries(
          'Frozen video share by OS',
          sql(`
            SELECT $__timeInterval(ts) AS time, os, avg(frozen_share) AS frozen
            FROM stream_seconds
            INNER JOIN ${PEER_ATTRS}
            WHERE $__timeFilter(ts) AND ${APPS} AND direction = 'inbound' AND kind = 'video'
            GROUP BY time, os
            ORDER BY time`).timeSeries(),
          { unit: 'percentunit', min: 0 },
        ).displayName('${__field.labels.os}'),
        timeSeries(
          'Sent video bitrate by app',
          sql(`
            SELECT $__timeInterval(ts) AS time, app_id AS app, avg(bitrate_bps) AS bitrate
            FROM stream_seconds
            WHERE $__timeFilter(ts) AND ${APPS} AND direction = 'outbound' AND kind = 'video'
            GROUP BY time, app
            ORDER BY time`).timeSeries(),
          { unit: 'bps', min: 0 },
        ).displayName('${__field.labels.app}'),
        table(
          'Quality by browser and OS',
          sql(`
            SELECT browser, os,
                   uniqExact(app_id, session_id) AS sessions,
                   round(quantile(0.5)(rtt_ms), 1) AS rtt_p50_ms,
                   round(avgIf(loss_ratio, direction = 'inbound') * 100, 3) AS inbound_loss_pct,
                   round(avgIf(frozen_share, direction = 'inbound' AND kind = 'video') * 100, 3) AS frozen_pct,
                   round(avgIf(fps, direction = 'inbound' AND kind = 'video'), 1) AS received_fps
            FROM stream_seconds
            INNER JOIN ${PEER_ATTRS}
            WHERE $__timeFilter(ts) AND ${APPS}
            GROUP BY browser, os
            ORDER BY sessions DESC
            LIMIT 50`),
          { width: 12, height: 8 },
        ),
        table(
          'Recent sessions',
          sql(`
            SELECT app_id AS app, session_id AS session, uniqExact(peer_id) AS peers,
                   min(connected_at) AS started, groupUniqArray(browser) AS browsers
            FROM peers
            WHERE $__timeFilter(connected_at) AND ${APPS}
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
