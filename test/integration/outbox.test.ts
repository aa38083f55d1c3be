// Regression (issue 16): an outbox row that cannot be encoded used to block the relay for ever, and
// every change after it with it. Now it is set aside with the reason — in the table, in the metrics
// and through the API — and the rows after it are published in order. So is a row Kafka refuses for
// good, once its attempts are spent.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { parameterByName } from '../../catalog/index.ts';
import { ChangeService } from '../../config/changes.ts';
import { configKey, tenantScope } from '../../config/keys.ts';
import { enqueue, startOutboxRelay } from '../../config/outbox.ts';
import { DEFAULT_POLICY } from '../../config/safety.ts';
import type { ConfigRecord } from '../../contracts/generated.ts';
import { startApp } from '../../runtime/app.ts';
import { inTransaction } from '../../storage/db.ts';
import {
  cleanupTopics,
  defer,
  readToEnd,
  readTopic,
  testSettings,
  token,
  uniqueId,
} from '../helpers/runtime.ts';

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

test('an outbox row Kafka refuses every time is set aside after its attempts and the rows after it are published', async (t) => {
  const cfg = testSettings('refused');
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['api'], { listen: false });
  defer(t, () => app.stop());
  const MAX_ATTEMPTS = 3;
  const relay = await startOutboxRelay(
    {
      kafka: app.rt.kafka,
      pool: app.rt.pool,
      registry: app.rt.registry,
      log: app.rt.log,
      metrics: app.rt.metrics,
    },
    { topics: cfg.topics, pollMs: 100, maxAttempts: MAX_ATTEMPTS },
  );
  defer(t, () => relay.stop());
  const tenant = uniqueId('tn');
  const record = (key: string, parameters: Record<string, number>): ConfigRecord => ({
    schema_version: 1,
    station_id: 3,
    scope: tenantScope(key),
    version: 1,
    parameters,
    issued_at: Date.now(),
    expires_at: null,
    change_id: randomUUID(),
  });
  // A valid ConfigRecord over Kafka's 1 MB message limit: it encodes, and the broker refuses it for good
  // (MESSAGE_TOO_LARGE, not retriable) however often it is sent.
  const huge = Object.fromEntries(Array.from({ length: 120_000 }, (_, i) => [`p${i}`, i]));
  const [before, tooLarge, after] = [`${tenant}-a`, `${tenant}-huge`, `${tenant}-b`];
  await inTransaction(app.rt.pool, (c) =>
    enqueue(c, cfg.topics.prefix, [
      {
        role: 'config',
        contract: 'ConfigRecord',
        key: before,
        payload: record(before, { noise_suppression_db: 6 }),
      },
      { role: 'config', contract: 'ConfigRecord', key: tooLarge, payload: record(tooLarge, huge) },
      {
        role: 'config',
        contract: 'ConfigRecord',
        key: after,
        payload: record(after, { noise_suppression_db: 9 }),
      },
    ]),
  );
  relay.kick();
  await relay.drain(60_000);

  const items = await readToEnd(app.rt.kafka, cfg.topics.config, (v) =>
    app.rt.registry.codec('ConfigRecord').decode(v),
  );
  // Kafka orders records per partition only (the two keys may land on different partitions): the
  // relay's order is read from the outbox instead.
  assert.deepEqual(
    items
      .map((i) => i.key)
      .filter((k) => k.startsWith(tenant))
      .sort(),
    [before, after],
    'the rows before and after the refused one are published; the refused one is not',
  );
  const published = (
    await app.rt.pool.query(
      'SELECT message_key FROM outbox WHERE stream = $1 AND published_at IS NOT NULL ORDER BY published_at, id',
      [cfg.topics.prefix],
    )
  ).rows.map((r) => r.message_key);
  assert.deepEqual(published, [before, after], 'published in the order they were written');
  const row = (
    await app.rt.pool.query(
      'SELECT attempts, set_aside_at, set_aside_reason, published_at FROM outbox WHERE stream = $1 AND message_key = $2',
      [cfg.topics.prefix, tooLarge],
    )
  ).rows[0];
  assert.ok(row.set_aside_at, 'set aside');
  assert.equal(row.published_at, null);
  assert.equal(row.attempts, MAX_ATTEMPTS);
  assert.match(row.set_aside_reason, new RegExp(`refused by Kafka after ${MAX_ATTEMPTS} attempts`));
  assert.equal(relay.setAside, 1);
  const counted = await app.rt.metrics.outboxSetAside.get();
  assert.equal(counted.values.find((v) => v.labels.contract === 'ConfigRecord')?.value, 1);
  const listed = await app.api!.inject({
    method: 'GET',
    url: '/v1/config/outbox/set-aside',
    headers: { authorization: token(cfg, 'admin', '*') },
  });
  assert.equal(listed.statusCode, 200, listed.body);
  const rows = listed.json().rows as { key: string; reason: string; attempts: number }[];
  assert.deepEqual(
    rows.map((r) => r.key),
    [tooLarge],
  );
  assert.match(rows[0]!.reason, /refused by Kafka/);
});
