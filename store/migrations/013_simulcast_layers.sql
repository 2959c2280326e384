-- Simulcast (analyzer/SCORING.md, score_version 5). An outbound video source's row each second is its
-- top active layer's (core/simulcast.ts): its `rid` and how many of the source's encodings sent that
-- second, so a layer switched off or on is seen as such, not as a step in the bitrate.
ALTER TABLE stream_seconds ADD COLUMN IF NOT EXISTS rid LowCardinality(String);
ALTER TABLE stream_seconds ADD COLUMN IF NOT EXISTS layers UInt8 CODEC(ZSTD(1));
-- Per-stream: changes of the top layer (SSRC) between active seconds, reported apart from the bitrate CV.
ALTER TABLE stream_scores ADD COLUMN IF NOT EXISTS layer_switches UInt32;
