// The one store suite that every backend runs (the pattern of hono's common router tests): the collector
// and analyzer rely on exactly these behaviours, whichever ClickHouse is behind the Store.
import { describe, expect, it } from 'vitest'
import { StoreError } from '../store/index.ts'
import type { Store } from '../store/index.ts'
import { migrate } from '../store/migrate.ts'

// Rows use recent timestamps: tables have TTLs, and ClickHouse may drop rows that are expired on arrival.

export interface StoreSuiteOptions {
  name: string
  /** Opens a store on a database of its own (fresh per call). */
  open: () => Promise<Store>
}

export function runStoreSuite({ name, open }: StoreSuiteOptions): void {
  describe(`store: ${name}`, () => {
    it('migrates once and is idempotent', async () => {
      const store = await open()
      try {
        expect((await migrate(store)).length).toBeGreaterThan(0)
        expect(await migrate(store)).toEqual([])
        const tables = await store.query<{ name: string }>(
          'SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name',
          { db: store.database },
        )
        expect(tables.map((t) => t.name)).toEqual(
          expect.arrayContaining([
            'events',
            'peers',
            'raw_frames',
            'schema_migrations',
            'stream_seconds',
            'transport_seconds',
          ]),
        )
      } finally {
        await store.close()
      }
    })

    it('applies the merge tuning, and skips a table setting the server does not know', async () => {
      const store = await open()
      try {
        await migrate(store)
        const [ddl] = await store.query<{ statement: string }>('SHOW CREATE TABLE stream_seconds')
        expect(ddl?.statement).toMatch(/merge_selector_base = 20/)
        const skipped: string[] = []
        const tuning = {
          version: 901,
          name: 'tuning',
          statements: ['ALTER TABLE events MODIFY SETTING no_such_setting_rtcpulse = 1'],
        }
        expect(await migrate(store, [tuning], skipped)).toEqual([901])
        expect(skipped).toEqual([expect.stringMatching(/^901: .*no_such_setting_rtcpulse/) as unknown])
        // Anything else that fails still stops the migration, unrecorded.
        const broken = {
          version: 902,
          name: 'broken',
          statements: ['ALTER TABLE no_such_table_rtcpulse ADD COLUMN x UInt8'],
        }
        await expect(migrate(store, [broken])).rejects.toBeInstanceOf(StoreError)
        const versions = await store.query<{ version: number }>('SELECT version FROM schema_migrations FINAL')
        expect(versions.map((v) => v.version)).not.toContain(902)
      } finally {
        await store.close()
      }
    })

    it('round-trips rows with bound parameters, including hostile strings', async () => {
      const store = await open()
      try {
        await migrate(store)
        const evil = "x'); DROP TABLE events; --"
        await store.insert('events', [
          {
            app_id: 'a',
            session_id: evil,
            peer_id: 'p',
            pc_id: 'pc',
            seq: 1,
            ts: 1_795_480_564_177,
            name: 'n',
            data: '{}',
          },
        ])
        const rows = await store.query<{ session_id: string; seq: number; ms: number }>(
          'SELECT session_id, seq, toUnixTimestamp64Milli(ts) AS ms FROM events WHERE session_id = {s:String}',
          { s: evil },
        )
        expect(rows).toEqual([{ session_id: evil, seq: 1, ms: 1_795_480_564_177 }])
        expect(typeof rows[0]?.seq).toBe('number')
      } finally {
        await store.close()
      }
    })

    it('collapses a resent frame into one row (dedupe on app, session, peer, pc, seq)', async () => {
      const store = await open()
      try {
        await migrate(store)
        const row = {
          app_id: 'a',
          session_id: 's',
          peer_id: 'p',
          pc_id: 'pc',
          seq: 7,
          ts: Date.now(),
          type: 'stats',
          gap: 0,
          frame: '{}',
        }
        await store.insert('raw_frames', [row])
        await store.insert('raw_frames', [row, { ...row, seq: 8 }])
        const [final] = await store.query<{ n: number }>('SELECT count() AS n FROM raw_frames FINAL')
        expect(final?.n).toBe(2)
      } finally {
        await store.close()
      }
    })

    it('stores NULL rates as NULL, not zero', async () => {
      const store = await open()
      try {
        await migrate(store)
        await store.insert('stream_seconds', [
          {
            app_id: 'a',
            session_id: 's',
            peer_id: 'p',
            pc_id: 'pc',
            stream_id: 'v',
            seq: 1,
            ts: Date.now(),
            direction: 'outbound',
            kind: 'video',
            bitrate_bps: null,
            fps: 29.5,
          },
        ])
        const rows = await store.query<{ bitrate_bps: number | null; fps: number }>(
          'SELECT bitrate_bps, fps FROM stream_seconds',
        )
        expect(rows).toEqual([{ bitrate_bps: null, fps: 29.5 }])
      } finally {
        await store.close()
      }
    })

    it('rejects bad SQL with a non-retryable StoreError', async () => {
      const store = await open()
      try {
        const err = await store.query('SELECT * FROM no_such_table').catch((e: unknown) => e)
        expect(err).toBeInstanceOf(StoreError)
        expect((err as StoreError).retryable).toBe(false)
        expect((err as StoreError).message).toMatch(/no_such_table/)
      } finally {
        await store.close()
      }
    })

    it('answers ping while open', async () => {
      const store = await open()
      expect(await store.ping()).toEqual({ ok: true })
      await store.close()
    })
  })
}
