// Guards issue 13's "analyzers that share the work": any number of analyzer instances on one store score
// each session exactly once — one final score row per session (counted without FINAL, so a second
// finalisation would show) and one count in the sum of the instances' counters — and when an instance
// stops or dies (its heartbeat expires) the others take its sessions over from the store.
// Two analyzers run in this process on two Store handles over one chDB folder, on one clock the test
// moves (ticks of 1 s, shorter than the membership lifetime, as the real loop beats every interval).
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BUCKET_SQL, BUCKETS, bucketOf, ownerOfBucket } from '../../analyzer/members.ts'
import { createAnalyzer } from '../../analyzer/scheduler.ts'
import type { Analyzer } from '../../analyzer/scheduler.ts'
import { createChdbStore } from '../../store/chdb.ts'
import type { Store } from '../../store/index.ts'
import { migrate } from '../../store/migrate.ts'
import { storeRecordedSessions } from '../helpers/analyzer-sessions.ts'
import { guid } from '../helpers/collector.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'rtcpulse-sharing-'))
const APP = 'share'
const SESSIONS = 40
const CONFIG = {
  intervalMs: 1000,
  windowMs: 60_000,
  idleMs: 10_000,
  lookbackMs: 900_000,
  expectedFps: 30,
  batchSize: 16,
  memberTtlMs: 5000,
}

interface World {
  stores: Store[]
  clock: { t: number }
  analyzer(name: string, store?: Store): Analyzer
}

async function world(): Promise<World> {
  const database = guid('share')
  const stores = [await createChdbStore({ dataDir, database }), await createChdbStore({ dataDir, database })]
  await migrate(stores[0] as Store)
  // The recording ends 2 s before the analyzers' clock starts: frames just arrived.
  const endMs = Date.now() - 60_000
  await storeRecordedSessions(stores[0] as Store, APP, 's', SESSIONS, endMs)
  const clock = { t: endMs + 2000 }
  return {
    stores,
    clock,
    analyzer: (name, store = stores[name === 'a' ? 0 : 1]) =>
      createAnalyzer({
        store: store as Store,
        log: pino({ level: 'silent' }),
        config: CONFIG,
        instance: `analyzer-${name}`,
        now: () => clock.t,
      }),
  }
}

/** Final session rows per session, without FINAL: a second finalisation is a second row. */
async function finals(store: Store): Promise<{ rows: number; sessions: number }> {
  const [r] = await store.query<{ rows: number; sessions: number }>(
    `SELECT count() AS rows, uniqExact(session_id) AS sessions FROM scores
     WHERE app_id = {app:String} AND peer_id = '' AND final = 1`,
    { app: APP },
  )
  return r ?? { rows: 0, sessions: 0 }
}

const scored = (a: Analyzer): Promise<number> => a.metrics.scored.get({ app: APP })

/** Moves the clock `seconds` times by 1 s, each time running a pass of every analyzer given. */
async function run(w: World, seconds: number, ...analyzers: Analyzer[]): Promise<void> {
  for (let i = 0; i < seconds; i++) {
    w.clock.t += 1000
    for (const a of analyzers) await a.tick()
  }
}

const opened: Store[] = []
afterAll(async () => {
  for (const s of opened) await s.close()
})

describe('analyzers sharing one store', () => {
  let probe: Store
  beforeAll(async () => {
    probe = await createChdbStore({ dataDir, database: 'default' })
    opened.push(probe)
  })

  it('puts a session in the same bucket in SQL and in TypeScript, and spreads the buckets', async () => {
    const sessions = Array.from({ length: 300 }, (_, i) => `session-${i}-ü`)
    const rows = await probe.query<{ session_id: string; bucket: number }>(
      `SELECT session_id, ${BUCKET_SQL} AS bucket
       FROM (SELECT 'app' AS app_id, arrayJoin({sessions:Array(String)}) AS session_id)`,
      { sessions },
    )
    expect(rows.map((r) => [r.session_id, r.bucket])).toEqual(sessions.map((s) => [s, bucketOf('app', s)]))
    const members = ['analyzer-a', 'analyzer-b', 'analyzer-c']
    const buckets = Array.from({ length: BUCKETS }, (_, b) => b)
    // Rendezvous hashing spreads the buckets: each member holds roughly a third.
    for (const m of members) {
      const mine = buckets.filter((b) => ownerOfBucket(members, b) === m).length
      expect(mine).toBeGreaterThan(BUCKETS / 3 - 80)
      expect(mine).toBeLessThan(BUCKETS / 3 + 80)
    }
    // A member leaving moves only its own buckets.
    const moved = buckets.filter(
      (b) =>
        ownerOfBucket(members, b) !== 'analyzer-c' &&
        ownerOfBucket(members, b) !== ownerOfBucket(['analyzer-a', 'analyzer-b'], b),
    )
    expect(moved).toEqual([])
  })

  it('scores every session exactly once between two analyzers', { timeout: 240_000 }, async () => {
    const w = await world()
    opened.push(...w.stores)
    const [a, b] = [w.analyzer('a'), w.analyzer('b')]
    // The view filed every session under the bucket the analyzers compute.
    const activity = await (w.stores[0] as Store).query<{ session_id: string; bucket: number }>(
      `SELECT DISTINCT session_id, bucket FROM session_activity WHERE app_id = {app:String} ORDER BY session_id`,
      { app: APP },
    )
    expect(activity.length).toBe(SESSIONS)
    for (const r of activity) expect(r.bucket).toBe(bucketOf(APP, r.session_id))
    // Both start together: the first pass of a alone sees itself and scores every session live; b's
    // first pass sees both and takes its share over from the live rows, a drops it at its next pass.
    await a.tick()
    await b.tick()
    await run(w, 2, a, b)
    const liveA = await a.metrics.registry.render()
    const liveB = await b.metrics.registry.render()
    const live = (text: string): number => Number(/live_sessions\{app="share"\} (\d+)/.exec(text)?.[1] ?? 0)
    expect(live(liveA) + live(liveB)).toBe(SESSIONS)
    expect(live(liveA)).toBeGreaterThan(0)
    expect(live(liveB)).toBeGreaterThan(0)
    // No frame arrives any more: every session is idle after 10 s and finalised by its owner.
    await run(w, 12, a, b)
    expect(await finals(w.stores[0] as Store)).toEqual({ rows: SESSIONS, sessions: SESSIONS })
    expect((await scored(a)) + (await scored(b))).toBe(SESSIONS)
    expect(await scored(a)).toBeGreaterThan(0)
    expect(await scored(b)).toBeGreaterThan(0)
    // More passes, a restarted instance: nothing is finalised or counted again.
    const c = w.analyzer('c', w.stores[0])
    await run(w, 3, a, b, c)
    expect(await finals(w.stores[0] as Store)).toEqual({ rows: SESSIONS, sessions: SESSIONS })
    expect((await scored(a)) + (await scored(b)) + (await scored(c))).toBe(SESSIONS)
    // The store-wide poor-session share comes from one instance only (the leader, analyzer-a).
    const poorSeries = async (x: Analyzer): Promise<number> =>
      (await x.metrics.registry.render())
        .split('\n')
        .filter((l) => l.startsWith('rtcpulse_analyzer_poor_session_ratio{')).length
    expect(await poorSeries(a)).toBe(1)
    expect((await poorSeries(b)) + (await poorSeries(c))).toBe(0)
  })

  it('takes over the sessions of an analyzer that dies', { timeout: 240_000 }, async () => {
    const w = await world()
    opened.push(...w.stores)
    const [a, b] = [w.analyzer('a'), w.analyzer('b')]
    await run(w, 3, a, b)
    const before = await finals(w.stores[0] as Store)
    expect(before.rows).toBe(0)
    // b dies: no more passes, no goodbye. a sees its heartbeat expire after 5 s and adopts its live
    // sessions from the store; they are finalised once idle.
    await run(w, 30, a)
    expect(await finals(w.stores[0] as Store)).toEqual({ rows: SESSIONS, sessions: SESSIONS })
    expect(await scored(a)).toBe(SESSIONS)
    expect(await scored(b)).toBe(0)
  })

  it('takes over at once from an analyzer that stops', { timeout: 240_000 }, async () => {
    const w = await world()
    opened.push(...w.stores)
    const [a, b] = [w.analyzer('a'), w.analyzer('b')]
    await run(w, 3, a, b)
    await b.stop()
    // The next pass of a already owns everything: every session is live there.
    await run(w, 1, a)
    expect(await a.metrics.registry.render()).toContain(
      `rtcpulse_analyzer_live_sessions{app="share"} ${SESSIONS}`,
    )
    await run(w, 12, a)
    expect(await finals(w.stores[0] as Store)).toEqual({ rows: SESSIONS, sessions: SESSIONS })
    expect((await scored(a)) + (await scored(b))).toBe(SESSIONS)
    expect(await scored(b)).toBe(0)
  })
})
