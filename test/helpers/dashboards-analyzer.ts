// Runs the analyzer's real scoring pass over what a test fed into the store, so the dashboards' score
// and issue panels (and the web view) have rows to show.
import pino from 'pino'
import { mountAnalyzerApi } from '../../analyzer/api.ts'
import { createAnalyzer } from '../../analyzer/scheduler.ts'
import type { Analyzer } from '../../analyzer/scheduler.ts'
import type { PluginFactory } from '../../collector/main.ts'
import type { Store } from '../../store/index.ts'

/** An analyzer on `store` with the default settings and a silent log; nothing runs until tick(). */
export function testAnalyzer(store: Store, now?: () => number): Analyzer {
  return createAnalyzer({
    store,
    log: pino({ level: 'silent' }),
    config: {
      intervalMs: 1000,
      windowMs: 60_000,
      idleMs: 30_000,
      lookbackMs: 900_000,
      expectedFps: 30,
      batchSize: 500,
    },
    now,
  })
}

/**
 * Scores every session stored so far and finalises those of `apps` (live first, as the running analyzer
 * would, then final). Resolves true once final session scores exist for every app.
 */
export async function scoreForDashboards(store: Store, apps: readonly string[]): Promise<boolean> {
  const analyzer = testAnalyzer(store)
  await analyzer.tick()
  const sessions = await store.query<{ app_id: string; session_id: string }>(
    'SELECT DISTINCT app_id, session_id FROM raw_frames',
  )
  for (const s of sessions) if (apps.includes(s.app_id)) await analyzer.finalize(s.app_id, s.session_id)
  const rows = await store.query<{ apps: number }>(
    `SELECT uniqExact(app_id) AS apps FROM scores FINAL WHERE final = 1 AND peer_id = ''`,
  )
  return (rows[0]?.apps ?? 0) >= apps.length
}

export interface DrivenAnalyzer {
  plugin: PluginFactory
  /** One scoring pass, as if a minute of analyzer time had passed since the previous one. */
  tick(): Promise<void>
}

/**
 * The analyzer as a collector plugin (its API and /metrics/analyzer mounted on the collector, as
 * analyzer/plugin.ts does) whose passes the test runs instead of its timer. Each pass moves the
 * analyzer's clock a minute ahead: it refreshes the poor-session gauge once per minute of its clock,
 * and a test should not wait real minutes for that.
 */
export function drivenAnalyzer(): DrivenAnalyzer {
  let analyzer: Analyzer | undefined
  let skewMs = 0
  return {
    plugin: ({ store }) => {
      analyzer = createAnalyzer({
        store,
        log: pino({ level: 'silent' }),
        config: {
          intervalMs: 1000,
          windowMs: 60_000,
          idleMs: 30_000,
          lookbackMs: 86_400_000,
          expectedFps: 30,
          batchSize: 500,
        },
        now: () => Date.now() + skewMs,
      })
      const registry = analyzer.metrics.registry
      return {
        mount: (app) =>
          mountAnalyzerApi(app, { store, config: { apiKeys: [], dev: true, expectedFps: 30 }, registry }),
      }
    },
    async tick() {
      if (!analyzer) throw new Error('the analyzer plugin was not started')
      skewMs += 61_000
      await analyzer.tick()
    },
  }
}
