// Applies store/migrations/NNN_name.sql in order, once each, recording them in `schema_migrations`.
// Statements are idempotent (IF NOT EXISTS), so a crash between a statement and its record is harmless.
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { splitStatements } from './index.ts'
import type { Store } from './index.ts'

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

/** Brings the store's schema up to date; returns the versions it applied. Rejects with StoreError. */
export async function migrate(store: Store, migrations = readMigrations()): Promise<number[]> {
  await store.exec(
    `CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, applied_at DateTime DEFAULT now())
     ENGINE = ReplacingMergeTree ORDER BY version`,
  )
  const done = new Set(
    (await store.query<{ version: number }>('SELECT version FROM schema_migrations FINAL')).map(
      (r) => r.version,
    ),
  )
  const applied: number[] = []
  for (const m of migrations) {
    if (done.has(m.version)) continue
    for (const sql of m.statements) await store.exec(sql)
    await store.insert('schema_migrations', [{ version: m.version, name: m.name }])
    applied.push(m.version)
  }
  return applied
}
