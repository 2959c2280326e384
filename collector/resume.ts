// Resume points for hellos, read in batches. After a collector restart every SDK reconnects within
// seconds; one query per hello would queue thousands of store reads behind each other (and time the
// hellos out), so hellos waiting at the same time share one query per app.
import type { Store } from '../store/index.ts'
import type { Identity } from './registry.ts'

export interface ResumePoint {
  pc_id: string
  seq: number
}

export interface ResumeLoader {
  /** Highest stored seq per channel of `id` (raw_frames, the ledger). Rejects with StoreError. */
  load(id: Identity): Promise<ResumePoint[]>
}

// Every frame is in raw_frames, written last in each batch (ingest.ts). The IN lists over-select pairs
// of session and peer that were not asked for together; those rows are dropped below.
const RESUME_SQL = `SELECT session_id, peer_id, pc_id, max(seq) AS seq FROM raw_frames
  WHERE app_id = {app:String} AND session_id IN {sessions:Array(String)} AND peer_id IN {peers:Array(String)}
  GROUP BY session_id, peer_id, pc_id`

const RESUME_ONE_SQL = `SELECT pc_id, max(seq) AS seq FROM raw_frames
  WHERE app_id = {app:String} AND session_id = {session:String} AND peer_id = {peer:String}
  GROUP BY pc_id`

/** One query per hello: for sessions built outside a collector (tests with their own store). */
export function singleResumeLoader(store: Store): ResumeLoader {
  return { load: (id) => store.query<ResumePoint>(RESUME_ONE_SQL, { ...id }) }
}

interface Waiter {
  id: Identity
  resolve: (points: ResumePoint[]) => void
  reject: (err: unknown) => void
}

const pairKey = (session: string, peer: string): string => `${session}\u0000${peer}`

/** Creates a loader running at most `concurrency` queries of at most `maxBatch` identities each. */
export function createResumeLoader(store: Store, maxBatch = 500, concurrency = 2): ResumeLoader {
  const queue: Waiter[] = []
  let running = 0

  function dispatch(): void {
    while (running < concurrency && queue.length > 0) {
      const app = (queue[0] as Waiter).id.app
      const batch: Waiter[] = []
      for (let i = 0; i < queue.length && batch.length < maxBatch;) {
        if ((queue[i] as Waiter).id.app === app) batch.push(...queue.splice(i, 1))
        else i++
      }
      running++
      void run(app, batch).finally(() => {
        running--
        dispatch()
      })
    }
  }

  async function run(app: string, batch: Waiter[]): Promise<void> {
    try {
      const rows = await store.query<{ session_id: string; peer_id: string; pc_id: string; seq: number }>(
        RESUME_SQL,
        {
          app,
          sessions: [...new Set(batch.map((w) => w.id.session))],
          peers: [...new Set(batch.map((w) => w.id.peer))],
        },
      )
      const byPair = new Map<string, ResumePoint[]>()
      for (const r of rows) {
        const k = pairKey(r.session_id, r.peer_id)
        let list = byPair.get(k)
        if (!list) byPair.set(k, (list = []))
        list.push({ pc_id: r.pc_id, seq: r.seq })
      }
      for (const w of batch) w.resolve(byPair.get(pairKey(w.id.session, w.id.peer)) ?? [])
    } catch (err) {
      for (const w of batch) w.reject(err)
    }
  }

  return {
    load(id) {
      return new Promise<ResumePoint[]>((resolve, reject) => {
        queue.push({ id, resolve, reject })
        dispatch()
      })
    },
  }
}
