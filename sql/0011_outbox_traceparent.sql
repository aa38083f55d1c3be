-- Up Migration
-- The W3C traceparent of the change that wrote an outbox row: the relay continues that trace when it
-- publishes the row (lib/tracing.ts), so one trace shows a snapshot, the change it caused and the
-- agent applying it, across the commit and the relay's process.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS traceparent text;

-- Down Migration
ALTER TABLE outbox DROP COLUMN IF EXISTS traceparent;
