// The per-minute rollups (store/migrations/009_fleet_rollups.sql) are fed by materialized views, which
// see every inserted block: unlike the per-second tables (ReplacingMergeTree), they cannot collapse a
// row stored twice. This file guards that they never get one (invariant 1 for aggregates): a frame
// resent after a reconnect is not inserted again, and a batch write the collector retries after it
// reached the store is dropped by its deduplication token. Either way the rollup must equal the deduped
// per-second table, and so must the hourly rollups chained on the per-minute ones
// (014_fleet_hours.sql). It also guards that browser, OS and SDK from the hello land on the per-second rows.
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createIngest } from '../../collector/ingest.ts'
import { COLUMNS, objectLine } from '../../collector/rows.ts'
import { Registry } from '../../lib/metrics.ts'
import type { WelcomeFrame, ServerFrame } from '../../core/protocol.ts'
import { StoreError } from '../../store/index.ts'
import type { InsertOptions, Store, TsvRows } from '../../store/index.ts'
import { openStore } from '../../store/open.ts'
import { startTestCollector, guid, testDataDir } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { FaultyStore } from '../helpers/fault-store.ts'
import { reportSequence } from '../helpers/reports.ts'
import { connect, helloFor, keyframeAt, statsFrames } from '../helpers/stream-client.ts'

const FIREFOX = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.6; rv:133.0) Gecko/20100101 Firefox/133.0'
const isWelcome = (f: ServerFrame): f is WelcomeFrame => f.t === 'welcome'

/** Stream-milliseconds of `session`: in the deduped per-second table, in all its rows, in the rollups. */
async function totals(
  store: Store,
  session: string,
): Promise<{ final: number; raw: number; rollup: number; hours: number }> {
  const one = async (sql: string): Promise<number> =>
    Number((await store.query<{ n: number }>(sql, { s: session }))[0]?.n ?? -1)
  return {
    final: await one('SELECT sum(interval_ms) AS n FROM stream_seconds FINAL WHERE session_id = {s:String}'),
    raw: await one('SELECT sum(interval_ms) AS n FROM stream_seconds WHERE session_id = {s:String}'),
    // The rollup has no session column; each test's app is its own.
    rollup: await one(
      `SELECT sum(stream_ms) AS n FROM stream_minutes
       WHERE app_id = (SELECT any(app_id) FROM stream_seconds WHERE session_id = {s:String})`,
    ),
    hours: await one(
      `SELECT sum(stream_ms) AS n FROM stream_hours
       WHERE app_id = (SELECT any(app_id) FROM stream_seconds WHERE session_id = {s:String})`,
    ),
  }
}

describe('fleet rollups through the collector', () => {
  let c: TestCollector
  beforeAll(async () => {
    c = await startTestCollector()
  })
  afterAll(async () => {
    await c?.stop()
  })

  it('stores browser, OS and SDK of the hello on every per-second row', async () => {
    const session = guid('dims')
    const client = await connect(c.streamUrl)
    client.send(helloFor(session, { app: session, ua: FIREFOX, sdk: 'rtcpulse-js/9.9.9' }))
    await client.waitFor(isWelcome)
    for (const f of statsFrames('pc1', reportSequence('sender', 4))) client.send(f)
    await client.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 4)
    client.close()
    for (const table of ['stream_seconds', 'transport_seconds']) {
      const rows = await c.store.query<{ browser: string; os: string; sdk_version: string }>(
        `SELECT DISTINCT browser, os, sdk_version FROM ${table} WHERE session_id = {s:String}`,
        { s: session },
      )
      expect(rows, table).toEqual([{ browser: 'Firefox 133', os: 'macOS', sdk_version: 'rtcpulse-js/9.9.9' }])
    }
    const groups = await c.store.query<{ browser: string; os: string }>(
      'SELECT DISTINCT browser, os FROM stream_minutes WHERE app_id = {s:String}',
      { s: session },
    )
    expect(groups).toEqual([{ browser: 'Firefox 133', os: 'macOS' }])
  })

  it('counts a resent frame once: frames at or below the resume point are not inserted again', async () => {
    const session = guid('resend')
    const reports = reportSequence('sender', 16)
    const frames = statsFrames('pc1', reports)
    const first = await connect(c.streamUrl)
    first.send(helloFor(session, { app: session }))
    await first.waitFor(isWelcome)
    for (const f of frames.slice(0, 10)) first.send(f)
    await first.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 10)
    first.ws.terminate()
    await new Promise((r) => setTimeout(r, 200))
    const before = await totals(c.store, session)
    expect(before.rollup).toBe(before.final)
    expect(before.hours).toBe(before.final)

    // A naive client resends everything from seq 1 (the SDK resends what it has not seen acked), then
    // goes on with new frames.
    const second = await connect(c.streamUrl)
    second.send(helloFor(session, { app: session }))
    const welcome = await second.waitFor(isWelcome)
    expect(welcome.resume.pc1).toBe(10)
    second.send(keyframeAt('pc1', reports, 0, 1))
    for (const f of frames.slice(1)) second.send(f)
    await second.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 16)
    second.close()

    const after = await totals(c.store, session)
    expect(after.raw).toBe(after.final) // nothing inserted twice
    expect(after.rollup).toBe(after.final)
    expect(after.hours).toBe(after.final)
    expect(after.final).toBeGreaterThan(before.final)
  })
})

/** Lets the first write of `table` reach the store, then reports it failed with a connection error. */
class LostAckStore extends FaultyStore {
  lost = 0
  constructor(
    inner: Store,
    private readonly table: string,
  ) {
    super(inner)
  }
  override async insert(
    table: string,
    rows: readonly object[] | TsvRows,
    options?: InsertOptions,
  ): Promise<void> {
    await super.insert(table, rows, options)
    if (table === this.table && this.lost === 0) {
      this.lost++
      throw new StoreError(`insert into ${table} failed: socket hang up (injected after the write)`, true)
    }
  }
}

describe('fleet rollups under a retried write', () => {
  let inner: Store
  beforeAll(async () => {
    inner = await openStore({ dataDir: testDataDir(), database: guid('retry'), clickhouse: undefined })
  })
  afterAll(async () => {
    await inner.close()
  })

  it('drops the retry of a write that reached the store, in the table and in its rollup', async () => {
    const store = new LostAckStore(inner, 'stream_seconds')
    const ingest = createIngest({
      store,
      maxRows: 10_000,
      maxDelayMs: 10,
      retryMinMs: 10,
      log: pino({ level: 'silent' }),
      metrics: new Registry(),
    })
    const session = guid('retry')
    const ts = Date.now()
    const rows = Array.from({ length: 30 }, (_, i) => ({
      app_id: session,
      session_id: session,
      peer_id: 'p',
      pc_id: 'pc1',
      stream_id: 'v',
      browser: 'Safari 18',
      os: 'iOS',
      seq: i + 1,
      ts: ts + i * 1000,
      interval_ms: 1000,
      direction: 'inbound',
      kind: 'video',
      codec: 'H264',
      active: 1,
      loss_ratio: 0.01,
    }))
    await ingest.add({ stream_seconds: rows.map((r) => objectLine(COLUMNS.stream_seconds, r)) }, 30)
    await ingest.close()
    expect(store.lost).toBe(1) // the write was retried
    const t = await totals(inner, session)
    expect(t.final).toBe(30_000)
    expect(t.raw).toBe(30_000) // the retry was dropped by its token…
    expect(t.rollup).toBe(30_000) // …and so was the block the view derived from it
    expect(t.hours).toBe(30_000) // …and the one the chained view derived from that
  })
})
