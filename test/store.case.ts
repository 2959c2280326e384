// The one store suite that every backend runs (the pattern of hono's common router tests): the collector
// and analyzer rely on exactly these behaviours, whichever ClickHouse is behind the Store.
import { describe, expect, it } from 'vitest'
import { StoreError } from '../store/index.ts'
import type { Store } from '../store/index.ts'
import { migrate } from '../store/migrate.ts'
import { tsvMap, tsvNumber, tsvString } from '../store/tsv.ts'

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

    it('stores TabSeparated lines exactly as their JSONEachRow twins, hostile strings and NULLs included', async () => {
      const store = await open()
      try {
        await migrate(store)
        // Every character TabSeparated escapes, the escape sequences themselves as text, quotes, an
        // empty string, control characters, and Unicode beyond the BMP, in String and Map columns.
        const hostile = [
          'tab\there',
          'line\nfeed\r\nCRLF',
          'back\\slash\\',
          '\\N',
          '\\t not a tab',
          'nul\0bs\bff\f',
          `quotes ' " \\'`,
          '',
          '\x01\x1f\x7f',
          'é ü 中文 😀 \u2028 \u202e',
        ]
        const ts = Date.now()
        const peers = hostile.map((h, i) => ({
          app_id: 'a',
          session_id: `s${i}`,
          peer_id: h,
          user_id: h,
          sdk_version: h,
          user_agent: h,
          browser: h,
          os: h,
          metadata: { [h]: h, plain: 'v', [`k${i}`]: `x${h}y` },
          remote_addr: h,
          connected_at: ts + i,
          clock_skew_ms: i % 2 ? null : -i,
        }))
        const columns = Object.keys(peers[0] as object)
        const line = (p: (typeof peers)[number]): string =>
          [
            ...[
              p.app_id,
              p.session_id,
              p.peer_id,
              p.user_id,
              p.sdk_version,
              p.user_agent,
              p.browser,
              p.os,
            ].map(tsvString),
            tsvMap(p.metadata),
            tsvString(p.remote_addr),
            String(p.connected_at),
            tsvNumber(p.clock_skew_ms),
          ].join('\t') + '\n'
        await store.insert('peers', peers)
        await store.insert('peers', {
          format: 'TabSeparated',
          columns,
          lines: peers.map((p) => line({ ...p, app_id: 'b' })),
        })
        const read = (app: string): Promise<Record<string, unknown>[]> =>
          store.query(
            `SELECT * EXCEPT app_id, toUnixTimestamp64Milli(connected_at) AS ms FROM peers
             WHERE app_id = {app:String} ORDER BY session_id`,
            { app },
          )
        const json = await read('a')
        expect(json).toHaveLength(hostile.length)
        expect(json.map((r) => r.peer_id)).toEqual(hostile)
        expect(await read('b')).toEqual(json)
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
