-- Up Migration
-- As 0014 for the keys that point at optimizer_runs: without an index on the referencing side, every
-- deleted run scanned parameter_changes, batch_observations and learned_regions whole (deleting the
-- 71,417 online runs of a full memory benchmark ran over 12 minutes before it was cancelled).
CREATE INDEX IF NOT EXISTS parameter_changes_run_idx ON parameter_changes (run_id);
CREATE INDEX IF NOT EXISTS batch_observations_run_idx ON batch_observations (run_id);
CREATE INDEX IF NOT EXISTS learned_regions_run_idx ON learned_regions (run_id);
