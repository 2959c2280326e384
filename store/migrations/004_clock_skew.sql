-- rtcpulse schema v4: each connection's clock skew against the collector (collector/clock-skew.ts), in
-- ms, client clock minus collector clock: positive when the client is ahead. NULL until the connection
-- sent a stats frame. Per-second rows stay on the client's own clock; this says by how much.
ALTER TABLE peers ADD COLUMN IF NOT EXISTS clock_skew_ms Nullable(Int32);
