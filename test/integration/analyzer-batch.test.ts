// queryBatch (analyzer/batch.ts) answers a session's detail in one round trip by encoding each branch's
// rows as JSON text. This guards that the answer is exactly what each SELECT gives alone: the same values
// for every column type the analyzer's tables hold (the text goes through the same formatter and output
// settings), and each branch's own row order even when its rows span many blocks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { queryBatch } from '../../analyzer/batch.ts'
import type { Store } from '../../store/index.ts'
import { openStore } from '../../store/open.ts'
import { guid, testDataDir } from '../helpers/collector.ts'

describe('queryBatch', () => {
  let store: Store
  beforeAll(async () => {
    store = await openStore({ dataDir: testDataDir(), database: guid('batch'), clickhouse: undefined })
  })
  afterAll(async () => {
    await store?.close()
  })

  it('returns the rows each SELECT returns alone, typed values included', async () => {
    const queries = {
      typed: `SELECT number AS n, toUInt64(number) * 1000000000000 AS big, toFloat32(number / 3) AS f32,
          if(number % 2 = 0, NULL, number / 7) AS nullable, [toFloat32(0.1), 0.25] AS arr,
          map('a', toFloat32(number / 9)) AS m, toDateTime64(1700000000.123 + number, 3, 'UTC') AS ts,
          CAST(if(number % 2 = 0, 'inbound', 'outbound'), 'Enum8(\\'inbound\\' = 1, \\'outbound\\' = 2)') AS e,
          toString(number) || '"\\n\\\\' AS s, 0 / 0 AS nan
        FROM numbers(5) ORDER BY n DESC`,
      bound: `SELECT {app:String} AS app, arrayJoin({sessions:Array(String)}) AS session ORDER BY session`,
      empty: `SELECT 1 AS x WHERE 0`,
    }
    const params = { app: 'x"y', sessions: ['b', 'a'] }
    const batch = await queryBatch(store, queries, params)
    for (const [name, sql] of Object.entries(queries))
      expect(batch[name as keyof typeof queries], name).toEqual(await store.query(sql, params))
    expect(batch.bound).toEqual([
      { app: 'x"y', session: 'a' },
      { app: 'x"y', session: 'b' },
    ])
    expect(batch.empty).toEqual([])
  })

  it("keeps each branch's order over many blocks, whatever the union interleaves", async () => {
    const batch = await queryBatch(
      store,
      {
        down: `SELECT number AS n FROM numbers(100000) ORDER BY cityHash64(number), n`,
        up: `SELECT number * 2 AS n FROM numbers_mt(60000) ORDER BY n`,
      },
      {},
    )
    const down = await store.query<{ n: number }>(
      `SELECT number AS n FROM numbers(100000) ORDER BY cityHash64(number), n`,
    )
    expect(batch.down.length).toBe(100000)
    expect(batch.down.map((r) => r.n)).toEqual(down.map((r) => r.n))
    expect(batch.up.map((r) => r.n)).toEqual(Array.from({ length: 60000 }, (_, i) => i * 2))
  })
})
