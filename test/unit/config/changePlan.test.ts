// The change path's decisions without a database (config/changePlan.ts): what is recorded, what goes
// out, and what a rollback restores. config/changes.ts only carries the plan out in one transaction.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultsForStation, parameterByName } from '../../../catalog/index.ts';
import { type PlanInput, planChange } from '../../../config/changePlan.ts';
import { callScope, tenantScope } from '../../../config/keys.ts';
import { DEFAULT_POLICY } from '../../../config/safety.ts';

const STATION = 3;
const before = defaultsForStation(STATION);
const gain = parameterByName('input_gain_db')!;
const input = (over: Partial<PlanInput> = {}, set: Record<string, number> = {}): PlanInput => ({
  req: { actor: 'test', stationId: STATION, scope: tenantScope('acme'), set, reason: 'why', runId: 'run-1' },
  rollbackOf: null,
  before,
  lastChangeAt: null,
  now: 10_000,
  policy: DEFAULT_POLICY,
  changeId: 'ch-1',
  ...over,
});

test('an applied change: the audit row and the full record to publish, expiring with its TTL', () => {
  const to = before.input_gain_db! + 1;
  const p = planChange({
    ...input({}, { input_gain_db: to }),
    req: { ...input().req, scope: callScope('acme', 'c1'), set: { input_gain_db: to } },
  });
  assert.equal(p.change.status, 'applied');
  assert.equal(p.change.before.input_gain_db, before.input_gain_db);
  assert.equal(p.change.after.input_gain_db, to);
  assert.equal(p.change.run_id, 'run-1');
  assert.ok(p.record);
  assert.deepEqual(p.record.parameters, { ...before, input_gain_db: to }, 'a record carries the full set');
  assert.equal(p.record.expires_at, 10_000 + DEFAULT_POLICY.defaultTtlMs.call!);
  assert.equal(p.record.change_id, 'ch-1');
  assert.deepEqual(p.reasons, []);
});

test('a refused change is recorded with its reasons and publishes no record', () => {
  const p = planChange(input({}, { input_gain_db: gain.max + 5 }));
  assert.equal(p.change.status, 'rejected');
  assert.equal(p.record, null);
  assert.match(p.change.reason, /^why — REJECTED: input_gain_db/);
  assert.equal(p.reasons.length, 1);
});

test('a NaN request keeps its reason but no non-finite value in the audit row', () => {
  const p = planChange(input({}, { input_gain_db: Number.NaN }));
  assert.equal(p.change.status, 'rejected');
  assert.ok(!('input_gain_db' in p.change.after) || Number.isFinite(p.change.after.input_gain_db));
});

test('a rollback restores only parameters the station has, past cool-down and max step', () => {
  const far = before.input_gain_db! + gain.max_step * 2;
  const p = planChange(
    input({ rollbackOf: 'ch-0', lastChangeAt: 9_999 }, { input_gain_db: far, not_a_parameter: 3 }),
  );
  assert.equal(p.change.status, 'applied');
  assert.equal(p.change.rollback_of, 'ch-0');
  assert.equal(p.record!.parameters.input_gain_db, far);
  assert.ok(!('not_a_parameter' in p.record!.parameters));
});

test('cool-down applies to a normal change at the same key', () => {
  const p = planChange(input({ lastChangeAt: 9_999 }, { input_gain_db: before.input_gain_db! + 1 }));
  assert.equal(p.change.status, 'rejected');
  assert.match(p.reasons[0]!, /cool-down/);
});
