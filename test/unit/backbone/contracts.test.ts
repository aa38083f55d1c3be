import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import avro from 'avsc';
import { GENERATED_PATH, generateTypes } from '../../../contracts/codegen.ts';
import { contractJsonSchema } from '../../../contracts/jsonSchema.ts';
import { CONTRACTS, loadSchema } from '../../../contracts/schemas.ts';
import { buildSnapshot } from '../../../domain/snapshot.ts';
import { snapshotInput } from '../../helpers/fixtures.ts';

test('contracts/generated.ts is up to date with avro/*.avsc (run npm run gen:types)', () => {
  assert.equal(readFileSync(GENERATED_PATH, 'utf8'), generateTypes());
});

test('every contract is a standalone, valid Avro schema with shared types inlined', () => {
  for (const name of CONTRACTS) {
    const type = avro.Type.forSchema(loadSchema(name) as avro.Schema);
    assert.equal(type.name, `voiceloop.${name}`);
  }
  const text = JSON.stringify(loadSchema('ConfigRecord'));
  assert.match(text, /"name":"Scope"/);
});

test('DESIGN §5 fields are all in StationSnapshot', () => {
  const s = loadSchema('StationSnapshot') as { fields: { name: string }[] };
  const names = s.fields.map((f) => f.name);
  for (const f of [
    'schema_version',
    'snapshot_id',
    'tenant_id',
    'call_id',
    'channel',
    'segment',
    'station_id',
    'captured_at',
    'metrics',
    'applied_config_version',
    'audio',
    'constraints',
    'targets',
  ]) {
    assert.ok(names.includes(f), f);
  }
});

test('a built snapshot round-trips through Avro unchanged', () => {
  const type = avro.Type.forSchema(loadSchema('StationSnapshot') as avro.Schema);
  const snap = buildSnapshot(snapshotInput({ tenant: 't', call: 'c' }));
  const back = type.fromBuffer(type.toBuffer(snap));
  assert.deepEqual(JSON.parse(JSON.stringify(back)), JSON.parse(JSON.stringify(snap)));
});

test('the JSON schema derived for HTTP marks defaulted fields optional and forbids unknown ones', () => {
  const js = contractJsonSchema('StationSnapshot') as {
    required: string[];
    additionalProperties: boolean;
    properties: Record<string, { default?: unknown }>;
  };
  assert.equal(js.additionalProperties, false);
  assert.ok(js.required.includes('call_id'));
  assert.ok(!js.required.includes('labels'));
  assert.deepEqual(js.properties.labels!.default, {});
});
