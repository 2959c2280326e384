// The newest scoring of each row of the analyzer's tables, without FINAL. `scores`, `stream_scores` and
// `issues` are ReplacingMergeTree(scored_at) (store/migrations/002_analyzer.sql): every re-scoring of a
// session (live windows, then final, then again after a late frame re-opened it) adds rows that a merge
// later collapses to the newest. FINAL does that collapse at read time, but it never uses the (app,
// time) projections of 010, so a time-filtered read scanned the whole 400-day table, and even a
// one-session lookup cost about four times `ORDER BY scored_at DESC LIMIT 1 BY key` (bench/RESULTS.md,
// "Fleet dashboards"). Both keep, per key, the row with the greatest `scored_at`.

/** The analyzer's tables and their ReplacingMergeTree keys (ORDER BY of 002_analyzer.sql). */
export const SCORE_KEYS = {
  scores: 'app_id, session_id, peer_id',
  stream_scores: 'app_id, session_id, peer_id, pc_id, stream_id',
  issues: 'app_id, session_id, type, peer_id, pc_id, stream_id, start',
} as const

export type ScoreTable = keyof typeof SCORE_KEYS

/**
 * A subquery (in parentheses) of `columns` from the newest row of each key of `table` among the rows
 * matching `where`. Exactly what FINAL keeps when `where` only tests what every scoring of a key shares
 * (the key, a stream's kind) or what only grows with each scoring (`ended_at`: a later scoring sees as
 * much of the session or more); conditions on anything else belong outside, on the newest row.
 */
export function latestScored(table: ScoreTable, columns: string, where: string): string {
  return `(SELECT ${columns} FROM ${table} WHERE ${where}
    ORDER BY scored_at DESC LIMIT 1 BY ${hashedKey(SCORE_KEYS[table])})`
}

/**
 * A key as two 64-bit hashes of two unrelated algorithms (CityHash, MurmurHash3) of its columns, for
 * LIMIT 1 BY: its set of seen keys then holds 16 fixed bytes a key instead of the strings themselves,
 * which halved the newest-row step over 30 days of scores (bench/RESULTS.md, "Hashed keys"). The fleet
 * dashboards' score panels (dashboards/grafana/fleet-scores.ts) dedupe with it too. Two
 * distinct keys collide in both only by chance, ~n²/2¹²⁹ for n keys (below 10⁻²⁶ for a million): as
 * exact as the strings for any store.
 */
export const hashedKey = (columns: string): string => `cityHash64(${columns}), murmurHash3_64(${columns})`

/** The per-second tables and events, and their ReplacingMergeTree keys (ORDER BY of 001_init.sql). */
export const INSERTED_KEYS = {
  stream_seconds: 'app_id, session_id, peer_id, pc_id, stream_id, seq',
  transport_seconds: 'app_id, session_id, peer_id, pc_id, seq',
  events: 'app_id, session_id, peer_id, pc_id, seq',
} as const

/**
 * A subquery (in parentheses) of `columns` from the last inserted row of each key of a per-second
 * table or `events` among the rows matching `where` (which may test anything: a frame stored twice is
 * the same frame, with the same time, so in the same partition). These tables have no version column, so FINAL keeps the row of the newest part; a part's name
 * is `<partition>_<min block>_<max block>_<level>…`, block numbers only grow, and the parts of a
 * partition cover disjoint block ranges (https://clickhouse.com/docs/en/operations/system-tables/parts),
 * so the greatest min block is the newest part. For one session this reads about a third of FINAL's
 * time (bench/RESULTS.md, "Fleet dashboards").
 */
export function latestInserted(table: keyof typeof INSERTED_KEYS, columns: string, where: string): string {
  return `(SELECT ${columns} FROM ${table} WHERE ${where}
    ORDER BY toUInt64(splitByChar('_', _part)[2]) DESC LIMIT 1 BY ${INSERTED_KEYS[table]})`
}

/** A per-second aggregate row with `resent`: how many of its rows repeat a key (`count() - uniqExact(seq)`). */
export interface ResentCounted {
  session_id: string
  resent: number
}

/**
 * Rows of a per-second aggregate grouped within a session, read without FINAL: `fast(params)` runs it
 * on the parts as they are, with a `resent` column; the sessions where some group counted a key twice
 * (a frame stored again after a crash, before a merge collapsed it) are read again with `exact`, the
 * same query with FINAL, and their rows take the place of the fast ones (the order of `fast`, which
 * is by session first, is kept). Within a group app, session and the group's key are fixed, so `resent
 * = 0` means no two rows share a sorting key and FINAL would keep every row: the result is FINAL's.
 * FINAL cost ~35% of the stream aggregate's CPU (bench/RESULTS.md, "Analyzer").
 */
export async function resendSafe<T extends ResentCounted>(
  run: (sql: string, params: Record<string, unknown>) => Promise<T[]>,
  sql: { fast: string; exact: string },
  params: Record<string, unknown>,
): Promise<Omit<T, 'resent'>[]> {
  const rows = await run(sql.fast, params)
  const resent = new Set<string>()
  for (const r of rows) if (r.resent > 0) resent.add(r.session_id)
  const strip = ({ resent: _, ...r }: T): Omit<T, 'resent'> => r
  if (resent.size === 0) return rows.map(strip)
  const exact = new Map<string, Omit<T, 'resent'>[]>()
  for (const r of await run(sql.exact, { ...params, sessions: [...resent] })) {
    const list = exact.get(r.session_id)
    if (list) list.push(strip(r))
    else exact.set(r.session_id, [strip(r)])
  }
  const out: Omit<T, 'resent'>[] = []
  for (const r of rows) {
    if (!resent.has(r.session_id)) out.push(strip(r))
    else if (exact.has(r.session_id)) {
      out.push(...(exact.get(r.session_id) ?? []))
      exact.delete(r.session_id)
    }
  }
  return out
}
