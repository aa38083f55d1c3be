// The read API's arithmetic without I/O (issue 12): parameters at a version, verdict assignment,
// distributions, path loss and cursors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assignVerdicts,
  changedParams,
  decodeCursor,
  distribution,
  encodeCursor,
  intParam,
  paramsAtVersion,
  pathLoss,
  timeParam,
  trend,
} from '../../../api/readModel.ts';
import { defaultsForStation } from '../../../catalog/index.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies and errors of the code under test
type J = any;

test('paramsAtVersion layers the newest record per scope at or below the version', () => {
  const changes = [
    { station_id: 2, scope_level: 'global' as const, config_version: 5, after: { input_gain_db: 1 } },
    { station_id: 2, scope_level: 'call' as const, config_version: 7, after: { input_gain_db: 3 } },
    { station_id: 2, scope_level: 'call' as const, config_version: 9, after: { input_gain_db: 6 } },
    { station_id: 3, scope_level: 'call' as const, config_version: 8, after: { input_gain_db: 9 } },
  ];
  assert.deepEqual(paramsAtVersion(2, 0, changes), defaultsForStation(2));
  assert.equal(paramsAtVersion(2, 6, changes).input_gain_db, 1, 'global only');
  assert.equal(paramsAtVersion(2, 8, changes).input_gain_db, 3, 'call 7 over global 5');
  assert.equal(paramsAtVersion(2, 100, changes).input_gain_db, 6);
});

test('a verdict judges the newest change before it, not the change its own run made', () => {
  const changes = [
    { change_id: 'c1', station_id: 2, created_at: 100, run_id: 'r1' },
    { change_id: 'c2', station_id: 2, created_at: 300, run_id: 'r3' },
    { change_id: 'x1', station_id: 3, created_at: 150, run_id: null },
  ];
  const v = (kind: string) => ({ kind, before: 80, after: 85, detail: kind });
  const out = assignVerdicts(changes, [
    { run_id: 'r2', station_id: 2, at: 200, verdict: v('neutral') },
    // r3 judged c1 (regressed) and made c2, its rollback
    { run_id: 'r3', station_id: 2, at: 300, verdict: v('regressed') },
    { run_id: 'r4', station_id: 2, at: 400, verdict: v('improved') },
    { run_id: 'r0', station_id: 2, at: 50, verdict: v('improved') },
  ]);
  assert.equal(out.get('c1')?.verdict.kind, 'regressed', 'the last verdict on c1 wins');
  assert.equal(out.get('c2')?.verdict.kind, 'improved');
  assert.equal(out.has('x1'), false, 'a verdict at another station judges nothing here');
});

test('changedParams lists only what moved', () => {
  assert.deepEqual(changedParams({ a: 1, b: 2 }, { a: 1, b: 3 }), [{ name: 'b', before: 2, after: 3 }]);
});

test('distribution bins scores by tens and gives quantiles', () => {
  const d = distribution([5, 55, 95, 100, 91]);
  assert.equal(d.count, 5);
  assert.deepEqual(
    d.histogram.map((b) => b.count),
    [1, 0, 0, 0, 0, 1, 0, 0, 0, 3],
  );
  assert.equal(d.p50, 91);
  assert.equal(d.min, 5);
  assert.deepEqual(
    distribution([]).histogram.map((b) => b.count),
    new Array(10).fill(0),
  );
});

test('pathLoss: shares sum to one and the largest fall from the input is named', () => {
  const p = pathLoss([
    { station_id: 1, mean: 90 },
    { station_id: 2, mean: 70 },
    { station_id: 3, mean: 80 },
    { station_id: 4, mean: null },
    { station_id: 9, mean: 95 },
    { station_id: 10, mean: 85 },
    { station_id: 11, mean: 75 },
  ]);
  const shares = p.stations.filter((s) => s.loss_share !== null).reduce((a, s) => a + s.loss_share!, 0);
  assert.ok(Math.abs(shares - 1) < 0.01);
  assert.equal(p.largest_drop_station_id, 2, '90 -> 70 is the largest fall');
  assert.equal(p.stations.find((s) => s.station_id === 3)?.drop_from_input, -10);
  assert.equal(p.stations.find((s) => s.station_id === 11)?.input_station_id, 2);
  assert.equal(p.stations.find((s) => s.station_id === 1)?.drop_from_input, null);
  assert.equal(
    pathLoss([
      { station_id: 1, mean: 90 },
      { station_id: 2, mean: 95 },
    ]).largest_drop_station_id,
    null,
  );
});

test('trend averages per slice and leaves empty slices null', () => {
  const s = (at: number, score: number) => ({
    station_id: 1,
    tenant_id: 't',
    call_id: 'c',
    at,
    score,
    components: [],
  });
  const t = trend([s(0, 80), s(5, 90), s(25, 70)], 0, 30, 3);
  assert.deepEqual(
    t.map((x) => x.score),
    [85, null, 70],
  );
});

test('query parsing: bad values are 400s naming the field; cursors round-trip', () => {
  assert.equal(intParam(undefined, 'limit', 1, 10, 5), 5);
  assert.equal(intParam('7', 'limit', 1, 10, 5), 7);
  for (const bad of ['0', '11', '1.5', 'x', ''])
    assert.throws(
      () => intParam(bad, 'limit', 1, 10, 5),
      (e: J) => e.details[0].field === 'limit',
    );
  assert.throws(
    () => timeParam('2026-13-45T00:00:00Z', 'from'),
    (e: J) => e.details[0].field === 'from',
  );
  assert.equal(timeParam('2026-12-02T10:00:00Z', 'to')?.toISOString(), '2026-12-02T10:00:00.000Z');
  const key = ['2026-12-02 10:00:00.123456+00', 'tenant', 'call'];
  assert.deepEqual(decodeCursor(encodeCursor(key), 3), key);
  assert.throws(
    () => decodeCursor(encodeCursor(key), 2),
    (e: J) => e.details[0].field === 'cursor',
  );
  assert.throws(
    () => decodeCursor('bm9wZQ', 3),
    (e: J) => e.details[0].field === 'cursor',
  );
});
