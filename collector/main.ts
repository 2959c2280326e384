// Process entry for `rtcpulse start`: the only place that reads the environment and owns signals.
import { createLogger } from '../lib/log.ts'
import type { PluginFactory as GenericPluginFactory } from '../lib/plugin.ts'
import { openStore } from '../store/open.ts'
import type { Store } from '../store/index.ts'
import { loadConfig } from './config.ts'
import { createCollector } from './server.ts'
import type { Collector } from './server.ts'

/** A plugin of this collector: given the open store. */
export type PluginFactory = GenericPluginFactory<Store>

export interface Running {
  url: string
  collector: Collector
  store: Store
  stop(): Promise<void>
}

export interface StartOptions {
  /**
   * Wraps the opened store before anything uses it: the seam through which tests inject faults (a store
   * that fails or stalls on demand) into an otherwise real collector. The wrapper must delegate close().
   */
  wrapStore?: (store: Store) => Store
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

/** Loads config from `env`, opens the store, starts listening. Rejects with ConfigError or StoreError. */
export async function startCollector(
  env: Record<string, string | undefined>,
  plugins: readonly PluginFactory[] = [],
  options: StartOptions = {},
): Promise<Running> {
  const config = loadConfig(env)
  const log = createLogger(config.logLevel, 'rtcpulse')
  if (config.dev) {
    // Loud on purpose, and visible to monitoring too: /readyz says `dev: true`, /metrics rtcpulse_dev_mode 1.
    const exposed = !LOOPBACK.has(config.host)
    log[exposed ? 'error' : 'warn'](
      { host: config.host },
      `DEV MODE: streams are accepted WITHOUT authentication${exposed ? ` on ${config.host}, which is reachable from other machines` : ''}. Never expose this collector to a network.`,
    )
  }
  const opened = await openStore({
    ...config,
    onSkippedSetting: (message) =>
      log.warn({ message }, 'store: a tuning setting this ClickHouse does not know was skipped'),
  })
  const store = options.wrapStore ? options.wrapStore(opened) : opened
  log.info(
    {
      backend: store.backend,
      database: store.database,
      dataDir: config.clickhouse ? undefined : config.dataDir,
    },
    'store ready',
  )
  const parts = plugins.map((p) => p({ store, log, env, dev: config.dev, analyzer: config.analyzer }))
  const collector = createCollector({
    config,
    store,
    log,
    mount: parts.flatMap((p) => (p.mount ? [p.mount] : [])),
    registries: parts.flatMap((p) => (p.metrics ? [p.metrics] : [])),
  })
  const url = await collector.listen()
  for (const p of parts) p.start?.()
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const p of parts) await p.stop?.()
      await collector.close()
      await store.close()
    })())
  return { url, collector, store, stop }
}
