// The safety rules alone (config/safety.ts): bounds, max step, cool-down per scope, TTL, rollbacks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation, parameterByName } from '../../../catalog/index.ts';
import { callScope, globalScope, tenantScope } from '../../../config/keys.ts';
import { type ChangeCheck, checkChange, DEFAULT_POLICY } from '../../../config/safety.ts';

const STATION = 3;
const gain = parameterByName('input_gain_db')!;
const before = defaultsForStation(STATION);
const base: ChangeCheck = {
  stationId: STATION,
  scope: tenantScope('acme'),
  before,
  set: {},
  ttlMs: undefined,
  isRollback: false,
  lastChangeAt: null,
  now: 1_000_000,
};
const reasons = (c: Partial<ChangeCheck>) => {
  const v = checkChange({ ...base, ...c });
  return v.ok ? [] : v.reasons;
};

test('a step within bounds and max step is applied, the rest of the set kept', () => {
  const to = before.input_gain_db! + gain.max_step;
  const v = checkChange({ ...base, set: { input_gain_db: to } });
  assert.ok(v.ok);
  assert.equal(v.after.input_gain_db, to);
  assert.deepEqual(v.changed, ['input_gain_db']);
  assert.equal(Object.keys(v.after).length, Object.keys(before).length);
});

test('out of bounds, beyond max step, unknown or foreign parameters are refused, each with its reason', () => {
  assert.match(reasons({ set: { input_gain_db: gain.max + 1 } })[0]!, /outside/);
  assert.match(
    reasons({ set: { input_gain_db: before.input_gain_db! + gain.max_step + 0.5 } })[0]!,
    /max step/,
  );
  assert.match(reasons({ set: { no_such: 1 } })[0]!, /unknown parameter/);
  assert.match(reasons({ set: { input_gain_db: Number.NaN } })[0]!, /not a finite number/);
  assert.match(reasons({ set: {} })[0]!, /no parameters/);
  assert.match(reasons({ set: { input_gain_db: before.input_gain_db! } })[0]!, /nothing to change/);
  const two = reasons({ set: { input_gain_db: gain.max + 1, no_such: 1 } });
  assert.equal(two.length, 2, 'every problem, not just the first');
});

test('a switch takes one of its values: a point between them is refused with its reason', () => {
  assert.match(
    reasons({ set: { rnnoise_enabled: 0.3 } })[0]!,
    /rnnoise_enabled: 0\.3 is not one of its values \(0, 1\): a switch, not a range/,
  );
  const on = checkChange({ ...base, set: { rnnoise_enabled: 1 } });
  assert.ok(on.ok);
  assert.equal(on.after.rnnoise_enabled, 1);
});

test('cool-down per scope level; a rollback is exempt from cool-down and max step', () => {
  const set = { input_gain_db: before.input_gain_db! + 1 };
  for (const [scope, ms] of [
    [callScope('acme', 'c1'), DEFAULT_POLICY.coolDownMs.call],
    [tenantScope('acme'), DEFAULT_POLICY.coolDownMs.tenant],
    [globalScope(), DEFAULT_POLICY.coolDownMs.global],
  ] as const) {
    assert.match(reasons({ scope, set, lastChangeAt: base.now - ms + 1 })[0]!, /cool-down/);
    assert.deepEqual(reasons({ scope, set, lastChangeAt: base.now - ms }), []);
  }
  const far = { input_gain_db: before.input_gain_db! + gain.max_step * 2 };
  assert.deepEqual(reasons({ set: far, isRollback: true, lastChangeAt: base.now }), []);
});

test('TTL: call scope always expires; a bad or too long TTL is refused', () => {
  const set = { input_gain_db: before.input_gain_db! + 1 };
  const call = checkChange({ ...base, scope: callScope('acme', 'c1'), set });
  assert.ok(call.ok);
  assert.equal(call.ttlMs, DEFAULT_POLICY.defaultTtlMs.call);
  const tenant = checkChange({ ...base, set });
  assert.ok(tenant.ok);
  assert.equal(tenant.ttlMs, null);
  assert.match(reasons({ set, ttlMs: -5 })[0]!, /positive integer/);
  assert.match(reasons({ set, ttlMs: DEFAULT_POLICY.maxTtlMs.tenant + 1 })[0]!, /exceeds/);
});

test('a scope of the wrong shape is refused', () => {
  const set = { input_gain_db: before.input_gain_db! + 1 };
  assert.match(reasons({ scope: { level: 'call', tenant_id: 'acme', call_id: null }, set })[0]!, /call_id/);
});
