-- Up Migration
-- The one safe path for parameter changes (DESIGN §7): the current record per config key, a global
-- version sequence, and a transactional outbox so a change is recorded and published as one unit.

-- Versions come from one sequence, so they are monotonic per key and comparable across keys: an agent
-- stamps the highest version in effect on its snapshots (applied_config_version).
CREATE SEQUENCE config_version_seq;

CREATE TABLE config_state (
  stream         text NOT NULL,                  -- the deployment's topic prefix (one config topic each)
  config_key     text NOT NULL,                  -- station/scope/scope_id (DESIGN §4)
  station_id     integer NOT NULL,
  scope_level    text NOT NULL CHECK (scope_level IN ('global', 'tenant', 'call')),
  tenant_id      text,
  call_id        text,
  version        bigint NOT NULL,
  parameters     jsonb NOT NULL,                 -- the full set at this scope
  change_id      text NOT NULL REFERENCES parameter_changes (change_id),
  issued_at      timestamptz NOT NULL,
  expires_at     timestamptz,
  tombstoned_at  timestamptz,                    -- set when an expired record was removed from the topic
  last_change_at timestamptz NOT NULL,           -- for the cool-down
  PRIMARY KEY (stream, config_key)
);
CREATE INDEX config_state_expiry_idx ON config_state (expires_at) WHERE tombstoned_at IS NULL AND expires_at IS NOT NULL;
CREATE INDEX config_state_scope_idx ON config_state (stream, station_id, scope_level, tenant_id, call_id);
ALTER TABLE parameter_changes ADD COLUMN stream text NOT NULL DEFAULT 'voiceloop';
ALTER TABLE optimizer_runs ADD COLUMN stream text NOT NULL DEFAULT 'voiceloop';

-- Rows are written in the same transaction as the change; the relay publishes them in id order and
-- marks them. Nothing is published that is not recorded, nothing recorded stays unpublished.
CREATE TABLE outbox (
  id            bigserial PRIMARY KEY,
  stream        text NOT NULL,                    -- the deployment's topic prefix: its relay publishes it
  topic_role    text NOT NULL CHECK (topic_role IN ('config', 'changes', 'results')),
  contract      text NOT NULL,
  message_key   text NOT NULL,
  payload       jsonb,                            -- null = tombstone
  created_at    timestamptz NOT NULL DEFAULT now(),
  published_at  timestamptz,
  attempts      integer NOT NULL DEFAULT 0,
  last_error    text
);
CREATE INDEX outbox_pending_idx ON outbox (stream, id) WHERE published_at IS NULL;

-- Down Migration
ALTER TABLE optimizer_runs DROP COLUMN stream;
ALTER TABLE parameter_changes DROP COLUMN stream;
DROP TABLE outbox;
DROP TABLE config_state;
DROP SEQUENCE config_version_seq;
