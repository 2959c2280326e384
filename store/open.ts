// Picks the backend from configuration and brings its schema up to date.
import { createChdbStore } from './chdb.ts'
import { createClickHouseStore } from './clickhouse.ts'
import { migrate } from './migrate.ts'
import type { Store } from './index.ts'

export interface StoreConfig {
  dataDir: string
  database: string
  clickhouse: { url: string; username: string; password: string } | undefined
}

/** Opens the configured store and migrates it. Rejects with StoreError when it cannot be reached. */
export async function openStore(config: StoreConfig): Promise<Store> {
  const store = config.clickhouse
    ? await createClickHouseStore({ ...config.clickhouse, database: config.database })
    : await createChdbStore({ dataDir: config.dataDir, database: config.database })
  try {
    await migrate(store)
  } catch (err) {
    await store.close()
    throw err
  }
  return store
}
