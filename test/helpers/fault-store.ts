// A Store that delegates to a real one (chDB in a temp folder) but fails or stalls on demand, to stage
// store outages and slow disks against an otherwise real collector. It is a test double only in the
// sense that the failure is injected; every successful call is the real store's. Injected through
// startCollector's `wrapStore` seam, never through configuration.
import { StoreError } from '../../store/index.ts'
import type { Health, InsertOptions, QueryParams, Store, TsvRows } from '../../store/index.ts'
import { isTsvRows, parseTsvLine } from '../../store/tsv.ts'
import { startTestCollector } from './collector.ts'
import type { TestCollector } from './collector.ts'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export class FaultyStore implements Store {
  /** While true every call fails with a retryable StoreError, as a lost connection does. */
  down = false
  /** Added before every insert (a slow store), ms. */
  insertDelayMs = 0
  /** Added before every query (slow reads, e.g. resume points), ms. */
  queryDelayMs = 0
  /** An insert holding a row this matches fails for good (a row ClickHouse cannot parse). */
  poison: ((table: string, row: Record<string, unknown>) => boolean) | undefined
  /** Calls refused while down. */
  refused = 0
  inserts = 0
  queries = 0

  constructor(readonly inner: Store) {}

  get backend(): Store['backend'] {
    return this.inner.backend
  }
  get database(): string {
    return this.inner.database
  }

  private check(): void {
    if (this.down) {
      this.refused++
      throw new StoreError('store unavailable (injected fault)', true)
    }
  }

  async query<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]> {
    this.queries++
    if (this.queryDelayMs > 0) await sleep(this.queryDelayMs)
    this.check()
    return this.inner.query<T>(sql, params)
  }
  async exec(sql: string, params?: QueryParams): Promise<void> {
    this.check()
    return this.inner.exec(sql, params)
  }
  async insert(table: string, rows: readonly object[] | TsvRows, options?: InsertOptions): Promise<void> {
    if (this.insertDelayMs > 0) await sleep(this.insertDelayMs)
    this.check()
    const poison = this.poison
    // The collector's rows are TabSeparated lines: read back into column → text for the predicate.
    const objects = isTsvRows(rows) ? rows.lines.map((l) => parseTsvLine(rows.columns, l)) : rows
    if (poison && objects.some((r) => poison(table, r as Record<string, unknown>))) {
      throw new StoreError(
        `insert into ${table} failed: Code: 27. Cannot parse input (injected fault)`,
        false,
      )
    }
    this.inserts++
    return this.inner.insert(table, rows, options)
  }
  ping(): Promise<Health> {
    if (this.down) return Promise.resolve({ ok: false, error: 'store unavailable (injected fault)' })
    return this.inner.ping()
  }
  close(): Promise<void> {
    return this.inner.close()
  }
}

export interface FaultyCollector extends TestCollector {
  faulty: FaultyStore
}

/** Starts an in-process collector (dev mode unless env has keys) whose store is a FaultyStore. */
export async function startFaultyCollector(env: Record<string, string> = {}): Promise<FaultyCollector> {
  let faulty: FaultyStore | undefined
  const running = await startTestCollector({ RTCPULSE_ANALYZER: 'false', ...env }, [], {
    wrapStore: (s) => (faulty = new FaultyStore(s)),
  })
  return { ...running, faulty: faulty as FaultyStore }
}
