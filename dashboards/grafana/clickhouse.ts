// Query model of the official ClickHouse datasource (grafana-clickhouse-datasource v4), which the
// foundation SDK does not ship: a raw-SQL target as the plugin's SQL editor saves it
// (src/types/sql.ts: editorType 'sql', queryType 'table' | 'timeseries', rawSql; `format` is the
// backend's sqlutil.FormatQueryOption: 0 time series, 1 table). Panels, variables and annotations
// all reference the datasource through the `${datasource}` dashboard variable.
import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog'
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common'
import { DatasourceVariableBuilder, QueryVariableBuilder } from '@grafana/grafana-foundation-sdk/dashboard'
import { VariableRefresh, VariableSort } from '@grafana/grafana-foundation-sdk/dashboard'

export const CLICKHOUSE_PLUGIN = 'grafana-clickhouse-datasource'
export const PROMETHEUS_PLUGIN = 'prometheus'

/** The panels' datasource: whatever ClickHouse datasource the `datasource` variable selects. */
export const clickhouse: DataSourceRef = { type: CLICKHOUSE_PLUGIN, uid: '${datasource}' }

export interface ClickHouseQuery extends Dataquery {
  refId: string
  datasource: DataSourceRef
  editorType: 'sql'
  queryType: 'table' | 'timeseries'
  format: 0 | 1
  rawSql: string
}

/** A raw-SQL ClickHouse target. SQL may use the plugin's macros and `${variable}` references. */
export class ClickHouseQueryBuilder implements Builder<Dataquery> {
  private readonly query: ClickHouseQuery

  constructor(rawSql: string) {
    this.query = {
      refId: 'A',
      datasource: clickhouse,
      editorType: 'sql',
      queryType: 'table',
      format: 1,
      rawSql: dedent(rawSql),
      _implementsDataqueryVariant() {},
    }
  }

  refId(refId: string): this {
    this.query.refId = refId
    return this
  }

  /** Long-format rows (time, label columns…, values) that the plugin turns into one series per label set. */
  timeSeries(): this {
    this.query.queryType = 'timeseries'
    this.query.format = 0
    return this
  }

  build(): ClickHouseQuery {
    return this.query
  }
}

/** Shorthand for `new ClickHouseQueryBuilder(sql)`. */
export const sql = (rawSql: string): ClickHouseQueryBuilder => new ClickHouseQueryBuilder(rawSql)

/** Removes the common indentation of a template literal and its leading/trailing blank lines. */
export function dedent(text: string): string {
  const lines = text
    .replace(/^\s*\n/, '')
    .replace(/\s+$/, '')
    .split('\n')
  const indent = Math.min(
    ...lines.filter((l) => l.trim()).map((l) => (/^ */.exec(l) as RegExpExecArray)[0].length),
  )
  return lines.map((l) => l.slice(indent)).join('\n')
}

/** The `datasource` variable every ClickHouse dashboard starts with. */
export const clickhouseDatasourceVariable = (): DatasourceVariableBuilder =>
  new DatasourceVariableBuilder('datasource').label('ClickHouse').type(CLICKHOUSE_PLUGIN)

/** A variable filled by a ClickHouse query, refreshed when the time range changes. */
export function clickhouseVariable(name: string, label: string, rawSql: string): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(clickhouse)
    .query(dedent(rawSql))
    .definition(dedent(rawSql))
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
}

/**
 * `column IN (values)` that disappears when the multi-value `variable` is set to All (the plugin's
 * `$__conditionalAll` macro, applied in the browser before the query is sent).
 */
export const inVariable = (column: string, variable: string): string =>
  `$__conditionalAll(${column} IN (\${${variable}:sqlstring}), $${variable})`
