// The storage seam. The collector and the analyzer talk to `Store` and never learn which backend is
// behind it: a ClickHouse server over HTTP (`CLICKHOUSE_URL`) or embedded chDB (the default).
// Both speak the same SQL; parameters are always bound server-side as `{name:Type}` placeholders.

export type QueryParams = Record<string, unknown>

export type { TsvRows } from './tsv.ts'
import type { TsvRows } from './tsv.ts'

export interface InsertOptions {
  /**
   * insert_deduplication_token: ClickHouse drops a later insert with the same token into a table with a
   * deduplication window, and the blocks its materialized views derive from it
   * (https://clickhouse.com/docs/en/operations/settings/settings#insert_deduplication_token).
   */
  dedupToken?: string
}

export type Health = { ok: true } | { ok: false; error: string }

export interface Store {
  readonly backend: 'chdb' | 'clickhouse'
  readonly database: string
  /**
   * The ClickHouse cluster the tables span (CLICKHOUSE_CLUSTER), server backend only: each table `t` is
   * then a Distributed table over replicated `t_local` tables (store/cluster-ddl.ts).
   */
  readonly cluster?: string
  /** Runs a SELECT and returns its rows as objects (64-bit integers as numbers). Rejects with StoreError. */
  query<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]>
  /** Runs a statement that returns nothing (DDL, ALTER, DELETE). Rejects with StoreError. */
  exec(sql: string, params?: QueryParams): Promise<void>
  /**
   * Inserts rows in one INSERT: objects as JSONEachRow, or lines already encoded as TabSeparated for a
   * column list (store/tsv.ts; the collector's hot path). Resolves only once ClickHouse has written them.
   * With a `dedupToken`, a repeat of the same insert (a retry) is dropped by tables with a deduplication
   * window.
   */
  insert(table: string, rows: readonly object[] | TsvRows, options?: InsertOptions): Promise<void>
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

// ClickHouse error codes that mean "try again later" (src/Common/ErrorCodes.cpp): the server is busy, a
// replica or Keeper is away, or the operator must fix rights or a read-only replica. Every other server
// error is about the statement or the rows and final.
const TRANSIENT_CODES = new Set([
  164, // READONLY
  497, // ACCESS_DENIED
  516, // AUTHENTICATION_FAILED
  159, // TIMEOUT_EXCEEDED
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  203, // NO_FREE_CONNECTION
  209, // SOCKET_TIMEOUT
  210, // NETWORK_ERROR
  236, // ABORTED
  241, // MEMORY_LIMIT_EXCEEDED
  242, // TABLE_IS_READ_ONLY
  252, // TOO_MANY_PARTS
  279, // ALL_CONNECTION_TRIES_FAILED
  285, // TOO_FEW_LIVE_REPLICAS
  319, // UNKNOWN_STATUS_OF_INSERT
  999, // KEEPER_EXCEPTION
])

// Errors about the schema rather than the rows: a table, column or database that is missing.
const SCHEMA_CODES = new Set([
  16, // NO_SUCH_COLUMN_IN_TABLE
  47, // UNKNOWN_IDENTIFIER
  60, // UNKNOWN_TABLE
  81, // UNKNOWN_DATABASE
])

/** The ClickHouse error code of `err` or of its cause (numeric `code`, or `Code: N.` in the message). */
export function serverErrorCode(err: unknown): number | undefined {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined; e;) {
    if (typeof e.code === 'string' && /^\d+$/.test(e.code)) return Number(e.code)
    const m = /\bCode: (\d+)\b/.exec(typeof e.message === 'string' ? e.message : '')
    if (m) return Number(m[1])
    e = e.cause as typeof e
  }
  return undefined
}

/** Whether a ClickHouse server error is transient (busy, a replica away, rights): retry later. */
export function isTransientServerError(err: unknown): boolean {
  const code = serverErrorCode(err)
  return code !== undefined && TRANSIENT_CODES.has(code)
}

/**
 * Whether an error is about the schema (missing table, column, database), not the rows: a writer should
 * hold its data and retry until an operator fixes the schema, rather than drop rows.
 */
export function isSchemaError(err: unknown): boolean {
  const code = serverErrorCode(err)
  return code !== undefined && SCHEMA_CODES.has(code)
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

/** Whose data to delete: one session of an app, or every session a user took part in. */
export type DeleteScope = { app: string; session: string } | { app: string; user: string }

export interface DeleteResult {
  /** Tables statements ran on (every MergeTree table of the database keyed by app and session). */
  tables: string[]
  /** (session, peer) pairs deleted for a user; 1 for a session. */
  targets: number
}

const SAFE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Deletes every row of a session, or of a user, from every table of the store that has `app_id` and
 * `session_id` columns (so tables added later, such as the analyzer's, are covered without a list), with
 * lightweight `DELETE FROM` and bound parameters. A user's rows are found through `peers.user_id`: rows
 * of that user's peers go, and so do session-level rows (tables without `peer_id`) of those sessions.
 * `peers` is deleted last, so an interrupted deletion can be run again. On a cluster the deletes run
 * `ON CLUSTER` on the replicated local tables (a Distributed table takes no mutation). Rejects with
 * StoreError.
 */
export async function deleteData(store: Store, scope: DeleteScope): Promise<DeleteResult> {
  // MergeTree engines only: on a cluster these are the `…_local` tables, never the Distributed ones.
  const isPeers = (table: string): boolean => table === 'peers' || table === 'peers_local'
  const onCluster = store.cluster ? ` ON CLUSTER ${store.cluster}` : ''
  const cols = await store.query<{ table: string; cols: string[] }>(
    `SELECT table, groupArray(name) AS cols FROM system.columns
     WHERE database = {db:String} AND name IN ('app_id', 'session_id', 'peer_id')
       AND table IN (SELECT name FROM system.tables WHERE database = {db:String} AND engine LIKE '%MergeTree%')
     GROUP BY table ORDER BY table`,
    { db: store.database },
  )
  const tables = cols
    .filter((t) => t.cols.includes('app_id') && t.cols.includes('session_id') && SAFE_NAME.test(t.table))
    .sort((a, b) => Number(isPeers(a.table)) - Number(isPeers(b.table)))
  let targets: { session: string; peer: string | undefined }[]
  if ('session' in scope) targets = [{ session: scope.session, peer: undefined }]
  else {
    const rows = await store.query<{ session_id: string; peer_id: string }>(
      `SELECT DISTINCT session_id, peer_id FROM peers WHERE app_id = {app:String} AND user_id = {user:String}`,
      { app: scope.app, user: scope.user },
    )
    targets = rows.map((r) => ({ session: r.session_id, peer: r.peer_id }))
  }
  for (const t of tables) {
    const byPeer = t.cols.includes('peer_id')
    for (const target of targets) {
      const peerFilter = byPeer && target.peer !== undefined ? ' AND peer_id = {peer:String}' : ''
      await store.exec(
        `DELETE FROM \`${t.table}\`${onCluster} WHERE app_id = {app:String} AND session_id = {session:String}${peerFilter}`,
        { app: scope.app, session: target.session, ...(peerFilter ? { peer: target.peer } : {}) },
      )
    }
  }
  return { tables: tables.map((t) => t.table), targets: targets.length }
}
