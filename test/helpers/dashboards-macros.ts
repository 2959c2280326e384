// Turns a Grafana ClickHouse panel query into the SQL the datasource would send, in the same three steps
// and with the same expansions as grafana-clickhouse-datasource v4:
//  1. `$__conditionalAll(cond, $var)` → `1=1` when the variable is All, else `cond`
//     (src/data/CHDatasource.ts applyConditionalAll, run in the browser);
//  2. template variables through Grafana's templateSrv.replace with the plugin's default format
//     (arrays → 'a','b'; single values raw) unless a `${var:format}` names one;
//  3. the backend macros of pkg/macros/macros.go, matched like grafana/sqlds (`$__name` then an optional
//     bracketed, comma-separated argument list) against the query's time range and interval.
// Anything left that looks like a macro or variable is an error: Grafana would send it to ClickHouse.

export interface ExpandContext {
  from: Date
  to: Date
  /** The panel interval Grafana computed (range / max data points, rounded), ms. */
  intervalMs: number
  /** Variable values; an array for multi-value variables; ALL for "All". */
  vars: Record<string, string | readonly string[]>
}

export const ALL = '$__all'

/** Grafana's interval for a range drawn at `points` data points, rounded to a "nice" step (≥ 1 s). */
export function grafanaInterval(rangeMs: number, points = 1000): number {
  const raw = rangeMs / points
  const nice = [
    1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000,
  ]
  return nice.find((n) => n >= raw) ?? 3_600_000
}

// Arguments of a bracketed list starting at text[open] === '(' (depth-aware, like sqlds parseArgs).
function parseArgs(text: string, open: number): { args: string[]; end: number } | undefined {
  if (text[open] !== '(') return undefined
  let depth = 0
  let current = ''
  const args: string[] = []
  for (let i = open; i < text.length; i++) {
    const c = text[i] as string
    if (c === '(') {
      depth++
      if (depth === 1) continue
    } else if (c === ')') {
      depth--
      if (depth === 0) {
        args.push(current.trim())
        return { args, end: i + 1 }
      }
    } else if (c === ',' && depth === 1) {
      args.push(current.trim())
      current = ''
      continue
    }
    current += c
  }
  throw new Error(`unclosed macro arguments in: ${text.slice(open, open + 80)}`)
}

/** Step 1: the plugin's `$__conditionalAll`, innermost-last like its lastIndexOf loop. */
export function applyConditionalAll(sql: string, vars: ExpandContext['vars']): string {
  const macro = '$__conditionalAll('
  let at = sql.lastIndexOf(macro)
  while (at !== -1) {
    const parsed = parseArgs(sql, at + macro.length - 1)
    if (!parsed || parsed.args.length !== 2) throw new Error(`$__conditionalAll needs 2 arguments: ${sql}`)
    const [condition, variable] = parsed.args as [string, string]
    const name = /\$\{(\w+)\}|\$(\w+)/.exec(variable)
    const value = name ? vars[(name[1] ?? name[2]) as string] : undefined
    const text = value === undefined ? '' : Array.isArray(value) ? value.join(',') : String(value)
    const phrase = text === '' || text === ALL ? '1=1' : condition
    sql = sql.slice(0, at) + phrase + sql.slice(parsed.end)
    at = sql.lastIndexOf(macro)
  }
  return sql
}

const quoteSql = (v: string): string => `'${v.replace(/'/g, "''")}'`

function formatValue(value: string | readonly string[], format: string | undefined): string {
  const values: readonly string[] = typeof value === 'string' ? [value] : value
  switch (format) {
    case undefined: // the ClickHouse datasource's own format function
      return Array.isArray(value) ? `'${values.join("','")}'` : (value as string)
    case 'sqlstring':
      return values.map(quoteSql).join(',')
    case 'singlequote':
      return values.map((v) => `'${v.replace(/'/g, "\\'")}'`).join(',')
    case 'doublequote':
      return values.map((v) => `"${v.replace(/"/g, '\\"')}"`).join(',')
    case 'csv':
    case 'raw':
      return values.join(',')
    default:
      throw new Error(`variable format ${format} is not emulated`)
  }
}

/** Step 2: Grafana's templateSrv.replace for the variables in `vars` (other `$names` are left alone). */
export function replaceVariables(
  sql: string,
  vars: ExpandContext['vars'],
  allValues: Record<string, string[]> = {},
): string {
  // The regex of Grafana's TemplateSrv (public/app/features/templating/template_srv.ts).
  const re = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g
  return sql.replace(
    re,
    (
      match,
      plain?: string,
      bracket?: string,
      bracketFmt?: string,
      braced?: string,
      _path?: string,
      bracedFmt?: string,
    ) => {
      const name = plain ?? bracket ?? braced
      if (name === undefined || !(name in vars)) return match
      let value = vars[name] as string | readonly string[]
      // "All" without a custom all value means every option.
      if (value === ALL || (Array.isArray(value) && value[0] === ALL)) value = allValues[name] ?? []
      return formatValue(value, bracketFmt ?? bracedFmt)
    },
  )
}

const seconds = (d: Date): number => Math.floor(d.getTime() / 1000)
const toDate = (d: Date): string => `toDate('${d.toISOString().slice(0, 10)}')`

type Macro = (args: string[], ctx: ExpandContext) => string

const needs = (n: number, name: string, args: string[]): void => {
  if (args.length !== n) throw new Error(`$__${name} expects ${n} argument(s), got ${args.length}`)
}

// pkg/macros/macros.go, one entry per registered name.
const MACROS: Record<string, Macro> = {
  fromTime: (_a, c) => `toDateTime(${seconds(c.from)})`,
  toTime: (_a, c) => `toDateTime(${seconds(c.to)})`,
  fromTime_ms: (_a, c) => `fromUnixTimestamp64Milli(${c.from.getTime()})`,
  toTime_ms: (_a, c) => `fromUnixTimestamp64Milli(${c.to.getTime()})`,
  timeFilter: (a, c) => {
    needs(1, 'timeFilter', a)
    return `${a[0]} >= toDateTime(${seconds(c.from)}) AND ${a[0]} <= toDateTime(${seconds(c.to)})`
  },
  timeFilter_ms: (a, c) => {
    needs(1, 'timeFilter_ms', a)
    return (
      `${a[0]} >= fromUnixTimestamp64Milli(${c.from.getTime()}) AND ` +
      `${a[0]} <= fromUnixTimestamp64Milli(${c.to.getTime()})`
    )
  },
  dateFilter: (a, c) => {
    needs(1, 'dateFilter', a)
    return `${a[0]} >= ${toDate(c.from)} AND ${a[0]} <= ${toDate(c.to)}`
  },
  dateTimeFilter: (a, c) => {
    needs(2, 'dateTimeFilter', a)
    return (
      `(${a[0]} >= ${toDate(c.from)} AND ${a[0]} <= ${toDate(c.to)}) AND ` +
      `(${a[1]} >= toDateTime(${seconds(c.from)}) AND ${a[1]} <= toDateTime(${seconds(c.to)}))`
    )
  },
  timeInterval: (a, c) => {
    needs(1, 'timeInterval', a)
    return `toStartOfInterval(toDateTime(${a[0]}), INTERVAL ${Math.max(1, Math.floor(c.intervalMs / 1000))} second)`
  },
  timeInterval_ms: (a, c) => {
    needs(1, 'timeInterval_ms', a)
    return `toStartOfInterval(toDateTime64(${a[0]}, 3), INTERVAL ${Math.max(1, Math.floor(c.intervalMs))} millisecond)`
  },
  interval_s: (_a, c) => String(Math.max(1, Math.floor(c.intervalMs / 1000))),
}
MACROS.dt = MACROS.dateTimeFilter as Macro

/** Step 3: the backend macros. */
export function applyMacros(sql: string, ctx: ExpandContext): string {
  // Longest names first is not needed (`\b` stops `$__timeFilter` matching `$__timeFilter_ms`), but a
  // fixed order keeps the expansion deterministic.
  for (const name of Object.keys(MACROS).sort()) {
    const re = new RegExp(`\\$__${name}\\b`, 'g')
    let m: RegExpExecArray | null
    while ((m = re.exec(sql)) !== null) {
      const parsed = parseArgs(sql, m.index + m[0].length)
      const args = parsed?.args ?? []
      const end = parsed?.end ?? m.index + m[0].length
      const out = (MACROS[name] as Macro)(args, ctx)
      sql = sql.slice(0, m.index) + out + sql.slice(end)
      re.lastIndex = m.index + out.length
    }
  }
  return sql
}

/** All three steps; throws if a `$__macro` or `$variable` survives. */
export function expandQuery(
  rawSql: string,
  ctx: ExpandContext,
  allValues: Record<string, string[]> = {},
): string {
  const sql = applyMacros(replaceVariables(applyConditionalAll(rawSql, ctx.vars), ctx.vars, allValues), ctx)
  const left = /\$\{?\w+|\[\[\w+/.exec(sql.replace(/'(?:[^']|'')*'/g, "''"))
  if (left) throw new Error(`unexpanded ${left[0]} in:\n${sql}`)
  return sql
}
