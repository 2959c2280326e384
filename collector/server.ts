// Wires the collector together: store → ingest → HTTP app + WebSocket endpoint on one port.
import { readFileSync } from 'node:fs'
import { createServer as createHttpsServer } from 'node:https'
import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { createAdaptorServer } from '@hono/node-server'
import type { Hono } from 'hono'
import type { Logger } from 'pino'
import type { Store } from '../store/index.ts'
import { createApp } from './app.ts'
import type { Config } from './config.ts'
import type { Registry } from '../lib/metrics.ts'
import { createDeletionWatch } from './deletions.ts'
import { createIngest } from './ingest.ts'
import type { Ingest } from './ingest.ts'
import { SessionRegistry } from './registry.ts'
import { createResumeLoader } from './resume.ts'
import { createCollectorMetrics } from './stats.ts'
import type { CollectorMetrics } from './stats.ts'
import { createStreamServer } from './stream.ts'

export interface Collector {
  app: Hono
  ingest: Ingest
  metrics: CollectorMetrics
  /** Listens on config.host:config.port; resolves with the base URL (http or https). */
  listen(): Promise<string>
  /** Graceful stop: refuse new connections, close streams with 1001, flush batches. Never rejects. */
  close(): Promise<void>
}

export interface CollectorDeps {
  config: Config
  store: Store
  log: Logger
  metrics?: CollectorMetrics
  mount?: ReadonlyArray<(app: Hono) => void>
  /** Further metrics served at /metrics (the analyzer's). */
  registries?: readonly Registry[]
}

/** Builds a collector around an open store. Throws if TLS files cannot be read. */
export function createCollector(deps: CollectorDeps): Collector {
  const { config, store, log } = deps
  const metrics = deps.metrics ?? createCollectorMetrics()
  const ingest = createIngest({
    store,
    maxRows: config.batchMaxRows,
    maxDelayMs: config.batchMaxDelayMs,
    maxPendingFrames: config.maxPendingFrames,
    maxPendingBytes: config.maxPendingBytes,
    retryMaxMs: config.storeRetryMaxMs,
    log,
    metrics: metrics.registry,
  })
  const registry = new SessionRegistry()
  const resume = createResumeLoader(store)
  const deletions = createDeletionWatch({ store, ingest, registry, log, pollMs: config.deletionPollMs })
  const app = createApp({
    store,
    ingest,
    registry,
    resume,
    deletions,
    config,
    log,
    metrics,
    mount: deps.mount,
    registries: deps.registries,
  })
  const stream = createStreamServer({ store, ingest, registry, resume, deletions, config, log, metrics })
  const server = config.tls
    ? createAdaptorServer({
        fetch: app.fetch,
        createServer: createHttpsServer,
        serverOptions: { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) },
      })
    : createAdaptorServer({ fetch: app.fetch })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0]
    if (path === '/v1/stream') stream.handleUpgrade(req, socket, head)
    else socket.destroy()
  })

  return {
    app,
    ingest,
    metrics,
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject)
        server.listen(config.port, config.host, () => {
          const { port } = server.address() as AddressInfo
          const host = config.host.includes(':') ? `[${config.host}]` : config.host
          resolve(`${config.tls ? 'https' : 'http'}://${host}:${port}`)
        })
      }),
    async close() {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      deletions.close()
      await stream.close()
      try {
        await ingest.close()
      } catch (err) {
        log.error({ err }, 'final flush failed; unacknowledged frames will be resent by the SDKs')
      }
      if ('closeAllConnections' in server) server.closeAllConnections()
      await stopped
    },
  }
}
