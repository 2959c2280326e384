// Batched, ordered, acknowledged writes. Rows from all connections collect in one batch; a batch is
// written when it holds `maxRows` rows or its oldest row has waited `maxDelayMs`. One batch is written at
// a time, in order, so a resolved batch means every earlier one is stored too: acks are cumulative.
//
// The delay holds under load too: rows that arrive while a batch is being written wait for their own
// deadline, not for the write to end. Starting the next batch as soon as the previous one is stored made
// ~150 INSERTs a second at 1,000 frames/s, each a new part for ClickHouse to merge; the merges then used
// more CPU than everything else in the collector (bench/RESULTS.md). Paced, a write costs its fixed part
// at most 1000/maxDelayMs times a second and batches grow with the load instead.
//
// Invariant 1 (DESIGN.md): `add()` resolves only after every table of its batch is written, and
// `raw_frames` — the ledger `welcome` reads resume points from — is written last. A write that fails on
// a connection error is retried until it succeeds or the ingest is closed; meanwhile nothing is acked.
// A row the store refuses for its content is isolated and dropped (counted), never the whole batch.
// Every chunk carries an insert deduplication token, the same on each retry: a write that reached the
// store although the collector saw it fail is not stored twice, nor counted twice by the per-minute
// rollups fed from it (store/migrations/009_fleet_rollups.sql says what else keeps them exact).
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { StoreError, isSchemaError } from '../store/index.ts'
import type { Store } from '../store/index.ts'
import type { Registry } from '../lib/metrics.ts'
import { parseTsvLine } from '../store/tsv.ts'
import { COLUMNS } from './rows.ts'

/** Tables in write order; `raw_frames` must stay last. */
export const TABLES = ['peers', 'events', 'stream_seconds', 'transport_seconds', 'raw_frames'] as const
export type Table = (typeof TABLES)[number]
/** Rows per table as TabSeparated lines for the table's COLUMNS (collector/rows.ts). */
export type RowSet = Partial<Record<Table, string[]>>

export interface Ingest {
  /**
   * Queues rows of `frames` frames holding `bytes` bytes of frame text; resolves once they are stored,
   * rejects if they never can be. Never refuses: callers check `overloaded` before adding.
   */
  add(rows: RowSet, frames?: number, bytes?: number): Promise<void>
  /** Frames accepted but not yet stored. */
  readonly pendingFrames: number
  /** Bytes of frame text accepted but not yet stored. */
  readonly pendingBytes: number
  /** True while pending frames or bytes exceed their limits: take no new frames (push back with 1013). */
  readonly overloaded: boolean
  /** False while writes are failing. */
  readonly healthy: boolean
  /** Writes everything queued so far; resolves when stored. */
  flush(): Promise<void>
  /** Flushes, then refuses new rows. Rejects if the final flush fails (or the store is still down at the deadline). */
  close(): Promise<void>
}

export interface IngestOptions {
  store: Store
  maxRows: number
  maxDelayMs: number
  log: Logger
  metrics: Registry
  /** Limits behind `overloaded` (default: unbounded). */
  maxPendingFrames?: number
  maxPendingBytes?: number
  /** How long close() keeps retrying a failing store before giving up (default 10 s). */
  closeDeadlineMs?: number
  /** First and largest retry delay for a failed write, ms. */
  retryMinMs?: number
  retryMaxMs?: number
}

interface Batch {
  rows: Record<Table, string[]>
  rowCount: number
  frames: number
  bytes: number
  promise: Promise<void>
  resolve: () => void
  reject: (err: Error) => void
}

function newBatch(): Batch {
  let resolve!: () => void
  let reject!: (err: Error) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  // A batch nobody awaits (e.g. peers rows) must not crash the process with an unhandled rejection.
  promise.catch(() => {})
  return {
    rows: { peers: [], events: [], stream_seconds: [], transport_seconds: [], raw_frames: [] },
    rowCount: 0,
    frames: 0,
    bytes: 0,
    promise,
    resolve,
    reject,
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref())

/** Creates the batching writer. Nothing is written until rows are added. */
export function createIngest(options: IngestOptions): Ingest {
  const { store, maxRows, maxDelayMs, log, metrics } = options
  const retryMin = options.retryMinMs ?? 100
  const retryMax = options.retryMaxMs ?? 5000
  const rowsWritten = metrics.counter('rtcpulse_rows_written_total', 'Rows written to the store, by table', [
    'table',
  ])
  const batchRows = metrics.histogram(
    'rtcpulse_batch_rows',
    'Rows per batch write',
    [10, 100, 1000, 5000, 20000, 100000],
  )
  const insertSeconds = metrics.histogram(
    'rtcpulse_insert_duration_seconds',
    'Time to write one batch, all tables, including retries',
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  )
  const rowsRejected = metrics.counter(
    'rtcpulse_rows_rejected_total',
    'Rows the store refused for their content, dropped after isolating them, by table',
    ['table'],
  )
  const writeErrors = metrics.counter(
    'rtcpulse_store_write_errors_total',
    'Failed batch writes, by retryable',
    ['retryable'],
  )

  let current = newBatch()
  let timer: NodeJS.Timeout | undefined
  let writing: Promise<void> | undefined
  let inflightFrames = 0
  let inflightBytes = 0
  const maxFrames = options.maxPendingFrames ?? Infinity
  const maxBytes = options.maxPendingBytes ?? Infinity
  let healthy = true
  let closed = false

  // Writes one table's rows of a batch. Connection errors are retried (capped exponential backoff) until
  // they succeed or the ingest closes; meanwhile nothing is acked. Rows refused for their content are
  // isolated by splitting the chunk in halves until the rows at fault stand alone; those are dropped and
  // counted, and the rest is written: one unstorable row must not take everyone's frames with it
  // (invariant 2). Derivation fits every value to its column, so this is a safety net, not a path.
  async function writeTable(table: Table, rows: string[]): Promise<void> {
    const columns = COLUMNS[table]
    const chunks: string[][] = [rows]
    // One token per chunk; halves of a refused chunk get their own (they are different inserts).
    const writeId = randomUUID()
    let split = 0
    const tokens: string[] = [`${writeId}:${table}:0`]
    let delay = retryMin
    while (chunks.length > 0) {
      const chunk = chunks[0] as string[]
      try {
        await store.insert(
          table,
          { format: 'TabSeparated', columns, lines: chunk },
          { dedupToken: tokens[0] as string },
        )
        rowsWritten.inc({ table }, chunk.length)
        healthy = true
        delay = retryMin
        chunks.shift()
        tokens.shift()
      } catch (err) {
        // A missing table or column is the operator's to fix, not the rows' fault: hold and retry.
        const retryable = err instanceof StoreError && (err.retryable || isSchemaError(err))
        writeErrors.inc({ retryable: String(retryable) })
        if (retryable) {
          if (closed) throw err
          // Only an unreachable store makes the collector unhealthy (and refuse hellos).
          healthy = false
          log.warn({ err, table, rows: chunk.length, retryInMs: delay }, 'store write failed; retrying')
          await sleep(delay)
          delay = Math.min(retryMax, delay * 2)
        } else if (chunk.length === 1) {
          rowsRejected.inc({ table })
          log.error(
            { err, table, row: JSON.stringify(parseTsvLine(columns, chunk[0] as string)).slice(0, 500) },
            'store refused a row; dropped',
          )
          chunks.shift()
          tokens.shift()
        } else {
          const half = Math.ceil(chunk.length / 2)
          chunks.splice(0, 1, chunk.slice(0, half), chunk.slice(half))
          tokens.splice(0, 1, `${writeId}:${table}:${++split}`, `${writeId}:${table}:${++split}`)
        }
      }
    }
  }

  async function writeBatch(batch: Batch): Promise<void> {
    const started = performance.now()
    for (const table of TABLES) {
      const rows = batch.rows[table]
      if (rows.length > 0) await writeTable(table, rows)
    }
    batchRows.observe(batch.rowCount)
    insertSeconds.observe((performance.now() - started) / 1000)
  }

  function startWrite(): void {
    if (timer) {
      clearTimeout(timer)
      timer = undefined
    }
    if (writing || current.rowCount === 0) return
    const batch = current
    current = newBatch()
    inflightFrames = batch.frames
    inflightBytes = batch.bytes
    writing = writeBatch(batch).then(
      () => batch.resolve(),
      (err: unknown) => {
        log.error({ err, rows: batch.rowCount }, 'batch could not be stored; its frames stay unacknowledged')
        batch.reject(err instanceof Error ? err : new Error(String(err)))
      },
    )
    void writing.finally(() => {
      writing = undefined
      inflightFrames = 0
      inflightBytes = 0
      // Rows that arrived during the write go when full or due; their timer may have fired meanwhile.
      if (current.rowCount >= maxRows || (current.rowCount > 0 && !timer)) startWrite()
    })
  }

  // Arms the timer of a batch that just got its first row. While a write is in flight the timer still
  // runs: when it fires then, startWrite() returns early, and the write's end starts the overdue batch.
  function schedule(): void {
    timer = setTimeout(() => {
      timer = undefined
      startWrite()
    }, maxDelayMs)
  }

  return {
    add(rows: RowSet, frames = 1, bytes = 0): Promise<void> {
      if (closed) return Promise.reject(new Error('ingest is closed'))
      const batch = current
      const rowsBefore = batch.rowCount
      for (const table of TABLES) {
        const r = rows[table]
        if (!r || r.length === 0) continue
        for (const row of r) batch.rows[table].push(row)
        batch.rowCount += r.length
      }
      batch.frames += frames
      batch.bytes += bytes
      if (batch.rowCount >= maxRows) startWrite()
      else if (rowsBefore === 0 && batch.rowCount > 0) schedule()
      return batch.promise
    },
    get pendingFrames() {
      return current.frames + inflightFrames
    },
    get pendingBytes() {
      return current.bytes + inflightBytes
    },
    get overloaded() {
      return current.frames + inflightFrames > maxFrames || current.bytes + inflightBytes > maxBytes
    },
    get healthy() {
      return healthy
    },
    async flush(): Promise<void> {
      const target = current
      while (writing) await writing
      if (target.rowCount > 0 && target === current) startWrite()
      if (target.rowCount > 0) await target.promise
    },
    async close(): Promise<void> {
      if (closed) return
      // During a store outage the flush would retry forever: after the deadline the retries stop, the
      // batch fails, and its frames (never acked) are resent by the SDKs to the next collector.
      const deadline = setTimeout(() => (closed = true), options.closeDeadlineMs ?? 10_000)
      try {
        await this.flush()
      } finally {
        clearTimeout(deadline)
        closed = true
      }
    },
  }
}
