// Analyzer figures (DESIGN.md: score 10,000 ten-minute sessions in ≤ 10 s on the embedded store; one
// session's detail API ≤ 50 ms). Sessions are generated as storage.ts does (the collector's own derivation
// of realistic series), then copied in SQL with per-row variation up to the full count: every session is
// scored, nothing is scaled. Scoring is timed as the scheduler runs it (batches of RTCPULSE_ANALYZER_BATCH
// sessions, then the scores written); the detail API is timed over HTTP, on the real routes.
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { analyzeSessions } from '../analyzer/analyze.ts'
import { loadAnalyzerConfig } from '../analyzer/config.ts'
import { mountAnalyzerApi } from '../analyzer/api.ts'
import { storeAnalyses } from '../analyzer/persist.ts'
import { openStore } from '../store/open.ts'
import type { Store } from '../store/index.ts'
import { loadRecording } from './frames.ts'
import { quantile, r } from './histogram.ts'
import { sessionRows } from './storage.ts'

export type AnalyzerResult =
  | { available: false; reason: string }
  | {
      available: true
      sessions: number
      secondsPerSession: number
      /** Distinct generated sessions; the rest are SQL copies with varied metrics. */
      generatedSessions: number
      streamSeconds: number
      /** Active parts of stream_seconds when scoring started (FINAL merges across them). */
      parts: number
      batch: number
      /** analyzeSessions over every session, in batches. */
      scoreSeconds: number
      /** CPU of this process (all threads, chDB's included) while scoring: steadier than wall on a shared machine. */
      scoreCpuSeconds: number
      /** Writing the results (scores, stream_scores, issues), batched as the scheduler does. */
      storeSeconds: number
      /** Same as scoreSeconds when all 10,000 were scored; kept for results written before. */
      scoreSecondsFor10k: number
      /** Detail API over HTTP, stored sessions (the usual case once the scheduler ran). */
      detailMs: { p50: number; p99: number; n: number }
      /** Detail API over HTTP for sessions not scored yet (analysed on the spot). */
      detailUnscoredMs: { p50: number; p99: number; n: number }
      /** Time spent waiting for background merges: after generating, after storing the scores. */
      settledMs: number[]
    }

// As the analyzer would run here: RTCPULSE_ANALYZER_BATCH from the environment, else its default.
const BATCH = loadAnalyzerConfig(process.env).batchSize

export async function generate(
  store: Store,
  sessions: number,
  generated: number,
  seconds: number,
): Promise<string[]> {
  const recs = { sender: loadRecording('sender'), receiver: loadRecording('receiver') }
  const ids: string[] = []
  for (let i = 0; i < generated; i++) {
    const rows = sessionRows(i, seconds, recs)
    const first = rows.stream_seconds[0] as { session_id: string; peer_id: string; ts: number }
    ids.push(first.session_id)
    await store.insert('stream_seconds', rows.stream_seconds)
    await store.insert('transport_seconds', rows.transport_seconds)
    await store.insert('peers', [
      {
        app_id: 'bench',
        session_id: first.session_id,
        peer_id: first.peer_id,
        user_id: '',
        sdk_version: 'bench',
        user_agent: '',
        browser: 'Chrome',
        os: 'Linux',
        metadata: {},
        remote_addr: '',
        connected_at: first.ts,
      },
    ])
  }
  const copies = Math.max(0, Math.ceil(sessions / generated) - 1)
  if (copies > 0) {
    // Copies differ from their original in every rate (±20% per row), so nothing compresses or caches
    // better than real sessions would.
    const vary = (c: string): string => `${c} * (0.8 + 0.4 * randCanonical()) AS ${c}`
    await store.exec(
      `INSERT INTO stream_seconds SELECT * REPLACE (concat(session_id, '-', toString(n)) AS session_id,
         ${['bitrate_bps', 'packets_per_s', 'jitter_ms', 'rtt_ms', 'qp_avg'].map(vary).join(', ')})
       FROM stream_seconds ARRAY JOIN range(1, ${copies + 1}) AS n`,
    )
    await store.exec(
      `INSERT INTO transport_seconds SELECT * REPLACE (concat(session_id, '-', toString(n)) AS session_id)
       FROM transport_seconds ARRAY JOIN range(1, ${copies + 1}) AS n`,
    )
    await store.exec(
      `INSERT INTO peers SELECT * REPLACE (concat(session_id, '-', toString(n)) AS session_id)
       FROM peers ARRAY JOIN range(1, ${copies + 1}) AS n`,
    )
    for (let n = 1; n <= copies; n++) for (const id of ids.slice(0, generated)) ids.push(`${id}-${n}`)
  }
  return ids.slice(0, sessions)
}

/**
 * Scores every session as the scheduler finalises them (one call, queried in batches), then writes the
 * scores in batches. The analyses are dropped on return, so the detail timings run on a small heap.
 */
async function scoreAndStore(
  store: Store,
  all: string[],
): Promise<{ scoreMs: number; scoreCpuMs: number; storeMs: number }> {
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  const results = await analyzeSessions(store, 'bench', all, {
    expectedFps: 30,
    final: true,
    batchSize: BATCH,
  })
  const cpu = process.cpuUsage(cpu0)
  const t1 = performance.now()
  if (results.length !== all.length) throw new Error(`scored ${results.length} of ${all.length} sessions`)
  for (let i = 0; i < results.length; i += BATCH) await storeAnalyses(store, results.slice(i, i + BATCH))
  return { scoreMs: t1 - t0, scoreCpuMs: (cpu.user + cpu.system) / 1000, storeMs: performance.now() - t1 }
}

/**
 * Waits (at most `maxMs`) until no background merge runs in the bench database and its part count held
 * still for 5 s, so the figures are of a store at rest rather than of one still merging the parts the
 * bench just wrote (a FINAL read by key touches one granule per part). Returns the ms waited.
 */
export async function settle(store: Store, maxMs = 180_000): Promise<number> {
  const t0 = performance.now()
  let last = -1
  let stableSince = performance.now()
  while (performance.now() - t0 < maxMs) {
    const [m] = await store.query<{ merges: number; parts: number }>(
      `SELECT (SELECT count() FROM system.merges WHERE database = currentDatabase()) AS merges,
         (SELECT count() FROM system.parts WHERE database = currentDatabase() AND active) AS parts`,
    )
    if (m?.parts !== last) {
      last = m?.parts ?? -1
      stableSince = performance.now()
    }
    if (!m?.merges && performance.now() - stableSince >= 5000) break
    await new Promise((res) => setTimeout(res, 500))
  }
  return Math.round(performance.now() - t0)
}

/** Times `n` sequential GETs of session details over HTTP (after 5 unmeasured ones). */
async function timeDetails(
  url: string,
  ids: readonly string[],
  n: number,
  offset: number,
): Promise<{ p50: number; p99: number; n: number }> {
  const times: number[] = []
  for (let i = -5; i < n; i++) {
    const id = ids[Math.abs((i + offset) * 7919) % ids.length] as string
    const t0 = performance.now()
    const res = await fetch(`${url}/api/v1/sessions/${encodeURIComponent(id)}?app=bench`)
    const body = await res.text()
    const ms = performance.now() - t0
    if (res.status !== 200) throw new Error(`detail of ${id}: HTTP ${res.status} ${body.slice(0, 200)}`)
    if (i >= 0) times.push(ms)
  }
  return { p50: r(quantile(times, 0.5), 1), p99: r(quantile(times, 0.99), 1), n }
}

/**
 * Generates `generated` ten-minute sessions, copies them up to `sessions`, scores and stores all of them,
 * and times the detail API over HTTP. Returns `available: false` with the reason when a step fails.
 */
export async function analyzerBench(
  sessions: number,
  generated: number,
  seconds = 600,
  detailRequests = 200,
): Promise<AnalyzerResult> {
  const dir = mkdtempSync(join(tmpdir(), 'rtcpulse-bench-an-'))
  const store = await openStore({ dataDir: dir, database: 'bench_an', clickhouse: undefined })
  const app = new Hono()
  mountAnalyzerApi(app, { store, config: { apiKeys: [], dev: true, expectedFps: 30 } })
  const server = createAdaptorServer({ fetch: app.fetch })
  try {
    const all = await generate(store, sessions, generated, seconds)
    const settledMs = [await settle(store)]
    const [count] = await store.query<{ rows: number; parts: number }>(
      `SELECT sum(rows) AS rows, count() AS parts FROM system.parts
       WHERE database = currentDatabase() AND table = 'stream_seconds' AND active`,
    )
    const url = await new Promise<string>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () =>
        resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
      )
    })
    // Before anything is stored every detail is analysed on the spot.
    const detailUnscoredMs = await timeDetails(url, all, Math.min(50, detailRequests), 1)

    const { scoreMs, scoreCpuMs, storeMs } = await scoreAndStore(store, all)
    settledMs.push(await settle(store))
    const detailMs = await timeDetails(url, all, detailRequests, 7)
    const scoreSeconds = scoreMs / 1000
    return {
      available: true,
      sessions: all.length,
      secondsPerSession: seconds,
      generatedSessions: generated,
      streamSeconds: count?.rows ?? 0,
      parts: count?.parts ?? 0,
      batch: BATCH,
      scoreSeconds: r(scoreSeconds, 2),
      scoreCpuSeconds: r(scoreCpuMs / 1000, 2),
      storeSeconds: r(storeMs / 1000, 2),
      scoreSecondsFor10k: r((scoreSeconds * 10_000) / all.length, 1),
      detailMs,
      detailUnscoredMs,
      settledMs,
    }
  } catch (err) {
    return {
      available: false,
      reason: `analyzer benchmark failed: ${(err as Error).message.split('\n')[0]}`,
    }
  } finally {
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()))
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
