// The storage seam. The collector and the analyzer talk to `Store` and never learn which backend is
// behind it: a ClickHouse server over HTTP (`CLICKHOUSE_URL`) or embedded chDB (the default).
// Both speak the same SQL; parameters are always bound server-side as `{name:Type}` placeholders.

export type QueryParams = Record<string, unknown>

export type Health = { ok: true } | { ok: false; error: string }

export interface Store {
  readonly backend: 'chdb' | 'clickhouse'
  readonly database: string
  /** Runs a SELECT and returns its rows as objects (64-bit integers as numbers). Rejects with StoreError. */
  query<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]>
  /** Runs a statement that returns nothing (DDL, ALTER, DELETE). Rejects with StoreError. */
  exec(sql: string, params?: QueryParams): Promise<void>
  /** Inserts rows as JSONEachRow in one INSERT. Resolves only once ClickHouse has written them. */
  insert(table: string, rows: readonly object[]): Promise<void>
  /** Never rejects: `{ ok: false, error }` when the store cannot answer. */
  ping(): Promise<Health>
  /** Releases connections; later calls reject. */
  close(): Promise<void>
}

/** A storage failure; `retryable` is true for connection problems (retry later), false for bad SQL or data. */
export class StoreError extends Error {
  override readonly name = 'StoreError'
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** Splits a migration file into statements at `;` line ends, dropping `--` comment lines. */
export function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean)
}

/** Serialises rows as JSONEachRow: one JSON object per line. */
export function toJsonEachRow(rows: readonly object[]): string {
  let out = ''
  for (const row of rows) out += JSON.stringify(row) + '\n'
  return out
}

/** Parses JSONEachRow output into objects; an empty body is no rows. */
export function parseJsonEachRow<T>(text: string): T[] {
  const rows: T[] = []
  for (const line of text.split('\n')) if (line) rows.push(JSON.parse(line) as T)
  return rows
}

// Output settings both backends apply, so results look the same wherever they come from.
export const OUTPUT_SETTINGS = {
  output_format_json_quote_64bit_integers: 0,
  output_format_json_quote_64bit_floats: 0,
  date_time_output_format: 'iso',
} as const
