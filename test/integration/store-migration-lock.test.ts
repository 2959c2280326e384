// Guards: one migrator at a time (store/migration-lock.ts). Collectors and analyzers that start together on
// one store must each succeed, with every migration statement run exactly once between them (a second
// run of 009's backfill would count the rollups twice), and a migrator that died holding the lock must
// not keep the others waiting beyond its lease. Both lock kinds run here: the file lock of chDB, and the
// table lock of a ClickHouse server through the HTTP stand-in (one chDB answering @clickhouse/client).
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createChdbStore } from '../../store/chdb.ts'
import { createClickHouseStore } from '../../store/clickhouse.ts'
import { StoreError } from '../../store/index.ts'
import type { Store } from '../../store/index.ts'
import { migrate, readMigrations } from '../../store/migrate.ts'
import { startClickHouseStandIn } from '../helpers/ch-http-standin.ts'
import type { StandIn } from '../helpers/ch-http-standin.ts'
import { guid, testDataDir } from '../helpers/collector.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const VERSIONS = readMigrations().map((m) => m.version)
const STATEMENTS = new Set(readMigrations().flatMap((m) => m.statements))

/** `store` with every migration statement it runs counted into `counts`. */
function counting(store: Store, counts: Map<string, number>): Store {
  return {
    ...store,
    backend: store.backend,
    database: store.database,
    exec: (sql, params) => {
      if (STATEMENTS.has(sql)) counts.set(sql, (counts.get(sql) ?? 0) + 1)
      return store.exec(sql, params)
    },
  }
}

function expectEachOnce(applied: number[][], counts?: Map<string, number>): void {
  expect(applied.flat().sort((a, b) => a - b)).toEqual(VERSIONS)
  if (counts) {
    expect(counts.size).toBe(STATEMENTS.size)
    expect([...counts.values()].every((n) => n === 1)).toBe(true)
  }
}

describe('migration lock: embedded store (file lock)', () => {
  it('lets one of two concurrent migrators apply everything while the other waits', async () => {
    const database = guid('lock')
    const a = await createChdbStore({ dataDir: testDataDir(), database })
    const b = await createChdbStore({ dataDir: testDataDir(), database })
    const counts = new Map<string, number>()
    try {
      const applied = await Promise.all([migrate(counting(a, counts)), migrate(counting(b, counts))])
      expectEachOnce(applied, counts)
      expect(applied.some((v) => v.length === 0)).toBe(true)
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('takes over a lock file left by a process that died', async () => {
    const database = guid('lock')
    const store = await createChdbStore({ dataDir: testDataDir(), database })
    try {
      const dead = spawn(process.execPath, ['-e', '0'])
      await new Promise((r) => dead.once('exit', r))
      const [db] = await store.query<{ data_path: string }>(
        'SELECT data_path FROM system.databases WHERE name = {db:String}',
        { db: database },
      )
      const path = join(db?.data_path ?? '', `.rtcpulse-migrate-${database}.lock`)
      writeFileSync(path, JSON.stringify({ owner: 'crashed', pid: dead.pid }))
      const started = Date.now()
      // A lease far longer than the test: only the dead pid can free the lock this fast.
      expect(await migrate(store, undefined, [], { leaseMs: 600_000, waitMs: 60_000 })).toEqual(VERSIONS)
      expect(Date.now() - started).toBeLessThan(60_000)
    } finally {
      await store.close()
    }
  })

  it('takes over an empty lock file once it is a lease old (a process that died before writing)', async () => {
    const database = guid('lock')
    const store = await createChdbStore({ dataDir: testDataDir(), database })
    try {
      const [db] = await store.query<{ data_path: string }>(
        'SELECT data_path FROM system.databases WHERE name = {db:String}',
        { db: database },
      )
      const path = join(db?.data_path ?? '', `.rtcpulse-migrate-${database}.lock`)
      writeFileSync(path, '')
      // Fresh, it is honoured: the migrator gives up waiting.
      const err = await migrate(store, undefined, [], { leaseMs: 60_000, waitMs: 500 }).catch(
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(StoreError)
      const old = new Date(Date.now() - 120_000)
      utimesSync(path, old, old)
      expect(await migrate(store, undefined, [], { leaseMs: 60_000, waitMs: 30_000 })).toEqual(VERSIONS)
    } finally {
      await store.close()
    }
  })
})

describe('migration lock: ClickHouse server (table lock, separate processes)', () => {
  let standIn: StandIn
  const children: ChildProcess[] = []
  beforeAll(async () => {
    standIn = await startClickHouseStandIn(testDataDir())
  })
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL')
    await standIn.close()
  })

  /** Runs test/helpers/migrate-child.ts; resolves with its first line of output. */
  const child = (database: string, mode: 'migrate' | 'hold', leaseMs: number) => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/helpers/migrate-child.ts', standIn.url, database, mode, String(leaseMs)],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    children.push(proc)
    let out = ''
    let err = ''
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const line = new Promise<string>((resolve, reject) => {
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        if (out.includes('\n')) resolve(out.split('\n')[0] as string)
      })
      proc.once('exit', (code) => reject(new Error(`migrator exited ${code}:\n${out}${err}`)))
    })
    return { proc, line }
  }

  it('applies each migration once when two processes start together, and both succeed', async () => {
    const database = guid('lock')
    const [one, two] = [child(database, 'migrate', 10_000), child(database, 'migrate', 10_000)]
    const applied = (await Promise.all([one.line, two.line])).map((l) => JSON.parse(l) as number[])
    expectEachOnce(applied)
    expect(applied.some((v) => v.length === 0)).toBe(true)
    const store = await createClickHouseStore({ url: standIn.url, database })
    try {
      // The ledger was written once per migration, not once per process.
      const [row] = await store.query<{ n: number }>('SELECT count() AS n FROM schema_migrations')
      expect(row?.n).toBe(VERSIONS.length)
    } finally {
      await store.close()
    }
  }, 120_000)

  it('keeps others waiting while the holder lives, and frees the lock one lease after it is killed', async () => {
    const database = guid('lock')
    // Generous: the holder renews every 2 s, through a stand-in that this busy test process serves.
    const leaseMs = 6000
    const holder = child(database, 'hold', leaseMs)
    expect(await holder.line).toBe('held')
    const store = await createClickHouseStore({ url: standIn.url, database })
    try {
      // Renewed every third of a lease: two leases later it is still held, by the other process.
      const err = await migrate(store, undefined, [], { leaseMs, waitMs: 2 * leaseMs }).catch(
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(StoreError)
      expect((err as Error).message).toMatch(/still held by \S+:\d+:/)
      holder.proc.kill('SIGKILL')
      expect(await migrate(store, undefined, [], { leaseMs, waitMs: 60_000 })).toEqual(VERSIONS)
    } finally {
      await store.close()
    }
  }, 120_000)
})
