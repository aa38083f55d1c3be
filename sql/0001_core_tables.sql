-- Up Migration
-- The seven tables of DESIGN §6. Applied by the program at start (storage/migrate.ts) through
-- node-pg-migrate, recorded in schema_migrations and never applied twice.

CREATE TABLE calls (
  call_id        text PRIMARY KEY,
  tenant_id      text NOT NULL,
  first_seen_at  timestamptz NOT NULL,
  last_seen_at   timestamptz NOT NULL,
  codec          text,
  labels         jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX calls_tenant_idx ON calls (tenant_id, first_seen_at DESC);

CREATE TABLE channels (
  call_id        text NOT NULL REFERENCES calls (call_id),
  channel        char(1) NOT NULL CHECK (channel IN ('A', 'B')),
  first_seen_at  timestamptz NOT NULL,
  PRIMARY KEY (call_id, channel)
);

CREATE TABLE segments (
  call_id        text NOT NULL,
  channel        char(1) NOT NULL,
  segment_index  integer NOT NULL CHECK (segment_index >= 0),
  start_ms       bigint NOT NULL,
  end_ms         bigint NOT NULL,
  utterance_id   text,
  PRIMARY KEY (call_id, channel, segment_index),
  FOREIGN KEY (call_id, channel) REFERENCES channels (call_id, channel),
  CHECK (end_ms >= start_ms)
);

-- A unique key on a partitioned table must contain the partition key, so a snapshot id could repeat
-- across partitions. This small table is the idempotency guard: one row per snapshot_id ever seen.
CREATE TABLE snapshot_keys (
  snapshot_id    text PRIMARY KEY,
  captured_at    timestamptz NOT NULL
);

CREATE TABLE station_snapshots (
  snapshot_id             text NOT NULL,
  captured_at             timestamptz NOT NULL,
  tenant_id               text NOT NULL,
  call_id                 text NOT NULL,
  channel                 char(1) NOT NULL,
  segment_index           integer NOT NULL,
  station_id              integer NOT NULL,
  schema_version          integer NOT NULL,
  applied_config_version  bigint NOT NULL,
  -- Promoted metrics for fast queries and the optimizers; the full record is in `metrics`.
  rms_dbfs                double precision,
  loudness_lufs           double precision,
  snr_db                  double precision,
  clipping_ratio          double precision,
  mos                     double precision,
  metrics                 jsonb NOT NULL,
  audio                   jsonb,
  audio_key               text,
  constraints             jsonb NOT NULL DEFAULT '[]'::jsonb,
  targets                 jsonb NOT NULL,
  codec                   text,
  labels                  jsonb NOT NULL DEFAULT '{}'::jsonb,
  kafka_partition         integer,
  kafka_offset            bigint,
  ingested_at             timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (snapshot_id, captured_at)
) PARTITION BY RANGE (captured_at);
CREATE INDEX station_snapshots_call_idx ON station_snapshots (call_id, station_id, captured_at);
CREATE INDEX station_snapshots_tenant_idx ON station_snapshots (tenant_id, captured_at);
-- Rows whose day has no partition yet land here instead of failing the batch; ensure_snapshot_partitions
-- is called before each insert so this stays empty in practice.
CREATE TABLE station_snapshots_default PARTITION OF station_snapshots DEFAULT;

-- Daily partitions: retention drops whole days (DROP TABLE) instead of deleting rows.
CREATE FUNCTION ensure_snapshot_partitions(from_ts timestamptz, to_ts timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  d date := (from_ts AT TIME ZONE 'UTC')::date;
  last_day date := (to_ts AT TIME ZONE 'UTC')::date;
  created integer := 0;
  name text;
BEGIN
  WHILE d <= last_day LOOP
    name := 'station_snapshots_' || to_char(d, 'YYYYMMDD');
    IF to_regclass(name) IS NULL THEN
      EXECUTE format(
        'CREATE TABLE IF NOT EXISTS %I PARTITION OF station_snapshots FOR VALUES FROM (%L) TO (%L)',
        name, (d::timestamp AT TIME ZONE 'UTC'), ((d + 1)::timestamp AT TIME ZONE 'UTC'));
      created := created + 1;
    END IF;
    d := d + 1;
  END LOOP;
  RETURN created;
END $$;

CREATE TABLE parameters (
  name           text PRIMARY KEY,
  description    text NOT NULL,
  unit           text NOT NULL,
  min_value      double precision NOT NULL,
  max_value      double precision NOT NULL,
  default_value  double precision NOT NULL,
  max_step       double precision NOT NULL CHECK (max_step > 0),
  hot            boolean NOT NULL,
  stations       integer[] NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  CHECK (min_value <= default_value AND default_value <= max_value)
);

CREATE TABLE optimizer_runs (
  run_id          text PRIMARY KEY,
  mode            text NOT NULL CHECK (mode IN ('online', 'batch', 'experiment')),
  status          text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'stopped')),
  scope_level     text NOT NULL CHECK (scope_level IN ('global', 'tenant', 'call')),
  tenant_id       text,
  call_id         text,
  station_id      integer,
  requested_by    text NOT NULL,
  request         jsonb NOT NULL DEFAULT '{}'::jsonb,
  scorecard       jsonb,
  new_parameters  jsonb NOT NULL DEFAULT '[]'::jsonb,
  analysis        text,
  next_iteration  jsonb,
  progress        jsonb NOT NULL DEFAULT '{}'::jsonb,
  verdict         jsonb,
  error           text,
  started_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz
);
CREATE INDEX optimizer_runs_scope_idx ON optimizer_runs (tenant_id, call_id, station_id, started_at DESC);

CREATE TABLE parameter_changes (
  change_id       text PRIMARY KEY,
  actor           text NOT NULL,
  scope_level     text NOT NULL CHECK (scope_level IN ('global', 'tenant', 'call')),
  tenant_id       text,
  call_id         text,
  station_id      integer NOT NULL,
  before          jsonb NOT NULL,
  after           jsonb NOT NULL,
  reason          text NOT NULL,
  ttl_ms          bigint,
  expires_at      timestamptz,
  status          text NOT NULL CHECK (status IN ('applied', 'rejected', 'rolled_back')),
  rollback_of     text REFERENCES parameter_changes (change_id),
  config_version  bigint,
  run_id          text REFERENCES optimizer_runs (run_id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  CHECK ((scope_level = 'global') = (tenant_id IS NULL)),
  CHECK ((scope_level = 'call') = (call_id IS NOT NULL))
);
CREATE INDEX parameter_changes_scope_idx ON parameter_changes (station_id, scope_level, tenant_id, call_id, created_at DESC);

-- Down Migration
DROP TABLE parameter_changes;
DROP TABLE optimizer_runs;
DROP TABLE parameters;
DROP FUNCTION ensure_snapshot_partitions(timestamptz, timestamptz);
DROP TABLE station_snapshots;
DROP TABLE snapshot_keys;
DROP TABLE segments;
DROP TABLE channels;
DROP TABLE calls;
