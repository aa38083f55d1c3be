// Issue 9, "survive the registry": every role in one child process (`npm start`'s bin/start.ts) against a
// private Apicurio that stores its schemas in a private PostgreSQL (as the stack's does), SIGKILLed
// under a stream of snapshots and started again. Producers and consumers hold the schema ids they
// registered at start, so the API keeps accepting (202, never 503 or 500) and a config change goes
// through while the registry is down; readiness says it is down. What does need it: records written with
// a schema id the process has not seen (here a newer station's v2, first sent during the outage) cannot
// be decoded, so the persister holds their batches (nothing dead-lettered, nothing skipped) and stores
// them once the registry answers again. The process lives; every acknowledged snapshot and every v2
// record is stored exactly once; the held records are stored within 10 s of the registry being back.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadSchema } from '../../contracts/schemas.ts';
import { buildSnapshot } from '../../domain/snapshot.ts';
import { envWith, type Settings } from '../../lib/settings.ts';
import { bootstrap, type Runtime } from '../../runtime/bootstrap.ts';
import { createProducer } from '../../streams/kafka.ts';
import { Codec, registerSchema, subjectFor } from '../../streams/registry.ts';
import { snapshotInput } from '../helpers/fixtures.ts';
import { freePort, startPrivatePostgres } from '../helpers/privatePostgres.ts';
import { startPrivateRegistry } from '../helpers/privateServices.ts';
import {
  cleanupTopics,
  defer,
  readToEnd,
  serviceEnv,
  testSettings,
  token,
  uniqueId,
  waitFor,
} from '../helpers/runtime.ts';

const root = join(import.meta.dirname, '..', '..');

/** Every role but the optional ones in one child process, as `npm start` runs them; its log lines kept. */
async function startChild(t: TestContext, cfg: Readonly<Settings>) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const lines: string[] = [];
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/start.ts'], {
    cwd: root,
    env: envWith({
      ...serviceEnv(cfg),
      ROLES: 'api,persister,relay,online',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      SNAPSHOT_PARTITIONS: '3',
      PRODUCE_TIMEOUT_MS: '15000',
      MAX_EVENT_LOOP_DELAY_MS: '0',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exit: string | undefined;
  child.once('exit', (code, signal) => (exit = `exited with ${code ?? signal}`));
  for (const s of [child.stdout, child.stderr])
    s.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        lines.push(line);
        console.log(`[child] ${line}`);
      }
    });
  defer(t, async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  });
  await waitFor(
    'the process to serve',
    async () => {
      if (exit) throw new Error(exit);
      return (await fetch(`${base}/health/live`)).ok;
    },
    180_000,
    250,
  );
  return { base, lines, exit: () => exit };
}

/** Snapshots through the API every 20 ms until stopped; what was acknowledged and every status seen. */
function snapshotLoad(base: string, auth: string, tenant: string) {
  const acked = new Set<string>();
  const statuses = new Map<number, number>();
  let n = 0;
  let loading = true;
  const post = async () => {
    const id = `${tenant}-s${n}`;
    const payload = snapshotInput({ tenant, call: `${tenant}-c${n % 5}`, index: n, snapshotId: id });
    n++;
    const res = await fetch(`${base}/v1/stations/snapshot`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status === 202) acked.add(id);
    await res.arrayBuffer();
  };
  const running = (async () => {
    while (loading) {
      await post();
      await sleep(20);
    }
  })();
  return {
    acked,
    statuses,
    async stop() {
      loading = false;
      await running;
    },
  };
}

/** A newer station: its v2 schema (one added optional field) registered now, its records sent later. */
async function newerStation(t: TestContext, rt: Runtime, cfg: Readonly<Settings>, tenant: string) {
  const subject = subjectFor(cfg.topics.snapshots);
  const v1 = loadSchema('StationSnapshot') as { fields: object[] };
  const v2 = {
    ...v1,
    fields: [...v1.fields, { name: 'mic_model', type: ['null', 'string'], default: null }],
  };
  const id = await registerSchema(rt.registry.registry, cfg.schemaRegistry.url, subject, v2);
  const codec = new Codec<Record<string, unknown>>('StationSnapshot', subject, id, v2, rt.registry.registry);
  const producer = createProducer(rt.kafka);
  await producer.connect();
  defer(t, () => producer.disconnect());
  return async (count: number) => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const snapshotId = `${tenant}-v2-${i}`;
      ids.push(snapshotId);
      const call = `${tenant}-c${i % 5}`;
      const snap = buildSnapshot(snapshotInput({ tenant, call, index: 10_000 + i, snapshotId }));
      await producer.send({
        topic: cfg.topics.snapshots,
        acks: -1,
        messages: [{ key: call, value: codec.encode({ ...snap, mic_model: 'MK-4' }) }],
      });
    }
    return ids;
  };
}

/** While the registry is down: readiness names it, and a config change still goes through. */
async function checkWhileDown(base: string, operator: string, tenant: string) {
  const ready = await fetch(`${base}/health/ready`);
  const readiness = (await ready.json()) as { checks: { name: string; ok: boolean }[] };
  assert.equal(ready.status, 503, JSON.stringify(readiness));
  assert.equal(
    readiness.checks.find((c) => c.name === 'schema_registry')?.ok,
    false,
    JSON.stringify(readiness),
  );
  // The change path encodes with the ids it holds.
  const change = await fetch(`${base}/v1/config/update`, {
    method: 'POST',
    headers: { authorization: operator, 'content-type': 'application/json' },
    body: JSON.stringify({
      station_id: 2,
      scope: { level: 'tenant', tenant_id: tenant },
      parameters: { jitter_buffer_ms: 80 },
      reason: 'registry fault test',
    }),
  });
  assert.equal(change.status, 200, await change.text());
}

/**
 * The consumers said the outage once when it started and once when it ended, per consumer group, and
 * logged no error for each failed attempt (kafkajs's "Error when calling eachBatch", "Crash", "Restarting").
 */
async function checkOutageLogged(lines: string[]) {
  const parsed = () =>
    lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as { level: number; msg: string; group?: string; dependency?: string }];
      } catch {
        return [];
      }
    });
  const ofRegistry = (msg: RegExp) =>
    parsed().filter((l) => l.dependency === 'schema_registry' && l.group && msg.test(l.msg));
  const started = ofRegistry(/unavailable .*holds its batch/);
  assert.ok(started.length > 0, 'no consumer logged the registry outage');
  const groups = started.map((l) => l.group!);
  assert.equal(new Set(groups).size, groups.length, `an outage logged twice: ${groups}`);
  await waitFor(
    'each consumer group that logged the outage to log its end',
    async () => groups.every((g) => ofRegistry(/answers again/).some((l) => l.group === g)),
    10_000,
    100,
  );
  assert.equal(ofRegistry(/answers again/).length, groups.length, 'an outage end logged twice');
  const perAttempt = parsed().filter((l) => /eachBatch|^Crash|^Restarting the consumer/.test(l.msg));
  assert.deepEqual(
    perAttempt.map((l) => l.msg),
    [],
  );
  console.log(`registry outage logged by ${groups.join(', ')}: once at the start and once at the end`);
}

test('issue 9: schema registry killed and restarted under load: process lives, nothing acknowledged lost, held records stored within 10 s', async (t) => {
  const db = await startPrivatePostgres();
  defer(t, () => db.destroy());
  const registry = await startPrivateRegistry({
    database: { host: '127.0.0.1', port: db.port, name: 'voiceloop', user: 'postgres' },
  });
  defer(t, () => registry.destroy());
  const cfg = testSettings('regfault', { SCHEMA_REGISTRY_URL: registry.url });
  cleanupTopics(t, cfg);
  const rt = await bootstrap(cfg);
  defer(t, () => rt.close());
  const tenant = uniqueId('tn');
  const sendV2 = await newerStation(t, rt, cfg, tenant);
  const child = await startChild(t, cfg);
  const load = snapshotLoad(child.base, token(cfg, 'station', tenant), tenant);
  const stored = async (ids: Iterable<string>) =>
    (
      await rt.pool.query<{ snapshot_id: string; n: number }>(
        'SELECT snapshot_id, count(*)::int AS n FROM station_snapshots WHERE tenant_id = $1 AND snapshot_id = ANY($2) GROUP BY snapshot_id',
        [tenant, [...ids]],
      )
    ).rows;

  await waitFor(
    'snapshots acknowledged and stored before the crash',
    async () => {
      const before = [...load.acked];
      return before.length >= 5 && (await stored(before)).length === before.length;
    },
    60_000,
    200,
  );
  await registry.kill();
  const atKill = new Map(load.statuses);
  const foreign = await sendV2(10);
  await checkWhileDown(child.base, token(cfg, 'operator', tenant), tenant);
  await sleep(3000);
  assert.deepEqual(await stored(foreign), [], 'v2 records stored while the registry was down?');

  await registry.start();
  const back = Date.now();
  const whileDown = Object.fromEntries([...load.statuses].map(([k, v]) => [k, v - (atKill.get(k) ?? 0)]));
  console.log(`while the registry was down: ${JSON.stringify(whileDown)}`);
  await waitFor(
    'the held v2 records stored',
    async () => (await stored(foreign)).length === foreign.length,
    10_000,
    100,
  );
  console.log(`held records stored ${Date.now() - back} ms after the registry was back`);
  await load.stop();
  await checkOutageLogged(child.lines);

  const rows = await waitFor(
    'every acknowledged snapshot stored',
    async () => {
      const rows = await stored([...load.acked, ...foreign]);
      return rows.length === load.acked.size + foreign.length ? rows : undefined;
    },
    30_000,
    250,
  );
  assert.deepEqual(
    rows.filter((r) => r.n !== 1),
    [],
  );
  // Nothing was set aside as undecodable while the registry was down.
  const letters = await readToEnd(rt.kafka, cfg.topics.deadLetters, (v) => v?.toString() ?? '');
  assert.deepEqual(
    letters.filter((l) => l.value.includes(tenant)),
    [],
  );
  assert.equal(child.exit(), undefined, 'the process lived');
  // Schema ids are cached: the API needed no registry, so it refused nothing while it was down.
  assert.ok((whileDown[202] ?? 0) > 0, JSON.stringify(whileDown));
  assert.deepEqual(
    Object.keys(whileDown).filter((k) => k !== '202' && whileDown[k]! > 0),
    [],
  );
  console.log(
    `statuses: ${JSON.stringify(Object.fromEntries(load.statuses))}, acknowledged ${load.acked.size}`,
  );
});
