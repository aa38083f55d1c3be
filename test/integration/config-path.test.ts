// Issue 4 (one safe path for every change): the API and ChangeService against the real stack —
// applied changes are recorded and published together, unsafe ones are refused with reasons, bad
// requests change nothing, rollback is a new change, and a change whose publication fails stays
// recorded and is published once Kafka can take it.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { ChangeService } from '../../config/changes.ts';
import { callScope, configKey, tenantScope } from '../../config/keys.ts';
import { startOutboxRelay } from '../../config/outbox.ts';
import type { ConfigRecord, ParameterChange } from '../../contracts/generated.ts';
import { withPrefix } from '../../lib/settings.ts';
import { startApp } from '../../runtime/app.ts';
import {
  cleanupTopics,
  defer,
  readToEnd,
  readTopic,
  testSettings,
  token,
  uniqueId,
  waitFor,
} from '../helpers/runtime.ts';

/** The API and the relay; a tenant, a call and an operator of that tenant. */
async function setUp(t: TestContext) {
  const cfg = testSettings('cfgapi');
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['api', 'relay'], { listen: false });
  defer(t, () => app.stop());
  const tenant = uniqueId('tn');
  const call = uniqueId('call');
  const op = token(cfg, 'operator', tenant);
  const inject = (method: 'GET' | 'POST', url: string, payload?: object, auth = op) =>
    app.api!.inject({ method, url, headers: { authorization: auth }, ...(payload ? { payload } : {}) });

  const changesBefore = async () =>
    (
      await app.rt.pool.query('SELECT count(*)::int AS n FROM parameter_changes WHERE tenant_id = $1', [
        tenant,
      ])
    ).rows[0].n as number;
  return { cfg, app, tenant, call, op, inject, changesBefore };
}

type Scenario = Awaited<ReturnType<typeof setUp>>;
type Applied = { change_id: string; version: number };

/** A safe change: applied, and the effective view shows where each value comes from. */
async function safeChange({ tenant, call, inject }: Scenario): Promise<Applied> {
  const ok = await inject('POST', '/v1/config/update', {
    station_id: 4,
    scope: { level: 'call', tenant_id: tenant, call_id: call },
    parameters: { input_gain_db: 2 },
    reason: 'test: louder',
  });
  assert.equal(ok.statusCode, 200, ok.body);
  const applied = ok.json();
  assert.equal(applied.status, 'applied');
  assert.equal(applied.after.input_gain_db, 2);
  assert.equal(applied.before.input_gain_db, 0);
  assert.ok(applied.expires_at > Date.now(), 'call scope always gets a TTL');

  const eff = await inject('GET', `/v1/config?station_id=4&tenant_id=${tenant}&call_id=${call}`);
  assert.equal(eff.statusCode, 200, eff.body);
  assert.deepEqual(eff.json().parameters.input_gain_db, {
    value: 2,
    unit: 'dB',
    scope: 'call',
    change_id: applied.change_id,
    version: applied.version,
  });
  // A ConfigRecord carries the full set (DESIGN §5), so every value at this call comes from its record.
  assert.equal(eff.json().parameters.limiter_ceiling_dbfs.scope, 'call');
  const otherCall = await inject('GET', `/v1/config?station_id=4&tenant_id=${tenant}&call_id=${call}-other`);
  assert.equal(otherCall.json().parameters.input_gain_db.scope, 'default');
  assert.equal(otherCall.json().version, 0);
  return applied;
}

/** Unsafe changes: refused with the reason, recorded as rejected, config unchanged; the tenant cool-down. */
async function unsafeChangesRefused({ tenant, call, inject }: Scenario) {
  const unsafe = [
    { body: { parameters: { input_gain_db: 40 } }, expect: /outside \[-20, 20\]/ },
    { body: { parameters: { input_gain_db: 9 } }, expect: /exceeds the max step/ },
    { body: { parameters: { jitter_buffer_ms: 60 } }, expect: /does not apply to station 4/ },
  ];
  for (const u of unsafe) {
    const res = await inject('POST', '/v1/config/update', {
      station_id: 4,
      scope: { level: 'call', tenant_id: tenant, call_id: call },
      reason: 'test: unsafe',
      ...u.body,
    });
    assert.equal(res.statusCode, 422, res.body);
    assert.match(res.json().reasons.join(' '), u.expect);
  }
  // Cool-down: tenant scope allows one change per 10 s.
  const t1 = await inject('POST', '/v1/config/update', {
    station_id: 4,
    scope: { level: 'tenant', tenant_id: tenant },
    parameters: { input_gain_db: 1 },
    reason: 'test: tenant',
  });
  assert.equal(t1.statusCode, 200, t1.body);
  const t2 = await inject('POST', '/v1/config/update', {
    station_id: 4,
    scope: { level: 'tenant', tenant_id: tenant },
    parameters: { input_gain_db: 2 },
    reason: 'test: tenant again',
  });
  assert.equal(t2.statusCode, 422);
  assert.match(t2.json().reasons.join(' '), /cool-down/);
}

/** Malformed requests: 400 (or 403 for authorization) and nothing recorded. */
async function malformedRecordNothing({ cfg, tenant, call, op, inject, changesBefore }: Scenario) {
  const n0 = await changesBefore();
  const bad: [object, number, RegExp, string?][] = [
    [
      {
        station_id: 4,
        scope: { level: 'call', tenant_id: tenant },
        parameters: { input_gain_db: 1 },
        reason: 'x'.repeat(5),
      },
      400,
      /call_id/,
    ],
    [
      {
        station_id: 4,
        scope: { level: 'call', tenant_id: tenant, call_id: call },
        parameters: { input_gain_db: '1' },
        reason: 'wrong type',
      },
      400,
      /number/,
    ],
    [
      {
        station_id: 4,
        scope: { level: 'call', tenant_id: tenant, call_id: call },
        parameters: { volume_knob: 1 },
        reason: 'unknown',
      },
      400,
      /unknown parameter/,
    ],
    [
      {
        station_id: 4,
        scope: { level: 'call', tenant_id: tenant, call_id: call },
        parameters: {},
        reason: 'empty set',
      },
      400,
      /parameters/,
    ],
    [
      { station_id: 4, scope: { level: 'galaxy' }, parameters: { input_gain_db: 1 }, reason: 'bad level' },
      400,
      /level/,
    ],
    [
      {
        station_id: 4,
        scope: { level: 'call', tenant_id: tenant, call_id: call },
        parameters: { input_gain_db: 1 },
      },
      400,
      /reason/,
    ],
    [
      {
        station_id: 4,
        scope: { level: 'global' },
        parameters: { input_gain_db: 1 },
        reason: 'tenant op on global',
      },
      403,
      /may not access/,
    ],
    [
      {
        station_id: 4,
        scope: { level: 'tenant', tenant_id: 'other' },
        parameters: { input_gain_db: 1 },
        reason: 'other tenant',
      },
      403,
      /may not access/,
    ],
    [
      {
        station_id: 4,
        scope: { level: 'tenant', tenant_id: tenant },
        parameters: { input_gain_db: 1 },
        reason: 'viewer',
      },
      403,
      /role viewer/,
      token(cfg, 'viewer', tenant),
    ],
  ];
  for (const [body, status, expect, auth] of bad) {
    const res = await inject('POST', '/v1/config/update', body, auth ?? op);
    assert.equal(res.statusCode, status, `${JSON.stringify(body)} -> ${res.body}`);
    assert.match(res.json().message, expect);
  }
  for (const [url, status] of [
    ['/v1/config?station_id=abc', 400],
    ['/v1/config?station_id=5', 400],
    [`/v1/config?station_id=4&tenant_id=other`, 403],
  ] as const) {
    const res = await inject('GET', url);
    assert.equal(res.statusCode, status, `${url} -> ${res.body}`);
  }
  for (const [body, status] of [
    [{ reason: 'nothing named' }, 400],
    [{ change_id: '00000000-0000-4000-8000-000000000000', reason: 'no such change' }, 404],
    [{ change_id: 'not-a-uuid', reason: 'bad id' }, 400],
  ] as const) {
    const res = await inject('POST', '/v1/config/rollback', body);
    assert.equal(res.statusCode, status, `${JSON.stringify(body)} -> ${res.body}`);
  }
  assert.equal(await changesBefore(), n0, 'malformed requests record nothing');
}

/** Rollback through the API: a new change restoring the values before, the original marked. */
async function rollbackThroughTheApi({ app, inject }: Scenario, applied: Applied): Promise<Applied> {
  const rb = await inject('POST', '/v1/config/rollback', {
    change_id: applied.change_id,
    reason: 'test: undo',
  });
  assert.equal(rb.statusCode, 200, rb.body);
  // The call record restores exactly the set in effect before the change: the catalog default 0 dB.
  assert.equal(rb.json().after.input_gain_db, 0);
  const orig = await app.rt.pool.query('SELECT status FROM parameter_changes WHERE change_id = $1', [
    applied.change_id,
  ]);
  assert.equal(orig.rows[0].status, 'rolled_back');
  const link = await app.rt.pool.query('SELECT rollback_of FROM parameter_changes WHERE change_id = $1', [
    rb.json().change_id,
  ]);
  assert.equal(link.rows[0].rollback_of, applied.change_id);
  return rb.json() as Applied;
}

/** Everything recorded as applied is on the config topic, and every change (rejected too) on the audit topic. */
async function everythingPublished(
  { cfg, app, tenant, call }: Scenario,
  applied: Applied,
  rolledBack: Applied,
) {
  await app.relay!.drain();
  const key = configKey(4, callScope(tenant, call));
  const records = await readTopic(
    app.rt.kafka,
    cfg.topics.config,
    (v) => app.rt.registry.codec('ConfigRecord').decode(v),
    (items) => items.filter((i) => i.key === key).length >= 2,
  );
  const mine = records.filter((r) => r.key === key).map((r) => r.value as ConfigRecord);
  assert.deepEqual(
    mine.map((r) => r.version),
    [applied.version, rolledBack.version],
  );
  const audit = await readTopic(
    app.rt.kafka,
    cfg.topics.changes,
    (v) => app.rt.registry.codec('ParameterChange').decode(v),
    (items) => items.length >= 7,
  );
  const statuses = audit.map((a) => (a.value as ParameterChange).status);
  assert.equal(statuses.filter((s) => s === 'rejected').length, 4);
}

test('config API: applied, refused, rolled back — recorded and published as one unit', async (t) => {
  const sc = await setUp(t);
  let applied: Applied | undefined;
  let rolledBack: Applied | undefined;
  await t.test('a safe change is applied and shows in the effective view', async () => {
    applied = await safeChange(sc);
  });
  await t.test('unsafe changes are refused with the reason; the cool-down holds', () =>
    unsafeChangesRefused(sc),
  );
  await t.test('malformed requests get 400/403/404 and record nothing', () => malformedRecordNothing(sc));
  await t.test('a rollback is a new change; the original is marked', async () => {
    rolledBack = await rollbackThroughTheApi(sc, applied!);
  });
  await t.test('applied records are on the config topic, every change on the audit topic', () =>
    everythingPublished(sc, applied!, rolledBack!),
  );
});

test('a change whose publication fails is recorded and published later, exactly once', async (t) => {
  const cfg = testSettings('outbox');
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, [], { listen: false });
  defer(t, () => app.stop());
  const tenant = uniqueId('tn');
  // A relay whose config topic does not exist: every send fails, like a broker that refuses writes.
  const broken = withPrefix(cfg, cfg.topics.prefix);
  const failing = await startOutboxRelay(
    { kafka: app.rt.kafka, pool: app.rt.pool, registry: app.rt.registry, log: app.rt.log },
    { topics: { ...broken.topics, config: `${cfg.topics.prefix}.no-such-topic` }, pollMs: 100 },
  );
  const svc = new ChangeService(app.rt.pool, app.rt.registry, cfg.topics.prefix, undefined, () =>
    failing.kick(),
  );
  const out = await svc.apply({
    actor: 'test',
    stationId: 3,
    scope: tenantScope(tenant),
    set: { noise_suppression_db: 15 },
    reason: 'test: publish fails',
  });
  assert.equal(out.status, 'applied');

  const pending = async () =>
    (
      await app.rt.pool.query(
        'SELECT count(*)::int AS n, max(attempts) AS a, max(last_error) AS e FROM outbox WHERE stream = $1 AND published_at IS NULL',
        [cfg.topics.prefix],
      )
    ).rows[0];
  const stuck = await waitFor(
    'a failed attempt',
    async () => {
      const p = await pending();
      return p.a >= 1 ? p : undefined;
    },
    60_000,
    200,
  );
  assert.equal(stuck.n, 2, 'the ConfigRecord and its audit event wait in the outbox');
  assert.ok(stuck.e, 'the failure is recorded');
  const recorded = await app.rt.pool.query(
    'SELECT status, config_version FROM parameter_changes WHERE change_id = $1',
    [out.change.change_id],
  );
  assert.equal(recorded.rows[0].status, 'applied');
  await failing.stop();

  const healthy = await startOutboxRelay(
    { kafka: app.rt.kafka, pool: app.rt.pool, registry: app.rt.registry, log: app.rt.log },
    { topics: cfg.topics },
  );
  defer(t, () => healthy.stop());
  await healthy.drain(30_000);
  assert.equal((await pending()).n, 0);
  // Everything on the topic up to its end: a second copy of the record could not hide behind the first.
  const items = await readToEnd(app.rt.kafka, cfg.topics.config, (v) =>
    app.rt.registry.codec('ConfigRecord').decode(v),
  );
  assert.equal(items.length, 1);
  assert.equal((items[0]!.value as ConfigRecord).version, out.record!.version);
  assert.equal(items[0]!.key, configKey(3, tenantScope(tenant)));
});
