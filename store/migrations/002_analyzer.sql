-- rtcpulse schema v2: what the analyzer writes (analyzer/SCORING.md explains every value).
-- All three tables are ReplacingMergeTree versioned by `scored_at`: a later scoring of the same session
-- (a live window, then the final score) replaces the earlier row on merge. Readers use FINAL.
-- `final` = 0 while the session is live (scores over the rolling window), 1 once it ended.

-- One row per session (peer_id = '') and one per peer of it.
CREATE TABLE IF NOT EXISTS scores
(
    app_id LowCardinality(String),
    session_id String,
    peer_id String,
    score_version UInt16,
    scored_at DateTime64(3, 'UTC'),
    final UInt8,
    -- The time range that was scored: the whole session when final, the rolling window when live.
    window_start DateTime64(3, 'UTC'),
    window_end DateTime64(3, 'UTC'),
    started_at DateTime64(3, 'UTC'),
    ended_at DateTime64(3, 'UTC'),
    peers UInt16,
    legs UInt16,
    overall Nullable(Float32),
    audio_score Nullable(Float32),
    audio_mos Nullable(Float32),
    video_score Nullable(Float32),
    -- Each video penalty (points off 10, mean over the video legs) and each E-model term.
    penalties Map(String, Float32),
    audio_terms Map(String, Float32),
    issue_types Array(LowCardinality(String)),
    issues_warning UInt16,
    issues_critical UInt16,
    codecs Array(LowCardinality(String)),
    browsers Array(LowCardinality(String)),
    sdk_versions Array(LowCardinality(String)),
    tags Map(String, String)
)
ENGINE = ReplacingMergeTree(scored_at)
ORDER BY (app_id, session_id, peer_id)
TTL toDateTime(started_at) + INTERVAL 400 DAY;

-- One row per RTP stream: its aggregates and the score of the leg(s) it belongs to.
CREATE TABLE IF NOT EXISTS stream_scores
(
    app_id LowCardinality(String),
    session_id String,
    peer_id String,
    pc_id String,
    stream_id String,
    score_version UInt16,
    scored_at DateTime64(3, 'UTC'),
    final UInt8,
    direction Enum8('inbound' = 1, 'outbound' = 2),
    kind Enum8('audio' = 1, 'video' = 2),
    ssrc UInt32,
    codec LowCardinality(String),
    -- The peer at the other end of the leg, when it is monitored too (matched by ssrc).
    remote_peer_id String,
    started_at DateTime64(3, 'UTC'),
    ended_at DateTime64(3, 'UTC'),
    seconds UInt32,
    active_seconds UInt32,
    bitrate_mean Nullable(Float32),
    bitrate_p5 Nullable(Float32),
    bitrate_p50 Nullable(Float32),
    bitrate_p95 Nullable(Float32),
    bitrate_cv Nullable(Float32),
    bitrate_sigma_kbps Nullable(Float32),
    ramp_up_s Nullable(Float32),
    target_bitrate Nullable(Float32),
    fps_mean Nullable(Float32),
    fps_cv Nullable(Float32),
    width UInt16,
    height UInt16,
    freeze_count UInt32,
    frozen_s Float32,
    frozen_share Nullable(Float32),
    loss Nullable(Float32),
    jitter_ms Nullable(Float32),
    jitter_p95_ms Nullable(Float32),
    rtt_ms Nullable(Float32),
    rtt_p95_ms Nullable(Float32),
    jb_delay_ms Nullable(Float32),
    qp Nullable(Float32),
    limit_bandwidth_share Nullable(Float32),
    limit_cpu_share Nullable(Float32),
    limited_share Nullable(Float32),
    nack_per_s Nullable(Float32),
    pli_per_s Nullable(Float32),
    keyframes UInt32,
    dropped_share Nullable(Float32),
    concealment Nullable(Float32),
    mos Nullable(Float32),
    video_score Nullable(Float32),
    penalties Map(String, Float32)
)
ENGINE = ReplacingMergeTree(scored_at)
ORDER BY (app_id, session_id, peer_id, pc_id, stream_id)
TTL toDateTime(started_at) + INTERVAL 400 DAY;

-- Detected problems with their time span. A live episode keeps its start while its end grows; the final
-- scoring rewrites the session's issues with final = 1, and readers prefer those when they exist.
CREATE TABLE IF NOT EXISTS issues
(
    app_id LowCardinality(String),
    session_id String,
    peer_id String,
    pc_id String,
    stream_id String,
    type LowCardinality(String),
    start DateTime64(3, 'UTC'),
    end DateTime64(3, 'UTC'),
    severity Enum8('info' = 1, 'warning' = 2, 'critical' = 3),
    evidence Map(String, Float64),
    detail String,
    score_version UInt16,
    scored_at DateTime64(3, 'UTC'),
    final UInt8
)
ENGINE = ReplacingMergeTree(scored_at)
ORDER BY (app_id, session_id, type, peer_id, pc_id, stream_id, start)
TTL toDateTime(start) + INTERVAL 400 DAY;
