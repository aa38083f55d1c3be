-- Up Migration
-- An outbox row that can never be published (it does not encode for its contract, or Kafka refuses it
-- for good after its retries) is set aside with the reason instead of blocking every row after it.
ALTER TABLE outbox ADD COLUMN set_aside_at timestamptz, ADD COLUMN set_aside_reason text;
DROP INDEX outbox_pending_idx;
CREATE INDEX outbox_pending_idx ON outbox (stream, id) WHERE published_at IS NULL AND set_aside_at IS NULL;
CREATE INDEX outbox_set_aside_idx ON outbox (stream, id) WHERE set_aside_at IS NOT NULL;

-- Down Migration
DROP INDEX outbox_set_aside_idx;
DROP INDEX outbox_pending_idx;
CREATE INDEX outbox_pending_idx ON outbox (stream, id) WHERE published_at IS NULL;
ALTER TABLE outbox DROP COLUMN set_aside_at, DROP COLUMN set_aside_reason;
