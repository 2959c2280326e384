-- rtcpulse schema v5: whether media flowed (analyzer/SCORING.md §0). A session or peer whose media never
-- flowed has no score (overall NULL) but an outcome: `failed` (ICE failed, never connected, no packets)
-- or `setup_failed` (getUserMedia/getDisplayMedia refused or failed), with a reason code from a small
-- fixed set and a one-line detail. Rows written before this version read as `ok`.
ALTER TABLE scores ADD COLUMN IF NOT EXISTS outcome LowCardinality(String) DEFAULT 'ok' AFTER final;
ALTER TABLE scores ADD COLUMN IF NOT EXISTS outcome_reason LowCardinality(String) DEFAULT '' AFTER outcome;
ALTER TABLE scores ADD COLUMN IF NOT EXISTS outcome_detail String DEFAULT '' AFTER outcome_reason;
