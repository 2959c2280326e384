// Applies store/migrations/NNN_name.sql in order, once each, recording them in `schema_migrations`.
// Statements are idempotent (IF NOT EXISTS), so a crash between a statement and its record is harmless.
// One migrator at a time (store/migration-lock.ts); on a cluster the statements are rewritten for it
// (store/cluster-ddl.ts) and the ledger is held whole by every host.
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { LOCAL_SUFFIX, clusterMigrations, everywhereTable } from './cluster-ddl.ts'
import { StoreError, splitStatements } from './index.ts'
import type { Store } from './index.ts'
import { acquireMigrationLock } from './migration-lock.ts'
import type { LockOptions } from './migration-lock.ts'

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url))

export interface Migration {
  version: number
  name: string
  statements: string[]
}

/** Reads the migration files of `dir`, sorted by version. Throws on a misnamed file. */
export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((file) => {
      const m = /^(\d+)_([\w-]+)\.sql$/.exec(file)
      if (!m) throw new Error(`migration file ${file} must be named NNN_name.sql`)
      return {
        version: Number(m[1]),
        name: m[2] as string,
        statements: splitStatements(readFileSync(join(dir, file), 'utf8')),
      }
    })
}

const isUnknownSetting = (err: unknown): boolean =>
  err instanceof Error && /UNKNOWN_SETTING|Code: 115\b|Unknown setting/.test(err.message)

const LEDGER = `CREATE TABLE IF NOT EXISTS schema_migrations
  (version UInt32, name String, applied_at DateTime DEFAULT now())
  ENGINE = ReplacingMergeTree ORDER BY version`

/**
 * Brings the store's schema up to date; returns the versions it applied. Rejects with StoreError.
 * Waits while another process migrates the same store, then applies what that one did not.
 * `skipped` collects the table-setting statements this server refused as unknown (see below).
 */
export async function migrate(
  store: Store,
  migrations = readMigrations(),
  skipped: string[] = [],
  lockOptions: LockOptions = {},
): Promise<number[]> {
  const cluster = store.cluster ? { cluster: store.cluster, database: store.database } : undefined
  // Rewritten whole before anything runs: a migration the cluster form cannot place stops the start.
  const plan = cluster ? clusterMigrations(migrations, cluster) : migrations
  await store.exec(cluster ? everywhereTable(LEDGER, cluster) : LEDGER)
  const lock = await acquireMigrationLock(store, lockOptions)
  try {
    // The ledger is replicated asynchronously: read it only once this host has every entry, so the
    // previous holder's records are seen wherever it wrote them.
    if (cluster) await store.exec(`SYSTEM SYNC REPLICA ${cluster.database}.schema_migrations`)
    const done = new Set(
      (await store.query<{ version: number }>('SELECT version FROM schema_migrations FINAL')).map(
        (r) => r.version,
      ),
    )
    const applied: number[] = []
    for (const m of plan) {
      if (done.has(m.version)) continue
      for (const sql of m.statements) {
        try {
          await store.exec(sql)
        } catch (err) {
          // A table setting this server does not know (an older ClickHouse) is tuning, not schema: the
          // table works without it, so the migration goes on rather than keep the collector from starting.
          if (!(isUnknownSetting(err) && /\bMODIFY\s+SETTING\b/i.test(sql))) throw err
          skipped.push(`${m.version}: ${(err as Error).message.split('\n')[0]}`)
        }
      }
      await store.insert('schema_migrations', [{ version: m.version, name: m.name }])
      applied.push(m.version)
    }
    return applied
  } finally {
    await lock.release()
  }
}

// On a cluster, TTLs and mutations belong to the replicated local tables: a Distributed table has
// neither (https://clickhouse.com/docs/en/engines/table-engines/special/distributed).
const rowsTable = (store: Store, table: string): string => (store.cluster ? table + LOCAL_SUFFIX : table)
const onCluster = (store: Store): string => (store.cluster ? ` ON CLUSTER ${store.cluster}` : '')

/**
 * Sets the retention of each table in `days` (table → days) by rewriting the day count of its TTL
 * (`TTL <time> + INTERVAL n DAY`, as the migrations declare it) with `ALTER TABLE … MODIFY TTL`. Tables
 * already at the wanted value are left alone, so a restart costs one query. Returns the tables changed.
 * Rejects with StoreError for an unknown table or one without a day-based TTL.
 */
export async function applyRetention(store: Store, days: ReadonlyMap<string, number>): Promise<string[]> {
  if (days.size === 0) return []
  const rows = await store.query<{ name: string; engine_full: string }>(
    'SELECT name, engine_full FROM system.tables WHERE database = {db:String} AND name IN {names:Array(String)}',
    { db: store.database, names: [...days.keys()].map((t) => rowsTable(store, t)) },
  )
  const changed: string[] = []
  for (const [table, n] of days) {
    if (!/^[a-z_][a-z0-9_]*$/.test(table) || !Number.isInteger(n) || n < 1) {
      throw new StoreError(`retention for ${table}: expected a table name and a whole number of days`, false)
    }
    const row = rows.find((r) => r.name === rowsTable(store, table))
    if (!row) throw new StoreError(`retention for ${table}: no such table in ${store.database}`, false)
    // ClickHouse shows `INTERVAL n DAY` back as `toIntervalDay(n)`.
    const m = / TTL (.+?) \+ toIntervalDay\((\d+)\)/.exec(row.engine_full)
    if (!m) throw new StoreError(`retention for ${table}: the table has no day-based TTL to change`, false)
    if (Number(m[2]) === n) continue
    await store.exec(
      `ALTER TABLE \`${rowsTable(store, table)}\`${onCluster(store)} MODIFY TTL ${m[1] as string} + INTERVAL ${n} DAY`,
    )
    changed.push(table)
  }
  return changed
}

/**
 * Removes every table's TTL in the store's database: an offline store (`rtcpulse analyze`) holds one
 * old recording, which production retention would drop as it is inserted. Returns the tables changed.
 */
export async function removeRetention(store: Store): Promise<string[]> {
  const rows = await store.query<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = {db:String} AND engine_full LIKE '% TTL %'`,
    { db: store.database },
  )
  for (const { name } of rows) await store.exec(`ALTER TABLE \`${name}\`${onCluster(store)} REMOVE TTL`)
  return rows.map((r) => r.name)
}
