// Issue 9, defect 5 and "bounded time", against the real stack: partitions are made ahead by the
// maintenance job, never by a record (two snapshots 120 days apart once made 121 daily tables; 1970 ran
// PostgreSQL out of shared memory); a record outside the captured_at window goes to the dead-letter
// topic; and a batch PostgreSQL keeps refusing for a reason that is not an outage is dead-lettered after
// its attempts instead of being retried for ever.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSnapshot } from '../../domain/snapshot.ts';
import { startApp } from '../../runtime/app.ts';
import { DLQ_HEADERS } from '../../streams/deadLetter.ts';
import { createProducer } from '../../streams/kafka.ts';
import { snapshotInput } from '../helpers/fixtures.ts';
import { cleanupTopics, defer, readTopic, testSettings, uniqueId, waitFor } from '../helpers/runtime.ts';

const DAY = 86_400_000;
const partitionOf = (ms: number) =>
  `station_snapshots_${new Date(ms).toISOString().slice(0, 10).replace(/-/g, '')}`;

test('issue 9: partitions made ahead, never by a record; out-of-window and refused batches dead-lettered', async (t) => {
  const cfg = testSettings('parts');
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['persister'], { listen: false });
  defer(t, () => app.stop());
  const pool = app.rt.pool;
  const exists = async (name: string) =>
    (await pool.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [name])).rows[0]!.r !== null;

  // Made ahead: today and the next days exist as soon as the persister runs.
  for (let d = 0; d <= 3; d++) assert.ok(await exists(partitionOf(Date.now() + d * DAY)), `day +${d}`);

  const tenant = uniqueId('tn');
  const poisoned = uniqueId('tp');
  const codec = app.rt.registry.codec('StationSnapshot');
  const raw = createProducer(app.rt.kafka);
  await raw.connect();
  defer(t, () => raw.disconnect());

  // A statement PostgreSQL refuses for its own reason (not an outage, not a bad row: SQLSTATE P0001)
  // for one tenant's calls; the neighbours in the same batch must still be stored.
  await pool.query(`CREATE OR REPLACE FUNCTION refuse_${poisoned}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.tenant_id = '${poisoned}' THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$`);
  await pool.query(
    `CREATE TRIGGER refuse_${poisoned} BEFORE INSERT ON calls FOR EACH ROW EXECUTE FUNCTION refuse_${poisoned}()`,
  );
  defer(t, async () => {
    await pool.query(`DROP TRIGGER IF EXISTS refuse_${poisoned} ON calls`);
    await pool.query(`DROP FUNCTION IF EXISTS refuse_${poisoned}()`);
  });

  const old1970 = 86_400_000 * 3 + 12_345;
  const old120 = Date.now() - 120 * DAY;
  const call = `${tenant}-c`;
  const snap = (o: { tenant?: string; index: number; at?: number }) =>
    buildSnapshot({
      ...snapshotInput({ tenant: o.tenant ?? tenant, call, index: o.index }),
      ...(o.at ? { captured_at: o.at } : {}),
    });
  await raw.send({
    topic: cfg.topics.snapshots,
    messages: [
      { key: call, value: codec.encode(snap({ index: 0 })) },
      { key: call, value: codec.encode(snap({ index: 1, at: old1970 })) },
      { key: call, value: codec.encode(snap({ index: 2, at: old120 })) },
      { key: call, value: codec.encode(snap({ index: 3, tenant: poisoned })) },
      { key: call, value: codec.encode(snap({ index: 4 })) },
    ],
  });

  await waitFor(
    'the two good snapshots stored',
    async () =>
      (await pool.query('SELECT count(*)::int AS n FROM station_snapshots WHERE tenant_id = $1', [tenant]))
        .rows[0].n === 2 || undefined,
    60_000,
  );
  const dead = await readTopic(
    app.rt.kafka,
    cfg.topics.deadLetters,
    (v) => v,
    (items) => items.length >= 3,
    30_000,
  );
  assert.equal(dead.length, 3);
  // The reasons travel in the dead letters' headers.
  const consumer = app.rt.kafka.consumer({ groupId: uniqueId('dlq') });
  await consumer.connect();
  defer(t, () => consumer.disconnect());
  await consumer.subscribe({ topic: cfg.topics.deadLetters, fromBeginning: true });
  const reasons: string[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      reasons.push(message.headers?.[DLQ_HEADERS.message]?.toString() ?? '');
    },
  });
  await waitFor('dead-letter reasons', async () => reasons.length >= 3 || undefined, 30_000);
  assert.equal(reasons.filter((r) => /captured_at/.test(r)).length, 2, JSON.stringify(reasons));
  assert.equal(reasons.filter((r) => /refused for the test/.test(r)).length, 1, JSON.stringify(reasons));

  // No record made a partition for its day.
  assert.equal(await exists(partitionOf(old1970)), false);
  assert.equal(await exists(partitionOf(old120)), false);
});
