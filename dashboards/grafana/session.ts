// Session drill-down: one call, every peer and RTP stream second by second, with connection events
// (and the analyzer's issues) as annotations. Reads stream_seconds, transport_seconds, events, peers.
import {
  AnnotationQueryBuilder,
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard'
import {
  clickhouse,
  clickhouseDatasourceVariable,
  clickhouseVariable,
  inVariable,
  sql,
} from './clickhouse.ts'
import { stat, table, timeSeries, withSections } from './panels.ts'
import { issuesAnnotation, sessionScoreSection } from './session-scores.ts'

export const SESSION_UID = 'rtcpulse-session'

// Value aliases never reuse a column name: ClickHouse substitutes aliases everywhere in the query, so
// `max(height) AS height` would put an aggregate into `WHERE height > 0`.
// Every query is scoped to the chosen app and session and the selected peers; $__timeFilter lets
// ClickHouse prune partitions (tables are partitioned by day on `ts`).
const scope = (time: string): string =>
  `$__timeFilter(${time})
  AND app_id = \${app:sqlstring} AND session_id = \${session:sqlstring}
  AND ${inVariable('peer_id', 'peer')}`

const STREAM = `concat(peer_id, ' ', toString(direction), ' ', toString(kind), ' ', toString(ssrc)) AS stream`
const PC = `concat(peer_id, ' ', pc_id) AS connection`

/** Per-stream series of `expr` from stream_seconds, bucketed to the panel interval. */
const streamSeries = (value: string, where: string): ReturnType<typeof sql> =>
  sql(`
    SELECT $__timeInterval(ts) AS time, ${STREAM}, ${value}
    FROM stream_seconds
    WHERE ${scope('ts')} AND ${where}
    GROUP BY time, stream
    ORDER BY time`).timeSeries()

/** Per-peer-connection series of `value` from transport_seconds. */
const transportSeries = (value: string): ReturnType<typeof sql> =>
  sql(`
    SELECT $__timeInterval(ts) AS time, ${PC}, ${value}
    FROM transport_seconds
    WHERE ${scope('ts')}
    GROUP BY time, connection
    ORDER BY time`).timeSeries()

const byStream = '${__field.labels.stream}'
const byConnection = '${__field.labels.connection}'

/** Builds the session drill-down dashboard. */
export function sessionDashboard(): DashboardBuilder {
  const d = new DashboardBuilder('rtcpulse / Session')
    .uid(SESSION_UID)
    .description('One call second by second: every peer, peer connection and RTP stream.')
    .tags(['rtcpulse', 'webrtc'])
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .tooltip(DashboardCursorSync.Crosshair)
    .withVariable(clickhouseDatasourceVariable())
    .withVariable(
      clickhouseVariable(
        'app',
        'App',
        `SELECT DISTINCT app_id FROM peers WHERE $__timeFilter(connected_at) ORDER BY app_id`,
      ),
    )
    .withVariable(
      // Most recent first: the dashboard opens on the latest call of the app.
      clickhouseVariable(
        'session',
        'Session',
        `SELECT session_id FROM peers
         WHERE $__timeFilter(connected_at) AND app_id = \${app:sqlstring}
         GROUP BY session_id ORDER BY max(connected_at) DESC LIMIT 1000`,
      ).sort(VariableSort.Disabled),
    )
    .withVariable(
      clickhouseVariable(
        'peer',
        'Peer',
        `SELECT DISTINCT peer_id FROM peers
         WHERE app_id = \${app:sqlstring} AND session_id = \${session:sqlstring} ORDER BY peer_id`,
      )
        .multi(true)
        .includeAll(true),
    )
    .annotation(
      new AnnotationQueryBuilder()
        .name('Connection events')
        .datasource(clickhouse)
        .enable(true)
        .iconColor('rgba(255, 152, 48, 1)')
        .target(
          sql(`
            SELECT ts AS time,
                   concat(peer_id, ' ', pc_id, ': ', name, ' ', JSONExtractString(data, 'state')) AS text,
                   [peer_id, name] AS tags
            FROM events
            WHERE ${scope('ts')}
              AND name IN ('connectionstatechange', 'iceconnectionstatechange', 'icecandidateerror',
                           'track.added', 'track.removed', 'track.muted', 'track.unmuted')
            ORDER BY time`).refId('Events'),
        ),
    )
    .annotation(issuesAnnotation())
    .link(
      new DashboardLinkBuilder('Fleet overview')
        .type(DashboardLinkType.Dashboards)
        .tags(['rtcpulse'])
        .asDropdown(true)
        .includeVars(false)
        .keepTime(true),
    )

  return withSections(d, [
    sessionScoreSection(),
    [
      'Call',
      [
        stat(
          'Peers',
          sql(`SELECT uniqExact(peer_id) AS peers FROM peers
               WHERE app_id = \${app:sqlstring} AND session_id = \${session:sqlstring}`),
          { unit: 'none', width: 4 },
        ),
        stat(
          'Duration',
          sql(`SELECT dateDiff('millisecond', min(ts), max(ts)) / 1000 AS duration
               FROM transport_seconds WHERE ${scope('ts')}`),
          { unit: 's', width: 4 },
        ),
        stat(
          'RTP streams',
          sql(
            `SELECT uniqExact(peer_id, pc_id, stream_id) AS streams FROM stream_seconds WHERE ${scope('ts')}`,
          ),
          { unit: 'none', width: 4 },
        ),
        stat(
          'Median RTT',
          sql(`SELECT quantile(0.5)(rtt_ms) AS rtt FROM transport_seconds WHERE ${scope('ts')}`),
          { unit: 'ms', width: 4, thresholds: ['green', [200, 'orange'], [400, 'red']] },
        ),
        stat(
          'Inbound loss',
          sql(`SELECT sum(packets_lost) / nullIf(sum(packets_lost) + sum(packets_per_s * interval_ms / 1000), 0) AS loss
               FROM stream_seconds WHERE ${scope('ts')} AND direction = 'inbound'`),
          {
            unit: 'percentunit',
            width: 4,
            decimals: 2,
            thresholds: ['green', [0.01, 'orange'], [0.05, 'red']],
          },
        ),
        stat(
          'Video frozen',
          sql(`SELECT sum(frozen_share * interval_ms / 1000) AS frozen
               FROM stream_seconds WHERE ${scope('ts')} AND direction = 'inbound' AND kind = 'video'`),
          {
            unit: 's',
            width: 4,
            description: 'Seconds of received video that were frozen, summed over streams.',
            thresholds: ['green', [1, 'orange'], [5, 'red']],
          },
        ),
        table(
          'Peers',
          sql(`
            SELECT peer_id AS peer, user_id AS user, browser, os, sdk_version AS sdk,
                   min(connected_at) AS connected, toString(any(metadata)) AS metadata
            FROM peers FINAL
            WHERE app_id = \${app:sqlstring} AND session_id = \${session:sqlstring}
              AND ${inVariable('peer_id', 'peer')}
            GROUP BY peer_id, user_id, browser, os, sdk_version
            ORDER BY connected`),
          { width: 12, height: 7 },
        ),
        table(
          'Peer connections',
          sql(`
            SELECT peer_id AS peer, pc_id AS pc,
                   argMax(local_type, ts) AS local, argMax(remote_type, ts) AS remote,
                   argMax(protocol, ts) AS transport, argMax(relay_protocol, ts) AS relay,
                   argMax(network_type, ts) AS network,
                   round(quantile(0.5)(rtt_ms), 1) AS rtt_p50_ms,
                   round(max(available_out_bps) / 1e6, 2) AS max_available_out_mbps,
                   dateDiff('second', min(ts), max(ts)) AS seconds
            FROM transport_seconds
            WHERE ${scope('ts')}
            GROUP BY peer_id, pc_id
            ORDER BY peer, pc`),
          {
            width: 12,
            height: 7,
            description: 'Selected candidate pair at the end of the call; relay means TURN.',
          },
        ),
      ],
    ],
    [
      'Video',
      [
        timeSeries('Video bitrate', streamSeries('avg(bitrate_bps) AS bitrate', `kind = 'video'`), {
          unit: 'bps',
          min: 0,
          description: 'Media payload bitrate per RTP stream (8·Δbytes/Δt, retransmissions excluded).',
        }).displayName(byStream),
        timeSeries('Frame rate', streamSeries('avg(fps) AS framerate', `kind = 'video'`), {
          unit: 'fps',
          min: 0,
        }).displayName(byStream),
        timeSeries(
          'Frame height',
          streamSeries('max(height) AS frame_height', `kind = 'video' AND height > 0`),
          {
            unit: 'px',
            min: 0,
          },
        ).displayName(byStream),
        timeSeries(
          'Frozen share',
          streamSeries('avg(frozen_share) AS frozen', `kind = 'video' AND direction = 'inbound'`),
          {
            unit: 'percentunit',
            min: 0,
            max: 1,
            description: 'Share of each second the received video was frozen (ΔtotalFreezesDuration/Δt).',
          },
        ).displayName(byStream),
        timeSeries(
          'Quality limitation',
          streamSeries(
            'avg(limit_bandwidth_share) AS bandwidth, avg(limit_cpu_share) AS cpu',
            `kind = 'video' AND direction = 'outbound'`,
          ),
          {
            unit: 'percentunit',
            min: 0,
            max: 1,
            description: 'Share of each second the encoder was limited by bandwidth or CPU.',
          },
        ),
        timeSeries('Average QP', streamSeries('avg(qp_avg) AS qp', `kind = 'video'`), {
          unit: 'none',
          min: 0,
          description: 'Mean quantizer per frame (ΔqpSum/Δframes); high means blocky video.',
        }).displayName(byStream),
        timeSeries(
          'NACK and PLI',
          streamSeries('avg(nack_per_s) AS nack, avg(pli_per_s) AS pli', `kind = 'video'`),
          {
            unit: 'none',
            min: 0,
            description: 'Retransmission (NACK) and keyframe (PLI) requests per second.',
          },
        ),
        timeSeries(
          'Dropped frames',
          streamSeries('sum(frames_dropped) AS dropped', `kind = 'video' AND direction = 'inbound'`),
          { unit: 'none', min: 0, bars: true },
        ).displayName(byStream),
      ],
    ],
    [
      'Network',
      [
        timeSeries('Packet loss', streamSeries('avg(loss_ratio) AS loss', '1'), {
          unit: 'percentunit',
          min: 0,
          description: 'Inbound: Δlost/(Δlost+Δreceived). Outbound: as reported back by the remote peer.',
        }).displayName(byStream),
        timeSeries('Jitter', streamSeries('avg(jitter_ms) AS jitter', '1'), {
          unit: 'ms',
          min: 0,
        }).displayName(byStream),
        timeSeries('Round-trip time', transportSeries('avg(rtt_ms) AS rtt'), {
          unit: 'ms',
          min: 0,
          description: 'Selected candidate pair RTT per peer connection.',
        }).displayName(byConnection),
        timeSeries(
          'Available bitrate',
          transportSeries(
            'avg(available_out_bps) AS available_out, avg(send_bps) AS send, avg(recv_bps) AS recv',
          ),
          {
            unit: 'bps',
            min: 0,
            description: 'Bandwidth estimate against what the connection sends and receives.',
          },
        ),
      ],
    ],
    [
      'Audio',
      [
        timeSeries('Audio bitrate', streamSeries('avg(bitrate_bps) AS bitrate', `kind = 'audio'`), {
          unit: 'bps',
          min: 0,
          width: 8,
        }).displayName(byStream),
        timeSeries(
          'Jitter-buffer delay',
          streamSeries('avg(jb_delay_ms) AS delay', `kind = 'audio' AND direction = 'inbound'`),
          { unit: 'ms', min: 0, width: 8 },
        ).displayName(byStream),
        timeSeries(
          'Concealment',
          streamSeries('avg(concealment_ratio) AS concealed', `kind = 'audio' AND direction = 'inbound'`),
          {
            unit: 'percentunit',
            min: 0,
            width: 8,
            description: 'Share of received audio samples that were concealed (synthesised).',
          },
        ).displayName(byStream),
      ],
    ],
    [
      'Events',
      [
        table(
          'Events',
          sql(`
            SELECT ts AS time, peer_id AS peer, pc_id AS pc, name, data
            FROM events
            WHERE ${scope('ts')}
            ORDER BY ts, seq
            LIMIT 1000`),
          { height: 9 },
        ),
      ],
    ],
  ])
}
