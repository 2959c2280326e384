// Embedded backend: the ClickHouse engine in-process through chDB. Queries run on libuv's pool through
// chDB's async API, so the event loop never waits for the engine.
// chDB binds one data directory per process (node_modules/chdb/README.md, "One data directory at a
// time"): open at most one directory per process; stores on the same directory share it safely.
import { mkdirSync } from 'node:fs'
import { Session } from 'chdb'
import {
  OUTPUT_SETTINGS,
  StoreError,
  isTransientServerError,
  parseJsonEachRow,
  toJsonEachRow,
} from './index.ts'
import type { Health, InsertOptions, QueryParams, Store } from './index.ts'
import { isTsvRows, tsvBody } from './tsv.ts'
import type { TsvRows } from './tsv.ts'

export interface ChdbStoreOptions {
  /** Folder for the data; created if missing. */
  dataDir: string
  /** Database inside it; created if missing. Letters, digits and `_` only. */
  database: string
}

const connectionArgs = Object.entries(OUTPUT_SETTINGS).map(([k, v]) => `--${k}=${v}`)

function wrap(err: unknown, what: string): StoreError {
  const e = err as { name?: string; code?: string; message?: string }
  // Connection-level failures can succeed later; syntax, type and data errors never will.
  const retryable =
    e.name === 'ChdbConnectionError' || e.code === 'CHDB_CONNECTION' || isTransientServerError(err)
  return new StoreError(`${what}: ${e.message ?? String(err)}`, retryable, { cause: err })
}

/** Opens (creating if needed) the embedded store. Throws StoreError when the folder cannot be used. */
export async function createChdbStore(options: ChdbStoreOptions): Promise<Store> {
  const { dataDir, database } = options
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) {
    throw new StoreError(`database name ${JSON.stringify(database)} must match [A-Za-z_][A-Za-z0-9_]*`, false)
  }
  mkdirSync(dataDir, { recursive: true })
  let session: Session
  try {
    session = new Session(dataDir, { connectionArgs })
    await session.queryAsync(`CREATE DATABASE IF NOT EXISTS ${database}`)
    await session.queryAsync(`USE ${database}`)
  } catch (err) {
    throw wrap(err, `cannot open chDB at ${dataDir}`)
  }
  let closed = false
  const live = (): Session => {
    if (closed) throw new StoreError('store is closed', false)
    return session
  }

  return {
    backend: 'chdb',
    database,
    async query<T>(sql: string, params?: QueryParams): Promise<T[]> {
      try {
        const res = params
          ? await live().queryBindAsync(sql, params, { format: 'JSONEachRow' })
          : await live().queryAsync(sql, { format: 'JSONEachRow' })
        return parseJsonEachRow<T>(res.text())
      } catch (err) {
        throw err instanceof StoreError ? err : wrap(err, 'query failed')
      }
    },
    async exec(sql: string, params?: QueryParams): Promise<void> {
      try {
        if (params) await live().queryBindAsync(sql, params)
        else await live().queryAsync(sql)
      } catch (err) {
        throw err instanceof StoreError ? err : wrap(err, 'statement failed')
      }
    },
    async insert(table: string, rows: readonly object[] | TsvRows, options?: InsertOptions): Promise<void> {
      const tsv = isTsvRows(rows)
      if ((tsv ? rows.lines : rows).length === 0) return
      // A table with a deduplication window also drops a byte-identical block by its hash; the token
      // names the retry as the same insert whatever the serialisation.
      const settings = options?.dedupToken ? { insert_deduplication_token: options.dedupToken } : undefined
      try {
        await live().insert({
          table,
          ...(tsv
            ? { values: tsvBody(rows), format: 'TabSeparated', columns: rows.columns }
            : { values: Buffer.from(toJsonEachRow(rows)), format: 'JSONEachRow' }),
          ...(settings ? { settings } : {}),
        })
      } catch (err) {
        throw err instanceof StoreError ? err : wrap(err, `insert into ${table} failed`)
      }
    },
    async ping(): Promise<Health> {
      try {
        await live().queryAsync('SELECT 1')
        return { ok: true }
      } catch (err) {
        return { ok: false, error: (err as Error).message }
      }
    },
    close(): Promise<void> {
      if (!closed) {
        closed = true
        session.close()
      }
      return Promise.resolve()
    },
  }
}
