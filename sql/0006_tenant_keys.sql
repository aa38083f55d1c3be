-- Up Migration
-- Tenancy in every key (issue 9). Call ids and snapshot ids come from outside, so two tenants may use
-- the same one: keyed by the id alone, tenant A could pre-empt B's call (B's snapshots then refused)
-- or reuse B's snapshot id (B's snapshot then dropped as a duplicate). Every key now starts with the
-- tenant; nothing one tenant sends can collide with another's rows.

ALTER TABLE segments DROP CONSTRAINT segments_call_id_channel_fkey;
ALTER TABLE channels DROP CONSTRAINT channels_call_id_fkey;

ALTER TABLE calls DROP CONSTRAINT calls_pkey;
ALTER TABLE calls ADD PRIMARY KEY (tenant_id, call_id);

ALTER TABLE channels ADD COLUMN tenant_id text;
UPDATE channels ch SET tenant_id = c.tenant_id FROM calls c WHERE c.call_id = ch.call_id;
DELETE FROM channels WHERE tenant_id IS NULL;
ALTER TABLE channels ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE channels DROP CONSTRAINT channels_pkey;
ALTER TABLE channels ADD PRIMARY KEY (tenant_id, call_id, channel);
ALTER TABLE channels ADD FOREIGN KEY (tenant_id, call_id) REFERENCES calls (tenant_id, call_id);

ALTER TABLE segments ADD COLUMN tenant_id text;
UPDATE segments s SET tenant_id = c.tenant_id FROM calls c WHERE c.call_id = s.call_id;
DELETE FROM segments WHERE tenant_id IS NULL;
ALTER TABLE segments ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE segments DROP CONSTRAINT segments_pkey;
ALTER TABLE segments ADD PRIMARY KEY (tenant_id, call_id, channel, segment_index);
ALTER TABLE segments ADD FOREIGN KEY (tenant_id, call_id, channel) REFERENCES channels (tenant_id, call_id, channel);

-- The idempotency guard is per tenant: (tenant, snapshot_id) is what a redelivery repeats.
ALTER TABLE snapshot_keys ADD COLUMN tenant_id text;
UPDATE snapshot_keys k SET tenant_id = s.tenant_id
  FROM station_snapshots s WHERE s.snapshot_id = k.snapshot_id AND s.captured_at = k.captured_at;
DELETE FROM snapshot_keys WHERE tenant_id IS NULL;
ALTER TABLE snapshot_keys ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE snapshot_keys DROP CONSTRAINT snapshot_keys_pkey;
ALTER TABLE snapshot_keys ADD PRIMARY KEY (tenant_id, snapshot_id);

ALTER TABLE station_snapshots DROP CONSTRAINT station_snapshots_pkey;
ALTER TABLE station_snapshots ADD PRIMARY KEY (tenant_id, snapshot_id, captured_at);
DROP INDEX station_snapshots_call_idx;
CREATE INDEX station_snapshots_call_idx ON station_snapshots (tenant_id, call_id, station_id, captured_at);
