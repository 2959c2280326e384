// The real collector (createCollector: WebSocket endpoint, zod, delta decoding, derivation, batching,
// acks) over a store that discards every write. Run by the benchmark beside the real one, the difference
// is what storage costs; the rest is the collector's own per-frame work.
import pino from 'pino'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { loadConfig } from '../../collector/config.ts'
import { createCollector } from '../../collector/server.ts'
import { toJsonEachRow } from '../../store/index.ts'
import type { Store } from '../../store/index.ts'

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

// PROTOTYPE hook: ws sizes its process-wide zlib limiter from the first PerMessageDeflate made. Making
// one first with another limit measures what the collector's `concurrencyLimit: 4` costs.
const zlibLimit = Number(process.env.BENCH_ZLIB_CONCURRENCY)
if (zlibLimit > 0) {
  type Pmd = new (options: { concurrencyLimit: number }, isServer: boolean) => object
  // By file path: the package's `exports` do not expose lib/.
  const require = createRequire(import.meta.url)
  const file = join(dirname(require.resolve('ws')), 'lib/permessage-deflate.js')
  const PerMessageDeflate = require(file) as Pmd
  new PerMessageDeflate({ concurrencyLimit: zlibLimit }, true)
}

const config = loadConfig({ ...process.env, RTCPULSE_DEV: '1' })
const log = pino({ level: config.logLevel })
const collector = createCollector({ config, store: nullStore(), log })
const url = await collector.listen()
process.stdout.write(`rtcpulse collector (null store) listening on ${url}\n`)
process.once('SIGTERM', () => void collector.close().then(() => process.exit(0)))
