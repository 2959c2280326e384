// Rows as ClickHouse's TabSeparated text (https://clickhouse.com/docs/en/interfaces/formats#tabseparated):
// one line per row, values in the order of an explicit column list, separated by tabs. ClickHouse parses
// it far more cheaply than JSONEachRow (no key matching, no JSON), and writers build each line once,
// straight from their values, instead of an object that JSON.stringify then walks.
//
// Escaping is exact for every string: backslash, tab, line feed, carriage return, NUL, backspace and form
// feed are written as their backslash sequences (the set ClickHouse itself writes); everything else,
// quotes and any Unicode included, goes as is in UTF-8. `\N` is NULL. Map values use the quoted form
// inside braces, `{'k':'v'}`, whose strings are escaped the same way plus the single quote.

/** Rows encoded as TabSeparated lines for `columns`, in that order; each line ends with `\n`. */
export interface TsvRows {
  readonly format: 'TabSeparated'
  readonly columns: readonly string[]
  readonly lines: readonly string[]
}

/** Whether `rows` are encoded lines rather than objects. */
export const isTsvRows = (rows: readonly object[] | TsvRows): rows is TsvRows => !Array.isArray(rows)

/** The insert body: the lines joined. */
export const tsvBody = (rows: TsvRows): string => rows.lines.join('')

const NEEDS_ESCAPE = /[\\\t\n\r\0\b\f]/
const ESCAPES = /[\\\t\n\r\0\b\f]/g
const QUOTED_ESCAPES = /[\\\t\n\r\0\b\f']/g
const ESCAPE: Record<string, string> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
  "'": "\\'",
}
const escapeChar = (c: string): string => ESCAPE[c] as string

/** A String value as TabSeparated text. A string without special characters is returned as is. */
export function tsvString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(ESCAPES, escapeChar) : s
}

/** A number or NULL as TabSeparated text. Non-finite numbers are NULL (JSON would have made them null too). */
export function tsvNumber(v: number | null | undefined): string {
  return typeof v === 'number' && Number.isFinite(v) ? String(v) : '\\N'
}

/** A Map(String, String) value as TabSeparated text: `{'k':'v',…}` with quoted-string escapes. */
export function tsvMap(m: Readonly<Record<string, string>>): string {
  let out = '{'
  for (const k in m) {
    if (out.length > 1) out += ','
    out += `'${k.replace(QUOTED_ESCAPES, escapeChar)}':'${String(m[k]).replace(QUOTED_ESCAPES, escapeChar)}'`
  }
  return out + '}'
}

const UNESCAPE: Record<string, string> = {
  '\\': '\\',
  t: '\t',
  n: '\n',
  r: '\r',
  '0': '\0',
  b: '\b',
  f: '\f',
  "'": "'",
}

/**
 * Reads one line back into column → text (NULL as null; Map and numbers stay text). For logs and tests:
 * what a refused row held. Never throws.
 */
export function parseTsvLine(columns: readonly string[], line: string): Record<string, string | null> {
  const out: Record<string, string | null> = {}
  const fields = line.replace(/\n$/, '').split('\t')
  columns.forEach((c, i) => {
    const f = fields[i] ?? ''
    out[c] = f === '\\N' ? null : f.replace(/\\(.)/g, (_, ch: string) => UNESCAPE[ch] ?? ch)
  })
  return out
}
