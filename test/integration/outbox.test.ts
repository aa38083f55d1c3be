// Regression (issue 16): an outbox row that cannot be encoded used to block the relay for ever, and
// every change after it with it. Now it is set aside with the reason — in the table, in the metrics
// and through the API — and the rows after it are published in order. So is a row Kafka refuses for
// good, once its attempts are spent; the rows that shared its batch are on the topic exactly once.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { Partitioners } from 'kafkajs';
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
  const second = await apply(spec.default + spec.max_step);
  assert.equal(second.status, 'applied', second.reasons.join('; '));
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
  // Versions come from one sequence for every stream (other tests take numbers in between).
  assert.deepEqual(mine, [first.record!.version, second.record!.version], 'both good rows, in order');
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

/** Keys of the tenant, `perPartition` for each partition of the config topic (as kafkajs places keys). */
async function keysByPartition(app: Awaited<ReturnType<typeof startApp>>, topic: string, tenant: string) {
  const admin = app.rt.kafka.admin();
  await admin.connect();
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] }).finally(() => admin.disconnect());
  const partitionMetadata = topics[0]!.partitions;
  const partitionOf = Partitioners.DefaultPartitioner();
  const keys = new Map<number, string[]>(partitionMetadata.map((p) => [p.partitionId, []]));
  for (let i = 0; [...keys.values()].some((k) => k.length < 4); i++) {
    const key = `${tenant}-k${i}`;
    keys.get(partitionOf({ topic, partitionMetadata, message: { key, value: null } }))!.push(key);
  }
  return keys;
}

interface OutboxRowState {
  message_key: string;
  attempts: number;
  set_aside_at: Date | null;
  set_aside_reason: string | null;
  published_at: Date | null;
}

/**
 * Every written row but `refused` is on the config topic as often as it was written (read to the end:
 * a second copy could not hide behind the first) and marked published; the stream's outbox rows.
 */
async function assertPublishedOnce(
  app: Awaited<ReturnType<typeof startApp>>,
  cfg: ReturnType<typeof testSettings>,
  tenant: string,
  written: string[],
  refused: string,
): Promise<OutboxRowState[]> {
  const items = (
    await readToEnd(app.rt.kafka, cfg.topics.config, (v) => app.rt.registry.codec('ConfigRecord').decode(v))
  ).filter((i) => i.key.startsWith(tenant));
  const copies = new Map<string, number>();
  for (const i of items) copies.set(i.key, (copies.get(i.key) ?? 0) + 1);
  const good = written.filter((k) => k !== refused);
  assert.deepEqual(
    [...copies.keys()].sort(),
    [...new Set(good)].sort(),
    'every row but the refused one is on the topic',
  );
  for (const k of new Set(good)) {
    const want = good.filter((g) => g === k).length;
    assert.equal(copies.get(k), want, `${k}: ${want} record(s) on the topic, no duplicate`);
  }
  assert.ok(
    new Set(items.map((i) => i.partition)).size >= 2,
    'the batch spanned several partitions of the topic',
  );
  const rows = (
    await app.rt.pool.query(
      'SELECT message_key, attempts, set_aside_at, set_aside_reason, published_at FROM outbox WHERE stream = $1 ORDER BY id',
      [cfg.topics.prefix],
    )
  ).rows as OutboxRowState[];
  assert.deepEqual(
    rows
      .filter((r) => r.message_key !== refused && (r.set_aside_at || !r.published_at))
      .map((r) => r.message_key),
    [],
    'no other row set aside or left pending',
  );
  return rows;
}

test('a row Kafka refuses for good is set aside after its attempts; the rest of its batch is on the topic exactly once, and later rows are published', async (t) => {
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
  const row = (key: string, parameters: Record<string, number> = { noise_suppression_db: 6 }) => ({
    role: 'config' as const,
    contract: 'ConfigRecord' as const,
    key,
    payload: record(key, parameters),
  });
  // Rows in every partition of the config topic, in one batch: the refused row's partition holds rows
  // before and after it, and so do the others (their rows are appended while its partition is refused).
  const byPartition = await keysByPartition(app, cfg.topics.config, tenant);
  assert.ok(
    byPartition.size >= 2,
    `the config topic has ${byPartition.size} partition(s); the case needs 2+`,
  );
  const [hugePartition, ...others] = [...byPartition.keys()];
  const [tooLarge, ...sameAsHuge] = byPartition.get(hugePartition!)!;
  const otherKeys = others.flatMap((p) => byPartition.get(p)!);
  // A valid ConfigRecord over Kafka's 1 MB message limit: it encodes, and the broker refuses it for good
  // (MESSAGE_TOO_LARGE, not retriable) however often it is sent.
  const huge = Object.fromEntries(Array.from({ length: 120_000 }, (_, i) => [`p${i}`, i]));
  const firstBatch = [
    ...otherKeys.slice(0, otherKeys.length / 2),
    sameAsHuge[0]!,
    tooLarge!,
    ...sameAsHuge.slice(1, 2),
    ...otherKeys.slice(otherKeys.length / 2),
  ];
  await inTransaction(app.rt.pool, (c) =>
    enqueue(
      c,
      cfg.topics.prefix,
      firstBatch.map((k) => (k === tooLarge ? row(k, huge) : row(k))),
    ),
  );
  relay.kick();
  await relay.drain(120_000);
  // Rows written after the refusal, in its partition and in the others, are published as well.
  const later = [sameAsHuge[2]!, ...others.map((p) => byPartition.get(p)![0]!)];
  await inTransaction(app.rt.pool, (c) =>
    enqueue(
      c,
      cfg.topics.prefix,
      later.map((k) => row(k)),
    ),
  );
  relay.kick();
  await relay.drain(60_000);

  const rows = await assertPublishedOnce(app, cfg, tenant, [...firstBatch, ...later], tooLarge!);
  const refused = rows.find((r) => r.message_key === tooLarge)!;
  assert.ok(refused.set_aside_at, 'the refused row is set aside');
  assert.equal(refused.published_at, null);
  assert.equal(refused.attempts, MAX_ATTEMPTS);
  assert.match(refused.set_aside_reason!, new RegExp(`refused by Kafka after ${MAX_ATTEMPTS} attempts`));
  assert.match(refused.set_aside_reason!, /larger than the max message size/);
  assert.equal(relay.setAside, 1);
  const counted = await app.rt.metrics.outboxSetAside.get();
  assert.equal(counted.values.find((v) => v.labels.contract === 'ConfigRecord')?.value, 1);
  const listed = await app.api!.inject({
    method: 'GET',
    url: '/v1/config/outbox/set-aside',
    headers: { authorization: token(cfg, 'admin', '*') },
  });
  assert.equal(listed.statusCode, 200, listed.body);
  const setAside = listed.json().rows as { key: string; reason: string }[];
  assert.deepEqual(
    setAside.map((r) => r.key),
    [tooLarge],
  );
  assert.match(setAside[0]!.reason, /refused by Kafka/);
});
