-- Up Migration
-- The three foreign keys that point at parameter_changes had no index on their referencing side, so
-- deleting one change (retention, erasure, the benchmarks' cleanup) scanned parameter_changes,
-- config_state and ab_calls whole: deleting the 36,242 changes of one full memory benchmark ran for over
-- 15 minutes at one core before it was cancelled (2026-12-02). With these, each check is an index probe.
CREATE INDEX IF NOT EXISTS parameter_changes_rollback_of_idx ON parameter_changes (rollback_of);
CREATE INDEX IF NOT EXISTS config_state_change_idx ON config_state (change_id);
CREATE INDEX IF NOT EXISTS ab_calls_change_idx ON ab_calls (change_id);
