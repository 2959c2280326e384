-- rtcpulse schema v11: analyzers that share the work (issue 13, analyzer/members.ts, docs/SCALING.md).
--
-- 1. Which sessions received frames lately, without scanning `raw_frames` by `ts` (not in its sort key)
--    every pass: a materialized view writes one row per (app, session) per inserted `raw_frames` block
--    with the block's latest frame time. `raw_frames` is the ledger the collector writes last in each
--    batch (collector/ingest.ts), so a session seen here has its per-second rows stored already.
--    Merges keep one row per session and day; readers take max(last_ts). Partitions by day and a
--    minmax index on last_ts let "active since" read only recent parts; `bucket` (a hash of app and
--    session modulo 1024, analyzer/members.ts BUCKET_SQL) leads the sort key, so each analyzer reads
--    the buckets it owns by primary key. The TTL covers the analyzer's
--    longest lookback (RTCPULSE_ANALYZER_LOOKBACK_S, at most 7 days) plus a day.
CREATE TABLE IF NOT EXISTS session_activity
(
    bucket UInt16,
    app_id LowCardinality(String),
    session_id String,
    last_ts DateTime64(3, 'UTC'),
    INDEX last_ts_minmax last_ts TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(last_ts)
PARTITION BY toYYYYMMDD(last_ts)
ORDER BY (bucket, app_id, session_id)
TTL toDateTime(last_ts) + INTERVAL 8 DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS session_activity_mv TO session_activity AS
SELECT reinterpretAsUInt64(MD5(concat(app_id, '\n', session_id))) % 1024 AS bucket, app_id, session_id,
    max(ts) AS last_ts
FROM raw_frames
GROUP BY app_id, session_id;

-- Frames stored before this migration: their sessions' latest frame (raw_frames keeps 7 days).
INSERT INTO session_activity
SELECT reinterpretAsUInt64(MD5(concat(app_id, '\n', session_id))) % 1024 AS bucket, app_id, session_id,
    max(ts) AS last_ts
FROM raw_frames
GROUP BY app_id, session_id;

-- 2. The analyzers alive now: each writes a heartbeat every pass and `leaving = 1` when it stops. An
--    instance whose heartbeat is older than RTCPULSE_ANALYZER_MEMBER_TTL_S is gone; its buckets pass to
--    the others (rendezvous hashing over the live members, analyzer/members.ts).
CREATE TABLE IF NOT EXISTS analyzer_members
(
    instance String,
    started_at DateTime64(3, 'UTC'),
    heartbeat DateTime64(3, 'UTC'),
    leaving UInt8
)
ENGINE = ReplacingMergeTree(heartbeat)
ORDER BY instance
TTL toDateTime(heartbeat) + INTERVAL 1 DAY;

-- 3. The latest frame (raw_frames ts, the session's report clock) a score covered: an analyzer that
--    takes a session over knows from the store whether it is final already (frames_until >= its latest
--    frame), so no session is finalised, or counted in the metrics, twice.
ALTER TABLE scores ADD COLUMN IF NOT EXISTS frames_until DateTime64(3, 'UTC') DEFAULT 0;
