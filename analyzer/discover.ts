// The analyzer's reads of what to score: sessions that received frames lately (the small
// `session_activity` table a materialized view keeps from `raw_frames`, store/migrations/011), sessions a
// previous owner left live, and what the store already holds for sessions new to this instance. Each
// read returns only the sessions this instance owns (analyzer/members.ts).
import type { Store } from '../store/index.ts'
import { BUCKET_SQL } from './members.ts'

/** A session and its latest frame (raw_frames ts, the session's report clock), epoch ms. */
export interface SeenSession {
  app_id: string
  session_id: string
  last: number
}

/** Who asks: the buckets this instance owns (analyzer/members.ts). */
export interface Owner {
  buckets: readonly number[]
}

// session_activity is fed by raw_frames, the ledger the collector writes last in each batch: a frame
// seen there has its per-second rows stored already (collector/ingest.ts).
const ACTIVE_SQL = `SELECT app_id, session_id, toUnixTimestamp64Milli(max(last_ts)) AS last
  FROM session_activity
  WHERE bucket IN {buckets:Array(UInt16)} AND last_ts >= fromUnixTimestamp64Milli({since:Int64})
  GROUP BY app_id, session_id`

// A live row's frames_until is the latest frame it covered; rows written before migration 011 have 0,
// and their window end stands in.
const UNFINISHED_SQL = `SELECT app_id, session_id,
    if(toUnixTimestamp64Milli(frames_until) > 0, toUnixTimestamp64Milli(frames_until),
       toUnixTimestamp64Milli(window_end)) AS last
  FROM scores FINAL WHERE peer_id = '' AND final = 0 AND ${BUCKET_SQL} IN {buckets:Array(UInt16)}`

const PRIOR_SQL = `SELECT session_id, final, toUnixTimestamp64Milli(frames_until) AS until
  FROM scores FINAL
  WHERE app_id = {app:String} AND session_id IN {sessions:Array(String)} AND peer_id = ''`

/** Owned sessions with a frame at or after `since` (epoch ms). Rejects with StoreError. */
export async function activeSessions(store: Store, since: number, owner: Owner): Promise<SeenSession[]> {
  if (owner.buckets.length === 0) return []
  return store.query<SeenSession>(ACTIVE_SQL, { since: Math.floor(since), buckets: owner.buckets })
}

/** Owned sessions whose latest stored score is live (final = 0). Rejects with StoreError. */
export async function unfinishedSessions(store: Store, owner: Owner): Promise<SeenSession[]> {
  if (owner.buckets.length === 0) return []
  return store.query<SeenSession>(UNFINISHED_SQL, { buckets: owner.buckets })
}

/** What the store says of a session: its latest session score, and the latest frame it covered. */
export interface Prior {
  final: boolean
  /** epoch ms; 0 when the score predates migration 011. */
  until: number
}

/** The latest session score of each of `sessions` that has one. Rejects with StoreError. */
export async function priorScores(
  store: Store,
  app: string,
  sessions: readonly string[],
): Promise<Map<string, Prior>> {
  const out = new Map<string, Prior>()
  if (sessions.length === 0) return out
  const rows = await store.query<{ session_id: string; final: number; until: number }>(PRIOR_SQL, {
    app,
    sessions,
  })
  for (const r of rows) out.set(r.session_id, { final: r.final === 1, until: r.until })
  return out
}
