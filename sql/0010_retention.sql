-- Up Migration
-- Data that ages out (issue 13): the maintenance role's record of every sweep, its journal of object
-- deletions (so a sweep killed half-way is finished by the next one), per-tenant retention, and the
-- audit of what operators changed or erased.

CREATE TABLE maintenance_sweeps (
  id           bigserial PRIMARY KEY,
  -- The sweep's "now" (the role's clock, which tests move) and the wall-clock times it ran.
  clock_at     timestamptz NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at  timestamptz,
  status       text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
  dry_run      boolean NOT NULL,
  -- One entry per task: {task, count, ms, error?}.
  tasks        jsonb NOT NULL DEFAULT '[]'::jsonb,
  error        text
);
CREATE INDEX maintenance_sweeps_running_idx ON maintenance_sweeps (id) WHERE status = 'running';

-- Objects decided for deletion, written in the same transaction as the decision (an erasure's row
-- deletes, or the audio sweep's list); removed one by one once the object is gone from the store.
CREATE TABLE object_deletions (
  object_key  text PRIMARY KEY,
  reason      text NOT NULL CHECK (reason IN ('audio_retention', 'erasure')),
  queued_at   timestamptz NOT NULL DEFAULT now()
);

-- A tenant's retention, shorter than the deployment's (NULL: the deployment's).
CREATE TABLE tenant_retention (
  tenant_id      text PRIMARY KEY,
  snapshot_days  integer CHECK (snapshot_days > 0),
  audio_days     integer CHECK (audio_days > 0),
  updated_by     text NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now()
);

-- What an operator changed or erased, by whom: never deleted by the program.
CREATE TABLE admin_audit (
  id         bigserial PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  actor      text NOT NULL,
  action     text NOT NULL,
  tenant_id  text,
  subject    text,
  details    jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX admin_audit_tenant_idx ON admin_audit (tenant_id, at DESC);

-- The audio sweep asks whether a kept row still refers to an object.
CREATE INDEX station_snapshots_audio_key_idx ON station_snapshots (audio_key) WHERE audio_key IS NOT NULL;

-- Down Migration
DROP INDEX station_snapshots_audio_key_idx;
DROP TABLE admin_audit;
DROP TABLE tenant_retention;
DROP TABLE object_deletions;
DROP TABLE maintenance_sweeps;
