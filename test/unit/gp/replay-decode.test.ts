// The batch replay's decode (optimizer/batch/replayDecode.ts): per record the snapshot with only the
// labels the history reads, whole() the full snapshot, errors exactly as Codec.decodeAll gives them,
// and a history fed this way equal to one fed whole snapshots. No I/O (a registry stub for a second
// writer schema).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import type { StationSnapshot } from '../../../contracts/generated.ts';
import { loadSchema } from '../../../contracts/schemas.ts';
import { audioKey } from '../../../domain/audioKeys.ts';
import { buildSnapshot } from '../../../domain/snapshot.ts';
import { VoiceloopError } from '../../../lib/errors.ts';
import {
  FAR_END_KEY_LABEL,
  HistoryCollector,
  INPUT_KEY_LABEL,
  LABELS_READ,
  pickLabels,
  ReplayDecoder,
  type ReplayRecord,
  SAMPLE_RATE_LABEL,
} from '../../../optimizer/batch/index.ts';
import { Codec } from '../../../streams/registry.ts';
import { snapshotInput } from '../../helpers/fixtures.ts';

const OWN_ID = 7;
const V2_ID = 8;
const v1 = loadSchema('StationSnapshot') as { fields: object[] };
// A later writer schema: one more optional field (BACKWARD), read through a resolver.
const v2 = { ...v1, fields: [...v1.fields, { name: 'region', type: ['null', 'string'], default: null }] };
const registry = {
  getSchema: async (id: number) => {
    if (id === V2_ID) return avro.Type.forSchema(v2 as avro.Schema);
    throw Object.assign(new Error('not found'), { status: 404 });
  },
} as unknown as SchemaRegistry;
const codec = new Codec<StationSnapshot>('StationSnapshot', 'x-value', OWN_ID, v1, registry);
const v2Codec = new Codec<Record<string, unknown>>('StationSnapshot', 'x-value', V2_ID, v2, registry);

const LABEL_SETS: Record<string, string>[] = [
  {},
  { impairments: 'noise,hum', noise: 'babble@15dB', leg: 'caller', level_db: '-6' },
  {
    impairment_class: 'hum-heavy',
    [INPUT_KEY_LABEL]: audioKey('acme', 'a'.repeat(64)),
    [SAMPLE_RATE_LABEL]: '16000',
    [FAR_END_KEY_LABEL]: audioKey('acme', 'c'.repeat(64)),
    'audio.tap': 'output',
    région: 'zürich ✓',
    'replay.input_keyX': 'not a read key',
  },
  { impairments: 'ünïcode é', x: 'y'.repeat(300) },
];

function snaps(): StationSnapshot[] {
  return Array.from({ length: 24 }, (_, i) =>
    buildSnapshot({
      ...snapshotInput({ tenant: 'acme', call: `c${i % 5}`, index: i, station: [2, 3, 4][i % 3]! }),
      applied_config_version: i % 2,
      labels: LABEL_SETS[i % LABEL_SETS.length]!,
      codec: i % 4 === 0 ? null : 'pcmu',
    }),
  );
}

const plain = (v: unknown) => JSON.parse(JSON.stringify(v));
const readOnly = (labels: Record<string, string>) =>
  Object.fromEntries(Object.entries(labels).filter(([k]) => LABELS_READ.includes(k)));

test('replay decode: the read labels per record, every field else, whole() the full snapshot', async () => {
  const all = snaps();
  const bufs = all.map((s) => codec.encode(s));
  const full = await codec.decodeAll(bufs);
  const out = await new ReplayDecoder(codec).decodeAll(bufs);
  assert.equal(out.length, all.length);
  for (let i = 0; i < all.length; i++) {
    const r = out[i] as ReplayRecord;
    const f = full[i] as StationSnapshot;
    assert.ok(!(r instanceof Error), String(r));
    assert.deepEqual(plain(r.snapshot), plain({ ...f, labels: readOnly(f.labels) }), `record ${i}`);
    assert.deepEqual(Object.keys(r.snapshot), Object.keys(f), 'same fields in the same order');
    if (Object.keys(f.labels).some((k) => !LABELS_READ.includes(k)))
      assert.notDeepEqual(plain(r.snapshot.labels), plain(f.labels), 'the unread labels were skipped');
    assert.deepEqual(plain(r.whole()), plain(f));
    assert.deepEqual(plain(r.snapshot), plain(f), 'whole() completes the same object');
    assert.deepEqual(plain(r.whole()), plain(all[i]));
  }
});

test('replay decode: another writer schema is read in full through its resolver', async () => {
  const s = snaps()[2]!;
  const buf = v2Codec.encode({ ...s, region: 'eu' });
  const [r] = await new ReplayDecoder(codec).decodeAll([buf]);
  assert.ok(!(r instanceof Error), String(r));
  assert.deepEqual(plain((r as ReplayRecord).snapshot), plain(s), 'all labels, without the new field');
});

test('replay decode: bad records give exactly the DECODE errors of Codec.decodeAll', async () => {
  const good = codec.encode(snaps()[1]!);
  const bufs: (Buffer | null)[] = [
    Buffer.from('not avro'),
    null,
    Buffer.concat([good.subarray(0, 5), Buffer.from([0xff, 0xff, 0xff])]),
    Buffer.concat([good, Buffer.from([0])]), // trailing byte after the labels
    good.subarray(0, good.length - 3), // labels cut short
    Buffer.concat([good.subarray(0, 1), Buffer.from([0, 0, 0, 99]), good.subarray(5)]), // unknown id
    good,
  ];
  const want = await codec.decodeAll(bufs);
  const got = await new ReplayDecoder(codec).decodeAll(bufs);
  for (let i = 0; i < bufs.length - 1; i++) {
    const e = got[i];
    assert.ok(e instanceof VoiceloopError && e.code === 'DECODE', `record ${i}: ${String(e)}`);
    assert.equal(e.message, (want[i] as Error).message, `record ${i}`);
  }
  assert.match((got[3] as Error).message, /trailing data/);
  assert.match((got[4] as Error).message, /truncated buffer/);
  assert.match((got[5] as Error).message, /schema id 99 is unknown/);
  assert.ok(!(got[6] instanceof Error));
});

test('pickLabels: blocks with a byte size, repeated keys, and anything unusual refused', () => {
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    return Buffer.concat([avro.Type.forSchema('long').toBuffer(b.length), b]);
  };
  const long = (n: number) => avro.Type.forSchema('long').toBuffer(n);
  const entries = Buffer.concat([str('impairments'), str('noise'), str('x'), str('y')]);
  // Two blocks: a negative count followed by the block's size in bytes, then a plain one.
  const map = Buffer.concat([
    long(-2),
    long(entries.length),
    entries,
    long(1),
    str('impairments'),
    str('hum'),
    long(0),
  ]);
  const labelsType = avro.Type.forSchema({ type: 'map', values: 'string' });
  assert.deepEqual(labelsType.fromBuffer(map), { impairments: 'hum', x: 'y' }, 'avsc reads it so');
  assert.deepEqual(pickLabels(map, 0), { impairments: 'hum' });
  const prefixed = Buffer.concat([Buffer.from([1, 2, 3]), map]);
  assert.deepEqual(pickLabels(prefixed, 3), { impairments: 'hum' });
  assert.equal(pickLabels(Buffer.concat([map, Buffer.from([0])]), 0), undefined, 'trailing byte');
  assert.equal(pickLabels(map.subarray(0, map.length - 1), 0), undefined, 'no end of map');
  assert.equal(pickLabels(Buffer.concat([long(1), long(-3)]), 0), undefined, 'negative length');
  assert.equal(pickLabels(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x01]), 0), undefined, 'over 4 bytes');
});

test('history: fed lean records as the replay does, the same as fed whole snapshots', async () => {
  const opts = { tenantId: null, stationIds: null, segmentsPerGroup: 3, scorecardSample: 4, seed: 5 };
  const all = snaps();
  const lean = new HistoryCollector(opts);
  const whole = new HistoryCollector(opts);
  const out = await new ReplayDecoder(codec).decodeAll(all.map((s) => codec.encode(s)));
  for (let i = 0; i < all.length; i++) {
    const r = out[i] as ReplayRecord;
    assert.equal(
      lean.add(r.snapshot, () => r.whole()),
      whole.add(all[i]!),
    );
  }
  const h = whole.history();
  assert.ok(h.some((g) => g.segments.length > 0) && h.some((g) => g.replayable < g.snapshots));
  assert.deepEqual(plain(lean.history()), plain(h));
  assert.deepEqual(plain(lean.scorecardSample()), plain(whole.scorecardSample()));
});
