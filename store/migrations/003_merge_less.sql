-- The collector writes the per-second tables and the raw_frames ledger several times a second, one
-- part per INSERT. With ClickHouse's default merge selector (base 5) each row is rewritten many times
-- while small parts fold into larger ones; under load those merges were the largest CPU cost of the
-- whole collector. A base of 20 merges wider and less often: at 2,000 frames/s the store's CPU per frame
-- fell by about a third (0.44 → 0.29 CPU s per 1,000 frames over 60 s, merges 34.5 → 12.1 CPU s), for
-- about twice as many active parts (14 → 33 across the three tables) for queries to read
-- (bench/RESULTS.md, "Collector capacity"). A server too old to know merge_selector_base skips these
-- statements with a warning (store/migrate.ts): the tables work the same, with more merging.
ALTER TABLE stream_seconds MODIFY SETTING merge_selector_base = 20;
ALTER TABLE transport_seconds MODIFY SETTING merge_selector_base = 20;
ALTER TABLE raw_frames MODIFY SETTING merge_selector_base = 20;
