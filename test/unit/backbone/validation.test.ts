import assert from 'node:assert/strict';
import { test } from 'node:test';
import { audioKey } from '../../../domain/audioKeys.ts';
import { buildSnapshot, checkSnapshot } from '../../../domain/snapshot.ts';
import { canAccessTenant, mintToken, verifyToken } from '../../../lib/auth.ts';
import { VoiceloopError } from '../../../lib/errors.ts';
import { retry } from '../../../lib/retry.ts';
import { loadSettings } from '../../../lib/settings.ts';
import { snapshotInput } from '../../helpers/fixtures.ts';

test('config: defaults point at the local stack and bad values are named', () => {
  const c = loadSettings({});
  assert.deepEqual(c.kafka.brokers, ['127.0.0.1:39092']);
  assert.equal(c.api.port, 3021);
  assert.equal(c.externalServices, false);
  assert.ok(Object.isFrozen(c.topics));
  assert.throws(() => loadSettings({ PORT: 'eighty' }), /PORT=eighty is invalid/);
  assert.throws(() => loadSettings({ KAFKA_BROKERS: 'nohostport' }), /KAFKA_BROKERS entry "nohostport"/);
  assert.throws(() => loadSettings({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/);
  assert.throws(() => loadSettings({ TOPIC_PREFIX: 'a b' }), /TOPIC_PREFIX/);
  assert.throws(() => loadSettings({ HOST: '0.0.0.0' }), /API_TOKEN_SECRET/);
  assert.equal(
    loadSettings({
      KAFKA_BROKERS: 'k:1',
      SCHEMA_REGISTRY_URL: 'http://r',
      DATABASE_URL: 'postgres://d',
      S3_ENDPOINT: 'http://s',
    }).externalServices,
    true,
  );
});

test('checkSnapshot accepts a sound snapshot and names each unsound field', () => {
  const ok = buildSnapshot(snapshotInput({ tenant: 't1', call: 'c1' }));
  assert.deepEqual(checkSnapshot(ok), []);
  const bad = buildSnapshot(snapshotInput({ tenant: 't1', call: 'c1', station: 7 }));
  bad.metrics.audio.speech_activity = 1.5;
  bad.segment.end_ms = -1;
  bad.audio = {
    storage_key: audioKey('t2', 'c'.repeat(64)),
    format: 'pcm_s16le',
    sample_rate: 16000,
    channels: 1,
    duration_ms: 10,
    sha256: 'c'.repeat(64),
    size_bytes: 320,
  };
  const fields = checkSnapshot(bad).map((p) => p.field);
  assert.deepEqual(
    fields.sort(),
    ['audio.storage_key', 'metrics.audio.speech_activity', 'segment.end_ms', 'station_id'].sort(),
  );
});

test('tokens: signed, role and tenant checked, tampering refused', () => {
  const secret = 'x'.repeat(32);
  const tok = mintToken(secret, {
    sub: 's',
    role: 'station',
    tenant: 't1',
    exp: Math.floor(Date.now() / 1000) + 60,
  });
  const p = verifyToken(secret, `Bearer ${tok}`);
  assert.equal(p.tenant, 't1');
  assert.ok(canAccessTenant(p, 't1'));
  assert.ok(!canAccessTenant(p, 't2'));
  const [v, payload, sig] = tok.split('.');
  const forged = Buffer.from(JSON.stringify({ sub: 's', role: 'operator', tenant: '*' })).toString(
    'base64url',
  );
  assert.throws(() => verifyToken(secret, `Bearer ${v}.${forged}.${sig}`), /signature/);
  assert.throws(() => verifyToken('y'.repeat(32), `Bearer ${tok}`), /signature/);
  assert.throws(() => verifyToken(secret, undefined), /missing/);
  assert.throws(
    () => mintToken(secret, { sub: 's', role: 'viewer', tenant: '*', exp: 2e9 }),
    /only an admin/,
  );
  assert.ok(payload);
  // Every minted token carries an id (what revocation names); one given is kept.
  assert.match(p.jti, /^[A-Za-z0-9_-]{16}$/);
  assert.equal(
    verifyToken(
      secret,
      `Bearer ${mintToken(secret, { sub: 's', role: 'viewer', tenant: 't', exp: 2e9, jti: 'abc' })}`,
    ).jti,
    'abc',
  );
  assert.throws(
    () => mintToken(secret, { sub: 's', role: 'viewer', tenant: 't', exp: 2e9, jti: 'has space' }),
    /jti/,
  );
});

test('retry: retries only what may be retried and keeps every attempt error', async () => {
  let n = 0;
  const out = await retry(
    'flaky',
    async () => {
      if (++n < 3) throw new VoiceloopError('KAFKA', `try ${n}`, { canRetry: true });
      return 'ok';
    },
    { initialDelayMs: 1 },
  );
  assert.equal(out, 'ok');
  n = 0;
  await assert.rejects(
    retry(
      'bug',
      async () => {
        n++;
        throw new TypeError('programming error');
      },
      { initialDelayMs: 1 },
    ),
    TypeError,
  );
  assert.equal(n, 1);
  await assert.rejects(
    retry(
      'down',
      async () => {
        throw new VoiceloopError('DATABASE', 'down', { canRetry: true });
      },
      { retries: 2, initialDelayMs: 1 },
    ),
    (err: AggregateError) => err.errors.length === 3 && /3 attempt/.test(err.message),
  );
});
