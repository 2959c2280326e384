// What a live pass costs against a final one (docs/SCALING.md, "Analyzer"): ten-minute sessions scored
// over their whole span (final) and over their last 60 s (live, the default RTCPULSE_ANALYZER_WINDOW_S),
// in batches as the scheduler runs them, and the live results written in one insert per table as a pass
// writes them. Sessions as bench/analyzer.ts makes them: generated from the recorded series, copied in SQL.
// Run: npx tsx bench/live-window.ts [sessions=2000] [distinct=10]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { analyzeSessions } from '../analyzer/analyze.ts'
import { storeAnalyses } from '../analyzer/persist.ts'
import { openStore } from '../store/open.ts'
import { loadRecording } from './frames.ts'
import { sessionRows } from './storage.ts'

const total = Number(process.argv[2] ?? 2000)
const distinct = Number(process.argv[3] ?? 10)
const dir = mkdtempSync(join(tmpdir(), 'rtcpulse-live-window-'))
const store = await openStore({ dataDir: dir, database: 'bench', clickhouse: undefined })
try {
  const recs = { sender: loadRecording('sender'), receiver: loadRecording('receiver') }
  const groups: { ids: string[]; end: number }[] = []
  for (let i = 0; i < distinct; i++) {
    const rows = sessionRows(i, 600, recs)
    const first = rows.stream_seconds[0] as { session_id: string }
    const end = Math.max(...rows.stream_seconds.map((r) => r.ts as number))
    await store.insert('stream_seconds', rows.stream_seconds)
    await store.insert('transport_seconds', rows.transport_seconds)
    groups.push({ ids: [first.session_id], end })
  }
  const copies = Math.ceil(total / distinct) - 1
  for (const table of ['stream_seconds', 'transport_seconds'])
    await store.exec(
      `INSERT INTO ${table} SELECT * REPLACE (concat(session_id, '-', toString(n)) AS session_id)
       FROM ${table} ARRAY JOIN range(1, ${copies + 1}) AS n`,
    )
  for (const g of groups) for (let n = 1; n <= copies; n++) g.ids.push(`${g.ids[0] as string}-${n}`)
  await store.exec('OPTIMIZE TABLE stream_seconds FINAL')
  await store.exec('OPTIMIZE TABLE transport_seconds FINAL')
  const sessions = groups.reduce((n, g) => n + g.ids.length, 0)

  const cpu0 = process.cpuUsage()
  let t = performance.now()
  let n = 0
  for (const g of groups)
    n += (await analyzeSessions(store, 'bench', g.ids, { expectedFps: 30, final: true, batchSize: 2000 }))
      .length
  const finalMs = performance.now() - t
  const cpu1 = process.cpuUsage(cpu0)

  t = performance.now()
  const live = []
  // The scheduler scores live sessions in groups whose latest frames lie within one interval: here each
  // group of copies shares its end.
  for (const g of groups)
    for (let i = 0; i < g.ids.length; i += 2000)
      live.push(
        ...(await analyzeSessions(store, 'bench', g.ids.slice(i, i + 2000), {
          expectedFps: 30,
          range: { from: g.end - 60_000, to: g.end },
        })),
      )
  const liveMs = performance.now() - t
  const cpu2 = process.cpuUsage(cpu0)
  t = performance.now()
  await storeAnalyses(store, live)
  const writeMs = performance.now() - t
  const cpu3 = process.cpuUsage(cpu0)
  const s = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1e6
  console.log(
    JSON.stringify({
      sessions,
      scoredFinal: n,
      scoredLive: live.length,
      finalSeconds: +(finalMs / 1000).toFixed(2),
      finalCpuSeconds: +s(cpu1).toFixed(2),
      liveSeconds: +(liveMs / 1000).toFixed(2),
      liveCpuSeconds: +(s(cpu2) - s(cpu1)).toFixed(2),
      liveWriteSeconds: +(writeMs / 1000).toFixed(2),
      liveWriteCpuSeconds: +(s(cpu3) - s(cpu2)).toFixed(2),
    }),
  )
} finally {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
}
