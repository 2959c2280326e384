// Picks the backend from configuration and brings its schema up to date.
import { createChdbStore } from './chdb.ts'
import { createClickHouseStore } from './clickhouse.ts'
import { applyRetention, migrate } from './migrate.ts'
import { StoreError } from './index.ts'
import type { Store } from './index.ts'

export interface StoreConfig {
  dataDir: string
  database: string
  clickhouse: { url: string; username: string; password: string } | undefined
  /** CLICKHOUSE_CLUSTER: run the schema as replicated tables behind Distributed ones (server only). */
  cluster?: string
  /** Days to keep rows, per table (RTCPULSE_RETENTION_DAYS_<TABLE>); others keep their migration's TTL. */
  retentionDays?: ReadonlyMap<string, number>
  /** Told of each table setting the server did not know and the migration skipped (an older ClickHouse). */
  onSkippedSetting?: (message: string) => void
}

/**
 * Opens the configured store, migrates it and applies the configured retention. Rejects with StoreError
 * when it cannot be reached or a retention setting names a table it cannot change.
 */
export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.cluster && !config.clickhouse) {
    // chDB is one process, not a cluster: refuse rather than quietly store unreplicated.
    throw new StoreError(
      `CLICKHOUSE_CLUSTER=${config.cluster} needs a ClickHouse server: set CLICKHOUSE_URL, or unset CLICKHOUSE_CLUSTER for the embedded store`,
      false,
    )
  }
  const store = config.clickhouse
    ? await createClickHouseStore({
        ...config.clickhouse,
        database: config.database,
        ...(config.cluster ? { cluster: config.cluster } : {}),
      })
    : await createChdbStore({ dataDir: config.dataDir, database: config.database })
  try {
    const skipped: string[] = []
    await migrate(store, undefined, skipped)
    for (const message of skipped) config.onSkippedSetting?.(message)
    if (config.retentionDays) await applyRetention(store, config.retentionDays)
  } catch (err) {
    await store.close()
    throw err
  }
  return store
}
