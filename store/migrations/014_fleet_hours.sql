-- rtcpulse schema v14: hourly rollups and a time-ordered `peers` for long fleet ranges (issue 16,
-- bench/RESULTS.md "Fleet dashboards").
-- A week of the per-minute rollups of 009 is ~820,000 `stream_minutes` rows, and merging their states
-- was most of a 7-day fleet dashboard's time. The hourly tables hold the same states per hour, so a
-- week is ~60× fewer rows; the fleet panels read whole hours here and the minutes of the range's
-- partial hours at its edges from 009's tables (dashboards/grafana/rollups.ts), so a range's figures
-- are the same as from the minutes alone.
--
-- Fed by views chained on the per-minute tables (a view on `stream_minutes` sees each block 009's view
-- writes there), re-aggregating their states with -MergeState
-- (https://clickhouse.com/docs/en/sql-reference/aggregate-functions/combinators#-mergestate). Resend
-- safety is 009's: a frame resent after a reconnect never reaches `stream_seconds` again, and the retry
-- of a block the server already stored is dropped with every block derived from it, down the chain of
-- views (deduplicate_blocks_in_dependent_materialized_views; the same deduplication window here).
-- Hourly rows are small, so they are kept longer than the minutes: a year of fleet trends.
CREATE TABLE IF NOT EXISTS stream_hours
(
    app_id LowCardinality(String),
    hour DateTime('UTC'),
    browser LowCardinality(String),
    os LowCardinality(String),
    codec LowCardinality(String),
    direction Enum8('inbound' = 1, 'outbound' = 2),
    kind Enum8('audio' = 1, 'video' = 2),
    stream_ms SimpleAggregateFunction(sum, UInt64),
    sessions AggregateFunction(uniq, String),
    loss AggregateFunction(avg, Nullable(Float32)),
    frozen AggregateFunction(avg, Nullable(Float32)),
    fps AggregateFunction(avg, Nullable(Float32)),
    bitrate AggregateFunction(avg, Nullable(Float32)),
    rtt AggregateFunction(quantilesBFloat16(0.5, 0.95), Nullable(Float32))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (app_id, hour, browser, os, codec, direction, kind)
TTL hour + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS stream_hours_mv TO stream_hours AS
SELECT app_id, toStartOfHour(minute) AS hour, browser, os, codec, direction, kind,
       sum(stream_ms) AS stream_ms,
       uniqMergeState(sessions) AS sessions,
       avgMergeState(loss) AS loss,
       avgMergeState(frozen) AS frozen,
       avgMergeState(fps) AS fps,
       avgMergeState(bitrate) AS bitrate,
       quantilesBFloat16MergeState(0.5, 0.95)(rtt) AS rtt
FROM stream_minutes
GROUP BY app_id, hour, browser, os, codec, direction, kind;

CREATE TABLE IF NOT EXISTS transport_hours
(
    app_id LowCardinality(String),
    hour DateTime('UTC'),
    browser LowCardinality(String),
    os LowCardinality(String),
    relay UInt8,
    connections AggregateFunction(uniq, String, String, String),
    rtt AggregateFunction(quantilesBFloat16(0.5, 0.95), Nullable(Float32))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (app_id, hour, browser, os, relay)
TTL hour + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS transport_hours_mv TO transport_hours AS
SELECT app_id, toStartOfHour(minute) AS hour, browser, os, relay,
       uniqMergeState(connections) AS connections,
       quantilesBFloat16MergeState(0.5, 0.95)(rtt) AS rtt
FROM transport_minutes
GROUP BY app_id, hour, browser, os, relay;

-- Minutes stored before this migration, rolled up once. Only hours before the first one the views
-- wrote are filled, so running this again (a crash before the migration was recorded) adds nothing
-- twice; minutes of the hour the views started in that arrived before them stay out of that hour.
-- On an empty store both read nothing.
INSERT INTO stream_hours
SELECT app_id, toStartOfHour(minute) AS hour, browser, os, codec, direction, kind,
       sum(stream_ms), uniqMergeState(sessions), avgMergeState(loss), avgMergeState(frozen),
       avgMergeState(fps), avgMergeState(bitrate), quantilesBFloat16MergeState(0.5, 0.95)(rtt)
FROM stream_minutes
WHERE minute < (SELECT if(count() = 0, toDateTime('2106-01-01 00:00:00', 'UTC'), min(hour)) FROM stream_hours)
GROUP BY app_id, hour, browser, os, codec, direction, kind;

INSERT INTO transport_hours
SELECT app_id, toStartOfHour(minute) AS hour, browser, os, relay,
       uniqMergeState(connections), quantilesBFloat16MergeState(0.5, 0.95)(rtt)
FROM transport_minutes
WHERE minute < (SELECT if(count() = 0, toDateTime('2106-01-01 00:00:00', 'UTC'), min(hour)) FROM transport_hours)
GROUP BY app_id, hour, browser, os, relay;

-- `peers` is ordered by session and kept 400 days, and every fleet panel that counts sessions or peers,
-- the app variable and the OS join filter it by `connected_at`: each read the whole table, ~4 M rows at
-- 10,000 sessions a day. A time-ordered projection, as 010 gave the score tables (and with the same two
-- settings, for the same reasons: a ReplacingMergeTree and lightweight deletes), lets them read their
-- range only.
ALTER TABLE peers MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';
ALTER TABLE peers MODIFY SETTING lightweight_mutation_projection_mode = 'rebuild';
ALTER TABLE peers ADD PROJECTION IF NOT EXISTS by_app_time (SELECT * ORDER BY app_id, connected_at);
ALTER TABLE peers MATERIALIZE PROJECTION by_app_time;
