// Batched, ordered, acknowledged writes. Rows from all connections collect in one batch; a batch is
// written when it holds `maxRows` rows or its oldest row has waited `maxDelayMs`. One batch is written at
// a time, in order, so a resolved batch means every earlier one is stored too: acks are cumulative.
//
// Invariant 1 (DESIGN.md): `add()` resolves only after every table of its batch is written, and
// `raw_frames` — the ledger `welcome` reads resume points from — is written last. A write that fails on
// a connection error is retried until it succeeds or the ingest is closed; meanwhile nothing is acked.
import type { Logger } from 'pino'
import { StoreError } from '../store/index.ts'
import type { Store } from '../store/index.ts'
import type { Registry } from './metrics.ts'

/** Tables in write order; `raw_frames` must stay last. */
export const TABLES = ['peers', 'events', 'stream_seconds', 'transport_seconds', 'raw_frames'] as const
export type Table = (typeof TABLES)[number]
export type RowSet = Partial<Record<Table, object[]>>

export interface Ingest {
  /** Queues rows of `frames` frames; resolves once they are stored, rejects if they never can be. */
  add(rows: RowSet, frames?: number): Promise<void>
  /** Frames accepted but not yet stored. */
  readonly pendingFrames: number
  /** False while writes are failing. */
  readonly healthy: boolean
  /** Writes everything queued so far; resolves when stored. */
  flush(): Promise<void>
  /** Flushes, then refuses new rows. Rejects if the final flush fails. */
  close(): Promise<void>
}

export interface IngestOptions {
  store: Store
  maxRows: number
  maxDelayMs: number
  log: Logger
  metrics: Registry
  /** First and largest retry delay for a failed write, ms. */
  retryMinMs?: number
  retryMaxMs?: number
}

interface Batch {
  rows: Record<Table, object[]>
  rowCount: number
  frames: number
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
  const rowsWritten = metrics.counter('rtcpulse_rows_written_total', 'Rows written to the store, by table')
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
  const writeErrors = metrics.counter(
    'rtcpulse_store_write_errors_total',
    'Failed batch writes, by retryable',
  )

  let current = newBatch()
  let timer: NodeJS.Timeout | undefined
  let writing: Promise<void> | undefined
  let inflightFrames = 0
  let healthy = true
  let closed = false

  async function writeBatch(batch: Batch): Promise<void> {
    const started = performance.now()
    let delay = retryMin
    for (const table of TABLES) {
      const rows = batch.rows[table]
      if (rows.length === 0) continue
      for (;;) {
        try {
          await store.insert(table, rows)
          rowsWritten.inc({ table }, rows.length)
          healthy = true
          break
        } catch (err) {
          const retryable = err instanceof StoreError && err.retryable
          writeErrors.inc({ retryable: String(retryable) })
          healthy = false
          if (!retryable || closed) throw err
          log.warn({ err, table, rows: rows.length, retryInMs: delay }, 'store write failed; retrying')
          await sleep(delay)
          delay = Math.min(retryMax, delay * 2)
        }
      }
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
      // Rows that arrived during the write: go at once if the batch is full or already waited long enough.
      if (current.rowCount >= maxRows || (current.rowCount > 0 && !timer)) startWrite()
    })
  }

  return {
    add(rows: RowSet, frames = 1): Promise<void> {
      if (closed) return Promise.reject(new Error('ingest is closed'))
      const batch = current
      for (const table of TABLES) {
        const r = rows[table]
        if (!r || r.length === 0) continue
        for (const row of r) batch.rows[table].push(row)
        batch.rowCount += r.length
      }
      batch.frames += frames
      if (batch.rowCount >= maxRows) startWrite()
      else if (!timer && !writing) timer = setTimeout(startWrite, maxDelayMs)
      return batch.promise
    },
    get pendingFrames() {
      return current.frames + inflightFrames
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
      await this.flush()
      closed = true
    },
  }
}
