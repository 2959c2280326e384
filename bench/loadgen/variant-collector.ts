// The real collector (createCollector: WebSocket endpoint, zod, delta decoding, derivation, batching,
// acks) assembled by the benchmark with one thing changed, to measure what that thing costs or saves:
//   BENCH_STORE=null          a store that discards writes (after JSON encoding): the collector minus storage
//   BENCH_STORE=chdb          the embedded store, as `rtcpulse start` opens it
//   BENCH_PACE_MS=200         PROTOTYPE: a batch write starts no sooner than this after the previous one
//                             started (ingest.ts starts the next one as soon as the last is written)
//   BENCH_ZLIB_CONCURRENCY=N  PROTOTYPE: ws's process-wide zlib limiter at N instead of the collector's 4
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import pino from 'pino'
import { loadConfig } from '../../collector/config.ts'
import { createCollector } from '../../collector/server.ts'
import { toJsonEachRow } from '../../store/index.ts'
import type { Store } from '../../store/index.ts'
import { openStore } from '../../store/open.ts'

/** A Store that answers no rows and drops inserts after serialising them (as the chDB backend does). */
export function nullStore(): Store {
  return {
    backend: 'chdb',
    database: 'null',
    query: () => Promise.resolve([]),
    exec: () => Promise.resolve(),
    insert: (_table, rows) => {
      // Keep the JSONEachRow encoding in: it is the collector's work, not the engine's.
      Buffer.from(toJsonEachRow(rows))
      return Promise.resolve()
    },
    ping: () => Promise.resolve({ ok: true }),
    close: () => Promise.resolve(),
  }
}

/**
 * Wraps `store` so that the first insert of each ingest batch waits until `paceMs` after the previous
 * batch began. ingest.ts writes one batch at a time, tables in order, raw_frames last: the next insert
 * after raw_frames is the next batch. Rows arriving meanwhile join the waiting batch, so batches grow
 * instead of multiplying — the behaviour proposed for ingest.ts itself.
 */
export function pacedStore(store: Store, paceMs: number): Store {
  let open = false
  let lastStart = 0
  return {
    ...store,
    query: (sql, params) => store.query(sql, params),
    exec: (sql, params) => store.exec(sql, params),
    ping: () => store.ping(),
    close: () => store.close(),
    async insert(table, rows) {
      if (!open) {
        const wait = lastStart + paceMs - performance.now()
        if (wait > 0) await new Promise((res) => setTimeout(res, wait))
        lastStart = performance.now()
        open = true
      }
      try {
        await store.insert(table, rows)
      } finally {
        if (table === 'raw_frames') open = false
      }
    },
  }
}

const zlibLimit = Number(process.env.BENCH_ZLIB_CONCURRENCY)
if (zlibLimit > 0) {
  // ws sizes its limiter from the first PerMessageDeflate made; make one first. By file path: the
  // package's `exports` do not expose lib/.
  type Pmd = new (options: { concurrencyLimit: number }, isServer: boolean) => object
  const require = createRequire(import.meta.url)
  const PerMessageDeflate = require(join(dirname(require.resolve('ws')), 'lib/permessage-deflate.js')) as Pmd
  new PerMessageDeflate({ concurrencyLimit: zlibLimit }, true)
}

const config = loadConfig({ ...process.env, RTCPULSE_DEV: '1' })
const log = pino({ level: config.logLevel })
const base = process.env.BENCH_STORE === 'null' ? nullStore() : await openStore(config)
const pace = Number(process.env.BENCH_PACE_MS)
const store = pace > 0 ? pacedStore(base, pace) : base
const collector = createCollector({ config, store, log })
const url = await collector.listen()
process.stdout.write(`rtcpulse collector (bench variant) listening on ${url}\n`)
process.once('SIGTERM', () => void collector.close().then(() => store.close().then(() => process.exit(0))))
