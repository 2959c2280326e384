// What runs beside the collector in one process (the analyzer, the web view). The contract lives here,
// below the apps, so an app provides a plugin without importing the collector: bin/ composes them.
import type { Hono } from 'hono'
import type { Logger } from 'pino'
import type { Env } from './env.ts'
import type { Registry } from './metrics.ts'

export interface Plugin {
  mount?: (app: Hono) => void
  /** Metrics the collector serves at /metrics beside its own. */
  metrics?: Registry
  start?: () => void
  stop?: () => Promise<void>
}

/** What the host gives each plugin: the open store (generic, so this layer stays below store/). */
export interface PluginDeps<Store> {
  store: Store
  log: Logger
  env: Env
  /** `--dev` / RTCPULSE_DEV: no authentication, sources served unbundled. */
  dev: boolean
  /** RTCPULSE_ANALYZER: whether the analyzer runs inside the collector. */
  analyzer: boolean
}

export type PluginFactory<Store> = (deps: PluginDeps<Store>) => Plugin
