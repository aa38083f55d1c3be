// Regression (issue 16): an outbox row that cannot be encoded used to block the relay for ever, and
// every change after it with it. Now it is set aside with the reason — in the table, in the metrics
// and through the API — and the rows after it are published in order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parameterByName } from '../../catalog/index.ts';
import { ChangeService } from '../../config/changes.ts';
import { configKey, tenantScope } from '../../config/keys.ts';
import { enqueue } from '../../config/outbox.ts';
import { DEFAULT_POLICY } from '../../config/safety.ts';
import type { ConfigRecord } from '../../contracts/generated.ts';
import { startApp } from '../../runtime/app.ts';
import { inTransaction } from '../../storage/db.ts';
import { cleanupTopics, defer, readTopic, testSettings, token, uniqueId } from '../helpers/runtime.ts';

test('an outbox row that cannot be encoded is set aside and the rows after it are published', async (t) => {
  const cfg = testSettings('setaside');
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['api', 'relay'], { listen: false });
  defer(t, () => app.stop());
  const tenant = uniqueId('tn');
  // No cool-down, so the second change is applied right after the first (the rules are not under test).
  const policy = { ...DEFAULT_POLICY, coolDownMs: { call: 0, tenant: 0, global: 0 } };
  const changes = new ChangeService(app.rt.pool, app.rt.registry, cfg.topics.prefix, policy);
  const apply = (db: number) =>
    changes.apply({
      actor: 'test',
      stationId: 3,
      scope: tenantScope(tenant),
      set: { noise_suppression_db: db },
      reason: 'test: set aside',
    });

  // A good change, then a row no ConfigRecord schema accepts, then another good change.
  const spec = parameterByName('noise_suppression_db')!;
  const first = await apply(spec.default + spec.max_step / 2);
  assert.equal(first.status, 'applied', first.reasons.join('; '));
  const badKey = configKey(3, tenantScope(uniqueId('bad')));
  await inTransaction(app.rt.pool, (c) =>
    enqueue(c, cfg.topics.prefix, [
      { role: 'config', contract: 'ConfigRecord', key: badKey, payload: { station_id: 'three' } },
    ]),
  );
  assert.equal((await apply(spec.default + spec.max_step)).status, 'applied');
  app.relay!.kick();

  const key = configKey(3, tenantScope(tenant));
  const records = await readTopic(
    app.rt.kafka,
    cfg.topics.config,
    (v) => app.rt.registry.codec('ConfigRecord').decode(v),
    (items) => items.filter((i) => i.key === key).length >= 2,
    60_000,
  );
  const mine = records.filter((i) => i.key === key).map((i) => (i.value as ConfigRecord).version);
  assert.deepEqual(mine, [first.record!.version, first.record!.version + 1], 'both good rows, in order');
  assert.ok(!records.some((i) => i.key === badKey), 'the bad row was not published');

  const row = (
    await app.rt.pool.query(
      'SELECT set_aside_at, set_aside_reason, published_at FROM outbox WHERE stream = $1 AND message_key = $2',
      [cfg.topics.prefix, badKey],
    )
  ).rows[0];
  assert.ok(row.set_aside_at, 'set aside');
  assert.equal(row.published_at, null);
  assert.match(row.set_aside_reason, /does not encode as ConfigRecord/);
  assert.match(row.set_aside_reason, /station_id/, 'the reason names the bad field');
  assert.equal(app.relay!.setAside, 1);
  const counted = await app.rt.metrics.outboxSetAside.get();
  assert.equal(counted.values.find((v) => v.labels.contract === 'ConfigRecord')?.value, 1);

  // Through the API, for an admin (the deployment-wide role); a tenant's operator may not read it.
  const all = await app.api!.inject({
    method: 'GET',
    url: '/v1/config/outbox/set-aside',
    headers: { authorization: token(cfg, 'admin', '*') },
  });
  assert.equal(all.statusCode, 200, all.body);
  const listed = all.json().rows as { key: string; reason: string; contract: string }[];
  assert.equal(listed.length, 1);
  assert.equal(listed[0]!.key, badKey);
  assert.match(listed[0]!.reason, /does not encode/);
  const tenantOnly = await app.api!.inject({
    method: 'GET',
    url: '/v1/config/outbox/set-aside',
    headers: { authorization: token(cfg, 'operator', tenant) },
  });
  assert.equal(tenantOnly.statusCode, 403);
  const bad = await app.api!.inject({
    method: 'GET',
    url: '/v1/config/outbox/set-aside?limit=lots',
    headers: { authorization: token(cfg, 'admin', '*') },
  });
  assert.equal(bad.statusCode, 400);
});
