// Issue 9, defect 1: the four ways tenant A could change or drop tenant B's data through shared ids,
// each tried against the real stack with every role in one process. Ids come from outside (SIP
// Call-IDs, station-chosen snapshot ids), so A may know or guess B's; no id may reach across tenants.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { callScope, configKey } from '../../config/keys.ts';
import type { DecisionOutcome } from '../../consumers/online/index.ts';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { ExperimentService } from '../../optimizer/ab/index.ts';
import { startApp } from '../../runtime/app.ts';
import { snapshotInput } from '../helpers/fixtures.ts';
import {
  cleanupTopics,
  defer,
  groupOffsets,
  testSettings,
  token,
  uniqueId,
  waitFor,
} from '../helpers/runtime.ts';

const STATION = 2;

type Ctx = Awaited<ReturnType<typeof setup>>;

async function setup(t: TestContext) {
  const cfg = testSettings('tenancy');
  cleanupTopics(t, cfg);
  const decisions: DecisionOutcome[] = [];
  const app = await startApp(cfg, ['api', 'persister', 'relay', 'online'], {
    listen: false,
    online: { onDecision: (_snap, out) => decisions.push(out) },
  });
  defer(t, () => app.stop());
  const a = uniqueId('ta');
  const b = uniqueId('tb');
  const shared = uniqueId('call'); // the id both tenants use
  const req = (method: 'GET' | 'POST', url: string, auth: string, payload?: unknown) =>
    app.api!.inject({ method, url, headers: { authorization: auth }, ...(payload ? { payload } : {}) });
  const bEffective = async () => {
    const res = await req(
      'GET',
      `/v1/config?station_id=${STATION}&tenant_id=${b}&call_id=${shared}`,
      token(cfg, 'viewer', b),
    );
    assert.equal(res.statusCode, 200, res.body);
    return res.json().parameters as Record<
      string,
      { value: number; scope: string; change_id: string | null }
    >;
  };
  const stateRows = async (tenant: string) =>
    (
      await app.rt.pool.query(
        'SELECT config_key, tenant_id FROM config_state WHERE stream = $1 AND call_id = $2 AND tenant_id = $3',
        [cfg.topics.prefix, shared, tenant],
      )
    ).rows;

  return { t, cfg, app, decisions, a, b, shared, req, bEffective, stateRows };
}

async function configPath(ctx: Ctx) {
  const { cfg, a, b, shared, req, bEffective, stateRows } = ctx;
  const set = (tenant: string, value: number) =>
    req('POST', '/v1/config/update', token(cfg, 'operator', tenant), {
      station_id: STATION,
      scope: { level: 'call', tenant_id: tenant, call_id: shared },
      parameters: { jitter_buffer_ms: value },
      reason: `call-scoped change by ${tenant}`,
    });
  const mine = await set(b, 80);
  assert.equal(mine.statusCode, 200, mine.body);
  const before = await bEffective();
  assert.equal(before.jitter_buffer_ms!.value, 80);
  // A's change is its own call-scoped change under its own key (200), not B's.
  const theirs = await set(a, 100);
  assert.equal(theirs.statusCode, 200, theirs.body);
  const after = await bEffective();
  assert.deepEqual(after.jitter_buffer_ms, before.jitter_buffer_ms);
  // And A cannot name B's tenant in the scope at all.
  const direct = await req('POST', '/v1/config/update', token(cfg, 'operator', a), {
    station_id: STATION,
    scope: { level: 'call', tenant_id: b, call_id: shared },
    parameters: { jitter_buffer_ms: 100 },
    reason: 'reach across',
  });
  assert.equal(direct.statusCode, 403, direct.body);
  assert.deepEqual(
    (await stateRows(b)).map((r) => r.config_key),
    [configKey(STATION, callScope(b, shared))],
  );
  assert.deepEqual(
    (await stateRows(a)).map((r) => r.config_key),
    [configKey(STATION, callScope(a, shared))],
  );
}

async function onlinePath(ctx: Ctx) {
  const { cfg, decisions, a, b, shared, req, bEffective, stateRows } = ctx;
  const before = await bEffective();
  const station = token(cfg, 'station', a);
  for (let i = 0; i < 3; i++) {
    const body = snapshotInput({ tenant: a, call: shared, index: i, station: STATION });
    body.metrics.audio.loudness_lufs = -45; // far below target: the optimizer wants more gain
    body.metrics.audio.rms_dbfs = -45;
    const res = await req('POST', '/v1/stations/snapshot', station, body);
    assert.equal(res.statusCode, 202, res.body);
  }
  await waitFor(
    'the online optimizer to decide on A snapshots',
    async () => decisions.length >= 3 || undefined,
  );
  for (const d of decisions) {
    if (d.change) assert.equal(d.change.change.scope.tenant_id, a, JSON.stringify(d.change.change.scope));
  }
  assert.deepEqual(await bEffective(), before);
  assert.ok((await stateRows(b)).every((r) => r.config_key === configKey(STATION, callScope(b, shared))));
}

async function idsPath(ctx: Ctx) {
  const { t, cfg, app, a, b, req } = ctx;
  const call = uniqueId('next');
  const snapshotId = uniqueId('snap');
  const send = (tenant: string) =>
    req(
      'POST',
      '/v1/stations/snapshot',
      token(cfg, 'station', tenant),
      snapshotInput({ tenant, call, index: 0, station: STATION, snapshotId }),
    );
  const first = await send(a);
  assert.equal(first.statusCode, 202, first.body);
  await waitFor('A snapshot persisted', async () => {
    const r = await app.rt.pool.query(
      'SELECT count(*)::int AS n FROM station_snapshots WHERE tenant_id = $1 AND snapshot_id = $2',
      [a, snapshotId],
    );
    return r.rows[0].n === 1 || undefined;
  });
  const second = await send(b);
  assert.equal(second.statusCode, 202, second.body);
  await waitFor('B snapshot persisted under the same call and snapshot ids', async () => {
    const r = await app.rt.pool.query(
      'SELECT count(*)::int AS n FROM station_snapshots WHERE tenant_id = $1 AND snapshot_id = $2 AND call_id = $3',
      [b, snapshotId, call],
    );
    return r.rows[0].n === 1 || undefined;
  });
  const calls = await app.rt.pool.query('SELECT tenant_id FROM calls WHERE call_id = $1 ORDER BY tenant_id', [
    call,
  ]);
  assert.deepEqual(calls.rows.map((r) => r.tenant_id).sort(), [a, b].sort());
  // A redelivery of B's snapshot is still one row: idempotency holds within a tenant.
  const again = await send(b);
  assert.equal(again.statusCode, 202, again.body);
  // Once the persister has committed past the redelivery, a second row would be there to see.
  await (await groupOffsets(t, app.rt.kafka, cfg.groups.persister, cfg.topics.snapshots)).caughtUp();
  const rows = await app.rt.pool.query(
    'SELECT tenant_id, count(*)::int AS n FROM station_snapshots WHERE snapshot_id = $1 GROUP BY tenant_id',
    [snapshotId],
  );
  assert.deepEqual(Object.fromEntries(rows.rows.map((r) => [r.tenant_id, r.n])), { [a]: 1, [b]: 1 });
}

// A global experiment enrolls calls of every tenant. ab_calls was keyed by (experiment, call id): A's
// call with B's id took B's place (B's call was then "known", never enrolled, and any observation under
// that id was A's). Keyed by tenant too (sql/0009), both calls are enrolled, each with its own row.
async function abPath(ctx: Ctx & { t: TestContext }) {
  const { cfg, app, a, b, shared, req } = ctx;
  const res = await req('POST', '/v1/experiments', token(cfg, 'admin', '*'), {
    station_id: STATION,
    scope: { level: 'global' },
    treatment: { jitter_buffer_ms: 70 },
    treatment_share: 0.5,
    reason: 'tenancy of A/B calls',
  });
  assert.equal(res.statusCode, 201, res.body);
  const id = res.json().experiment_id as string;
  defer(ctx.t, () =>
    req('POST', `/v1/experiments/${id}/stop`, token(cfg, 'admin', '*'), { reason: 'test over' }),
  );
  const service = new ExperimentService({
    pool: app.rt.pool,
    changes: app.changes,
    registry: app.rt.registry,
    log: app.rt.log,
  });
  const exp = (await service.running()).find((e) => e.id === id);
  assert.ok(exp, 'the experiment runs');
  const snap = (tenant: string) =>
    ({
      ...snapshotInput({ tenant, call: shared, station: STATION, index: 0 }),
      snapshot_id: uniqueId('ab'),
    }) as unknown as StationSnapshot;
  const outA = await service.enroll(exp, snap(a));
  const outB = await service.enroll(exp, snap(b));
  assert.notEqual(outA.status, 'known', JSON.stringify(outA));
  assert.notEqual(outB.status, 'known', `B's call was taken for A's: ${JSON.stringify(outB)}`);
  const rows = await app.rt.pool.query<{ tenant_id: string }>(
    'SELECT tenant_id FROM ab_calls WHERE experiment_id = $1 AND call_id = $2 ORDER BY tenant_id',
    [id, shared],
  );
  assert.deepEqual(rows.rows.map((r) => r.tenant_id).sort(), [a, b].sort());
}

test('issue 9: tenant A can neither change, shadow, pre-empt nor drop tenant B data through shared ids', async (t) => {
  const ctx = await setup(t);
  await t.test(
    "1. an operator of A posting a call-scoped change with B's call id leaves B's config alone",
    () => configPath(ctx),
  );
  await t.test(
    "2. A's station snapshots with B's call id make the online optimizer act under A's key only",
    () => onlinePath(ctx),
  );
  await t.test(
    "3 and 4. A using B's next call id and B's snapshot id first drops none of B's snapshots",
    () => idsPath(ctx),
  );
  await t.test("5. A's call with B's call id in a global A/B experiment does not take B's place", () =>
    abPath({ ...ctx, t }),
  );
});
