-- Up Migration
-- Batch optimizer (DESIGN §8, issue 6): the full result of a batch run beside its row, and the
-- (parameters, context, score) observations every run learns from and the next run is warm-started with.

-- The whole batch result (replay counts, groups, GP proposals, counterfactual numbers). The summary
-- columns (scorecard, new_parameters, analysis) stay filled as for every other run.
ALTER TABLE optimizer_runs ADD COLUMN IF NOT EXISTS result jsonb;

CREATE TABLE batch_observations (
  id           bigserial PRIMARY KEY,
  stream       text NOT NULL,
  run_id       text NOT NULL REFERENCES optimizer_runs (run_id) ON DELETE CASCADE,
  station_id   integer NOT NULL,
  -- Learning context within the station: impairment class and codec (see optimizer/batch/context.ts).
  context_key  text NOT NULL,
  -- Owner of the history the observation came from; null when it spans tenants (a global run).
  tenant_id    text,
  params       jsonb NOT NULL,
  -- Mean scorecard score (0..100) of the segments the parameters were scored on, and how many.
  score        double precision NOT NULL,
  samples      integer NOT NULL CHECK (samples > 0),
  -- history: live snapshots recorded with these parameters; counterfactual: stored PCM re-run with them.
  source       text NOT NULL CHECK (source IN ('history', 'counterfactual')),
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX batch_observations_ctx_idx
  ON batch_observations (stream, station_id, context_key, tenant_id, created_at DESC);

-- Down Migration
DROP TABLE batch_observations;
ALTER TABLE optimizer_runs DROP COLUMN IF EXISTS result;
