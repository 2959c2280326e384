-- rtcpulse schema v9: what the fleet dashboards read (issue 16, bench/RESULTS.md "Fleet dashboards").
--
-- 1. Browser, OS and SDK version of the peer, stored on every per-second row at ingest (they come with
--    the hello, collector/session.ts), so no fleet query joins `peers` per row. Rows stored before this
--    migration hold '' (shown as such; they age out with the 90-day TTL).
ALTER TABLE stream_seconds ADD COLUMN IF NOT EXISTS browser LowCardinality(String) DEFAULT '' AFTER stream_id;
ALTER TABLE stream_seconds ADD COLUMN IF NOT EXISTS os LowCardinality(String) DEFAULT '' AFTER browser;
ALTER TABLE stream_seconds ADD COLUMN IF NOT EXISTS sdk_version LowCardinality(String) DEFAULT '' AFTER os;
ALTER TABLE transport_seconds ADD COLUMN IF NOT EXISTS browser LowCardinality(String) DEFAULT '' AFTER pc_id;
ALTER TABLE transport_seconds ADD COLUMN IF NOT EXISTS os LowCardinality(String) DEFAULT '' AFTER browser;
ALTER TABLE transport_seconds ADD COLUMN IF NOT EXISTS sdk_version LowCardinality(String) DEFAULT '' AFTER os;

-- 2. Per-minute rollups, fed by materialized views as the rows are inserted, ordered by app and minute
--    and then the dimensions the fleet panels group by. Each row holds partial aggregates (states) that
--    merge exactly for sums and averages, approximately for distinct counts (uniq: HyperLogLog-like,
--    ~1.6% error above 65,536 values) and the median and p95 (quantilesBFloat16: a histogram of values
--    rounded to 8 significant bits, within ~1% of an RTT; merged as quantilesBFloat16Merge(0.5, 0.95), the
--    levels being part of the state's type). A t-digest state was tried first: merging a day of them
--    took 17× longer (bench/RESULTS.md, "Fleet dashboards"). Readers use the -Merge combinators
--    (https://clickhouse.com/docs/en/engines/table-engines/mergetree-family/aggregatingmergetree).
--
--    Resend safety — why a materialized view, which sees every inserted block, does not count a frame
--    twice although the per-second tables dedupe only on merge (ReplacingMergeTree):
--    a. A frame resent after a reconnect is never inserted again: the collector drops every frame at or
--       below the resume point it read from `raw_frames` (collector/session.ts, "Already stored"), and
--       `raw_frames` is written after the per-second tables of the same batch (collector/ingest.ts).
--    b. A batch write the collector retries (a connection error after the server stored the block) sends
--       the identical block again; with a deduplication window on the source tables (below) the server
--       drops the repeated block by its hash, and deduplicate_blocks_in_dependent_materialized_views
--       (default 1) keeps the view from seeing it
--       (https://clickhouse.com/docs/en/operations/settings/merge-tree-settings#non_replicated_deduplication_window).
--    What remains: a collector process killed after a batch's per-second rows were stored but before
--    its `raw_frames` rows were (one batch, at most maxDelayMs of frames per crash) gets those frames
--    again from the SDK; the per-second tables collapse them, the rollups count them twice.
ALTER TABLE stream_seconds MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE transport_seconds MODIFY SETTING non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS stream_minutes
(
    app_id LowCardinality(String),
    minute DateTime('UTC'),
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
PARTITION BY toYYYYMM(minute)
ORDER BY (app_id, minute, browser, os, codec, direction, kind)
TTL minute + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS stream_minutes_mv TO stream_minutes AS
SELECT app_id, toStartOfMinute(ts) AS minute, browser, os, codec, direction, kind,
       sum(toUInt64(interval_ms)) AS stream_ms,
       uniqState(session_id) AS sessions,
       avgState(loss_ratio) AS loss,
       avgState(frozen_share) AS frozen,
       avgState(fps) AS fps,
       avgState(bitrate_bps) AS bitrate,
       quantilesBFloat16State(0.5, 0.95)(rtt_ms) AS rtt
FROM stream_seconds
GROUP BY app_id, minute, browser, os, codec, direction, kind;

-- `relay` = the selected pair used a TURN relay at either end that second.
CREATE TABLE IF NOT EXISTS transport_minutes
(
    app_id LowCardinality(String),
    minute DateTime('UTC'),
    browser LowCardinality(String),
    os LowCardinality(String),
    relay UInt8,
    connections AggregateFunction(uniq, String, String, String),
    rtt AggregateFunction(quantilesBFloat16(0.5, 0.95), Nullable(Float32))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (app_id, minute, browser, os, relay)
TTL minute + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS transport_minutes_mv TO transport_minutes AS
SELECT app_id, toStartOfMinute(ts) AS minute, browser, os,
       toUInt8(local_type = 'relay' OR remote_type = 'relay') AS relay,
       uniqState(session_id, peer_id, pc_id) AS connections,
       quantilesBFloat16State(0.5, 0.95)(rtt_ms) AS rtt
FROM transport_seconds
GROUP BY app_id, minute, browser, os, relay;

-- 3. Rows stored before this migration: rolled up once, with browser and OS from `peers`. Only minutes
--    before the first one the views wrote are filled, so running this again (a crash before the
--    migration was recorded) adds nothing twice; rows of the minute the views started in that arrived
--    before them stay out of the rollup. On an empty store both read nothing.
INSERT INTO stream_minutes
SELECT s.app_id, toStartOfMinute(s.ts) AS minute, if(s.browser = '', p.browser, s.browser) AS browser,
       if(s.os = '', p.os, s.os) AS os, s.codec, s.direction, s.kind,
       sum(toUInt64(s.interval_ms)), uniqState(s.session_id), avgState(s.loss_ratio),
       avgState(s.frozen_share), avgState(s.fps), avgState(s.bitrate_bps),
       quantilesBFloat16State(0.5, 0.95)(s.rtt_ms)
FROM stream_seconds AS s
LEFT JOIN (
    SELECT app_id, session_id, peer_id, any(browser) AS browser, any(os) AS os FROM peers
    GROUP BY app_id, session_id, peer_id
) AS p ON s.app_id = p.app_id AND s.session_id = p.session_id AND s.peer_id = p.peer_id
WHERE s.ts < (SELECT if(count() = 0, now64(3), min(minute)) FROM stream_minutes)
GROUP BY s.app_id, minute, browser, os, s.codec, s.direction, s.kind;

INSERT INTO transport_minutes
SELECT t.app_id, toStartOfMinute(t.ts) AS minute, if(t.browser = '', p.browser, t.browser) AS browser,
       if(t.os = '', p.os, t.os) AS os, toUInt8(t.local_type = 'relay' OR t.remote_type = 'relay') AS relay,
       uniqState(t.session_id, t.peer_id, t.pc_id), quantilesBFloat16State(0.5, 0.95)(t.rtt_ms)
FROM transport_seconds AS t
LEFT JOIN (
    SELECT app_id, session_id, peer_id, any(browser) AS browser, any(os) AS os FROM peers
    GROUP BY app_id, session_id, peer_id
) AS p ON t.app_id = p.app_id AND t.session_id = p.session_id AND t.peer_id = p.peer_id
WHERE t.ts < (SELECT if(count() = 0, now64(3), min(minute)) FROM transport_minutes)
GROUP BY t.app_id, minute, browser, os, relay;
