-- Deletions made on any collector (SECURITY.md "Privacy"): each collector reads this table every
-- RTCPULSE_DELETION_POLL_MS, closes its live streams of a deleted session or user and refuses their
-- hellos, so a deletion served by one collector reaches the streams held by all the others. The columns
-- are not named session_id, so deleting data never deletes the record of a deletion. A deleted scope is
-- refused for a day (the TTL); after that its ids may stream again.
CREATE TABLE IF NOT EXISTS deletions
(
    app_id LowCardinality(String),
    scope Enum8('session' = 1, 'user' = 2),
    id String,
    deleted_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (deleted_at, app_id)
TTL toDateTime(deleted_at) + INTERVAL 1 DAY;
