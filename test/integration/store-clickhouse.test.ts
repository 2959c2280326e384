// The @clickhouse/client backend. With CLICKHOUSE_URL set, the suite runs against that real server.
// Without it, it runs against a stand-in (test/helpers/ch-http-standin.ts) that answers the ClickHouse
// HTTP interface from chDB, so the client code path is exercised in CI all the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClickHouseStore } from '../../store/clickhouse.ts'
import { StoreError } from '../../store/index.ts'
import { startClickHouseStandIn } from '../helpers/ch-http-standin.ts'
import type { StandIn } from '../helpers/ch-http-standin.ts'
import { guid, testDataDir } from '../helpers/collector.ts'
import { runStoreSuite } from '../store.case.ts'

let standIn: StandIn | undefined
const realUrl = process.env.CLICKHOUSE_URL

beforeAll(async () => {
  if (!realUrl) standIn = await startClickHouseStandIn(testDataDir())
})
afterAll(async () => {
  await standIn?.close()
})

const url = (): string => realUrl ?? (standIn as StandIn).url
const open = () =>
  createClickHouseStore({
    url: url(),
    username: process.env.CLICKHOUSE_USER,
    password: process.env.CLICKHOUSE_PASSWORD,
    database: guid('s'),
    requestTimeoutMs: 5000,
  })

runStoreSuite({
  name: realUrl ? `clickhouse server ${realUrl}` : 'clickhouse client via chDB stand-in',
  open,
})

describe('clickhouse backend connection failures', () => {
  it('reports an unreachable server as retryable and ping as not ok', async () => {
    if (!standIn) return // only the stand-in can be taken down on demand
    const store = await open()
    standIn.down()
    try {
      expect(await store.ping()).toMatchObject({ ok: false })
      const err = await store
        .insert('schema_migrations', [{ version: 1, name: 'x' }])
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(StoreError)
      expect((err as StoreError).retryable).toBe(true)
    } finally {
      standIn.up()
      await store.close()
    }
  })
})
