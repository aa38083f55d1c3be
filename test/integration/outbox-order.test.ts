// Pins the property the compacted config topic relies on: the outbox relay never has two Kafka sends in
// flight — not per partition, not per key, not at all — whatever wakes it (NOTIFYs, kicks, drains), how
// many relays share the stream, or when one of them is restarted. kafkajs does not serialise concurrent
// `producer.send()` calls by key (a retry of an earlier send may land after a later send), so overlapping
// sends could leave an older version of a key last on the topic and agents would apply stale parameters.
// The relay's sends are watched on the real producer (each call still goes to the shared Kafka).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { Kafka, Producer } from 'kafkajs';
import { tenantScope } from '../../config/keys.ts';
import { enqueue, type OutboxRelay, startOutboxRelay } from '../../config/outbox.ts';
import type { ConfigRecord } from '../../contracts/generated.ts';
import { startApp } from '../../runtime/app.ts';
import { inTransaction } from '../../storage/db.ts';
import { cleanupTopics, defer, readToEnd, testSettings, uniqueId, waitFor } from '../helpers/runtime.ts';

/** The cluster's own Kafka client, whose producers count the `send` calls awaiting at once. */
function watchSends(kafka: Kafka) {
  const seen = { inFlight: 0, maxInFlight: 0, sends: 0 };
  const watched = Object.create(kafka) as Kafka;
  watched.producer = (config) => {
    const producer: Producer = kafka.producer(config);
    const send = producer.send.bind(producer);
    producer.send = async (record) => {
      seen.inFlight++;
      seen.sends++;
      seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
      try {
        return await send(record);
      } finally {
        seen.inFlight--;
      }
    };
    return producer;
  };
  return { watched, seen };
}

test('the outbox relay never has two sends in flight: per key, the topic holds every version in order and the newest last', async (t) => {
  const cfg = testSettings('order');
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['api'], { listen: false });
  defer(t, () => app.stop());
  const { watched, seen } = watchSends(app.rt.kafka);
  const relays = new Set<OutboxRelay>();
  // Small batches and a short poll: many wake-ups and many batches, each a chance for sends to overlap.
  const startRelay = async () => {
    const relay = await startOutboxRelay(
      { kafka: watched, pool: app.rt.pool, registry: app.rt.registry, log: app.rt.log },
      { topics: cfg.topics, pollMs: 20, batchSize: 7 },
    );
    relays.add(relay);
    return relay;
  };
  defer(t, () => Promise.all([...relays].map((r) => r.stop())));
  // Two relays on one stream (one leads by the advisory lock); the first is restarted half-way.
  const first = await startRelay();
  await startRelay();

  const tenant = uniqueId('tn');
  const KEYS = 12;
  const VERSIONS = 25;
  const keys = Array.from({ length: KEYS }, (_, i) => `${tenant}-k${i}`);
  const record = (key: string, version: number): ConfigRecord => ({
    schema_version: 1,
    station_id: 3,
    scope: tenantScope(key),
    version,
    parameters: { noise_suppression_db: 6 + (version % 5) },
    issued_at: Date.now(),
    expires_at: null,
    change_id: randomUUID(),
  });
  // Each version of a key is its own committed transaction (its own NOTIFY), written after the one
  // before it, as the change path writes them; the keys are written side by side.
  let written = 0;
  let restarted: Promise<unknown> | undefined;
  const writeKey = async (key: string) => {
    for (let v = 1; v <= VERSIONS; v++) {
      await inTransaction(app.rt.pool, (c) =>
        enqueue(c, cfg.topics.prefix, [
          { role: 'config', contract: 'ConfigRecord', key, payload: record(key, v) },
        ]),
      );
      written++;
      for (const r of relays) if (written % 5 === 0) r.kick();
      if (written === (KEYS * VERSIONS) / 2) {
        relays.delete(first);
        restarted = first.stop().then(startRelay);
      }
    }
  };
  await Promise.all(keys.map(writeKey));
  await restarted;
  // Whichever relay leads publishes everything (a relay that does not lead would wait in drain()).
  const pending = () =>
    app.rt.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM outbox WHERE stream = $1 AND published_at IS NULL',
      [cfg.topics.prefix],
    );
  await waitFor('every outbox row published', async () => (await pending()).rows[0]!.n === 0, 120_000);

  const items = (
    await readToEnd(app.rt.kafka, cfg.topics.config, (v) => app.rt.registry.codec('ConfigRecord').decode(v))
  ).filter((i) => i.key.startsWith(tenant));
  assert.ok(new Set(items.map((i) => i.partition)).size >= 2, 'the keys spanned several partitions');
  for (const key of keys) {
    const versions = items.filter((i) => i.key === key).map((i) => (i.value as ConfigRecord).version);
    // A failed send is sent again (the rows stay pending), so a version may appear twice; never out of turn.
    const firstSeen = versions.filter((v, i) => versions.indexOf(v) === i);
    assert.deepEqual(
      firstSeen,
      Array.from({ length: VERSIONS }, (_, i) => i + 1),
      `${key}: every version, in order`,
    );
    assert.equal(versions.at(-1), VERSIONS, `${key}: the newest version is the last record`);
  }
  assert.ok(seen.sends >= 2, `the relays sent ${seen.sends} request(s)`);
  assert.equal(seen.maxInFlight, 1, 'never two sends in flight at once');
});
