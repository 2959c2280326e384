-- Evidence the detectors need per stream-second (analyzer/SCORING.md, score_version 2).
-- Inbound video: pauses (webrtc-stats §7.6 pauseCount/totalPausesDuration: no frame for ≥ 5 s, the
-- sender stopped sending) are frozen picture to the viewer just as freezes are.
-- Outbound video: what the source delivered (media-source frame rate and size, webrtc-stats §7.13), so a
-- slow or small camera is not taken for the network, and the sender's own bandwidth estimate
-- (candidate-pair availableOutgoingBitrate, §7.19) beside the stream it limits.
ALTER TABLE stream_seconds ADD COLUMN IF NOT EXISTS pause_count Nullable(UInt32) CODEC(ZSTD(1));
ALTER TABLE stream_seconds ADD COLUMN IF NOT EXISTS paused_share Nullable(Float32) CODEC(ZSTD(1));
ALTER TABLE stream_seconds ADD COLUMN IF NOT EXISTS source_fps Nullable(Float32) CODEC(ZSTD(1));
ALTER TABLE stream_seconds ADD COLUMN IF NOT EXISTS source_width UInt16 CODEC(ZSTD(1));
ALTER TABLE stream_seconds ADD COLUMN IF NOT EXISTS source_height UInt16 CODEC(ZSTD(1));
ALTER TABLE stream_seconds ADD COLUMN IF NOT EXISTS available_out_bps Nullable(Float32) CODEC(ZSTD(1));
-- Per-stream results of the new rules, stored beside the others.
ALTER TABLE stream_scores ADD COLUMN IF NOT EXISTS paused_s Float32;
ALTER TABLE stream_scores ADD COLUMN IF NOT EXISTS resolution_switches UInt32;
ALTER TABLE stream_scores ADD COLUMN IF NOT EXISTS source_fps Nullable(Float32);
ALTER TABLE stream_scores ADD COLUMN IF NOT EXISTS silent UInt8;
