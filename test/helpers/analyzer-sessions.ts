// Many scoreable sessions in a store, fast: one recorded 30 s sending pc (test/fixtures/recorded,
// sender-30s, rebased to end at `endMs`) derived as the collector would (core/derive.ts), then
// copied in SQL under other session ids. raw_frames rows are written last, as the collector does, so
// the sessions are discovered through session_activity (store/migrations/011).
import { deriveSecond } from '../../core/derive.ts'
import type { Snapshot } from '../../core/derive.ts'
import { normalizeReport } from '../../core/delta.ts'
import type { Store } from '../../store/index.ts'
import { loadRecorded } from './recorded.ts'

/** Stores sessions `${prefix}-0` … `${prefix}-${count - 1}` of `app` (an app with no session yet); returns their ids. */
export async function storeRecordedSessions(
  store: Store,
  app: string,
  prefix: string,
  count: number,
  endMs: number,
): Promise<string[]> {
  const reports = loadRecorded('sender-30s.json', endMs)
  const base = { app_id: app, session_id: `${prefix}-0`, peer_id: 'peer-1', pc_id: 'pc-1' }
  const streams: object[] = []
  const transports: object[] = []
  const frames: object[] = []
  let snap: Snapshot | undefined
  reports.forEach((report, i) => {
    const ts = Math.max(...report.map((s) => s.timestamp))
    const derived = deriveSecond(normalizeReport({ forEach: (cb) => report.forEach(cb) }, ts), ts, snap)
    snap = derived.snapshot
    const seq = i + 1
    const t = Math.round(ts)
    for (const s of derived.streams) streams.push({ ...base, ...s, seq, ts: t })
    if (derived.transport) transports.push({ ...base, ...derived.transport, seq, ts: t })
    frames.push({ ...base, seq, ts: t, type: 'stats', gap: 0, frame: '{}' })
  })
  await store.insert('stream_seconds', streams)
  await store.insert('transport_seconds', transports)
  await store.insert('raw_frames', frames)
  // Copied in SQL. The WHERE sees the replaced session_id (the alias shadows the column), so it selects
  // the app only: the app must hold no other session yet.
  if (!/^[\w-]+$/.test(prefix + app) || !Number.isInteger(count)) throw new Error('bad copy arguments')
  if (count > 1) {
    for (const table of ['stream_seconds', 'transport_seconds', 'raw_frames']) {
      await store.exec(
        `INSERT INTO ${table} SELECT * REPLACE (concat('${prefix}-', toString(n)) AS session_id)
         FROM ${table} ARRAY JOIN range(1, ${count}) AS n
         WHERE app_id = '${app}'`,
      )
    }
  }
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`)
}
