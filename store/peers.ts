// The `peers` table's row (store/migrations/001_init.sql; clock_skew_ms from 004, set apart): one row per
// hello, written by the collector (collector/rows.ts) and read back per peer by the analyzer
// (analyzer/queries.ts). Collector and analyzer do not import each other, so the row is described here.

/** A `peers` row as the collector writes it at hello. */
export interface PeersRow {
  app_id: string
  session_id: string
  peer_id: string
  user_id: string
  sdk_version: string
  user_agent: string
  browser: string
  os: string
  metadata: Record<string, string>
  remote_addr: string
  /** ms since the epoch */
  connected_at: number
}
