-- rtcpulse schema v1. One dialect for ClickHouse server and chDB (store/README.md).
-- Every table that holds client frames is a ReplacingMergeTree keyed by (app, session, peer, pc, seq, …):
-- a frame resent after a reconnect collapses into the row it duplicates (DESIGN.md invariant 1).
-- Readers that need exact counts use FINAL or aggregate with uniqExact on the key.
-- TTLs are defaults; RTCPULSE_RETENTION_* change them at start (store/migrate.ts).

CREATE TABLE IF NOT EXISTS peers
(
    app_id LowCardinality(String),
    session_id String,
    peer_id String,
    user_id String,
    sdk_version LowCardinality(String),
    user_agent String,
    browser LowCardinality(String),
    os LowCardinality(String),
    metadata Map(String, String),
    remote_addr String,
    connected_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(connected_at)
ORDER BY (app_id, session_id, peer_id)
TTL toDateTime(connected_at) + INTERVAL 400 DAY;

-- Every accepted frame, as received (delta-encoded), for forensics; also the ledger that `welcome` reads
-- the resume point from. It is written last in each batch, so it never claims rows that are not stored.
CREATE TABLE IF NOT EXISTS raw_frames
(
    app_id LowCardinality(String),
    session_id String,
    peer_id String,
    pc_id String,
    seq UInt64 CODEC(Delta, ZSTD(1)),
    ts DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
    type LowCardinality(String),
    gap UInt32,
    frame String CODEC(ZSTD(6))
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (app_id, session_id, peer_id, pc_id, seq)
TTL toDateTime(ts) + INTERVAL 7 DAY;

CREATE TABLE IF NOT EXISTS events
(
    app_id LowCardinality(String),
    session_id String,
    peer_id String,
    pc_id String,
    seq UInt64,
    ts DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
    name LowCardinality(String),
    data String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (app_id, session_id, peer_id, pc_id, seq)
TTL toDateTime(ts) + INTERVAL 90 DAY;

-- One row per RTP stream per second (DESIGN.md "Metrics and scores"). Rates are per second over the
-- report interval; NULL means "no valid delta this second" (first sample, counter reset, Δt <= 0).
CREATE TABLE IF NOT EXISTS stream_seconds
(
    app_id LowCardinality(String),
    session_id String,
    peer_id String,
    pc_id String,
    stream_id String,
    seq UInt64 CODEC(Delta, ZSTD(1)),
    ts DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
    interval_ms UInt32 CODEC(T64, ZSTD(1)),
    direction Enum8('inbound' = 1, 'outbound' = 2),
    kind Enum8('audio' = 1, 'video' = 2),
    ssrc UInt32,
    mid LowCardinality(String),
    codec LowCardinality(String),
    active UInt8,
    bitrate_bps Nullable(Float32) CODEC(ZSTD(1)),
    header_bitrate_bps Nullable(Float32) CODEC(ZSTD(1)),
    retransmit_bitrate_bps Nullable(Float32) CODEC(ZSTD(1)),
    target_bitrate_bps Nullable(Float32) CODEC(ZSTD(1)),
    packets_per_s Nullable(Float32) CODEC(ZSTD(1)),
    packets_lost Nullable(Int32) CODEC(ZSTD(1)),
    loss_ratio Nullable(Float32) CODEC(ZSTD(1)),
    jitter_ms Nullable(Float32) CODEC(ZSTD(1)),
    rtt_ms Nullable(Float32) CODEC(ZSTD(1)),
    fps Nullable(Float32) CODEC(ZSTD(1)),
    width UInt16 CODEC(ZSTD(1)),
    height UInt16 CODEC(ZSTD(1)),
    frames_dropped Nullable(UInt32) CODEC(ZSTD(1)),
    freeze_count Nullable(UInt32) CODEC(ZSTD(1)),
    frozen_share Nullable(Float32) CODEC(ZSTD(1)),
    qp_avg Nullable(Float32) CODEC(ZSTD(1)),
    nack_per_s Nullable(Float32) CODEC(ZSTD(1)),
    pli_per_s Nullable(Float32) CODEC(ZSTD(1)),
    fir_per_s Nullable(Float32) CODEC(ZSTD(1)),
    keyframes Nullable(UInt32) CODEC(ZSTD(1)),
    limitation LowCardinality(String),
    limit_bandwidth_share Nullable(Float32) CODEC(ZSTD(1)),
    limit_cpu_share Nullable(Float32) CODEC(ZSTD(1)),
    limit_other_share Nullable(Float32) CODEC(ZSTD(1)),
    jb_delay_ms Nullable(Float32) CODEC(ZSTD(1)),
    concealment_ratio Nullable(Float32) CODEC(ZSTD(1)),
    audio_level Nullable(Float32) CODEC(ZSTD(1))
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (app_id, session_id, peer_id, pc_id, stream_id, seq)
TTL toDateTime(ts) + INTERVAL 90 DAY;

-- One row per peer connection per second, from the selected candidate pair and its candidates.
CREATE TABLE IF NOT EXISTS transport_seconds
(
    app_id LowCardinality(String),
    session_id String,
    peer_id String,
    pc_id String,
    seq UInt64 CODEC(Delta, ZSTD(1)),
    ts DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
    interval_ms UInt32 CODEC(T64, ZSTD(1)),
    pair_id String,
    state LowCardinality(String),
    rtt_ms Nullable(Float32) CODEC(ZSTD(1)),
    available_out_bps Nullable(Float32) CODEC(ZSTD(1)),
    available_in_bps Nullable(Float32) CODEC(ZSTD(1)),
    send_bps Nullable(Float32) CODEC(ZSTD(1)),
    recv_bps Nullable(Float32) CODEC(ZSTD(1)),
    local_type LowCardinality(String),
    remote_type LowCardinality(String),
    protocol LowCardinality(String),
    relay_protocol LowCardinality(String),
    network_type LowCardinality(String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (app_id, session_id, peer_id, pc_id, seq)
TTL toDateTime(ts) + INTERVAL 90 DAY;
