// The real collector (createCollector: WebSocket endpoint, zod, delta decoding, derivation, batching,
// acks) assembled by the benchmark with one thing changed, to measure what that thing costs or saves:
//   BENCH_STORE=null          a store that discards writes (after JSON encoding): the collector minus storage
//   BENCH_STORE=chdb          the embedded store, as `rtcpulse start` opens it
//   BENCH_WS_INFLATE=1        ws's own permessage-deflate inflate (three libuv round trips per message)
//                             instead of collector/inflate.ts
//   BENCH_INFLATE=one-trip    collector/inflate.ts's one round trip instead of its synchronous inflate
//   BENCH_ZLIB_CONCURRENCY=N  ws's process-wide zlib limiter at N instead of the collector's 16
//   BENCH_DROP_TABLES=a,b     inserts into these tables are dropped (after JSON encoding): what a
//                             table costs the store (e.g. raw_frames)
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import pino from 'pino'
import { loadConfig } from '../../collector/config.ts'
import { keepOneTripInflate, keepWsInflate } from '../../collector/inflate.ts'
import { createCollector } from '../../collector/server.ts'
import { toJsonEachRow } from '../../store/index.ts'
import type { Store, TsvRows } from '../../store/index.ts'
import { isTsvRows, tsvBody } from '../../store/tsv.ts'

/** The insert body the backend would send, built and dropped. */
const encode = (rows: readonly object[] | TsvRows): Buffer =>
  Buffer.from(isTsvRows(rows) ? tsvBody(rows) : toJsonEachRow(rows))
import { openStore } from '../../store/open.ts'

/** A Store that answers no rows and drops inserts after serialising them (as the chDB backend does). */
export function nullStore(): Store {
  return {
    backend: 'chdb',
    database: 'null',
    query: () => Promise.resolve([]),
    exec: () => Promise.resolve(),
    insert: (_table, rows) => {
      // Keep the encoding in: it is the collector's work, not the engine's.
      encode(rows)
      return Promise.resolve()
    },
    ping: () => Promise.resolve({ ok: true }),
    close: () => Promise.resolve(),
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
const opened = process.env.BENCH_STORE === 'null' ? nullStore() : await openStore(config)
const dropped = new Set((process.env.BENCH_DROP_TABLES ?? '').split(',').filter(Boolean))
const store: Store =
  dropped.size === 0
    ? opened
    : {
        ...opened,
        insert: (table, rows, options) => {
          if (!dropped.has(table)) return opened.insert(table, rows, options)
          encode(rows)
          return Promise.resolve()
        },
      }
if (process.env.BENCH_WS_INFLATE === '1') keepWsInflate()
if (process.env.BENCH_INFLATE === 'one-trip') keepOneTripInflate()
const collector = createCollector({ config, store, log })
const url = await collector.listen()
process.stdout.write(`rtcpulse collector (bench variant) listening on ${url}\n`)
process.once('SIGTERM', () => void collector.close().then(() => store.close().then(() => process.exit(0))))
