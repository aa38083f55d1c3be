// The station producer's coalescing (issue 11) against the real broker: sendAll batches and publishes
// handed over while a send is on the wire go out together in the next request of the one idempotent
// producer; every snapshot arrives once, each call's snapshots in the order handed over, a batch is
// never split between requests, and a request the broker refuses fails every caller in it and writes
// nothing of theirs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kafka } from 'kafkajs';
import type { StationSnapshot } from '../../contracts/generated.ts';
import { buildSnapshot } from '../../domain/snapshot.ts';
import { createStationProducer } from '../../producers/stationProducer.ts';
import { createTopicsSettled } from '../../streams/topics.ts';
import { snapshotInput } from '../helpers/fixtures.ts';
import { producingRuntime, readToEnd, testSettings, uniqueId } from '../helpers/runtime.ts';

interface Landed {
  snapshotId: string;
  callId: string;
  partition: number;
  /** The record batch it arrived in: records of one produce request to one partition share it. */
  batch: string;
  producerId: string;
}

async function createTopic(kafka: Kafka, topic: string, partitions: number, maxMessageBytes?: number) {
  await createTopicsSettled(kafka, [
    {
      topic,
      numPartitions: partitions,
      replicationFactor: 1,
      ...(maxMessageBytes
        ? { configEntries: [{ name: 'max.message.bytes', value: String(maxMessageBytes) }] }
        : {}),
    },
  ]);
}

async function landed(kafka: Kafka, topic: string): Promise<Landed[]> {
  const items = await readToEnd(kafka, topic, (v) => v);
  // readToEnd keeps offsets, not the record batch: read it again with the batch context kafkajs keeps.
  const consumer = kafka.consumer({ groupId: uniqueId('reader-'), maxWaitTimeInMs: 50 });
  const out: Landed[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        const ctx = (message as unknown as { batchContext: { firstOffset: string; producerId: string } })
          .batchContext;
        out.push({
          snapshotId: message.headers?.['snapshot-id']?.toString() ?? '',
          callId: message.key?.toString() ?? '',
          partition,
          batch: `${partition}@${ctx.firstOffset}`,
          producerId: String(ctx.producerId),
        });
      },
    });
    const deadline = Date.now() + 20_000;
    while (out.length < items.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  } finally {
    await consumer.disconnect();
  }
  assert.equal(out.length, items.length, 'every record read with its batch context');
  return out;
}

test('concurrent sendAll batches and publishes coalesce: once each, per-call order kept, batches whole', async (t) => {
  const cfg = testSettings('producer');
  const { rt, tenant, codec } = await producingRuntime(t, cfg);
  const topic = `${cfg.topics.prefix}.coalesce`;
  await createTopic(rt.kafka, topic, 3);
  const producer = await createStationProducer({ kafka: rt.kafka, codec, audio: rt.audio, topic });
  t.after(() => producer.stop());

  // Six calls; consecutive batches carry consecutive segments of the same calls, so a reordering
  // between batches (or inside one) shows as a call's segments out of order.
  let seq = 0;
  const batch = (n: number): StationSnapshot[] =>
    Array.from({ length: n }, () => {
      const i = seq++;
      return buildSnapshot(
        snapshotInput({
          tenant,
          call: `${tenant}-call-${i % 6}`,
          index: Math.floor(i / 6),
          snapshotId: `${tenant}-${i}`,
        }),
      );
    });
  const handedOver: string[] = [];
  const groups: string[][] = [];
  const sendAll = (snaps: StationSnapshot[]) => {
    handedOver.push(...snaps.map((s) => s.snapshot_id));
    groups.push(snaps.map((s) => s.snapshot_id));
    return producer.sendAll(snaps);
  };
  // The first batch takes the wire; the ones handed over meanwhile wait and go out in one request.
  const first = sendAll(batch(30));
  const waiting = [sendAll(batch(30)), sendAll(batch(24)), sendAll(batch(36))];
  await Promise.all([first, ...waiting]);
  // Then a pool of callers sending again as soon as acknowledged, and single publishes among them.
  const published: Promise<StationSnapshot>[] = [];
  await Promise.all(
    Array.from({ length: 4 }, async (_, w) => {
      for (let k = 0; k < 5; k++) {
        await sendAll(batch(20));
        if (w === 0) {
          // A publish prepares asynchronously, so batches handed over after it may be queued before it:
          // its own call, whose order among publishes is what it promises.
          const i = seq++;
          const input = snapshotInput({
            tenant,
            call: `${tenant}-published`,
            index: i,
            snapshotId: `${tenant}-${i}`,
          });
          handedOver.push(input.snapshot_id!);
          published.push(producer.publish(input));
        }
      }
    }),
  );
  await Promise.all(published);

  const got = await landed(rt.kafka, topic);
  assert.deepEqual(got.map((r) => r.snapshotId).sort(), [...handedOver].sort(), 'every snapshot once');
  assert.equal(new Set(got.map((r) => r.producerId)).size, 1, 'one idempotent producer');
  // Per call: the order in the log (one partition per call) is the order handed over.
  const position = new Map(handedOver.map((id, i) => [id, i]));
  const byCall = new Map<string, number[]>();
  for (const r of got) byCall.set(r.callId, [...(byCall.get(r.callId) ?? []), position.get(r.snapshotId)!]);
  for (const [call, order] of byCall) {
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
      `${call} in the order handed over`,
    );
  }
  // A batch is never split between requests: on each partition its records share one record batch.
  const batchOf = new Map(got.map((r) => [r.snapshotId, r.batch]));
  for (const g of groups) {
    const perPartition = new Map<number, Set<string>>();
    for (const id of g) {
      const b = batchOf.get(id)!;
      const p = Number(b.split('@')[0]);
      perPartition.set(p, (perPartition.get(p) ?? new Set()).add(b));
    }
    for (const [p, batches] of perPartition) assert.equal(batches.size, 1, `a batch split on partition ${p}`);
  }
  // The three batches handed over during the first send went out together: one record batch per
  // partition holds records of all three.
  const waitingIds = groups.slice(1, 4);
  const shared = [...new Set(waitingIds[0]!.map((id) => batchOf.get(id)!))].filter((b) =>
    waitingIds.every((g) => g.some((id) => batchOf.get(id) === b)),
  );
  assert.ok(shared.length > 0, 'batches waiting together were sent in one request');
  const waitingBatches = new Set(waitingIds.flat().map((id) => batchOf.get(id)!));
  assert.ok(
    groups[0]!.every((id) => !waitingBatches.has(batchOf.get(id)!)),
    'the first batch went out on its own',
  );
});

test('a request the broker refuses fails every batch in it, and none of their records lands', async (t) => {
  const cfg = testSettings('producer');
  const { rt, tenant, codec } = await producingRuntime(t, cfg);
  const topic = `${cfg.topics.prefix}.refuse`;
  // One partition, record batches up to 5 kB: 10 snapshots (~3.5 kB with headers) go through, 20 do not.
  await createTopic(rt.kafka, topic, 1, 5_000);
  const producer = await createStationProducer({ kafka: rt.kafka, codec, audio: rt.audio, topic });
  t.after(() => producer.stop());
  let seq = 0;
  const batch = (n: number, label: string): StationSnapshot[] =>
    Array.from({ length: n }, () => {
      const i = seq++;
      return buildSnapshot(
        snapshotInput({
          tenant,
          call: `${tenant}-call-${i % 3}`,
          index: i,
          snapshotId: `${tenant}-${label}-${i}`,
        }),
      );
    });
  const a = batch(10, 'a');
  const x = batch(10, 'x');
  const y = batch(10, 'y');
  const first = producer.sendAll(a);
  // x and y fit alone but not together; handed over during the first send, they share the next request.
  const both = [producer.sendAll(x), producer.sendAll(y)];
  await first;
  const outcomes = await Promise.allSettled(both);
  for (const o of outcomes) {
    assert.equal(o.status, 'rejected', 'every caller in the refused request gets the error');
    const err = (o as PromiseRejectedResult).reason as Error & { code?: string };
    assert.equal(err.code, 'KAFKA');
    assert.match(err.message, /publishing 20 snapshot\(s\)/);
  }
  // The producer goes on: a later batch is delivered, and the log holds a and it, nothing of x or y.
  const z = batch(10, 'z');
  await producer.sendAll(z);
  const got = await landed(rt.kafka, topic);
  assert.deepEqual(
    got.map((r) => r.snapshotId),
    [...a, ...z].map((s) => s.snapshot_id),
  );
});

test('prepareRecord() encodes once and sendRecords() sends those bytes; the record is frozen and holds no snapshot', async (t) => {
  const cfg = testSettings('producer');
  const { rt, tenant, codec } = await producingRuntime(t, cfg);
  const topic = `${cfg.topics.prefix}.records`;
  await createTopic(rt.kafka, topic, 1);
  let encodes = 0;
  const encode = codec.encode.bind(codec);
  codec.encode = (v) => {
    encodes++;
    return encode(v);
  };
  const producer = await createStationProducer({ kafka: rt.kafka, codec, audio: rt.audio, topic });
  t.after(() => producer.stop());

  const input = snapshotInput({ tenant, call: `${tenant}-call`, index: 0, snapshotId: `${tenant}-plain` });
  const plain = await producer.prepareRecord(input);
  const withPcm = await producer.prepareRecord(
    snapshotInput({ tenant, call: `${tenant}-call`, index: 1, snapshotId: `${tenant}-pcm` }),
    { bytes: Buffer.alloc(3200, 7), sampleRate: 16000 },
  );
  assert.equal(encodes, 2, 'one encoding per snapshot, with or without PCM');
  assert.equal(plain.storage_key, null);
  assert.match(withPcm.storage_key ?? '', new RegExp(`^audio/v1/${tenant}/`));
  assert.deepEqual(Object.keys(plain).sort(), [
    'call_id',
    'snapshot_id',
    'station_id',
    'storage_key',
    'value',
  ]);
  assert.ok(Object.isFrozen(plain));
  assert.throws(() => {
    (plain as { value: Buffer }).value = Buffer.alloc(1);
  }, TypeError);
  // The input is the caller's: changing it now changes nothing that is sent.
  input.metrics.audio.snr_db = 1;

  await producer.sendRecords([plain, withPcm]);
  assert.equal(encodes, 2, 'sendRecords() encoded nothing');
  const got = await readToEnd(rt.kafka, topic, (v) => codec.decode(v));
  assert.deepEqual(
    got.map((r) => [r.key, r.value.snapshot_id, r.value.audio?.storage_key ?? null]),
    [
      [`${tenant}-call`, `${tenant}-plain`, null],
      [`${tenant}-call`, `${tenant}-pcm`, withPcm.storage_key],
    ],
  );
  assert.notEqual(got[0]!.value.metrics.audio.snr_db, 1);
  const expected = buildSnapshot(
    snapshotInput({ tenant, call: `${tenant}-call`, index: 0, snapshotId: `${tenant}-plain` }),
  );
  assert.deepEqual(
    JSON.parse(JSON.stringify({ ...got[0]!.value, captured_at: 0 })),
    JSON.parse(JSON.stringify({ ...expected, captured_at: 0 })),
  );
});
