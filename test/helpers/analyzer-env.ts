// A real collector (chDB, port 0) with the analyzer API mounted and an analyzer whose passes the test
// runs itself (tick()) on a clock the test controls, for deterministic scheduling tests.
import type { PluginFactory } from '../../collector/main.ts'
import { mountAnalyzerApi } from '../../analyzer/api.ts'
import type { ApiKey } from '../../analyzer/config.ts'
import { createAnalyzer } from '../../analyzer/scheduler.ts'
import type { Analyzer, AnalyzerDeps } from '../../analyzer/scheduler.ts'
import { startTestCollector } from './collector.ts'
import type { TestCollector } from './collector.ts'

export interface AnalyzerHarness extends TestCollector {
  analyzer: Analyzer
  /** GET on the collector's HTTP port; `key` is sent as a Bearer token. */
  get<T = Record<string, unknown>>(
    path: string,
    key?: string,
  ): Promise<{ status: number; body: T; ms: number }>
}

export interface HarnessOptions {
  now?: () => number
  apiKeys?: ApiKey[]
  /** API without keys allowed (default true unless apiKeys are given). */
  dev?: boolean
  config?: Partial<AnalyzerDeps['config']>
  env?: Record<string, string>
}

export async function startAnalyzerHarness(opts: HarnessOptions = {}): Promise<AnalyzerHarness> {
  let analyzer: Analyzer | undefined
  const plugin: PluginFactory = ({ store, log }) => {
    const config = {
      intervalMs: 1000,
      windowMs: 60_000,
      idleMs: 10_000,
      lookbackMs: 7 * 86_400_000,
      expectedFps: 30,
      batchSize: 100,
      ...opts.config,
    }
    analyzer = createAnalyzer({ store, log, config, now: opts.now })
    const api = {
      apiKeys: opts.apiKeys ?? [],
      dev: opts.dev ?? !opts.apiKeys,
      expectedFps: config.expectedFps,
    }
    return {
      mount: (app) => mountAnalyzerApi(app, { store, config: api, registry: analyzer?.metrics.registry }),
    }
  }
  // Replays send a whole recording at once: lift the per-connection frame rate limit.
  const collector = await startTestCollector({ RTCPULSE_MAX_FRAMES_PER_SECOND: '100000', ...opts.env }, [
    plugin,
  ])
  return {
    ...collector,
    analyzer: analyzer as unknown as Analyzer,
    async get<T>(path: string, key?: string) {
      const started = performance.now()
      const res = await fetch(
        collector.url + path,
        key ? { headers: { authorization: `Bearer ${key}` } } : {},
      )
      const text = await res.text()
      const ms = performance.now() - started
      let body: unknown = text
      try {
        body = JSON.parse(text)
      } catch {
        // Prometheus text and plain errors stay strings.
      }
      return { status: res.status, body: body as T, ms }
    },
  }
}
