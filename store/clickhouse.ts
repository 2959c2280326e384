// Server backend: a ClickHouse server (or cluster front) over HTTP through @clickhouse/client.
import { createClient } from '@clickhouse/client'
import type { ClickHouseClient } from '@clickhouse/client'
import { OUTPUT_SETTINGS, StoreError, isTransientServerError } from './index.ts'
import type { Health, InsertOptions, QueryParams, Store } from './index.ts'

export interface ClickHouseStoreOptions {
  url: string
  username?: string
  password?: string
  database: string
  /** Per-request timeout, ms. */
  requestTimeoutMs?: number
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'])

function wrap(err: unknown, what: string): StoreError {
  const e = err as { code?: string; message?: string; type?: string }
  // A ClickHouse server error carries a numeric code and a `type`: retry the transient ones (overload,
  // replica or Keeper away). Anything without a code is the network.
  const retryable =
    (e.code !== undefined && NETWORK_CODES.has(e.code)) ||
    isTransientServerError(err) ||
    /timeout|socket hang up/i.test(e.message ?? '')
  return new StoreError(`${what}: ${e.message ?? String(err)}`, retryable, { cause: err })
}

/** Connects to a ClickHouse server and creates the database if missing. Throws StoreError if unreachable. */
export async function createClickHouseStore(options: ClickHouseStoreOptions): Promise<Store> {
  const { url, username, password, database } = options
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) {
    throw new StoreError(`database name ${JSON.stringify(database)} must match [A-Za-z_][A-Za-z0-9_]*`, false)
  }
  const base = {
    url,
    username: username ?? 'default',
    password: password ?? '',
    request_timeout: options.requestTimeoutMs ?? 30_000,
    clickhouse_settings: { ...OUTPUT_SETTINGS },
  }
  const admin = createClient(base)
  try {
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` })
  } catch (err) {
    throw wrap(err, `cannot reach ClickHouse at ${url}`)
  } finally {
    await admin.close()
  }
  const client: ClickHouseClient = createClient({ ...base, database })

  return {
    backend: 'clickhouse',
    database,
    async query<T>(sql: string, params?: QueryParams): Promise<T[]> {
      try {
        const rs = await client.query({ query: sql, query_params: params, format: 'JSONEachRow' })
        return await rs.json<T>()
      } catch (err) {
        throw wrap(err, 'query failed')
      }
    },
    async exec(sql: string, params?: QueryParams): Promise<void> {
      try {
        await client.command({ query: sql, query_params: params })
      } catch (err) {
        throw wrap(err, 'statement failed')
      }
    },
    async insert(table: string, rows: readonly object[], options?: InsertOptions): Promise<void> {
      if (rows.length === 0) return
      try {
        await client.insert({
          table,
          values: rows,
          format: 'JSONEachRow',
          ...(options?.dedupToken
            ? { clickhouse_settings: { insert_deduplication_token: options.dedupToken } }
            : {}),
        })
      } catch (err) {
        throw wrap(err, `insert into ${table} failed`)
      }
    },
    async ping(): Promise<Health> {
      const res = await client.ping()
      return res.success ? { ok: true } : { ok: false, error: res.error.message }
    },
    close: () => client.close(),
  }
}
