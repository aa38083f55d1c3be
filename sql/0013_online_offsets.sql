-- Up Migration
-- The online optimizer decides a Kafka batch per partition in one transaction (issue 11). The same
-- transaction moves the partition's decided offset here, so a batch whose changes committed is never
-- decided again: after a crash or a rebalance the new owner skips the records below this offset, and
-- two owners racing on one partition are fenced (the update names the offset it started from).
CREATE TABLE IF NOT EXISTS online_offsets (
  stream       text NOT NULL,
  group_id     text NOT NULL,
  topic        text NOT NULL,
  partition    integer NOT NULL,
  next_offset  bigint NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream, group_id, topic, partition)
);
-- The snapshot an online run answered (null for batch and experiment runs, and for runs made on demand
-- through the API from stored snapshots before this column existed).
ALTER TABLE optimizer_runs ADD COLUMN IF NOT EXISTS snapshot_id text;
