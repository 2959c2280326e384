// Server backend: a ClickHouse server (or cluster front) over HTTP through @clickhouse/client.
import { Readable } from 'node:stream'
import { createClient } from '@clickhouse/client'
import type { ClickHouseClient } from '@clickhouse/client'
import { OUTPUT_SETTINGS, StoreError, isTransientServerError } from './index.ts'
import type { Health, InsertOptions, QueryParams, Store } from './index.ts'
import { isTsvRows, tsvBody } from './tsv.ts'
import type { TsvRows } from './tsv.ts'

export interface ClickHouseStoreOptions {
  url: string
  username?: string
  password?: string
  database: string
  /** Per-request timeout, ms. */
  requestTimeoutMs?: number
  /** CLICKHOUSE_CLUSTER: the cluster the tables span (store/cluster-ddl.ts); unset for one server. */
  cluster?: string
}

/**
 * Settings of every request to a cluster. Reads: tables are sharded by (app, session), so a JOIN or IN
 * on another sharded table finds its matching rows on the same shard; `local` runs such subqueries on
 * each shard's local table instead of refusing them (the default, `deny`) or broadcasting them
 * (https://clickhouse.com/docs/en/operations/settings/settings#distributed_product_mode).
 * Writes: an insert into a Distributed table returns only once every shard it touched has written its
 * rows, not when they are queued on the receiving host for a background send
 * (distributed_foreground_insert): an acknowledgement still means stored.
 */
export const CLUSTER_SETTINGS = {
  distributed_product_mode: 'local',
  distributed_foreground_insert: 1,
} as const

/**
 * Settings of one insert. With a deduplication token, the insert is sent as its own block so the token
 * reaches each shard's replicated table, which drops a retried block with the same token (and so do the
 * views fed from it). On a cluster, an insert without a token is an asynchronous insert that waits for
 * its flush: the server gathers many clients' small inserts into one part and answers each only once
 * that part is written (https://clickhouse.com/docs/en/optimize/asynchronous-inserts). Tokened inserts
 * stay synchronous because a flush merges several clients' inserts into one block before the Distributed
 * table splits it by shard, and a per-insert token cannot survive that.
 */
export function insertSettings(
  cluster: string | undefined,
  dedupToken: string | undefined,
): Record<string, string | number> {
  if (dedupToken) return { insert_deduplication_token: dedupToken }
  return cluster ? { async_insert: 1, wait_for_async_insert: 1 } : {}
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
  const { url, username, password, database, cluster } = options
  if (cluster !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(cluster)) {
    throw new StoreError(`cluster name ${JSON.stringify(cluster)} must match [A-Za-z_][A-Za-z0-9_]*`, false)
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) {
    throw new StoreError(`database name ${JSON.stringify(database)} must match [A-Za-z_][A-Za-z0-9_]*`, false)
  }
  const base = {
    url,
    username: username ?? 'default',
    password: password ?? '',
    request_timeout: options.requestTimeoutMs ?? 30_000,
    clickhouse_settings: { ...OUTPUT_SETTINGS, ...(options.cluster ? CLUSTER_SETTINGS : {}) },
  }
  const admin = createClient(base)
  try {
    await admin.command({
      query: `CREATE DATABASE IF NOT EXISTS ${database}${cluster ? ` ON CLUSTER ${cluster}` : ''}`,
    })
  } catch (err) {
    throw wrap(err, `cannot reach ClickHouse at ${url}`)
  } finally {
    await admin.close()
  }
  const client: ClickHouseClient = createClient({ ...base, database })

  return {
    backend: 'clickhouse',
    database,
    ...(cluster ? { cluster } : {}),
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
    async insert(table: string, rows: readonly object[] | TsvRows, options?: InsertOptions): Promise<void> {
      const tsv = isTsvRows(rows)
      if ((tsv ? rows.lines : rows).length === 0) return
      const clickhouse_settings = insertSettings(cluster, options?.dedupToken)
      try {
        // Text formats go as a byte stream (the client encodes only JSON formats itself).
        if (tsv) {
          await client.insert({
            table,
            values: Readable.from([Buffer.from(tsvBody(rows))], { objectMode: false }),
            format: 'TabSeparated',
            columns: rows.columns as [string, ...string[]],
            clickhouse_settings,
          })
        } else await client.insert({ table, values: rows, format: 'JSONEachRow', clickhouse_settings })
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
