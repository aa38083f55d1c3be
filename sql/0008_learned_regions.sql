-- Up Migration
-- Batch knowledge served online (issue 10): per stream, tenant and station, the region of parameter
-- space a batch run found best — a centre and a radius per parameter — versioned, newest wins. The
-- online controller reads the newest at the start of each call of the tenant (start point and step size).
CREATE TABLE learned_regions (
  stream        text NOT NULL,
  tenant_id     text NOT NULL,
  station_id    integer NOT NULL,
  version       integer NOT NULL CHECK (version > 0),
  params        jsonb NOT NULL,
  radius        jsonb NOT NULL,
  -- Expected scorecard score at the centre (the batch's verification), for the record.
  score         double precision,
  run_id        text REFERENCES optimizer_runs (run_id) ON DELETE SET NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream, tenant_id, station_id, version)
);

-- Down Migration
DROP TABLE learned_regions;
