// Session drill-down panels on the analyzer's tables: the session's scores, each stream's MOS and video
// score, and its issues (also drawn as annotations). Live sessions show their latest window's scores;
// finished ones their final score (readers prefer final = 1 rows when they exist).
//
// No FINAL here either (see fleet-scores.ts): FINAL merges every part holding the session's key range,
// a fixed cost per part that made "Stream scores" take ~100 ms on 90 days of scores, against ~15 ms
// for the newest row of each key by `LIMIT 1 BY` (bench/RESULTS.md, "Fleet dashboards").
import { AnnotationQueryBuilder } from '@grafana/grafana-foundation-sdk/dashboard'
import type { Builder } from '@grafana/grafana-foundation-sdk/cog'
import type { Panel } from '@grafana/grafana-foundation-sdk/dashboard'
import { SCORE_KEYS } from '../../analyzer/latest.ts'
import type { ScoreTable } from '../../analyzer/latest.ts'
import { POOR_SCORE } from '../../analyzer/score.ts'
import { clickhouse, inVariable, sql } from './clickhouse.ts'
import { stat, table } from './panels.ts'

type Section = [string, Array<Builder<Panel> & { id(id: number): unknown }>]

const SESSION = `app_id = \${app:sqlstring} AND session_id = \${session:sqlstring}`
const PEERS = inVariable('peer_id', 'peer')
/**
 * `FROM` the session's rows of `table` with `columns` as FINAL keeps them (the newest scoring of each
 * key), of its final scoring if it has one, else of its live one — for an outer `WHERE` to filter.
 * Whether it has one is asked of every stored row, as FINAL's readers did with `max(final)`.
 */
const sessionRows = (table: ScoreTable, columns: string): string => `FROM (
            SELECT ${columns}, final, max(final) OVER () AS session_final FROM ${table}
            WHERE ${SESSION}
            ORDER BY scored_at DESC
            LIMIT 1 BY ${SCORE_KEYS[table]}
          )
          WHERE final = session_final`

/** The session's issues, overlapping the time range, as Grafana annotation rows. */
export const issuesAnnotation = (): AnnotationQueryBuilder =>
  new AnnotationQueryBuilder()
    .name('Issues')
    .datasource(clickhouse)
    .enable(true)
    .iconColor('rgba(242, 73, 92, 1)')
    .target(
      sql(`
        SELECT start AS time, end AS timeEnd,
               concat(type, ' (', toString(severity), ') ', peer_id, ': ', detail) AS text,
               [type, toString(severity), peer_id] AS tags
        ${sessionRows('issues', 'start, end, type, severity, peer_id, detail')}
          AND start <= $__toTime AND end >= $__fromTime
          AND (peer_id = '' OR ${PEERS})
        ORDER BY time`).refId('Issues'),
    )

const score = (column: string): string =>
  `SELECT ${column} ${sessionRows('scores', 'peer_id, overall, audio_mos, video_score, issues_warning, issues_critical')} AND peer_id = ''`

/** The "Scores and issues" row of the session dashboard. */
export function sessionScoreSection(): Section {
  return [
    'Scores and issues',
    [
      stat('Overall score', sql(score('overall AS score')), {
        unit: 'none',
        width: 6,
        decimals: 1,
        thresholds: ['red', [POOR_SCORE, 'orange'], [8, 'green']],
        description: 'Session score 0–10 combining audio and video (analyzer/SCORING.md).',
      }),
      stat('Audio MOS', sql(score('audio_mos AS mos')), {
        unit: 'none',
        width: 6,
        decimals: 2,
        thresholds: ['red', [3.5, 'orange'], [4, 'green']],
        description: 'E-model (ITU-T G.107) mean opinion score of the audio legs, 1–4.5.',
      }),
      stat('Video score', sql(score('video_score AS video')), {
        unit: 'none',
        width: 6,
        decimals: 1,
        thresholds: ['red', [POOR_SCORE, 'orange'], [8, 'green']],
      }),
      stat('Issues', sql(score('issues_warning + issues_critical AS issues')), {
        unit: 'none',
        width: 6,
        thresholds: ['green', [1, 'orange']],
      }),
      table(
        'Stream scores',
        sql(`
          SELECT peer_id AS peer, toString(direction) AS direction, toString(kind) AS kind, codec,
                 remote_peer_id AS remote_peer, round(mos, 2) AS mos, round(video_score, 2) AS video_score,
                 round(bitrate_mean / 1000) AS kbps, round(bitrate_cv, 3) AS bitrate_cv,
                 round(fps_mean, 1) AS fps_mean, height AS frame_height, round(frozen_s, 1) AS frozen_s,
                 round(loss * 100, 2) AS loss_pct, round(rtt_ms) AS rtt, round(jitter_ms, 1) AS jitter,
                 arrayStringConcat(arrayMap((k, v) -> concat(k, ' -', toString(round(v, 2))),
                   mapKeys(mapFilter((k, v) -> v > 0, penalties)), mapValues(mapFilter((k, v) -> v > 0, penalties))), ', ') AS penalties
          ${sessionRows(
            'stream_scores',
            `peer_id, direction, kind, codec, remote_peer_id, mos, video_score, bitrate_mean, bitrate_cv,
                   fps_mean, height, frozen_s, loss, rtt_ms, jitter_ms, penalties`,
          )} AND ${PEERS}
          ORDER BY peer, direction, kind`),
        {
          height: 8,
          description:
            'Per RTP stream: its aggregates and the score of the leg it carries (penalties in points).',
        },
      ),
      table(
        'Issues',
        sql(`
          SELECT start, end, dateDiff('second', start, end) AS seconds, type, toString(severity) AS severity,
                 peer_id AS peer, pc_id AS pc, detail
          ${sessionRows('issues', 'start, end, type, severity, peer_id, pc_id, detail')} AND (peer_id = '' OR ${PEERS})
          ORDER BY start, type`),
        { height: 8 },
      ),
    ],
  ]
}
