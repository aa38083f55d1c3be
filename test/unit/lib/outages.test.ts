// The outage log: a dependency outage is logged once when it starts and once when it ends (when the
// probe answers), every refusal counted; an error that names no dependency, or cannot be retried, is
// no outage.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { VoiceloopError } from '../../../lib/errors.ts';
import type { Logger } from '../../../lib/log.ts';
import { type Dependency, OutageLog, unavailableDependency } from '../../../lib/outages.ts';
import { waitFor } from '../../helpers/runtime.ts';

function setup() {
  const lines: { fields: Record<string, unknown>; msg: string }[] = [];
  const log = {
    warn: (fields: Record<string, unknown>, msg: string) => lines.push({ fields, msg }),
  } as unknown as Logger;
  const registry = new Registry();
  const refusals = new Counter({
    name: 'refusals_total',
    help: 'h',
    labelNames: ['dependency'] as const,
    registers: [registry],
  });
  const up = new Set<Dependency>();
  let now = 1_000_000;
  const outages = new OutageLog({
    log,
    refusals,
    probe: async (d) => up.has(d),
    probeEveryMs: 5,
    now: () => now,
  });
  const count = async (d: Dependency) =>
    (await refusals.get()).values.find((v) => v.labels.dependency === d)?.value ?? 0;
  return { lines, outages, up, count, advance: (ms: number) => (now += ms) };
}

test('an outage is logged once when it starts and once when the probe answers, every refusal counted', async () => {
  const { lines, outages, up, count, advance } = setup();
  const err = new VoiceloopError('OBJECT_STORE', 'uploading k: connect ECONNREFUSED', { canRetry: true });
  for (let i = 0; i < 50; i++) outages.refused('object_store', err);
  assert.equal(lines.length, 1);
  assert.match(
    lines[0]!.msg,
    /^the object store \(S3\) is unavailable \(uploading k: connect ECONNREFUSED\)/,
  );
  assert.equal(await count('object_store'), 50);
  assert.deepEqual(outages.down, ['object_store']);

  advance(12_300);
  up.add('object_store');
  await waitFor('the end of the outage logged', async () => lines.length === 2, 5_000, 5);
  assert.equal(
    lines[1]!.msg,
    'the object store (S3) answers again after 12.3 s; 50 request(s) were refused meanwhile',
  );
  assert.deepEqual(lines[1]!.fields, { dependency: 'object_store', outage_s: 12.3, refused: 50 });
  assert.deepEqual(outages.down, []);

  // A later outage is a new one, logged again.
  up.delete('object_store');
  outages.refused('object_store', err);
  assert.equal(lines.length, 3);
  outages.stop();
  assert.deepEqual(outages.down, []);
});

test('two dependencies down at once are two outages', () => {
  const { lines, outages } = setup();
  outages.refused('kafka', new VoiceloopError('KAFKA', 'no ack', { canRetry: true }));
  outages.refused('postgres', new VoiceloopError('DATABASE', 'ECONNREFUSED', { canRetry: true }));
  outages.refused('kafka', new VoiceloopError('KAFKA', 'no ack', { canRetry: true }));
  assert.deepEqual(
    lines.map((l) => l.fields.dependency),
    ['kafka', 'postgres'],
  );
  outages.stop();
});

test('without a probe an outage ends when its owner says it recovered (a consumer retrying a batch)', () => {
  const lines: { fields: Record<string, unknown>; msg: string }[] = [];
  const log = {
    warn: (fields: Record<string, unknown>, msg: string) => lines.push({ fields, msg }),
  } as unknown as Logger;
  let now = 5_000;
  const outages = new OutageLog({
    log,
    now: () => now,
    meanwhile: 'the batch is held and tried again',
    counted: 'attempt(s) failed',
  });
  outages.recovered(); // nothing open: nothing said
  assert.equal(lines.length, 0);
  const err = new VoiceloopError('SCHEMA_REGISTRY', 'fetching schema id 7: ECONNREFUSED', { canRetry: true });
  for (let i = 0; i < 30; i++) outages.refused('schema_registry', err);
  now += 4_200;
  assert.deepEqual(outages.down, ['schema_registry']);
  outages.recovered();
  outages.recovered();
  assert.deepEqual(
    lines.map((l) => l.msg),
    [
      'the schema registry is unavailable (fetching schema id 7: ECONNREFUSED): the batch is held and tried again',
      'the schema registry answers again after 4.2 s; 30 attempt(s) failed meanwhile',
    ],
  );
  assert.deepEqual(outages.down, []);
});

test('only a retriable error of a dependency names one', () => {
  assert.equal(unavailableDependency(new VoiceloopError('DATABASE', 'x', { canRetry: true })), 'postgres');
  assert.equal(unavailableDependency(new VoiceloopError('KAFKA', 'x', { canRetry: true })), 'kafka');
  assert.equal(
    unavailableDependency(new VoiceloopError('SCHEMA_REGISTRY', 'x', { canRetry: true })),
    'schema_registry',
  );
  assert.equal(
    unavailableDependency(new VoiceloopError('OBJECT_STORE', 'x', { canRetry: true })),
    'object_store',
  );
  assert.equal(
    unavailableDependency(new VoiceloopError('OBJECT_STORE', 'x', { canRetry: false })),
    undefined,
  );
  assert.equal(unavailableDependency(new VoiceloopError('VALIDATION', 'x', { canRetry: true })), undefined);
  assert.equal(unavailableDependency(new Error('x')), undefined);
});
