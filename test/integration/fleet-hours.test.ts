// The hourly rollups (store/migrations/014_fleet_hours.sql) are fed by views chained on the per-minute
// ones of 009, and the fleet panels read the whole hours of a range from them and the range's partial
// hours from the minutes (dashboards/grafana/rollups.ts). A fleet figure must not depend on which level
// answered it. This file guards that on rows inserted through the per-second tables: every hour holds
// what its minutes hold; the panels' reads over ranges with mid-hour edges give what the minutes alone
// give; and migrating a store that already holds minutes fills its hours once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HOURS_FIT_POINTS, POINT, rollupRows } from '../../dashboards/grafana/rollups.ts'
import { createChdbStore } from '../../store/chdb.ts'
import type { Store } from '../../store/index.ts'
import { migrate, readMigrations } from '../../store/migrate.ts'
import { guid, testDataDir } from '../helpers/collector.ts'
import { expandQuery } from '../helpers/dashboards-macros.ts'

const HOUR = 3_600_000
const BROWSERS = [
  ['Chrome 131', 'Windows'],
  ['Firefox 133', 'Linux'],
  ['Safari 18', 'iOS'],
] as const
const CODECS = ['VP8', 'H264', 'AV1'] as const

/**
 * Per-second rows of `sessions` ten-minute sessions of `app` (numbered from `first`) starting every 7
 * minutes from `t0`
 * (so they straddle hour boundaries), each with an inbound video and an outbound audio stream and one
 * transport; values vary by session and second, some are null. One insert per session and table, as
 * the collector writes batches: the views see many blocks.
 */
async function insertSessions(
  store: Store,
  app: string,
  t0: number,
  sessions: number,
  first = 0,
): Promise<void> {
  for (let s = first; s < first + sessions; s++) {
    const [browser, os] = BROWSERS[s % BROWSERS.length] as readonly [string, string]
    const common = { app_id: app, session_id: `s${s}`, peer_id: `p${s}`, pc_id: 'pc1', browser, os }
    const start = t0 + (s - first) * 7 * 60_000
    const streams: object[] = []
    const transport: object[] = []
    for (let i = 0; i < 600; i++) {
      const ts = start + i * 1000
      const v = ((s * 601 + i * 37) % 97) / 97 // 0–1, varies by session and second
      const shared = { ...common, seq: i + 1, ts, interval_ms: 1000 }
      streams.push(
        {
          ...shared,
          stream_id: 'v',
          direction: 'inbound',
          kind: 'video',
          ssrc: 1,
          codec: CODECS[s % CODECS.length],
          active: 1,
          bitrate_bps: 500_000 + 1_000_000 * v,
          loss_ratio: i % 11 === 0 ? null : v / 20,
          frozen_share: v > 0.9 ? v : 0,
          fps: 24 + 6 * v,
          rtt_ms: 20 + 300 * v,
        },
        {
          ...shared,
          stream_id: 'a',
          direction: 'outbound',
          kind: 'audio',
          ssrc: 2,
          codec: 'opus',
          active: 1,
          bitrate_bps: 32_000 + 8_000 * v,
          rtt_ms: i % 5 === 0 ? null : 25 + 200 * v,
        },
      )
      transport.push({
        ...shared,
        pair_id: 'cp1',
        rtt_ms: 20 + 300 * v,
        local_type: s % 4 === 1 ? 'relay' : 'host',
        remote_type: 'srflx',
      })
    }
    await store.insert('stream_seconds', streams)
    await store.insert('transport_seconds', transport)
  }
}

// What both levels hold, per hour and group, merged: exact sums, and the states' results.
const STREAM_FIGURES = `sum(stream_ms) AS stream_ms, uniqMerge(sessions) AS sessions,
  round(avgMerge(loss), 9) AS loss, round(avgMerge(frozen), 9) AS frozen, round(avgMerge(fps), 6) AS fps,
  round(avgMerge(bitrate), 3) AS bitrate, quantilesBFloat16Merge(0.5, 0.95)(rtt) AS rtt`
const TRANSPORT_FIGURES = `uniqMerge(connections) AS connections, quantilesBFloat16Merge(0.5, 0.95)(rtt) AS rtt`

/** Each hour's figures of `rollup`, from its hourly table and from its minutes. */
async function byHour(
  store: Store,
  rollup: 'stream' | 'transport',
  app: string,
): Promise<[object[], object[]]> {
  const [groups, figures] =
    rollup === 'stream'
      ? ['browser, os, codec, direction, kind', STREAM_FIGURES]
      : ['browser, os, relay', TRANSPORT_FIGURES]
  const read = (table: string, hour: string): Promise<object[]> =>
    store.query(
      `SELECT ${hour} AS h, ${groups}, ${figures} FROM ${table} WHERE app_id = {app:String}
       GROUP BY h, ${groups} ORDER BY h, ${groups}`,
      { app },
    )
  return [await read(`${rollup}_hours`, 'hour'), await read(`${rollup}_minutes`, 'toStartOfHour(minute)')]
}

/** A panel-like read of `rollup` over [from, to]: `select` over the rows of rollupRows, all rows returned. */
async function panel(
  store: Store,
  select: string,
  range: { from: number; to: number; intervalMs?: number },
  app: string,
): Promise<object[]> {
  const sql = expandQuery(select, {
    from: new Date(range.from),
    to: new Date(range.to),
    intervalMs: range.intervalMs ?? 60_000,
    vars: { app: [app] },
  })
  return store.query(sql)
}

describe('hourly fleet rollups', () => {
  let store: Store
  const app = guid('hours')
  // Hours of data ending before now (the tables have TTLs); the test reads ranges inside them.
  const t0 = Math.floor(Date.now() / HOUR) * HOUR - 6 * HOUR + 13 * 60_000

  beforeAll(async () => {
    store = await createChdbStore({ dataDir: testDataDir(), database: guid('hours') })
    await migrate(store)
    await insertSessions(store, app, t0, 40) // 40 sessions × 7 min: t0 … t0 + 4 h 43 min
  }, 120_000)
  afterAll(async () => {
    await store?.close()
  })

  it('holds in each hour what its minutes hold', async () => {
    for (const rollup of ['stream', 'transport'] as const) {
      const [hours, minutes] = await byHour(store, rollup, app)
      expect(hours.length, rollup).toBeGreaterThan(10)
      expect(hours, rollup).toEqual(minutes)
    }
    // …and the minutes what the per-second rows hold.
    const [rows] = await store.query<{ ms: number; rollup: number }>(
      `SELECT (SELECT sum(interval_ms) FROM stream_seconds WHERE app_id = {app:String}) AS ms,
              (SELECT sum(stream_ms) FROM stream_hours WHERE app_id = {app:String}) AS rollup`,
      { app },
    )
    expect(Number(rows?.rollup)).toBe(40 * 600 * 2 * 1000)
    expect(Number(rows?.rollup)).toBe(Number(rows?.ms))
  })

  // Ranges with edges inside hours, on hours, inside one hour, and over a day (hourly points).
  const start = (): number => Math.floor(t0 / HOUR) * HOUR
  const ranges = (): Array<[string, { from: number; to: number; intervalMs?: number }]> => [
    [
      'mid-hour edges',
      { from: start() + 25 * 60_000 + 30_000, to: start() + 4 * HOUR + 17 * 60_000 + 5_000 },
    ],
    ['edges on the hour', { from: start() + HOUR, to: start() + 4 * HOUR - 60_000 }],
    [
      'an hour short of its last minute',
      { from: start() + HOUR, to: start() + 3 * HOUR + 58 * 60_000 + 30_000 },
    ],
    ['within one hour', { from: start() + HOUR + 5 * 60_000, to: start() + HOUR + 50 * 60_000 }],
    [
      'over a day',
      { from: start() + 3 * HOUR + 40 * 60_000 - 24 * HOUR, to: start() + 5 * HOUR + 10 * 60_000 },
    ],
    ['hourly points', { from: start() + 10 * 60_000, to: start() + 5 * HOUR, intervalMs: HOUR }],
  ]

  it('reads the same figures over a range from hours and edge minutes as from minutes alone', async () => {
    const minutesOnly = '0'
    for (const [label, range] of ranges()) {
      for (const [rollup, groups, figures] of [
        ['stream', 'browser, os, codec, direction, kind', STREAM_FIGURES],
        ['transport', 'browser, os, relay', TRANSPORT_FIGURES],
      ] as const) {
        const columns = `${groups}, ${rollup === 'stream' ? 'stream_ms, sessions, loss, frozen, fps, bitrate, rtt' : 'connections, rtt'}`
        const read = (hours?: string): Promise<object[]> =>
          panel(
            store,
            `SELECT ${groups}, ${figures} FROM ${rollupRows(rollup, columns, '', hours)}
             GROUP BY ${groups} ORDER BY ${groups}`,
            range,
            app,
          )
        const whole = await read()
        expect(whole.length, `${label} ${rollup}`).toBeGreaterThan(0)
        expect(whole, `${label} ${rollup}`).toEqual(await read(minutesOnly))
      }
      // A time series: its points from hours when they are whole hours, else from minutes.
      const series = (hours: string): Promise<object[]> =>
        panel(
          store,
          `SELECT ${POINT} AS time, browser, sum(stream_ms) AS ms, round(avgMerge(loss), 9) AS loss,
                  quantilesBFloat16Merge(0.5, 0.95)(rtt) AS rtt
           FROM ${rollupRows('stream', 'browser, stream_ms, loss, rtt', "direction = 'inbound'", hours)}
           GROUP BY time, browser ORDER BY time, browser`,
          range,
          app,
        )
      expect(await series(HOURS_FIT_POINTS), label).toEqual(await series(minutesOnly))
    }
  })

  it("gives a plain per-minute read's stream time over each range", async () => {
    // The reference above is rollupRows itself with hours off: this one is written by hand.
    for (const [label, range] of ranges()) {
      const [viaRows] = await panel(
        store,
        `SELECT sum(stream_ms) AS ms FROM ${rollupRows('stream', 'stream_ms')}`,
        range,
        app,
      )
      const [plain] = await panel(
        store,
        `SELECT sum(stream_ms) AS ms FROM stream_minutes WHERE $__timeFilter(minute) AND app_id = '${app}'`,
        range,
        app,
      )
      expect(viaRows, label).toEqual(plain)
    }
  })
})

describe('migration 014 on a store with minutes', () => {
  it('rolls the stored minutes into hours once, and the views roll up what comes after', async () => {
    const store = await createChdbStore({ dataDir: testDataDir(), database: guid('backfill') })
    try {
      const all = readMigrations()
      const hours = all.find((m) => m.name === 'fleet_hours')
      expect(hours).toBeDefined()
      await migrate(
        store,
        all.filter((m) => m.version < (hours?.version ?? 0)),
      )
      const app = 'backfilled'
      const t0 = Math.floor(Date.now() / HOUR) * HOUR - 5 * HOUR + 13 * 60_000
      await insertSessions(store, app, t0, 20)
      expect(await migrate(store)).toContain(hours?.version)

      const agree = async (label: string): Promise<void> => {
        for (const rollup of ['stream', 'transport'] as const) {
          const [h, m] = await byHour(store, rollup, app)
          expect(h.length, `${label} ${rollup}`).toBeGreaterThan(5)
          expect(h, `${label} ${rollup}`).toEqual(m)
        }
      }
      await agree('after the migration')
      // A crash before the migration was recorded runs its statements again: nothing counts twice.
      for (const sql of hours?.statements ?? []) await store.exec(sql)
      await agree('after running it again')
      // Rows after the migration reach the hours through the views.
      await insertSessions(store, 'after', t0, 5)
      await insertSessions(store, app, t0 + 3 * HOUR, 5, 20)
      await agree('after new rows')
    } finally {
      await store.close()
    }
  }, 120_000)
})
