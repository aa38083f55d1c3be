-- Up Migration
-- Tenancy in every key (issue 9), the A/B experiments' calls too: a global experiment enrolls calls of
-- every tenant, and call ids come from outside. Keyed by (experiment, call) alone, tenant A's call with
-- B's id took B's place (B's call then counted as already enrolled, its observation A's). The tenant
-- was stored already; now it is part of the key.
ALTER TABLE ab_calls DROP CONSTRAINT ab_calls_pkey;
ALTER TABLE ab_calls ADD PRIMARY KEY (experiment_id, tenant_id, call_id);

-- Down Migration
ALTER TABLE ab_calls DROP CONSTRAINT ab_calls_pkey;
ALTER TABLE ab_calls ADD PRIMARY KEY (experiment_id, call_id);
