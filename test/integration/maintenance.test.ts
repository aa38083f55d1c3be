// Issue 13, the maintenance role, against a private PostgreSQL (a moved clock drops partitions and
// deletes rows database-wide, which the shared stack's other tests must not see) and a bucket of its
// own on the stack's S3 server: data past retention goes, data inside it and anything still referenced
// stays, every sweep is recorded and counted, a dry run deletes nothing, and a sweep SIGKILLed half-way
// through leaves nothing half-deleted and the next one finishes it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { partitionName } from '../../domain/retention.ts';
import { createLogger } from '../../lib/log.ts';
import { createMetrics, type Metrics } from '../../lib/metrics.ts';
import { envWith, loadSettings } from '../../lib/settings.ts';
import { startMaintenance } from '../../maintenance/index.ts';
import { maintenanceOptionsFor } from '../../runtime/deps.ts';
import type { AudioStore } from '../../storage/audioStore.ts';
import { createPool, type Pool } from '../../storage/db.ts';
import { migrate } from '../../storage/migrate.ts';
import { startPrivatePostgres } from '../helpers/privatePostgres.ts';
import {
  count,
  DAY,
  insertChange,
  insertConfigState,
  insertRun,
  insertSnapshot,
  privateBucket,
  putAudio,
} from '../helpers/retentionData.ts';
import { defer, uniqueId, waitFor } from '../helpers/runtime.ts';

const root = join(import.meta.dirname, '..', '..');

async function privateSetup(t: import('node:test').TestContext) {
  const pg = await startPrivatePostgres();
  defer(t, () => pg.destroy());
  const bucketName = uniqueId('mt');
  const env = { DATABASE_URL: pg.url, S3_BUCKET: bucketName, LOG_LEVEL: 'warn' };
  const cfg = loadSettings(envWith(env));
  const log = createLogger('warn');
  await migrate(cfg.database.url, log);
  const pool = createPool(cfg, log, 4);
  defer(t, () => pool.end());
  const bucket = await privateBucket(cfg, bucketName);
  defer(t, () => bucket.drop());
  return { pg, cfg, log, pool, bucket, env };
}

const exists = async (pool: Pool, table: string) =>
  (await pool.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [table])).rows[0]!.r !== null;

test('maintenance: past retention goes, inside and referenced stay; recorded, counted, dry run deletes nothing', async (t) => {
  const { cfg, log, pool, bucket, env } = await privateSetup(t);
  const t0 = Date.now();
  let now = t0;
  const metrics = createMetrics();
  const m = await startMaintenance(
    { pool, audio: bucket.audio, log, metrics, clock: () => now },
    { ...maintenanceOptionsFor(cfg), sweepAtStart: false },
  );
  defer(t, () => m.stop());
  const stream = 'mt';

  const [kOld, kRef, kLoose] = (await seed(pool, bucket.audio, stream, t0)) as [string, string, string];
  await seedWebhooks(pool, stream, t0);

  // Sweep 1 at t0 + 10 d: inside snapshot (14 d) and audio (30 d) retention, past outbox/config (7 d).
  now = t0 + 10 * DAY;
  const s1 = (await m.sweep())!;
  assert.equal(s1.status, 'completed', JSON.stringify(s1.tasks));
  const n1 = Object.fromEntries(s1.tasks.map((x) => [x.task, x.count]));
  assert.deepEqual(
    {
      drop: n1.partitions_drop,
      audio: n1.audio,
      outbox: n1.outbox,
      config: n1.config_state,
      runs: n1.runs,
      obs: n1.observations,
      calls: n1.calls,
      webhooks: n1.webhook_deliveries,
    },
    { drop: 0, audio: 0, outbox: 1, config: 1, runs: 1, obs: 1, calls: 0, webhooks: 0 },
  );
  assert.ok(n1.partitions_ahead! >= 4, 'the coming days made ahead');
  for (let d = 0; d <= 3; d++)
    assert.ok(await exists(pool, partitionName(now + d * DAY)), `day +${d} made ahead`);
  assert.deepEqual(await bucket.keys(), [kOld, kRef, kLoose].sort());
  assert.equal(await count(pool, "outbox WHERE message_key IN ('o-young', 'o-pending')"), 2);
  assert.deepEqual(
    (await pool.query('SELECT config_key FROM config_state ORDER BY config_key')).rows.map(
      (r) => r.config_key,
    ),
    ['k-tenant', 'k-young', 'o-pending'],
  );
  assert.deepEqual(
    (await pool.query('SELECT run_id FROM optimizer_runs ORDER BY run_id')).rows.map((r) => r.run_id),
    ['r-cited', 'r-young'],
  );
  assert.equal(await count(pool, 'batch_observations'), 1);

  // A dry run at t0 + 31 d says what would go and deletes nothing (also from the CLI).
  now = t0 + 31 * DAY;
  const dry = (await m.sweep({ dryRun: true }))!;
  const nd = Object.fromEntries(dry.tasks.map((x) => [x.task, x.count]));
  assert.equal(nd.audio, 2, JSON.stringify(dry.tasks));
  assert.equal(nd.webhook_deliveries, 2, JSON.stringify(dry.tasks));
  assert.deepEqual(dry.tasks.find((x) => x.task === 'webhook_deliveries')!.sample, [
    '3 attempt(s) with them',
  ]);
  assert.equal(await count(pool, 'webhook_deliveries'), 4);
  assert.ok(dry.tasks.find((x) => x.task === 'audio')!.sample!.includes(kOld));
  assert.equal(nd.partitions_drop! >= 1, true);
  assert.equal(await count(pool, 'station_snapshots'), 2);
  assert.equal((await bucket.keys()).length, 3);
  const cli = await runCli(['--dry-run', '--now', new Date(now).toISOString()], env);
  assert.equal(cli.code, 0, cli.err);
  assert.match(cli.out, /dry run \d+ as of .*: completed \(nothing deleted\)/);
  assert.match(cli.out, /audio\s+would delete\s+2/);
  assert.ok(cli.out.includes(kOld), cli.out);
  assert.equal((await bucket.keys()).length, 3, 'the CLI dry run deleted nothing');

  // Sweep 2 at t0 + 31 d: day t0 is past snapshot retention (its partition and keys dropped, its call
  // gone), the unreferenced objects are past audio retention; the referenced one stays.
  const s2 = (await m.sweep())!;
  assert.equal(s2.status, 'completed', JSON.stringify(s2.tasks));
  const n2 = Object.fromEntries(s2.tasks.map((x) => [x.task, x.count]));
  assert.equal(await exists(pool, partitionName(t0)), false, 'day t0 dropped');
  assert.ok(await exists(pool, partitionName(t0 + 25 * DAY)), 'the day inside retention kept');
  assert.equal(n2.audio, 2);
  assert.deepEqual(await bucket.keys(), [kRef], 'unreferenced old objects gone; the referenced one kept');
  assert.deepEqual((await pool.query('SELECT snapshot_id FROM station_snapshots')).rows, [
    { snapshot_id: 's-kept' },
  ]);
  assert.deepEqual((await pool.query('SELECT snapshot_id FROM snapshot_keys')).rows, [
    { snapshot_id: 's-kept' },
  ]);
  assert.deepEqual((await pool.query('SELECT call_id FROM calls')).rows, [{ call_id: 'c-kept' }]);
  assert.equal(await count(pool, "segments WHERE call_id = 'c-old'"), 0);
  assert.equal(n2.calls, 1);
  assert.equal(await count(pool, "outbox WHERE message_key = 'o-pending'"), 1, 'pending rows always stay');
  // Webhooks: the delivered and the abandoned delivery of day t0 went with their attempts; the recent
  // one and the pending one (however old) stay with theirs.
  assert.equal(n2.webhook_deliveries, 2);
  assert.deepEqual(
    (
      await pool.query(
        'SELECT d.event_type, count(a.attempt)::int AS attempts FROM webhook_deliveries d LEFT JOIN webhook_attempts a ON a.delivery_id = d.id GROUP BY 1 ORDER BY 1',
      )
    ).rows,
    [
      { event_type: 'delivered-young', attempts: 1 },
      { event_type: 'pending-old', attempts: 1 },
    ],
  );
  assert.equal(await count(pool, 'webhook_attempts'), 2, 'no attempt left without its delivery');

  await checkRecorded(pool, metrics, t0, n2.partitions_drop!);
});

/** The data of the first test, placed around t0; returns the objects (old, referenced, loose). */
async function seed(pool: Pool, audio: AudioStore, stream: string, t0: number): Promise<string[]> {
  // Snapshots: one on day t0 (its object referenced by it only), one 25 days ahead (inside retention at
  // every clock below) referring to an object written now; one object nobody refers to.
  const [kOld, kRef, kLoose] = [
    await putAudio(audio, 'ta'),
    await putAudio(audio, 'ta'),
    await putAudio(audio, 'tb'),
  ];
  await insertSnapshot(pool, { tenant: 'ta', call: 'c-old', id: 's-old', at: t0, audioKey: kOld });
  await insertSnapshot(pool, {
    tenant: 'ta',
    call: 'c-kept',
    id: 's-kept',
    at: t0 + 25 * DAY,
    audioKey: kRef,
  });
  // Outbox: published 10 and 5 days before t0 + 10 d, and one still pending.
  await pool.query(
    `INSERT INTO outbox (stream, topic_role, contract, message_key, payload, published_at) VALUES
       ($1, 'config', 'ConfigRecord', 'o-old', NULL, $2), ($1, 'config', 'ConfigRecord', 'o-young', NULL, $3),
       ($1, 'config', 'ConfigRecord', 'o-pending', NULL, NULL)`,
    [stream, new Date(t0), new Date(t0 + 5 * DAY)],
  );
  // Config state: call keys tombstoned at t0 (gone at t0 + 10 d), at t0 + 5 d (stays), one whose
  // tombstone is still pending in the outbox (stays), and a tenant key (never pruned).
  await insertChange(pool, { id: 'ch-1', scope: 'call', tenant: 'ta', call: 'c1' });
  await insertConfigState(pool, {
    stream,
    key: 'k-old',
    scope: 'call',
    tenant: 'ta',
    call: 'c1',
    change: 'ch-1',
    tombstonedAt: t0,
  });
  await insertConfigState(pool, {
    stream,
    key: 'k-young',
    scope: 'call',
    tenant: 'ta',
    call: 'c2',
    change: 'ch-1',
    tombstonedAt: t0 + 5 * DAY,
  });
  await insertConfigState(pool, {
    stream,
    key: 'o-pending',
    scope: 'call',
    tenant: 'ta',
    call: 'c3',
    change: 'ch-1',
    tombstonedAt: t0,
  });
  await insertConfigState(pool, {
    stream,
    key: 'k-tenant',
    scope: 'tenant',
    tenant: 'ta',
    change: 'ch-1',
    tombstonedAt: t0,
  });
  // Runs: 100 days old (goes), 50 days old (stays), 100 days old but a change refers to it (stays);
  // an observation 400 days old of the kept run (goes), one of today (stays).
  await insertRun(pool, 'r-old', t0 - 100 * DAY);
  await insertRun(pool, 'r-young', t0 - 50 * DAY);
  await insertRun(pool, 'r-cited', t0 - 100 * DAY);
  await insertChange(pool, { id: 'ch-2', scope: 'global', runId: 'r-cited' });
  await pool.query(
    `INSERT INTO batch_observations (stream, run_id, station_id, context_key, params, score, samples, source, created_at)
     VALUES ($1, 'r-young', 3, 'x', '{}', 50, 1, 'history', $2), ($1, 'r-young', 3, 'x', '{}', 50, 1, 'history', $3)`,
    [stream, new Date(t0 - 400 * DAY), new Date(t0)],
  );

  return [kOld, kRef, kLoose];
}

/**
 * Webhook deliveries around t0 (their event type says which): delivered on day t0, abandoned after
 * attempts on day t0, delivered 5 days later, and one still pending since day t0; each with attempts.
 */
async function seedWebhooks(pool: Pool, stream: string, t0: number): Promise<void> {
  const sub = (
    await pool.query<{ id: string }>(
      `INSERT INTO webhook_subscriptions (id, stream, tenant_id, url, secret, event_types, created_by)
       VALUES (gen_random_uuid(), $1, 'ta', 'https://example.invalid/hook', 's', '{change.applied}', 'test')
       RETURNING id`,
      [stream],
    )
  ).rows[0]!.id;
  const at = (ms: number) => new Date(ms);
  const deliveries: [string, string, number, number | null, number[]][] = [
    ['delivered-old', 'delivered', t0, t0, [t0]],
    ['abandoned-old', 'abandoned', t0, null, [t0, t0 + 3_600_000]],
    ['delivered-young', 'delivered', t0 + 5 * DAY, t0 + 5 * DAY, [t0 + 5 * DAY]],
    ['pending-old', 'pending', t0, null, [t0]],
  ];
  for (const [type, state, created, delivered, attempts] of deliveries) {
    const id = (
      await pool.query<{ id: string }>(
        `INSERT INTO webhook_deliveries (event_id, subscription_id, stream, event_type, payload, created_at, state,
           attempts, delivered_at)
         VALUES (gen_random_uuid(), $1, $2, $3, '{}', $4, $5, $6, $7) RETURNING id::text`,
        [sub, stream, type, at(created), state, attempts.length, delivered === null ? null : at(delivered)],
      )
    ).rows[0]!.id;
    for (const [i, ms] of attempts.entries())
      await pool.query(
        'INSERT INTO webhook_attempts (delivery_id, attempt, at, status, duration_ms) VALUES ($1, $2, $3, 500, 10)',
        [id, i + 1, at(ms)],
      );
  }
}

/** Every sweep recorded with its clock, status and per-task counts and times; deletions counted in metrics. */
async function checkRecorded(pool: Pool, metrics: Metrics, t0: number, dropped: number): Promise<void> {
  // Recorded: each sweep with its clock, status and per-task counts and times.
  const rec = await pool.query('SELECT clock_at, status, dry_run, tasks FROM maintenance_sweeps ORDER BY id');
  assert.deepEqual(
    rec.rows.map((r) => [r.status, r.dry_run, r.clock_at.getTime()]),
    [
      ['completed', false, t0 + 10 * DAY],
      ['completed', true, t0 + 31 * DAY],
      ['completed', true, t0 + 31 * DAY],
      ['completed', false, t0 + 31 * DAY],
    ],
  );
  const audioTask = rec.rows[3].tasks.find((x: { task: string }) => x.task === 'audio');
  assert.equal(audioTask.count, 2);
  assert.equal(typeof audioTask.ms, 'number');
  // Counted: deletions by task (dry runs not), sweeps by outcome.
  const items = await metrics.maintenanceItems.get();
  const by = (task: string) => items.values.find((v) => v.labels.task === task)?.value;
  assert.equal(by('audio'), 2);
  assert.equal(by('outbox'), 2);
  assert.equal(by('webhook_deliveries'), 2);
  assert.equal(by('partitions_drop'), dropped);
  const sweeps = await metrics.maintenanceSweeps.get();
  assert.deepEqual(sweeps.values.map((v) => [v.labels.status, v.labels.dry_run, v.value]).sort(), [
    ['completed', 'false', 2],
    ['completed', 'true', 1],
  ]);
}

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/maintenance.ts', ...args], {
      cwd: root,
      env: envWith(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

test('maintenance: a sweep SIGKILLed half-way leaves nothing half-deleted; the next one finishes it', async (t) => {
  const { cfg, log, pool, bucket, env } = await privateSetup(t);
  const keys: string[] = [];
  for (let i = 0; i < 30; i++) keys.push(await putAudio(bucket.audio, 'tk'));
  const referenced = await putAudio(bucket.audio, 'tk');
  await insertSnapshot(pool, {
    tenant: 'tk',
    call: 'c',
    id: 's',
    at: Date.now() + 25 * DAY,
    audioKey: referenced,
  });
  const now = Date.now() + 31 * DAY;

  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/helpers/maintenanceChild.ts', String(now), '10'],
    {
      cwd: root,
      env: envWith(env),
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  defer(t, () => child.exitCode === null && child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await waitFor(
    'the child sweep to pause after 10 deletions',
    async () => out.includes('PAUSED') || undefined,
    60_000,
  );
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;

  // Killed mid-delete: 10 objects gone, the other 20 still stored and every one of them journalled.
  const left = await bucket.keys();
  assert.equal(left.length, 21);
  assert.ok(left.includes(referenced));
  const journal = (await pool.query('SELECT object_key FROM object_deletions ORDER BY object_key')).rows.map(
    (r) => r.object_key,
  );
  assert.deepEqual(journal, left.filter((k) => k !== referenced).sort());
  assert.deepEqual((await pool.query('SELECT status FROM maintenance_sweeps')).rows, [{ status: 'running' }]);

  // The next sweep marks the killed one interrupted and finishes its deletions first.
  const m = await startMaintenance(
    { pool, audio: bucket.audio, log, clock: () => now },
    { ...maintenanceOptionsFor(cfg), sweepAtStart: false },
  );
  defer(t, () => m.stop());
  const r = (await m.sweep())!;
  assert.equal(r.status, 'completed');
  assert.equal(r.tasks.find((x) => x.task === 'object_journal')!.count, 20);
  assert.deepEqual(await bucket.keys(), [referenced]);
  assert.equal(await count(pool, 'object_deletions'), 0);
  assert.deepEqual(
    (await pool.query('SELECT status FROM maintenance_sweeps ORDER BY id')).rows.map((x) => x.status),
    ['interrupted', 'completed'],
  );
  assert.deepEqual((await pool.query('SELECT snapshot_id FROM station_snapshots')).rows, [
    { snapshot_id: 's' },
  ]);
});

test("maintenance: a tenant's shorter retention takes its rows and PCM sooner; other tenants' stay", async (t) => {
  const { cfg, log, pool, bucket } = await privateSetup(t);
  const t0 = Date.now();
  let now = t0;
  const m = await startMaintenance(
    { pool, audio: bucket.audio, log, clock: () => now },
    { ...maintenanceOptionsFor(cfg), sweepAtStart: false },
  );
  defer(t, () => m.stop());
  await pool.query(
    "INSERT INTO tenant_retention (tenant_id, snapshot_days, audio_days, updated_by) VALUES ('short', 2, 5, 'test')",
  );
  for (const tenant of ['short', 'long']) {
    await insertSnapshot(pool, { tenant, call: `${tenant}-c`, id: `${tenant}-s`, at: t0, audioKey: null });
    await putAudio(bucket.audio, tenant);
  }
  now = t0 + 6 * DAY; // past the short tenant's 2 and 5 days, inside the deployment's 14 and 30
  const r = (await m.sweep())!;
  assert.equal(r.status, 'completed', JSON.stringify(r.tasks));
  assert.deepEqual(
    (await pool.query('SELECT tenant_id FROM station_snapshots')).rows.map((x) => x.tenant_id),
    ['long'],
  );
  assert.deepEqual(
    (await pool.query('SELECT tenant_id FROM calls')).rows.map((x) => x.tenant_id),
    ['long'],
  );
  assert.deepEqual(
    (await bucket.keys()).map((k) => k.split('/')[2]),
    ['long'],
  );
});
