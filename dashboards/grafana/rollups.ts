// How the fleet panels read the network rollups: per minute (store/migrations/009_fleet_rollups.sql)
// and per hour (014_fleet_hours.sql), both fed at ingest and holding the same partial aggregates
// (states). A panel reads the whole hours of its range from the hourly table and the minutes of the
// partial hours at the range's edges from the per-minute one, so -Merge over the rows gives exactly what
// the minutes alone give, with ~60× fewer rows over a week (bench/RESULTS.md, "Fleet dashboards").
import { inVariable } from './clickhouse.ts'

export type Rollup = 'stream' | 'transport'

const APPS = inVariable('app_id', 'app')

// Whole UTC hours of the range [from, to] as $__timeFilter(minute) reads it (minutes m with
// from ≤ m ≤ to): hour h is whole when h ≥ from and its last minute h + 59 min ≤ to. The plugin's
// $__fromTime is a DateTime in the server's time zone, whose hours may not be UTC hours.
const FIRST_HOUR = `toStartOfHour(toTimeZone($__fromTime + INTERVAL 3599 SECOND, 'UTC'))`
const END_OF_HOURS = `toStartOfHour(toTimeZone($__toTime + INTERVAL 60 SECOND, 'UTC'))`

/**
 * Seconds per point of a rollup time series: Grafana's interval (at least the panels' 1 min), and at
 * least an hour over ranges longer than a day, so that a week reads the hourly rollup.
 */
export const STEP_S = `if(dateDiff('second', $__fromTime, $__toTime) > 86400, greatest($__interval_s, 3600), $__interval_s)`

/** The point a rollup row of `rollupRows` falls in, for a time series (`AS time`). */
export const POINT = `toStartOfInterval(t, INTERVAL ${STEP_S} SECOND)`

/** Hours serve a time series only when its points are whole hours (an hour row must fit one point). */
export const HOURS_FIT_POINTS = `${STEP_S} % 3600 = 0`

/**
 * A `FROM` subquery of rollup rows `(t, columns…)` of the selected apps in the dashboard's range that
 * match `where`: when `hours` (SQL) holds, the range's whole hours from `<rollup>_hours` and the other
 * minutes from `<rollup>_minutes`; otherwise every minute. `t` is the row's minute or hour.
 */
export function rollupRows(rollup: Rollup, columns: string, where = '', hours = '1'): string {
  const and = where ? ` AND ${where}` : ''
  // Hours used: [FIRST_HOUR, end); an empty interval when `hours` is false.
  const end = hours === '1' ? END_OF_HOURS : `if(${hours}, ${END_OF_HOURS}, ${FIRST_HOUR})`
  // Indented to sit inside the callers' queries, which dedent() strips to their common indentation.
  return `(
              SELECT minute AS t, ${columns} FROM ${rollup}_minutes
              WHERE $__timeFilter(minute) AND ${APPS}${and}
                AND (minute < ${FIRST_HOUR} OR minute >= ${end})
              UNION ALL
              SELECT hour AS t, ${columns} FROM ${rollup}_hours
              WHERE hour >= ${FIRST_HOUR} AND hour < ${end} AND ${APPS}${and}
            )`
}

/** `rollupRows` for a time series grouped by `POINT`: hours only when they fit its points. */
export const rollupSeriesRows = (rollup: Rollup, columns: string, where = ''): string =>
  rollupRows(rollup, columns, where, HOURS_FIT_POINTS)

/** Said in each panel's description: what it reads. */
export const ROLLUP_NOTE =
  'From the hourly rollup for the whole hours of the range, the per-minute one at its edges.'
export const SERIES_NOTE =
  'One point per interval, at least an hour over ranges longer than a day (the hourly rollup); ' +
  'per-minute rollup otherwise.'
