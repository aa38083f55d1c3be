-- Up Migration
-- A/B rollout of candidate defaults (DESIGN §8, issue 6). The experiment's run, verdict and numbers
-- live in optimizer_runs (mode 'experiment', run_id = experiment_id); these tables hold what the run
-- needs while it goes on: the design, the control set it is compared against, and every enrolled
-- call with its arm, its call-scoped change and, once scored, its observation.

CREATE TABLE ab_experiments (
  experiment_id    text PRIMARY KEY REFERENCES optimizer_runs (run_id),
  stream           text NOT NULL,
  station_id       integer NOT NULL,
  scope_level      text NOT NULL CHECK (scope_level IN ('global', 'tenant')),
  tenant_id        text,
  status           text NOT NULL CHECK (status IN ('running', 'promoted', 'not_promoted', 'rolled_back', 'no_verdict', 'stopped')),
  -- The full effective set at the scope when the experiment started (what the control arm runs).
  control          jsonb NOT NULL,
  control_version  bigint NOT NULL,
  -- The candidate values (only the parameters that differ from the control).
  treatment        jsonb NOT NULL,
  salt             text NOT NULL,
  design           jsonb NOT NULL,
  call_ttl_ms      bigint,
  created_by       text NOT NULL,
  reason           text NOT NULL,
  started_at       timestamptz NOT NULL DEFAULT now(),
  ended_at         timestamptz,
  CHECK ((scope_level = 'global') = (tenant_id IS NULL))
);
-- At most one running experiment per station and scope (a global one also excludes tenant ones; the
-- service checks that under a lock).
CREATE UNIQUE INDEX ab_experiments_one_running
  ON ab_experiments (stream, station_id, COALESCE(tenant_id, '*')) WHERE status = 'running';

-- Observations are numbered in the order they were scored: each look uses the first n of each arm.
CREATE SEQUENCE ab_observation_seq;

CREATE TABLE ab_calls (
  experiment_id     text NOT NULL REFERENCES ab_experiments (experiment_id) ON DELETE CASCADE,
  call_id           text NOT NULL,
  tenant_id         text NOT NULL,
  arm               text NOT NULL CHECK (arm IN ('control', 'treatment')),
  bucket            double precision NOT NULL CHECK (bucket >= 0 AND bucket < 1),
  -- Segment index of the snapshot that enrolled the call: only later segments are scored.
  enrolled_segment  integer NOT NULL,
  status            text NOT NULL CHECK (status IN ('enrolled', 'scored', 'excluded')),
  excluded_reason   text,
  -- The treatment's call-scoped change (applied, or rejected and then the call is excluded).
  change_id         text REFERENCES parameter_changes (change_id),
  config_version    bigint,
  score             double precision,
  snapshot_ids      text[],
  observation_seq   bigint UNIQUE,
  enrolled_at       timestamptz NOT NULL DEFAULT now(),
  scored_at         timestamptz,
  PRIMARY KEY (experiment_id, call_id),
  CHECK ((status = 'scored') = (score IS NOT NULL AND observation_seq IS NOT NULL))
);
CREATE INDEX ab_calls_pending_idx ON ab_calls (experiment_id, enrolled_at) WHERE status = 'enrolled';
CREATE INDEX ab_calls_observations_idx ON ab_calls (experiment_id, arm, observation_seq) WHERE status = 'scored';

-- Down Migration
DROP TABLE ab_calls;
DROP SEQUENCE ab_observation_seq;
DROP TABLE ab_experiments;
