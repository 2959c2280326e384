// Fleet panels on the analyzer's tables (store/migrations/002_analyzer.sql): final session scores, their
// distribution and poor share, issues by type, and scores broken down by app, codec, browser and OS.
// Only final scores (final = 1) count: live rows are re-scored windows.
//
// No FINAL here: ClickHouse never reads a projection under FINAL, and these tables are ordered by
// session, so FINAL read all 400 days for a one-day panel (issue 16). Each panel instead reads the
// range through the (app, time) projection of store/migrations/010_score_time_projections.sql and keeps
// the latest scoring of each key (`ORDER BY scored_at DESC LIMIT 1 BY key`), which is what FINAL keeps.
// The key is deduplicated by two 64-bit hashes of its columns (analyzer/latest.ts hashedKey, as the API
// does): LIMIT BY over the five strings of a stream's key cost ~3× the CPU (bench/RESULTS.md, "Fleet
// dashboards"), and two keys colliding in both hashes is as unlikely as any store needs.
import type { Builder } from '@grafana/grafana-foundation-sdk/cog'
import type { Panel } from '@grafana/grafana-foundation-sdk/dashboard'
import { hashedKey } from '../../analyzer/latest.ts'
import { POOR_SCORE } from '../../analyzer/score.ts'
import { inVariable, sql } from './clickhouse.ts'
import { barChart, stat, table, timeSeries } from './panels.ts'

type Section = [string, Array<Builder<Panel> & { id(id: number): unknown }>]

const APPS = inVariable('app_id', 'app')
/** `FROM` the latest final row per `key` of `table` whose `time` is in the range, with `columns`. */
function latestFinal(table: string, columns: string, key: string, time: string, where = ''): string {
  return `FROM (
              SELECT ${columns} FROM ${table}
              WHERE final = 1 AND $__timeFilter(${time}) AND ${APPS}${where ? ` AND ${where}` : ''}
              ORDER BY scored_at DESC
              LIMIT 1 BY ${hashedKey(key)}
            )`
}
/** Final session-level scores of the selected apps that ended in the time range. */
const FINAL_SESSIONS = latestFinal(
  'scores',
  'app_id, session_id, ended_at, overall, audio_mos, video_score, peers, issue_types, outcome, outcome_reason',
  'app_id, session_id',
  'ended_at',
  "peer_id = ''",
)
/** Final per-peer scores (browser and OS are per peer). */
const FINAL_PEERS = latestFinal(
  'scores',
  'app_id, session_id, peer_id, ended_at, overall, browsers',
  'app_id, session_id, peer_id',
  'ended_at',
  "peer_id != ''",
)

const PEER_KEY = 'cityHash64(app_id, session_id, peer_id)'

const SCORE_THRESHOLDS: [string, ...Array<[number, string]>] = ['red', [POOR_SCORE, 'orange'], [8, 'green']]

/** Rows of score and issue panels; `sessionLink(field)` links a table cell to the session drill-down. */
export function analyzerSections(sessionLink: (field: string) => string): Section[] {
  return [
    [
      'Scores',
      [
        stat('Scored sessions', sql(`SELECT count() AS sessions ${FINAL_SESSIONS}`), {
          unit: 'none',
          width: 6,
        }),
        stat('Median score', sql(`SELECT quantile(0.5)(overall) AS score ${FINAL_SESSIONS}`), {
          unit: 'none',
          width: 6,
          decimals: 1,
          thresholds: SCORE_THRESHOLDS,
          description: 'Overall session score, 0–10 (analyzer/SCORING.md).',
        }),
        stat(
          'Poor sessions',
          sql(
            `SELECT countIf(overall < ${POOR_SCORE} OR outcome != 'ok') / count() AS poor ${FINAL_SESSIONS}`,
          ),
          {
            unit: 'percentunit',
            width: 6,
            thresholds: ['green', [0.05, 'orange'], [0.2, 'red']],
            description: `Share of sessions with an overall score below ${POOR_SCORE} or whose media never flowed (outcome failed or setup_failed, analyzer/SCORING.md §0).`,
          },
        ),
        stat('Median audio MOS', sql(`SELECT quantile(0.5)(audio_mos) AS mos ${FINAL_SESSIONS}`), {
          unit: 'none',
          width: 6,
          decimals: 2,
          thresholds: ['red', [3.5, 'orange'], [4, 'green']],
        }),
        barChart(
          'Score distribution',
          sql(`
            SELECT concat(toString(number), '–', toString(number + 1)) AS score, sessions
            FROM numbers(10) AS b
            LEFT JOIN (
              SELECT toUInt64(least(floor(assumeNotNull(overall)), 9)) AS number, count() AS sessions
              ${FINAL_SESSIONS} WHERE overall IS NOT NULL
              GROUP BY number
            ) AS s USING (number)
            ORDER BY number`),
          { unit: 'none', width: 8, description: 'Sessions per overall-score band.' },
        ),
        timeSeries(
          'Poor session share by app',
          sql(`
            SELECT $__timeInterval(ended_at) AS time, app_id AS app, countIf(overall < ${POOR_SCORE} OR outcome != 'ok') / count() AS poor
            ${FINAL_SESSIONS}
            GROUP BY time, app
            ORDER BY time`).timeSeries(),
          { unit: 'percentunit', min: 0, max: 1, width: 8 },
        ).displayName('${__field.labels.app}'),
        timeSeries(
          'Median score by app',
          sql(`
            SELECT $__timeInterval(ended_at) AS time, app_id AS app, quantile(0.5)(overall) AS score
            ${FINAL_SESSIONS}
            GROUP BY time, app
            ORDER BY time`).timeSeries(),
          { unit: 'none', min: 0, max: 10, width: 8 },
        ).displayName('${__field.labels.app}'),
      ],
    ],
    [
      'Issues and breakdowns',
      [
        timeSeries(
          'Issues by type',
          sql(`
            SELECT $__timeInterval(ended_at) AS time, arrayJoin(issue_types) AS type, count() AS sessions
            ${FINAL_SESSIONS}
            GROUP BY time, type
            ORDER BY time`).timeSeries(),
          {
            unit: 'none',
            min: 0,
            bars: true,
            stacked: true,
            // From the sessions' scores, not the issues table: a degraded call holds dozens of issue
            // episodes, so a week of fleet issues is tens of millions of rows (bench/RESULTS.md).
            description: 'Finished sessions with each issue type (a session counts once per type), by end.',
          },
        ).displayName('${__field.labels.type}'),
        timeSeries(
          'Video score by codec',
          sql(`
            SELECT $__timeInterval(ended_at) AS time, codec, avg(video_score) AS score
            ${latestFinal('stream_scores', 'ended_at, codec, video_score', 'app_id, session_id, peer_id, pc_id, stream_id', 'ended_at', "kind = 'video'")}
            GROUP BY time, codec
            ORDER BY time`).timeSeries(),
          { unit: 'none', min: 0, max: 10 },
        ).displayName('${__field.labels.codec}'),
        timeSeries(
          'Score by browser',
          sql(`
            SELECT $__timeInterval(ended_at) AS time, arrayJoin(browsers) AS browser, avg(overall) AS score
            ${FINAL_PEERS}
            GROUP BY time, browser
            ORDER BY time`).timeSeries(),
          { unit: 'none', min: 0, max: 10 },
        ).displayName('${__field.labels.browser}'),
        timeSeries(
          'Score by OS',
          sql(`
            SELECT $__timeInterval(ended_at) AS time, os, avg(overall) AS score
            ${latestFinal('scores', `${PEER_KEY} AS peer_key, ended_at, overall`, 'app_id, session_id, peer_id', 'ended_at', "peer_id != ''")} AS s
            INNER JOIN (
              -- Only peers that can have ended in the range: a session is scored within a day of its start.
              -- Joined on the key's hash: on its three strings the join cost 2× (bench/RESULTS.md).
              SELECT ${PEER_KEY} AS peer_key, any(os) AS os FROM peers
              WHERE ${APPS} AND connected_at >= $__fromTime - INTERVAL 1 DAY AND connected_at <= $__toTime
              GROUP BY peer_key
            ) AS p USING (peer_key)
            GROUP BY time, os
            ORDER BY time`).timeSeries(),
          { unit: 'none', min: 0, max: 10 },
        ).displayName('${__field.labels.os}'),
        table(
          'Worst sessions',
          sql(`
            SELECT app_id AS app, session_id AS session, outcome, outcome_reason AS reason,
                   round(overall, 2) AS score, round(audio_mos, 2) AS mos, round(video_score, 2) AS video, peers,
                   ended_at AS ended, arrayStringConcat(issue_types, ', ') AS issues
            ${FINAL_SESSIONS} WHERE overall < ${POOR_SCORE} OR outcome != 'ok'
            ORDER BY outcome = 'ok', overall ASC, ended DESC
            LIMIT 100`),
          {
            width: 24,
            height: 9,
            description: `Sessions scoring below ${POOR_SCORE}; click one to open it.`,
          },
        ).overrideByName('session', [
          { id: 'links', value: [{ title: 'Open session', url: sessionLink('session') }] },
        ]),
      ],
    ],
  ]
}
