// Issue 2, "Done when": N snapshots through the API and N through the producer library give exactly
// 2N rows, and each PCM object reads back from S3 with its sha256; a garbage record on the snapshot
// topic lands in the dead-letter topic with its reason while its neighbours are persisted.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { buildSnapshot } from '../../domain/snapshot.ts';
import { startApp } from '../../runtime/app.ts';
import { DLQ_HEADERS } from '../../streams/deadLetter.ts';
import { createProducer } from '../../streams/kafka.ts';
import { pcmTone, snapshotInput } from '../helpers/fixtures.ts';
import { cleanupTopics, defer, testSettings, token, uniqueId, waitFor } from '../helpers/runtime.ts';

test('N snapshots via the API and N via the producer library persist as exactly 2N rows, PCM intact', async (t) => {
  const cfg = testSettings('ingest');
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['api', 'persister'], { listen: false });
  defer(t, () => app.stop());
  const tenant = uniqueId('tn');
  const N = 25;
  const auth = token(cfg, 'station', tenant);
  const keys: { key: string; sha: string }[] = [];

  for (let i = 0; i < N; i++) {
    const pcm = pcmTone(0.5, 16000, 300 + i, 0.1, i + 1);
    const res = await app.api!.inject({
      method: 'POST',
      url: '/v1/stations/snapshot',
      headers: { authorization: auth },
      payload: {
        ...snapshotInput({ tenant, call: `${tenant}-api-call-${i % 5}`, index: i }),
        audio: { pcm_base64: pcm.toString('base64'), sample_rate: 16000 },
      },
    });
    assert.equal(res.statusCode, 202, res.body);
    const body = res.json() as { snapshot_id: string; storage_key: string };
    assert.ok(body.snapshot_id);
    keys.push({ key: body.storage_key, sha: createHash('sha256').update(pcm).digest('hex') });
  }
  for (let i = 0; i < N; i++) {
    const pcm = pcmTone(0.5, 16000, 700 + i, 0.1, 1000 + i);
    const snap = await app.producer.publish(
      snapshotInput({ tenant, call: `${tenant}-lib-call-${i % 5}`, index: i }),
      {
        bytes: pcm,
        sampleRate: 16000,
      },
    );
    assert.equal(snap.audio?.duration_ms, 500);
    keys.push({ key: snap.audio!.storage_key, sha: createHash('sha256').update(pcm).digest('hex') });
  }

  const rows = await waitFor('2N rows', async () => {
    const r = await app.rt.pool.query(
      'SELECT count(*)::int AS n FROM station_snapshots WHERE tenant_id = $1',
      [tenant],
    );
    return r.rows[0].n === 2 * N ? r.rows[0].n : undefined;
  });
  assert.equal(rows, 2 * N);
  const calls = await app.rt.pool.query('SELECT count(*)::int AS n FROM calls WHERE tenant_id = $1', [
    tenant,
  ]);
  assert.equal(calls.rows[0].n, 10);
  const segs = await app.rt.pool.query(
    'SELECT count(*)::int AS n FROM segments WHERE call_id LIKE $2 AND call_id IN (SELECT call_id FROM calls WHERE tenant_id = $1)',
    [tenant, `${tenant}-api-call-%`],
  );
  assert.equal(segs.rows[0].n, N);

  for (const { key, sha } of keys) {
    const bytes = await app.rt.audio.get(key);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), sha);
    assert.ok(key.includes(sha));
  }
  // A redelivered snapshot (same id, published again) never becomes a second row.
  const again = snapshotInput({
    tenant,
    call: `${tenant}-lib-call-0`,
    index: 0,
    snapshotId: `${tenant}-dup`,
  });
  await app.producer.publish(again);
  await app.producer.publish(again);
  await waitFor('dup persisted', async () => {
    const r = await app.rt.pool.query(
      'SELECT count(*)::int AS n FROM station_snapshots WHERE snapshot_id = $1',
      [`${tenant}-dup`],
    );
    return r.rows[0].n === 1 || undefined;
  });
  // Give the second copy time to be processed, then check it is still one row.
  const end = await waitFor('all offsets committed', async () => {
    const admin = app.rt.kafka.admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({
        groupId: cfg.groups.persister,
        topics: [cfg.topics.snapshots],
      });
      const latest = await admin.fetchTopicOffsets(cfg.topics.snapshots);
      const lag = latest.reduce((sum, p) => {
        const c = committed!.partitions.find((x) => x.partition === p.partition);
        return sum + Number(p.offset) - Math.max(0, Number(c?.offset ?? 0));
      }, 0);
      return lag === 0 || undefined;
    } finally {
      await admin.disconnect();
    }
  });
  assert.equal(end, true);
  const dup = await app.rt.pool.query(
    'SELECT count(*)::int AS n FROM station_snapshots WHERE snapshot_id = $1',
    [`${tenant}-dup`],
  );
  assert.equal(dup.rows[0].n, 1);
});

test('garbage on the snapshot topic goes to the dead-letter topic with its reason; neighbours persist', async (t) => {
  const cfg = testSettings('dlq');
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['persister'], { listen: false });
  defer(t, () => app.stop());
  const tenant = uniqueId('tn');
  const codec = app.rt.registry.codec('StationSnapshot');
  const raw = createProducer(app.rt.kafka);
  await raw.connect();
  defer(t, () => raw.disconnect());

  const call = `${tenant}-call-x`;
  const snap = (i: number) => buildSnapshot(snapshotInput({ tenant, call, index: i }));
  const good = (i: number) => ({ key: call, value: codec.encode(snap(i)) });
  const bad = [
    { key: call, value: Buffer.from('definitely not avro') }, // wrong magic byte
    { key: call, value: Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 1, 2, 3]) }, // magic ok, unknown schema id
    {
      key: call,
      value: Buffer.concat([codec.encode(snap(99)).subarray(0, 5), Buffer.from([0xff, 0xff, 0xff])]),
    }, // truncated body
    {
      key: call,
      value: codec.encode({ ...snap(7), station_id: 5 }),
    }, // decodes, but names a station the catalog does not know
  ];
  // All on one partition (same key), interleaved: good, bad, good, bad, ...
  await raw.send({
    topic: cfg.topics.snapshots,
    messages: [good(0), bad[0]!, good(1), bad[1]!, good(2), bad[2]!, good(3)],
  });
  // The unsound record in a later batch, after the call's first rows are stored.
  await waitFor('first good rows', async () => {
    const r = await app.rt.pool.query('SELECT count(*)::int AS n FROM calls WHERE call_id = $1', [call]);
    return r.rows[0].n === 1 || undefined;
  });
  await raw.send({ topic: cfg.topics.snapshots, messages: [bad[3]!, good(4)] });

  await waitFor('4 good rows', async () => {
    const r = await app.rt.pool.query(
      'SELECT count(*)::int AS n FROM station_snapshots WHERE tenant_id = $1',
      [tenant],
    );
    return r.rows[0].n === 5 || undefined;
  });

  const consumer = app.rt.kafka.consumer({ groupId: uniqueId('dlq-reader') });
  await consumer.connect();
  defer(t, () => consumer.disconnect());
  await consumer.subscribe({ topic: cfg.topics.deadLetters, fromBeginning: true });
  const seen: { code: string; msg: string; offset: string; value: Buffer | null }[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push({
        code: message.headers?.[DLQ_HEADERS.code]?.toString() ?? '',
        msg: message.headers?.[DLQ_HEADERS.message]?.toString() ?? '',
        offset: message.headers?.[DLQ_HEADERS.offset]?.toString() ?? '',
        value: message.value,
      });
    },
  });
  await waitFor('4 dead letters', async () => seen.length >= 4 || undefined);
  assert.equal(seen.length, 4);
  assert.ok(
    seen.slice(0, 3).every((s) => s.code === 'DECODE'),
    JSON.stringify(seen.map((s) => s.code)),
  );
  assert.match(seen[3]!.msg, /station_id unknown station 5/);
  assert.match(seen[0]!.msg, /magic byte/);
  assert.match(seen[1]!.msg, /unknown to the registry|schema id/);
  assert.match(seen[2]!.msg, /does not decode/);
  assert.deepEqual(seen[0]!.value, Buffer.from('definitely not avro'));
  assert.deepEqual(
    seen.map((s) => s.offset),
    ['1', '3', '5', '7'],
  );
});
