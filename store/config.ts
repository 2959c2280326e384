// The store's variables (RTCPULSE_DATA_DIR, CLICKHOUSE_*), read the same way by the collector and the
// standalone analyzer.
import { ConfigError } from '../lib/env.ts'
import type { Env } from '../lib/env.ts'
import type { StoreConfig } from './open.ts'

/** The part of StoreConfig that comes from the environment. */
export interface StoreSettings extends Pick<StoreConfig, 'dataDir' | 'database' | 'clickhouse'> {
  cluster: string | undefined
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Where the data lives: chDB in RTCPULSE_DATA_DIR, or the server at CLICKHOUSE_URL. Throws ConfigError. */
export function loadStoreConfig(env: Env): StoreSettings {
  const url = env.CLICKHOUSE_URL || undefined
  if (url !== undefined) {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new ConfigError(`CLICKHOUSE_URL=${JSON.stringify(url)} is invalid: expected http(s)://host:port`)
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new ConfigError(
        `CLICKHOUSE_URL=${JSON.stringify(url)} is invalid: expected an http:// or https:// URL`,
      )
    }
  }
  const database = env.CLICKHOUSE_DATABASE || 'rtcpulse'
  if (!IDENTIFIER.test(database)) {
    throw new ConfigError(
      `CLICKHOUSE_DATABASE=${JSON.stringify(database)} is invalid: expected letters, digits and _`,
    )
  }
  const cluster = env.CLICKHOUSE_CLUSTER || undefined
  if (cluster !== undefined && !IDENTIFIER.test(cluster)) {
    throw new ConfigError(
      `CLICKHOUSE_CLUSTER=${JSON.stringify(cluster)} is invalid: expected a cluster name of letters, digits and _`,
    )
  }
  if (cluster !== undefined && !url) {
    throw new ConfigError(
      'CLICKHOUSE_CLUSTER is set but CLICKHOUSE_URL is not: the embedded store (chDB) is one process, not a cluster; set CLICKHOUSE_URL to a host of the cluster or unset CLICKHOUSE_CLUSTER',
    )
  }
  return {
    dataDir: env.RTCPULSE_DATA_DIR || './data',
    database,
    clickhouse: url
      ? { url, username: env.CLICKHOUSE_USER || 'default', password: env.CLICKHOUSE_PASSWORD ?? '' }
      : undefined,
    cluster,
  }
}
