// Analyzer figures (DESIGN.md: score 10,000 ten-minute sessions in ≤ 10 s on the embedded store; one
// session's detail ≤ 50 ms). Only wiring: sessions are generated as storage.ts does (the collector's own
// derivation of realistic series), multiplied in SQL with per-copy variation, then the analyzer's entry
// points are timed. Reports "not available" while analyzer/ has no such entry points.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Store } from '../store/index.ts'
import { openStore } from '../store/open.ts'
import { loadRecording } from './frames.ts'
import { quantile, r } from './histogram.ts'
import { sessionRows } from './storage.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

type AnalyzeFn = (
  store: Store,
  app: string,
  sessions: string[],
  opts: { expectedFps: number },
) => Promise<unknown[]>
type DetailFn = (
  store: Store,
  app: string,
  session: string,
  opts: { series: boolean; expectedFps: number },
) => Promise<unknown>

export type AnalyzerResult =
  | { available: false; reason: string }
  | {
      available: true
      sessions: number
      secondsPerSession: number
      /** Distinct generated sessions; the rest are SQL copies with varied metrics. */
      generatedSessions: number
      scoreSeconds: number
      /** scoreSeconds scaled linearly to 10,000 sessions when fewer were scored. */
      scoreSecondsFor10k: number
      detailMs: { p50: number; p99: number } | undefined
    }

async function entryPoints(): Promise<{ analyze: AnalyzeFn; detail: DetailFn | undefined } | string> {
  if (!existsSync(`${ROOT}analyzer/analyze.ts`))
    return 'analyzer/analyze.ts does not exist yet (no scoring entry point)'
  const mod = (await import('../analyzer/analyze.ts')) as Record<string, unknown>
  if (typeof mod.analyzeSessions !== 'function') return 'analyzer/analyze.ts exports no analyzeSessions() yet'
  let detail: DetailFn | undefined
  if (existsSync(`${ROOT}analyzer/read.ts`)) {
    const read = (await import('../analyzer/read.ts')) as Record<string, unknown>
    if (typeof read.sessionDetail === 'function') detail = read.sessionDetail as DetailFn
  }
  return { analyze: mod.analyzeSessions as AnalyzeFn, detail }
}

/**
 * Generates `generated` ten-minute sessions, copies them up to `sessions`, and times scoring all of them
 * (in chunks of 500, as a scheduler would) and 20 detail reads. Never throws for a missing analyzer.
 */
export async function analyzerBench(
  sessions: number,
  generated: number,
  seconds = 600,
): Promise<AnalyzerResult> {
  const entry = await entryPoints()
  if (typeof entry === 'string') return { available: false, reason: entry }
  const dir = mkdtempSync(join(tmpdir(), 'rtcpulse-bench-an-'))
  const store = await openStore({ dataDir: dir, database: 'bench_an', clickhouse: undefined })
  try {
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
      // Copies differ from their original in every rate (±20% per copy), so nothing compresses or caches
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
    const all = ids.slice(0, sessions)
    const t0 = performance.now()
    for (let i = 0; i < all.length; i += 500)
      await entry.analyze(store, 'bench', all.slice(i, i + 500), { expectedFps: 30 })
    const scoreSeconds = (performance.now() - t0) / 1000
    let detailMs: { p50: number; p99: number } | undefined
    if (entry.detail) {
      const times: number[] = []
      for (let i = 0; i < 21; i++) {
        const d0 = performance.now()
        await entry.detail(store, 'bench', all[(i * 7919) % all.length] as string, {
          series: true,
          expectedFps: 30,
        })
        if (i > 0) times.push(performance.now() - d0)
      }
      detailMs = { p50: r(quantile(times, 0.5), 1), p99: r(quantile(times, 0.99), 1) }
    }
    return {
      available: true,
      sessions: all.length,
      secondsPerSession: seconds,
      generatedSessions: generated,
      scoreSeconds: r(scoreSeconds, 2),
      scoreSecondsFor10k: r((scoreSeconds * 10_000) / all.length, 1),
      detailMs,
    }
  } catch (err) {
    return {
      available: false,
      reason: `analyzer entry point failed: ${(err as Error).message.split('\n')[0]}`,
    }
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
