// The analyzer as its own process (when the collectors run with RTCPULSE_ANALYZER=false): the scoring
// loop plus the API, /metrics and /metrics/analyzer on RTCPULSE_ANALYZER_PORT. The only file of analyzer/
// that reads process.env. Run: node --import tsx analyzer/main.ts (built: node dist/analyzer/main.js)
//
// With the embedded store (no CLICKHOUSE_URL) chDB binds its folder to one process: run this only when no
// collector uses the same RTCPULSE_DATA_DIR. Against a ClickHouse server any number may run, beside
// collectors that run the analyzer or not: they share the sessions through the analyzer_members table
// (analyzer/members.ts), each scoring and counting only its own.
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { ConfigError, logLevel } from '../lib/env.ts'
import type { Env, LogLevel } from '../lib/env.ts'
import { createLogger } from '../lib/log.ts'
import { METRICS_CONTENT_TYPE, processMetrics, renderMetrics } from '../lib/metrics.ts'
import { loadStoreConfig } from '../store/config.ts'
import { openStore } from '../store/open.ts'
import type { StoreConfig } from '../store/open.ts'
import { mountAnalyzerApi } from './api.ts'
import { loadAnalyzerConfig } from './config.ts'
import type { AnalyzerConfig } from './config.ts'
import { createAnalyzer } from './scheduler.ts'

export interface StandaloneConfig {
  host: string
  port: number
  logLevel: LogLevel
  store: StoreConfig
  analyzer: AnalyzerConfig
}

/** The standalone analyzer's settings: the store variables of the collector plus its own. Throws ConfigError. */
export function loadStandaloneConfig(env: Env): StandaloneConfig {
  const rawPort = env.RTCPULSE_ANALYZER_PORT || '8081'
  const port = Number(rawPort)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(
      `RTCPULSE_ANALYZER_PORT=${JSON.stringify(rawPort)} is invalid: expected an integer from 0 to 65535`,
    )
  }
  return {
    host: env.HOST || '127.0.0.1',
    port,
    logLevel: logLevel(env),
    store: loadStoreConfig(env),
    analyzer: loadAnalyzerConfig(env),
  }
}

export interface RunningAnalyzer {
  url: string
  stop(): Promise<void>
}

/** Opens the store, starts the loop and the HTTP server. Rejects with ConfigError or StoreError. */
export async function startAnalyzer(env: Env): Promise<RunningAnalyzer> {
  const config = loadStandaloneConfig(env)
  const log = createLogger(config.logLevel, 'rtcpulse-analyzer')
  if (!config.store.clickhouse)
    log.warn('embedded store: make sure no collector uses the same RTCPULSE_DATA_DIR')
  if (!config.analyzer.dev && config.analyzer.apiKeys.length === 0) {
    log.warn('RTCPULSE_API_KEYS is not set: the API will refuse every request')
  }
  const store = await openStore(config.store)
  const analyzer = createAnalyzer({ store, log, config: config.analyzer })
  const app = new Hono()
  app.onError((err, c) => {
    if (err instanceof HTTPException) return c.json({ error: err.message }, err.status)
    log.error({ err, path: c.req.path }, 'request failed')
    return c.json({ error: 'internal error' }, 500)
  })
  app.get('/healthz', (c) => c.json({ ok: true }))
  app.get('/readyz', async (c) => {
    const ping = await store.ping()
    return c.json({ ok: ping.ok, store: ping.ok ? 'ok' : ping.error }, ping.ok ? 200 : 503)
  })
  mountAnalyzerApi(app, { store, config: config.analyzer, registry: analyzer.metrics.registry })
  // As on the collector: one /metrics with the analyzer's metrics and the process's.
  const registries = [analyzer.metrics.registry, processMetrics()]
  app.get('/metrics', async (c) =>
    c.text(await renderMetrics(registries), 200, { 'content-type': METRICS_CONTENT_TYPE }),
  )
  const server = createAdaptorServer({ fetch: app.fetch })
  const url = await new Promise<string>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => {
      const { port } = server.address() as AddressInfo
      resolve(`http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`)
    })
  })
  analyzer.start()
  log.info({ url, backend: store.backend }, 'analyzer listening')
  return {
    url,
    async stop() {
      await analyzer.stop()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await store.close()
    },
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const running = await startAnalyzer(process.env)
    process.stdout.write(`rtcpulse analyzer on ${running.url}\n`)
    const shutdown = (): void => void running.stop().then(() => process.exit(0))
    process.once('SIGINT', shutdown)
    process.once('SIGTERM', shutdown)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`rtcpulse analyzer: ${err.message}\n`)
    process.exitCode = 2
  }
}
