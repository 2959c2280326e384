// Several small SELECTs in one round trip. The embedded store runs one query at a time and each costs
// a few ms of fixed work (planning, a pipeline, the JSON output) before it reads a row, so the ten reads
// of one session's detail cost more in queries than in rows (bench/RESULTS.md, "API reads without
// FINAL"). Here each SELECT becomes one branch of a UNION ALL whose rows are JSON text of the branch's
// own columns (formatRowNoNewline, the same formatter and output settings as the store's JSONEachRow),
// so branches of any shape share one result and run side by side in one pipeline.
import type { QueryParams, Store } from '../store/index.ts'

/**
 * Runs the SELECTs of `queries` (sharing `params`) as one query and returns each one's rows, in the order
 * its own ORDER BY gives. Each SELECT must be a whole query without SETTINGS or FORMAT. Rejects with
 * StoreError.
 */
export async function queryBatch<K extends string>(
  store: Store,
  queries: Record<K, string>,
  params: QueryParams,
): Promise<Record<K, Record<string, unknown>[]>> {
  const names = Object.keys(queries) as K[]
  // rowNumberInAllBlocks() numbers a branch's rows in the one sorted stream its ORDER BY ends in, before
  // the union interleaves the branches (https://clickhouse.com/docs/en/sql-reference/functions/other-functions#rownumberinallblocks).
  const sql = names
    .map(
      (name, i) =>
        `SELECT ${i} AS q, rowNumberInAllBlocks() AS n, formatRowNoNewline('JSONEachRow', *) AS j
         FROM (${queries[name]})`,
    )
    .join('\nUNION ALL\n')
  const rows = await store.query<{ q: number; n: number; j: string }>(sql, params)
  rows.sort((x, y) => x.q - y.q || x.n - y.n)
  const out = Object.fromEntries(names.map((name) => [name, []])) as unknown as Record<
    K,
    Record<string, unknown>[]
  >
  for (const r of rows) out[names[r.q] as K].push(JSON.parse(r.j) as Record<string, unknown>)
  return out
}
