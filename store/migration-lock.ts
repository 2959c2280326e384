// One migrator at a time: collectors and analyzers that start together on one store take turns, and the
// others wait, then find the migrations applied. A lock held by a process that died expires.
// - chDB (one process owns its folder): a lock file beside the data, holding the owner's pid and a
//   lease; a lock whose process is gone or whose lease ran out is taken over.
// - A ClickHouse server or cluster: creating a table that does not exist yet is the one atomic
//   compare-and-set the SQL offers (a second CREATE of the same name fails with TABLE_ALREADY_EXISTS; on
//   a cluster every host runs ON CLUSTER DDL in the order of the one Keeper queue, so the same CREATE wins
//   everywhere). The lock is a generation: `schema_lock_<n>` exists for every n taken so far; its holder
//   writes its lease to `schema_lock` and renews it. Whoever sees the highest generation released or its
//   lease expired may create generation n + 1; of several, exactly one succeeds. Generations are never
//   reused, so a stale reader can never take a lock that another acquired after it looked.
import { closeSync, openSync, readFileSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { StoreError, serverErrorCode } from './index.ts'
import type { Store } from './index.ts'
import { everywhereTable } from './cluster-ddl.ts'

export interface LockOptions {
  /** A holder that stops renewing loses the lock after this long, ms (default 60 s). */
  leaseMs?: number
  /** Pause between attempts while another holds the lock, ms (default 250). */
  pollMs?: number
  /** Gives up with a StoreError after waiting this long, ms (default 10 min). */
  waitMs?: number
}

export interface HeldLock {
  /** Who holds it: host, pid and a random suffix. */
  owner: string
  release(): Promise<void>
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const newOwner = (): string => `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`

/**
 * Waits for and takes the migration lock of `store`'s database. Rejects with StoreError after `waitMs`,
 * naming the holder. The lease is renewed until release().
 */
export async function acquireMigrationLock(store: Store, options: LockOptions = {}): Promise<HeldLock> {
  const opts = { leaseMs: 60_000, pollMs: 250, waitMs: 600_000, ...options }
  return store.backend === 'chdb' ? fileLock(store, opts) : tableLock(store, opts)
}

type Opts = Required<LockOptions>

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function fileLock(store: Store, opts: Opts): Promise<HeldLock> {
  const [db] = await store.query<{ data_path: string }>(
    'SELECT data_path FROM system.databases WHERE name = {db:String}',
    { db: store.database },
  )
  if (!db) throw new StoreError(`migration lock: database ${store.database} not found`, false)
  const path = join(db.data_path, `.rtcpulse-migrate-${store.database}.lock`)
  const owner = newOwner()
  const deadline = Date.now() + opts.waitMs
  for (;;) {
    // Synchronous from the read to the create: no other task of this process runs in between, and chDB
    // lets only this process open the folder, so the takeover of a stale file cannot race.
    let holder = ''
    try {
      const fd = openSync(path, 'wx')
      writeSync(fd, JSON.stringify({ owner, pid: process.pid }))
      closeSync(fd)
      const timer = setInterval(() => {
        const now = new Date()
        try {
          utimesSync(path, now, now)
        } catch {
          // Taken over after a stall longer than the lease: the next migrator owns the file now.
        }
      }, opts.leaseMs / 3)
      timer.unref()
      return {
        owner,
        release: () => {
          clearInterval(timer)
          try {
            if ((JSON.parse(readFileSync(path, 'utf8')) as { owner: string }).owner === owner)
              unlinkSync(path)
          } catch {
            // Already gone.
          }
          return Promise.resolve()
        },
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StoreError(`migration lock ${path}: ${(err as Error).message}`, false, { cause: err })
      }
      try {
        // The holder touches the file every third of a lease: an older one is a process that stalled,
        // or one that died before it could write its pid.
        const stalled = Date.now() - statSync(path).mtimeMs > opts.leaseMs
        let dead = false
        try {
          const held = JSON.parse(readFileSync(path, 'utf8')) as { owner: string; pid: number }
          holder = held.owner
          dead = !isAlive(held.pid)
        } catch {
          // Empty or torn: judged by its age alone.
        }
        if (dead || stalled) {
          unlinkSync(path)
          continue
        }
      } catch {
        // Released between the create and the look: try again at once.
        continue
      }
    }
    if (Date.now() > deadline) throw timeout(store, holder, opts)
    await sleep(opts.pollMs)
  }
}

const timeout = (store: Store, holder: string, opts: Opts): StoreError =>
  new StoreError(
    `migration lock of ${store.database} still held by ${holder || 'another migrator'} after ${opts.waitMs} ms`,
    true,
  )

// DDL of the lock's tables, written for one server; on a cluster they are held whole by every host.
const LEASES = `CREATE TABLE IF NOT EXISTS schema_lock
  (gen UInt64, owner String, expires DateTime64(3, 'UTC'), released UInt8)
  ENGINE = MergeTree ORDER BY gen TTL toDateTime(expires) + INTERVAL 1 DAY`
const MARKER = /^schema_lock_(\d+)$/

async function tableLock(store: Store, opts: Opts): Promise<HeldLock> {
  const db = store.database
  const onCluster = store.cluster ? ` ON CLUSTER ${store.cluster}` : ''
  await store.exec(store.cluster ? everywhereTable(LEASES, { cluster: store.cluster, database: db }) : LEASES)
  const owner = newOwner()
  const deadline = Date.now() + opts.waitMs
  const firstSeen = new Map<number, number>() // generation → when this migrator first saw it without a lease
  const lease = (gen: number, released: 0 | 1): Promise<void> =>
    store.exec(
      `INSERT INTO schema_lock SELECT {gen:UInt64}, {owner:String},
         now64(3) + toIntervalMillisecond({ms:UInt32}), {released:UInt8}`,
      { gen, owner, ms: released ? 0 : opts.leaseMs, released },
    )
  for (;;) {
    const markers = await store.query<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = {db:String} AND startsWith(name, 'schema_lock_')`,
      { db },
    )
    const gens = markers.map((m) => Number(MARKER.exec(m.name)?.[1] ?? 0)).filter((g) => g > 0)
    const gen = Math.max(0, ...gens)
    let holder = ''
    let free = gen === 0
    if (!free) {
      const [state] = await store.query<{ n: number; live: number; released: number; owner: string }>(
        `SELECT count() AS n, max(expires) > now64(3) AS live, max(released) AS released,
                argMax(owner, expires) AS owner
         FROM schema_lock WHERE gen = {gen:UInt64}`,
        { gen },
      )
      holder = state?.owner ?? ''
      if (!state || state.n === 0) {
        // Created, lease not written (or not replicated) yet: give its creator one lease from now.
        const seen = firstSeen.get(gen) ?? Date.now()
        firstSeen.set(gen, seen)
        free = Date.now() - seen > opts.leaseMs
      } else free = state.released === 1 || state.live === 0
      // On a cluster a lease renewed through another host may not have replicated here yet: catch up
      // before taking a lock over for an expired lease.
      if (free && store.cluster && state?.released !== 1) {
        await store.exec(`SYSTEM SYNC REPLICA ${db}.schema_lock`)
        const [again] = await store.query<{ live: number }>(
          'SELECT max(expires) > now64(3) AS live FROM schema_lock WHERE gen = {gen:UInt64}',
          { gen },
        )
        free = again?.live !== 1
      }
    }
    if (free) {
      const next = gen + 1
      try {
        await store.exec(`CREATE TABLE ${db}.schema_lock_${next}${onCluster} (gen UInt64) ENGINE = Null`)
      } catch (err) {
        if (!isAlreadyExists(err)) throw err
        continue // another migrator took generation `next`: look again
      }
      await lease(next, 0)
      // Earlier generations are done with; only the highest one is ever read.
      for (const g of gens) await store.exec(`DROP TABLE IF EXISTS ${db}.schema_lock_${g}${onCluster}`)
      let renewing = Promise.resolve()
      const timer = setInterval(() => {
        renewing = lease(next, 0).catch(() => {})
      }, opts.leaseMs / 3)
      timer.unref()
      return {
        owner,
        release: async () => {
          clearInterval(timer)
          await renewing
          await lease(next, 1)
        },
      }
    }
    if (Date.now() > deadline) throw timeout(store, holder, opts)
    await sleep(opts.pollMs)
  }
}

const isAlreadyExists = (err: unknown): boolean =>
  serverErrorCode(err) === 57 || /TABLE_ALREADY_EXISTS|already exists/i.test((err as Error).message)
