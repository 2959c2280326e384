// Guards the cluster form of the schema (CLICKHOUSE_CLUSTER, store/cluster-ddl.ts) where no cluster can
// run: no ClickHouse server with Keeper exists here, so every statement generated from every migration is
// parsed by chDB's own parser (formatQuery) and its shape is checked: ON CLUSTER everywhere, replicated
// local tables with the same columns as the one-server schema, Distributed tables sharded so that rows
// FINAL must collapse share a shard, views firing on and writing to local tables. The whole cluster form
// is also run, in order, on one chDB host with replication and distribution mapped back (see below), and
// must give every table the one-server columns and feed the rollups. Deletion and retention
// are checked to target the local tables ON CLUSTER, on a chDB database laid out as a cluster host is
// (`t_local` MergeTree tables behind non-MergeTree `t` tables), with DDL recorded instead of run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createChdbStore } from '../../store/chdb.ts'
import { CLUSTER_SETTINGS, insertSettings } from '../../store/clickhouse.ts'
import {
  closingParen,
  clusterMigrations,
  everywhereTable,
  parseCreateTable,
  splitTopLevel,
} from '../../store/cluster-ddl.ts'
import { deleteData } from '../../store/index.ts'
import type { Store } from '../../store/index.ts'
import { applyRetention, migrate, readMigrations } from '../../store/migrate.ts'
import { openStore } from '../../store/open.ts'
import { guid, testDataDir } from '../helpers/collector.ts'

const target = { cluster: 'rtcpulse', database: 'rtcpulse' }
const migrations = readMigrations()
const plan = clusterMigrations(migrations, target)
const creates = migrations
  .flatMap((m) => m.statements)
  .map((sql) => ({ sql, t: parseCreateTable(sql) }))
  .filter((c) => c.t && /MergeTree$/.test(c.t.engine))

let store: Store
const formatted = new Map<string, string>()

/** chDB's canonical form of `sql`; rejects when chDB's parser refuses it. */
const format = async (sql: string): Promise<string> => {
  const [row] = await store.query<{ f: string }>('SELECT formatQuery({q:String}) AS f', { q: sql })
  return row?.f ?? ''
}

beforeAll(async () => {
  store = await createChdbStore({ dataDir: testDataDir(), database: guid('cl') })
  for (const sql of plan.flatMap((m) => m.statements)) formatted.set(sql, await format(sql))
})
afterAll(async () => {
  await store.close()
})

describe('cluster DDL parser', () => {
  it('matches parentheses and splits at top-level commas, skipping quoted text', () => {
    const sql = "f(a, '(,)', g(b, c), `x)`) tail"
    expect(closingParen(sql, 1)).toBe(sql.indexOf(' tail') - 1)
    expect(splitTopLevel("a Enum8('x, y' = 1), b Map(String, UInt8), c")).toEqual([
      "a Enum8('x, y' = 1)",
      'b Map(String, UInt8)',
      'c',
    ])
    expect(() => closingParen('f(a', 1)).toThrow(/unbalanced/)
  })

  it('reads a CREATE TABLE: columns, engine and its arguments, sort key', () => {
    const t = parseCreateTable(
      "CREATE TABLE IF NOT EXISTS t (a String, b DateTime64(3, 'UTC'), INDEX i a TYPE bloom_filter)\n" +
        'ENGINE = ReplacingMergeTree(b) PARTITION BY toYYYYMM(b) ORDER BY (a, toDate(b)) TTL toDateTime(b) + INTERVAL 1 DAY',
    )
    expect(t).toMatchObject({
      name: 't',
      ifNotExists: true,
      columnNames: ['a', 'b'],
      engine: 'ReplacingMergeTree',
      engineArgs: 'b',
      orderBy: ['a', 'toDate(b)'],
    })
    expect(parseCreateTable('CREATE TABLE t (a UInt8) ENGINE = MergeTree ORDER BY tuple()')?.orderBy).toEqual(
      [],
    )
    expect(parseCreateTable('SELECT 1')).toBeUndefined()
  })

  it('refuses a statement it has no cluster form for, naming the migration', () => {
    const odd = [{ version: 99, name: 'odd', statements: ['OPTIMIZE TABLE peers FINAL'] }]
    expect(() => clusterMigrations([...migrations, ...odd], target)).toThrow(/migration 99_odd on cluster/)
    const mixed = [
      { version: 98, name: 'mixed', statements: ['ALTER TABLE peers ADD COLUMN x UInt8, MODIFY TTL now()'] },
    ]
    expect(() => clusterMigrations([...migrations, ...mixed], target)).toThrow(/mixes column and other/)
    expect(() => clusterMigrations(migrations, { ...target, cluster: 'a b' })).toThrow(/cluster name/)
  })
})

describe('cluster DDL of every migration', () => {
  it('parses in chDB, and every statement but the backfill INSERTs runs ON CLUSTER', () => {
    for (const m of plan) {
      for (const sql of m.statements) {
        const f = formatted.get(sql) as string
        expect(f, sql).not.toBe('')
        if (/^INSERT\b/.test(sql)) expect(sql).not.toMatch(/ON CLUSTER/)
        else expect(f, sql).toMatch(/ ON CLUSTER rtcpulse\b/)
      }
    }
  })

  it('turns each MergeTree table into a replicated local table with the same columns and clauses', async () => {
    expect(creates.length).toBeGreaterThanOrEqual(10)
    const all = plan.flatMap((m) => m.statements)
    for (const { sql, t } of creates) {
      const name = t?.name as string
      const local = all.find(
        (s) => s.includes(`rtcpulse.${name}_local ON CLUSTER`) && /^CREATE TABLE/.test(s),
      )
      expect(local, name).toBeDefined()
      const f = formatted.get(local as string) as string
      expect(f).toContain(
        `ENGINE = Replicated${t?.engine}('/clickhouse/tables/{shard}/{database}/${name}', '{replica}'${t?.engineArgs ? `, ${t.engineArgs}` : ''})`,
      )
      // Everything but the name, ON CLUSTER and the engine is the one-server table, as chDB reads both.
      const strip = (s: string): string =>
        s.replace(/^CREATE TABLE IF NOT EXISTS \S+( ON CLUSTER \S+)?/, '').replace(/^ENGINE = .*$/m, '')
      expect(strip(f)).toBe(strip(await format(sql)))
    }
  })

  it('puts a Distributed table under each original name, sharded by (app, session) or by the sort key', () => {
    const all = plan.flatMap((m) => m.statements)
    for (const { t } of creates) {
      const name = t?.name as string
      const dist = all.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS rtcpulse.${name} ON CLUSTER`))
      const f = formatted.get(dist as string) as string
      expect(f).toContain(`AS rtcpulse.${name}_local`)
      const key = /ENGINE = Distributed\('rtcpulse', 'rtcpulse', '(\w+)', (.+)\)$/m.exec(f)
      expect(key?.[1]).toBe(`${name}_local`)
      const sortKey = t?.orderBy ?? []
      if (sortKey.includes('app_id') && sortKey.includes('session_id')) {
        expect(key?.[2]).toBe('cityHash64(app_id, session_id)')
      } else {
        // Rows that replace or aggregate into each other have equal sort keys, so they meet on one shard.
        expect(key?.[2]).toBe(`cityHash64(${sortKey.join(', ')})`)
      }
    }
    // The tables the collector and analyzer read per session are all sharded by it.
    for (const name of [
      'peers',
      'raw_frames',
      'events',
      'stream_seconds',
      'transport_seconds',
      'scores',
      'issues',
    ]) {
      expect(
        all.find((s) => s.includes(`'${name}_local', cityHash64(app_id, session_id))`)),
        name,
      ).toBeDefined()
    }
  })

  it('runs settings, projections and TTLs on the local tables, and column changes on both', () => {
    const all = plan.flatMap((m) => m.statements)
    const alters = all.filter((s) => s.startsWith('ALTER TABLE'))
    for (const a of alters) {
      const [, table, commands] = /^ALTER TABLE rtcpulse\.(\w+) ON CLUSTER rtcpulse (.*)$/s.exec(a) ?? []
      if (/^(ADD|DROP|MODIFY|RENAME|COMMENT) COLUMN/.test(commands ?? '')) continue
      expect(table, a).toMatch(/_local$/)
    }
    const addColumn = 'ADD COLUMN IF NOT EXISTS clock_skew_ms Nullable(Int32)'
    expect(all).toContain(`ALTER TABLE rtcpulse.peers_local ON CLUSTER rtcpulse ${addColumn}`)
    expect(all).toContain(`ALTER TABLE rtcpulse.peers ON CLUSTER rtcpulse ${addColumn}`)
  })

  it('makes each materialized view fire on a local table and write to a local table', () => {
    const views = plan.flatMap((m) => m.statements).filter((s) => /^CREATE MATERIALIZED VIEW/.test(s))
    expect(views.length).toBeGreaterThanOrEqual(2)
    for (const v of views) {
      const f = formatted.get(v) as string
      expect(f).toMatch(/ TO rtcpulse\.\w+_local\b/)
      expect(f).toMatch(/\bFROM rtcpulse\.\w+_local\b/)
    }
  })

  it('holds the migration ledger whole on every host', async () => {
    const sql = everywhereTable(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32) ENGINE = ReplacingMergeTree ORDER BY version',
      target,
    )
    expect(await format(sql)).toContain(
      "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/schema_migrations', '{shard}-{replica}')",
    )
  })
})

describe('deletion and retention on a cluster', () => {
  it('delete and change TTLs on the local tables ON CLUSTER, never on the Distributed ones', async () => {
    const db = guid('clhost')
    const host = await createChdbStore({ dataDir: testDataDir(), database: db })
    try {
      // A cluster host's layout, minus replication: chDB has no Keeper nor cluster, so `peers` stands in
      // for the Distributed table with a Merge table (also not a MergeTree) over `peers_local`.
      await host.exec(`CREATE TABLE peers_local (app_id String, session_id String, peer_id String, user_id String,
        connected_at DateTime64(3, 'UTC')) ENGINE = ReplacingMergeTree ORDER BY (app_id, session_id, peer_id)`)
      await host.exec(`CREATE TABLE peers AS peers_local ENGINE = Merge(currentDatabase(), '^peers_local$')`)
      await host.exec(`CREATE TABLE raw_frames_local (app_id String, session_id String, peer_id String,
        ts DateTime64(3, 'UTC')) ENGINE = ReplacingMergeTree ORDER BY (app_id, session_id, peer_id)
        TTL toDateTime(ts) + INTERVAL 7 DAY`)
      await host.insert('peers_local', [
        { app_id: 'a', session_id: 's1', peer_id: 'p1', user_id: 'u', connected_at: Date.now() },
      ])
      const ran: string[] = []
      const clustered: Store = {
        ...host,
        backend: 'clickhouse',
        database: db,
        cluster: 'rtcpulse',
        exec: (sql) => {
          ran.push(sql.replace(/\s+/g, ' '))
          return Promise.resolve()
        },
      }
      const result = await deleteData(clustered, { app: 'a', user: 'u' })
      expect(result).toEqual({ tables: ['raw_frames_local', 'peers_local'], targets: 1 })
      expect(ran).toEqual([
        expect.stringMatching(/^DELETE FROM `raw_frames_local` ON CLUSTER rtcpulse WHERE app_id = /),
        expect.stringMatching(/^DELETE FROM `peers_local` ON CLUSTER rtcpulse WHERE app_id = /),
      ])
      ran.length = 0
      expect(await applyRetention(clustered, new Map([['raw_frames', 3]]))).toEqual(['raw_frames'])
      expect(ran).toEqual([
        'ALTER TABLE `raw_frames_local` ON CLUSTER rtcpulse MODIFY TTL toDateTime(ts) + INTERVAL 3 DAY',
      ])
      for (const sql of ran) expect(await format(sql)).toContain('ON CLUSTER rtcpulse')
    } finally {
      await host.close()
    }
  })
})

describe('inserts on a cluster', () => {
  it('are asynchronous and waited for, except a batch with a deduplication token, sent as one block', async () => {
    expect(insertSettings('rtcpulse', undefined)).toEqual({ async_insert: 1, wait_for_async_insert: 1 })
    expect(insertSettings('rtcpulse', 'w1:stream_seconds:0')).toEqual({
      insert_deduplication_token: 'w1:stream_seconds:0',
    })
    expect(insertSettings(undefined, undefined)).toEqual({})
    // Every setting named is one ClickHouse knows (a misspelt one would fail every request).
    const names = [...Object.keys(CLUSTER_SETTINGS), ...Object.keys(insertSettings('c', undefined))]
    const known = await store.query<{ name: string }>(
      'SELECT name FROM system.settings WHERE name IN {names:Array(String)}',
      { names },
    )
    expect(known.map((k) => k.name).sort()).toEqual([...names].sort())
  })
})

describe('a cluster for the embedded store', () => {
  it('is refused with a message saying what to set, before anything is created', async () => {
    const open = openStore({
      dataDir: testDataDir(),
      database: guid('cl'),
      clickhouse: undefined,
      cluster: 'rtcpulse',
    })
    await expect(open).rejects.toThrow(
      /CLICKHOUSE_CLUSTER=rtcpulse needs a ClickHouse server: set CLICKHOUSE_URL/,
    )
  })
})

describe('cluster DDL run on one host', () => {
  // chDB has neither Keeper nor remote_servers, so ON CLUSTER is dropped, each replicated engine runs
  // unreplicated, and each Distributed table becomes a Buffer that writes every block straight through
  // to its local table (max_rows 0) and reads it: one shard, one replica. What remains is every statement
  // of the cluster form, run in order by ClickHouse itself.
  const oneHost = (sql: string): string =>
    sql
      .replace(/ ON CLUSTER rtcpulse\b/, '')
      .replace(/Replicated(\w*MergeTree)\('[^']*', '[^']*'(?:, )?/, '$1(')
      .replace(
        /ENGINE = Distributed\('rtcpulse', '(\w+)', '(\w+)', .+\)$/,
        'ENGINE = Buffer($1, $2, 1, 0, 0, 0, 0, 0, 0)',
      )

  it('applies, gives each table the columns of the one-server schema, and feeds the rollups', async () => {
    const db = guid('clrun')
    const host = await createChdbStore({ dataDir: testDataDir(), database: db })
    const single = await createChdbStore({ dataDir: testDataDir(), database: guid('one') })
    try {
      for (const sql of clusterMigrations(migrations, { cluster: 'rtcpulse', database: db }).flatMap(
        (m) => m.statements,
      )) {
        await host.exec(oneHost(sql))
      }
      await migrate(single)
      const columns = async (st: Store, table: string): Promise<string[]> =>
        (
          await st.query<{ c: string }>(
            `SELECT concat(name, ' ', type) AS c FROM system.columns
             WHERE database = {db:String} AND table = {t:String} ORDER BY position`,
            { db: st.database, t: table },
          )
        ).map((r) => r.c)
      for (const { t } of creates) {
        const name = t?.name as string
        const want = await columns(single, name)
        expect(want.length, name).toBeGreaterThan(3)
        expect(await columns(host, name), name).toEqual(want)
        expect(await columns(host, `${name}_local`), `${name}_local`).toEqual(want)
      }
      // A frame written twice through the front table: one row under FINAL, and the view on the local
      // table rolled it into the local rollup.
      const row = {
        app_id: 'a',
        session_id: 's',
        peer_id: 'p',
        pc_id: 'c',
        stream_id: 'x',
        seq: 1,
        ts: Date.now(),
        interval_ms: 1000,
        direction: 'inbound',
        kind: 'video',
        ssrc: 1,
        codec: 'VP8',
        active: 1,
        bitrate_bps: 1000,
      }
      await host.insert('stream_seconds', [row])
      await host.insert('stream_seconds', [row])
      const [final] = await host.query<{ n: number }>('SELECT count() AS n FROM stream_seconds FINAL')
      expect(final?.n).toBe(1)
      const [rolled] = await host.query<{ ms: number }>(
        'SELECT sum(stream_ms) AS ms FROM stream_minutes_local',
      )
      expect(rolled?.ms).toBeGreaterThan(0)
    } finally {
      await host.close()
      await single.close()
    }
  })
})
