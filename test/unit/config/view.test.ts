// The effective-config view alone (config/view.ts): call > tenant > global > catalog defaults, TTLs on
// the given clock, stale and invalid records refused with the last good one kept.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation } from '../../../catalog/index.ts';
import { callScope, configKey, globalScope, tenantScope } from '../../../config/keys.ts';
import { ConfigView } from '../../../config/view.ts';
import type { ConfigRecord, Scope } from '../../../contracts/generated.ts';

const STATION = 3;
const defaults = defaultsForStation(STATION);
const record = (
  scope: Scope,
  version: number,
  parameters: Record<string, number>,
  expiresAt: number | null = null,
): ConfigRecord => ({
  schema_version: 1,
  station_id: STATION,
  scope,
  version,
  parameters: { ...defaults, ...parameters },
  issued_at: 1_000,
  expires_at: expiresAt,
  change_id: `ch-${version}`,
});
const put = (v: ConfigView, r: ConfigRecord) => v.apply(configKey(r.station_id, r.scope), r);

test('precedence: call > tenant > global > defaults, with the source of every value', () => {
  const v = new ConfigView();
  assert.deepEqual(v.effective(STATION, 'acme', 'c1', 2_000).params, defaults);
  put(v, record(globalScope(), 1, { input_gain_db: 1 }));
  put(v, record(tenantScope('acme'), 2, { input_gain_db: 2 }));
  put(v, record(callScope('acme', 'c1'), 3, { input_gain_db: 3 }));
  const eff = v.effective(STATION, 'acme', 'c1', 2_000);
  assert.equal(eff.params.input_gain_db, 3);
  assert.equal(eff.version, 3);
  assert.deepEqual(eff.sources.input_gain_db, { level: 'call', change_id: 'ch-3', version: 3 });
  assert.equal(v.effective(STATION, 'acme', 'c2', 2_000).params.input_gain_db, 2, 'another call: tenant');
  assert.equal(v.effective(STATION, 'other', null, 2_000).params.input_gain_db, 1, 'another tenant: global');
  // A call record is the tenant's: the same call id under another tenant does not get it.
  assert.equal(v.effective(STATION, 'other', 'c1', 2_000).params.input_gain_db, 1);
});

test('a record stops applying when its TTL ends on the given clock, before its tombstone', () => {
  const v = new ConfigView();
  put(v, record(tenantScope('acme'), 2, { input_gain_db: 2 }));
  put(v, record(callScope('acme', 'c1'), 3, { input_gain_db: 3 }, 5_000));
  assert.equal(v.effective(STATION, 'acme', 'c1', 4_999).params.input_gain_db, 3);
  assert.equal(v.effective(STATION, 'acme', 'c1', 5_000).params.input_gain_db, 2);
  assert.deepEqual(
    v.expired(5_000).map((r) => r.version),
    [3],
  );
  assert.equal(v.apply(configKey(STATION, callScope('acme', 'c1')), null).status, 'removed');
  assert.equal(v.size, 1);
});

test('older versions are stale, invalid records rejected, and the last good record stays', () => {
  const v = new ConfigView();
  const key = configKey(STATION, tenantScope('acme'));
  assert.equal(put(v, record(tenantScope('acme'), 5, { input_gain_db: 5 })).status, 'applied');
  assert.equal(put(v, record(tenantScope('acme'), 4, { input_gain_db: 4 })).status, 'stale');
  const bad = v.apply(key, record(tenantScope('acme'), 6, { input_gain_db: 1e9 }));
  assert.equal(bad.status, 'rejected');
  const wrongKey = v.apply(configKey(STATION, tenantScope('other')), record(tenantScope('acme'), 7, {}));
  assert.equal(wrongKey.status, 'rejected');
  assert.match((wrongKey as { reason: string }).reason, /arrived under key/);
  assert.equal(v.effective(STATION, 'acme', null, 2_000).params.input_gain_db, 5);
});
