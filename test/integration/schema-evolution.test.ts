// Issue 2, "Done when": a v2 StationSnapshot (one added optional field) registers as BACKWARD
// compatible and a v1 consumer reads v2 records; an incompatible change is refused by the registry.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSchema } from '../../contracts/schemas.ts';
import { buildSnapshot } from '../../domain/snapshot.ts';
import { Codec, createSchemaRegistry, registerSchema } from '../../streams/registry.ts';
import { snapshotInput } from '../helpers/fixtures.ts';
import { testSettings, uniqueId } from '../helpers/runtime.ts';

test('v2 with an added optional field is BACKWARD compatible and v1 reads it; an incompatible v2 is refused', async () => {
  const cfg = testSettings('schema');
  const url = cfg.schemaRegistry.url;
  const registry = createSchemaRegistry(url);
  const subject = `${uniqueId('evolve')}-value`;
  const v1 = loadSchema('StationSnapshot') as { fields: object[] };
  const v1Id = await registerSchema(registry, url, subject, v1);

  const cfgRes = await fetch(`${url}/config/${subject}`);
  assert.equal(cfgRes.status, 200);
  assert.equal(((await cfgRes.json()) as { compatibilityLevel: string }).compatibilityLevel, 'BACKWARD');

  const v2 = {
    ...v1,
    fields: [...v1.fields, { name: 'mic_model', type: ['null', 'string'], default: null }],
  };
  const v2Id = await registerSchema(registry, url, subject, v2);
  assert.notEqual(v2Id, v1Id);

  const writer = new Codec<Record<string, unknown>>('StationSnapshot', subject, v2Id, v2, registry);
  const reader = new Codec<Record<string, unknown>>('StationSnapshot', subject, v1Id, v1, registry);
  const snap = buildSnapshot(snapshotInput({ tenant: 't', call: 'c' }));
  const bytes = writer.encode({ ...snap, mic_model: 'MK-4' });
  assert.equal(bytes.readUInt32BE(1), v2Id);
  const decoded = await reader.decode(bytes);
  assert.equal(decoded.snapshot_id, snap.snapshot_id);
  assert.equal('mic_model' in decoded, false);
  assert.deepEqual(JSON.parse(JSON.stringify(decoded)), JSON.parse(JSON.stringify(snap)));

  // A new required field without a default breaks BACKWARD: v3 readers could not read v2 data.
  const bad = { ...v1, fields: [...v1.fields, { name: 'mandatory_thing', type: 'string' }] };
  await assert.rejects(() => registerSchema(registry, url, subject, bad), /incompatible|409/i);
});
