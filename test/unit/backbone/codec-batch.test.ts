// Codec.decodeAll: one call per batch gives, record by record, exactly what decode gives (the value,
// or the DECODE error with the same message), without asking the registry about its own schema id.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { StationSnapshot } from '../../../contracts/generated.ts';
import { loadSchema } from '../../../contracts/schemas.ts';
import { buildSnapshot } from '../../../domain/snapshot.ts';
import { VoiceloopError } from '../../../lib/errors.ts';
import { Codec } from '../../../streams/registry.ts';
import { snapshotInput } from '../../helpers/fixtures.ts';

// The codec's own schema id never reaches the registry; this one throws if it is ever asked.
const noRegistry = {
  getSchema: () => {
    throw new Error('the registry was asked');
  },
} as unknown as SchemaRegistry;

test('decodeAll decodes a batch record by record as decode does, bad records as DECODE errors', async () => {
  const codec = new Codec<StationSnapshot>(
    'StationSnapshot',
    'x-value',
    7,
    loadSchema('StationSnapshot'),
    noRegistry,
  );
  const snaps = [0, 1, 2].map((i) => buildSnapshot(snapshotInput({ tenant: 't', call: 'c', index: i })));
  const good = snaps.map((s) => codec.encode(s));
  const bufs: (Buffer | null)[] = [
    good[0]!,
    Buffer.from('not avro'),
    good[1]!,
    null,
    Buffer.concat([good[2]!.subarray(0, 5), Buffer.from([0xff, 0xff, 0xff])]),
    good[2]!,
  ];
  const out = await codec.decodeAll(bufs);
  assert.equal(out.length, bufs.length);
  for (const [i, k] of [
    [0, 0],
    [2, 1],
    [5, 2],
  ] as const) {
    assert.deepEqual(out[i], await codec.decode(bufs[i]!));
    assert.deepEqual(JSON.parse(JSON.stringify(out[i])), JSON.parse(JSON.stringify(snaps[k])));
  }
  for (const i of [1, 3, 4]) {
    const err = out[i];
    assert.ok(err instanceof VoiceloopError && err.code === 'DECODE', `record ${i}: ${String(err)}`);
    await assert.rejects(codec.decode(bufs[i]!), (e: Error) => e.message === err.message);
  }
  assert.match((out[1] as Error).message, /magic byte/);
  assert.match((out[3] as Error).message, /shorter than the 5-byte wire header/);
  assert.match((out[4] as Error).message, /does not decode with writer schema id 7/);
  assert.deepEqual(await codec.decodeAll([]), []);
});

test('encode: the 5-byte header and the Avro body, also past its scratch buffer; bad values named', () => {
  const codec = new Codec<StationSnapshot>(
    'StationSnapshot',
    'x-value',
    7,
    loadSchema('StationSnapshot'),
    noRegistry,
  );
  const small = buildSnapshot(snapshotInput({ tenant: 't', call: 'c', index: 1 }));
  // Labels of ~100 KB: larger than the codec's 16 KB scratch buffer, so it grows.
  const big = { ...small, labels: { note: 'x'.repeat(100_000), 'é ✓': 'ü'.repeat(5) } };
  for (const s of [small, big, small]) {
    const out = codec.encode(s);
    const header = Buffer.from([0, 0, 0, 0, 7]);
    assert.deepEqual(out, Buffer.concat([header, codec.type.toBuffer(s)]));
    assert.deepEqual(
      JSON.parse(JSON.stringify(codec.type.fromBuffer(out.subarray(5)))),
      JSON.parse(JSON.stringify(s)),
    );
  }
  const a = codec.encode(small);
  const b = codec.encode(big);
  assert.equal(a.length < 1000 && b.length > 100_000, true, 'each its own buffer');
  assert.deepEqual(a, codec.encode(small), 'an earlier result is not overwritten');
  const bad = {
    ...small,
    station_id: 'two',
    metrics: { ...small.metrics, audio: { ...small.metrics.audio, snr_db: 'x' } },
  };
  assert.throws(
    () => codec.encode(bad as unknown as StationSnapshot),
    (e: Error) =>
      e instanceof VoiceloopError &&
      e.code === 'VALIDATION' &&
      e.message ===
        'StationSnapshot is not valid for its schema: bad field(s) station_id, metrics.audio.snr_db',
  );
  assert.doesNotThrow(() => codec.check(small));
});
