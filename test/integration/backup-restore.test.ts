// Issue 13, backup and restore, on a private stack (PostgreSQL, Kafka, S3Proxy, Apicurio of its own:
// the shared stack is never touched): populate it through the API, back it up, destroy every service
// with its data, restore onto new empty ones, and the API answers the same reads, the config topic
// gives agents the same effective records, and every PCM object reads back with its sha256.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { currentConfig, runBackup } from '../../backup/backup.ts';
import { runRestore } from '../../backup/restore.ts';
import { callScope } from '../../config/keys.ts';
import { createLogger } from '../../lib/log.ts';
import { envWith, loadSettings, readTestEnv, type Settings } from '../../lib/settings.ts';
import { type App, startApp } from '../../runtime/app.ts';
import { ensureBucket } from '../../runtime/bootstrap.ts';
import { postgresProgram } from '../../stack/services/postgres.ts';
import { AudioStore, createS3 } from '../../storage/audioStore.ts';
import { createPool } from '../../storage/db.ts';
import { createKafka } from '../../streams/kafka.ts';
import { pcmTone, snapshotInput } from '../helpers/fixtures.ts';
import { startPrivateKafka } from '../helpers/privateKafka.ts';
import { startPrivatePostgres } from '../helpers/privatePostgres.ts';
import { startPrivateS3 } from '../helpers/privateS3.ts';
import { startPrivateRegistry } from '../helpers/privateServices.ts';
import { defer, token, uniqueId, waitFor } from '../helpers/runtime.ts';

const STATION = 2;

/** Four private services and the settings that point at them. */
async function privateStack(t: TestContext, prefix: string) {
  // Kafka first, alone: four JVMs starting at once on a busy two-core machine kept it past its 120 s.
  const kafka = await startPrivateKafka();
  const [pg, s3, registry] = await Promise.all([
    startPrivatePostgres(),
    startPrivateS3(),
    startPrivateRegistry(),
  ]);
  const destroy = async () => {
    await Promise.all([pg.destroy(), kafka.destroy(), s3.destroy(), registry.destroy()]);
  };
  defer(t, destroy);
  const cfg = loadSettings(
    envWith({
      KAFKA_BROKERS: kafka.broker,
      SCHEMA_REGISTRY_URL: registry.url,
      DATABASE_URL: pg.url,
      S3_ENDPOINT: s3.url,
      TOPIC_PREFIX: prefix,
      SNAPSHOT_PARTITIONS: '3',
      LOG_LEVEL: readTestEnv().logLevel,
      PRODUCE_TIMEOUT_MS: '15000',
      MAX_EVENT_LOOP_DELAY_MS: '0',
    }),
  );
  return { cfg, destroy };
}

interface Reads {
  calls: unknown;
  changes: unknown;
  effective: unknown[];
  config: Record<string, unknown>;
}

async function reads(app: App, cfg: Readonly<Settings>, tenant: string, calls: string[]): Promise<Reads> {
  const get = async (url: string) => {
    const res = await app.api!.inject({
      method: 'GET',
      url,
      headers: { authorization: token(cfg, 'viewer', tenant) },
    });
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    return res.json();
  };
  const codec = app.rt.registry.codec('ConfigRecord');
  const config: Record<string, unknown> = {};
  for (const l of await currentConfig(app.rt.kafka, cfg.topics.config, cfg.topics.prefix))
    config[l.key] = JSON.parse(JSON.stringify(await codec.decode(Buffer.from(l.value, 'base64'))));
  return {
    calls: await get(`/v1/calls?limit=50`),
    changes: await get(`/v1/changes?limit=50`),
    effective: await Promise.all(
      calls.map((c) => get(`/v1/config?station_id=${STATION}&tenant_id=${tenant}&call_id=${c}`)),
    ),
    config,
  };
}

async function populate(app: App, cfg: Readonly<Settings>, tenant: string, calls: string[]) {
  const sent = new Map<string, string>();
  for (let i = 0; i < 4; i++) {
    const pcm = pcmTone(0.25, 16000, 200 + 50 * i, 0.1, i + 1);
    const res = await app.api!.inject({
      method: 'POST',
      url: '/v1/stations/snapshot',
      headers: { authorization: token(cfg, 'station', tenant) },
      payload: {
        ...snapshotInput({ tenant, call: calls[i % 2]!, index: i, station: STATION }),
        audio: { pcm_base64: pcm.toString('base64'), sample_rate: 16000 },
      },
    });
    assert.equal(res.statusCode, 202, res.body);
    sent.set(res.json().storage_key, createHash('sha256').update(pcm).digest('hex'));
  }
  for (const [scope, value] of [
    [{ level: 'tenant', tenant_id: tenant }, 80],
    [callScope(tenant, calls[0]!), 100],
  ] as const) {
    const res = await app.api!.inject({
      method: 'POST',
      url: '/v1/config/update',
      headers: { authorization: token(cfg, 'operator', tenant) },
      payload: {
        station_id: STATION,
        scope,
        parameters: { jitter_buffer_ms: value },
        reason: 'before the backup',
      },
    });
    assert.equal(res.statusCode, 200, res.body);
  }
  await waitFor(
    'four snapshots persisted',
    async () =>
      (await app.rt.pool.query('SELECT count(*)::int AS n FROM station_snapshots')).rows[0].n === 4 ||
      undefined,
    60_000,
  );
  await app.relay!.drain();
  return sent;
}

test('backup, destroy the stack, restore onto an empty one: same reads, same config, every PCM object by sha256', async (t) => {
  const prefix = uniqueId('bk-');
  const tenant = uniqueId('tb');
  const calls = [uniqueId('c'), uniqueId('c')];
  const log = createLogger('warn');
  const dir = mkdtempSync(join(tmpdir(), 'voiceloop-backup-'));
  defer(t, () => rmSync(dir, { recursive: true, force: true }));

  const first = await privateStack(t, prefix);
  const app = await startApp(first.cfg, ['api', 'persister', 'relay'], { listen: false });
  const sent = await populate(app, first.cfg, tenant, calls);
  const before = await reads(app, first.cfg, tenant, calls);
  assert.equal(Object.keys(before.config).length, 2, 'a tenant and a call record on the config topic');
  const manifest = await runBackup(
    {
      cfg: first.cfg,
      pool: app.rt.pool,
      audio: app.rt.audio,
      kafka: app.rt.kafka,
      pgDump: await postgresProgram('pg_dump', () => {}),
    },
    dir,
  );
  await app.stop();
  assert.equal(manifest.audio.objects, 4);
  assert.equal(manifest.postgres.rows.station_snapshots, 4);
  assert.equal(manifest.config.records, 2);
  assert.equal(manifest.registry.versions.length, 5);
  t.diagnostic(`backup: ${manifest.seconds} s`);

  // Every service and its data gone; new, empty ones in their place.
  await first.destroy();
  const second = await privateStack(t, prefix);
  const cfg = second.cfg;
  const pool = createPool(cfg, log, 3);
  const s3 = createS3(cfg);
  defer(t, async () => {
    await pool.end();
    s3.destroy();
  });
  await ensureBucket(s3, cfg.s3.bucket);
  const deps = {
    cfg,
    pool,
    s3,
    audio: new AudioStore(s3, cfg.s3.bucket),
    kafka: createKafka(cfg, log),
    pgRestore: await postgresProgram('pg_restore', () => {}),
  };
  const report = await runRestore(deps, dir);
  t.diagnostic(`restore: ${report.seconds} s`);
  assert.equal(report.objects, 4);
  // Onto a stack that is no longer empty, a second restore is refused before it writes anything.
  await assert.rejects(
    runRestore(deps, dir),
    /restore needs an empty stack: the database already has tables/,
  );

  const app2 = await startApp(cfg, ['api', 'relay'], { listen: false });
  defer(t, () => app2.stop());
  assert.deepEqual(await reads(app2, cfg, tenant, calls), before);
  for (const [key, sha] of sent) {
    const bytes = await app2.rt.audio.get(key);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), sha, key);
  }
});
