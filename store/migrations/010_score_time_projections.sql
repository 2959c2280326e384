-- rtcpulse schema v10: time-ordered copies of the analyzer's tables (issue 16). `scores`, `stream_scores`
-- and `issues` are ordered by session, so a time-filtered read (a fleet panel, an API list) scanned the
-- whole 400-day table. A projection is a second, time-ordered copy of every part kept by ClickHouse
-- itself; it keeps every column (including ones later migrations add), so no table is rebuilt. Queries
-- that filter by app and time use it automatically — but not under FINAL, so the fleet panels dedupe
-- with `LIMIT 1 BY` instead (dashboards/grafana/fleet-scores.ts).
-- A ReplacingMergeTree refuses projections unless told what to do with them when a merge drops
-- replaced rows: 'rebuild' recomputes the projection of the merged part
-- (https://clickhouse.com/docs/en/operations/settings/merge-tree-settings#deduplicate_merge_projection_mode).
ALTER TABLE scores MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';
ALTER TABLE stream_scores MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';
ALTER TABLE issues MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';
-- A lightweight DELETE (store/index.ts deleteData: a session's or a user's data) is refused on a table
-- with projections unless told what to do: 'rebuild' rewrites the projection of each part it touches,
-- so deleted rows leave the time-ordered copy too
-- (https://clickhouse.com/docs/en/operations/settings/merge-tree-settings#lightweight_mutation_projection_mode).
ALTER TABLE scores MODIFY SETTING lightweight_mutation_projection_mode = 'rebuild';
ALTER TABLE stream_scores MODIFY SETTING lightweight_mutation_projection_mode = 'rebuild';
ALTER TABLE issues MODIFY SETTING lightweight_mutation_projection_mode = 'rebuild';
ALTER TABLE scores ADD PROJECTION IF NOT EXISTS by_app_time (SELECT * ORDER BY app_id, ended_at);
ALTER TABLE stream_scores ADD PROJECTION IF NOT EXISTS by_app_time (SELECT * ORDER BY app_id, ended_at);
ALTER TABLE issues ADD PROJECTION IF NOT EXISTS by_app_time (SELECT * ORDER BY app_id, start);
-- Builds the projection for parts written before this migration (a mutation, run in the background).
ALTER TABLE scores MATERIALIZE PROJECTION by_app_time;
ALTER TABLE stream_scores MATERIALIZE PROJECTION by_app_time;
ALTER TABLE issues MATERIALIZE PROJECTION by_app_time;
