// Process entry for `rtcpulse start`: the only place that reads the environment and owns signals.
import pino from 'pino'
import type { Hono } from 'hono'
import type { Logger } from 'pino'
import { openStore } from '../store/open.ts'
import type { Store } from '../store/index.ts'
import { loadConfig } from './config.ts'
import type { Config } from './config.ts'
import { createCollector } from './server.ts'
import type { Collector } from './server.ts'

/** Something that runs beside the collector in the same process (the analyzer), given the open store. */
export interface Plugin {
  mount?: (app: Hono) => void
  start?: () => void
  stop?: () => Promise<void>
}
export type PluginFactory = (deps: {
  store: Store
  config: Config
  log: Logger
  env: Record<string, string | undefined>
}) => Plugin

export interface Running {
  url: string
  collector: Collector
  store: Store
  stop(): Promise<void>
}

/** Loads config from `env`, opens the store, starts listening. Rejects with ConfigError or StoreError. */
export async function startCollector(
  env: Record<string, string | undefined>,
  plugins: readonly PluginFactory[] = [],
): Promise<Running> {
  const config = loadConfig(env)
  const log = pino({ level: config.logLevel, base: { service: 'rtcpulse' } })
  if (config.dev) {
    log.warn(
      'DEV MODE: streams are accepted WITHOUT authentication. Never expose this collector to a network.',
    )
  }
  const store = await openStore(config)
  log.info(
    {
      backend: store.backend,
      database: store.database,
      dataDir: config.clickhouse ? undefined : config.dataDir,
    },
    'store ready',
  )
  const parts = plugins.map((p) => p({ store, config, log, env }))
  const collector = createCollector({
    config,
    store,
    log,
    mount: parts.flatMap((p) => (p.mount ? [p.mount] : [])),
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
