// Issue 9, defect 2: a PostgreSQL restart killed the outbox relay (its LISTEN client had no error
// listener) and with it the whole process. Here every role runs in this one test process against a
// private PostgreSQL that is SIGKILLed under load and started again: the process must live, every
// acknowledged snapshot must be stored exactly once, and the API, persister and relay must work again
// within 10 s of the server being back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_POLICY } from '../../config/safety.ts';
import { startApp } from '../../runtime/app.ts';
import { startPrivatePostgres } from '../helpers/privatePostgres.ts';
import { cleanupTopics, defer, testSettings, token, uniqueId, waitFor } from '../helpers/runtime.ts';
import { snapshotTraffic, storedExactlyOnce } from '../helpers/snapshotTraffic.ts';

test('issue 9: PostgreSQL killed and restarted under load: process lives, nothing acknowledged lost, recovery within 10 s', async (t) => {
  const db = await startPrivatePostgres();
  defer(t, () => db.destroy());
  const cfg = testSettings('pgfault', { DATABASE_URL: db.url });
  cleanupTopics(t, cfg);
  // The change path's clock: moved past the tenant cool-down after the restart instead of waiting it out,
  // so the 10 s recovery budget measures recovery only.
  let skew = 0;
  const app = await startApp(cfg, ['api', 'persister', 'relay', 'online'], {
    listen: false,
    clock: () => Date.now() + skew,
  });
  defer(t, () => app.stop());
  const tenant = uniqueId('tn');
  const op = token(cfg, 'operator', tenant);
  const traffic = snapshotTraffic(app, token(cfg, 'station', tenant), tenant);
  const { acked, statuses } = traffic;
  traffic.start();
  const configChange = (v: number) =>
    app.api!.inject({
      method: 'POST',
      url: '/v1/config/update',
      headers: { authorization: op },
      payload: {
        station_id: 2,
        scope: { level: 'tenant', tenant_id: tenant },
        parameters: { jitter_buffer_ms: v },
        reason: 'fault test',
      },
    });

  await sleep(1500);
  assert.equal((await configChange(80)).statusCode, 200);
  await db.kill();
  await sleep(3000);
  // While the database is down, a change is refused as a temporary condition, never a 500.
  const down = await configChange(90);
  assert.equal(down.statusCode, 503, down.body);
  assert.ok(down.headers['retry-after']);

  await db.start();
  const back = Date.now();
  skew = DEFAULT_POLICY.coolDownMs.tenant;
  // API: a change goes through again; relay: it reaches the compacted topic.
  await waitFor(
    'a config change accepted',
    async () => (await configChange(100)).statusCode === 200,
    10_000,
    200,
  );
  await app.relay!.drain(Math.max(1000, 10_000 - (Date.now() - back)));
  // Persister: a snapshot sent after the restart is stored.
  const after = await traffic.post();
  assert.equal(after.res.statusCode, 202, after.res.body);
  const probe = after.id;
  await waitFor(
    'the persister to store a snapshot sent after the restart',
    async () =>
      (await app.rt.pool.query('SELECT 1 FROM station_snapshots WHERE snapshot_id = $1', [probe]))
        .rowCount === 1,
    Math.max(1000, 10_000 - (Date.now() - back)),
    100,
  );
  await traffic.stop();

  // Every acknowledged snapshot exactly once (the unacknowledged may or may not be there).
  await storedExactlyOnce(app.rt.pool, tenant, acked.keys());
  assert.ok(acked.size > 50, `load too small: ${acked.size} acknowledged`);
  assert.equal(statuses.get(500) ?? 0, 0, JSON.stringify([...statuses]));
  console.log(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}, acknowledged ${acked.size}`);
});
