// The webhook monitor (the deployment's own events) with a real loopback receiver, the real PostgreSQL,
// Kafka and object store: two workers on one stream raise an event once, since only the holder of the
// stream's advisory lock monitors; when the leader goes the other takes over, and a leader whose lock
// connection is cut takes the lock again. Readiness: a private object store is SIGKILLed, so readiness
// is really lost, and the signed readiness.lost arrives; started again, readiness.restored follows.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startApp } from '../../runtime/app.ts';
import { startWebhookRole } from '../../runtime/webhooks.ts';
import type { Pool } from '../../storage/db.ts';
import { createProducer } from '../../streams/kafka.ts';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from '../../webhooks/sign.ts';
import { startPrivateS3 } from '../helpers/privateS3.ts';
import { cleanupTopics, defer, testSettings, token, waitFor } from '../helpers/runtime.ts';
import { receiver } from '../helpers/webhookReceiver.ts';

const MONITOR_MS = 200;

type App = Awaited<ReturnType<typeof startApp>>;

async function subscribeOps(app: App, admin: string, url: string, types: string[], secret: string) {
  const res = await app.api!.inject({
    method: 'POST',
    url: '/v1/webhooks',
    headers: { authorization: admin },
    payload: { url, event_types: types, tenant_id: '*', secret },
  });
  assert.equal(res.statusCode, 201, res.body);
}

/** The backend holding the stream's monitor lock (storage/leaderLock.ts keys it by hashtext). */
async function lockHolder(pool: Pool, stream: string): Promise<number | null> {
  const r = await pool.query<{ pid: number }>(
    `SELECT pid FROM pg_locks
      WHERE locktype = 'advisory' AND granted AND objsubid = 1
        AND ((classid::bigint << 32) | objid::bigint) = hashtext($1)::bigint`,
    [`webhooks:monitor:${stream}`],
  );
  return r.rows[0]?.pid ?? null;
}

async function deadLetter(app: App, n: number) {
  const p = createProducer(app.rt.kafka);
  await p.connect();
  await p.send({
    topic: app.rt.cfg.topics.snapshots,
    messages: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: Buffer.from('not avro') })),
  });
  await p.disconnect();
}

async function leaderOnly(t: TestContext) {
  const cfg = testSettings('hooklead', {
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    WEBHOOK_MONITOR_MS: String(MONITOR_MS),
    WEBHOOK_DEAD_LETTER_THRESHOLD: '2',
  });
  cleanupTopics(t, cfg);
  const rx = await receiver();
  defer(t, () => rx.close());
  // The persister dead-letters what is not Avro; the two webhook workers are started below.
  const app = await startApp(cfg, ['api', 'persister'], { listen: false });
  defer(t, () => app.stop());
  const stream = cfg.topics.prefix;
  await subscribeOps(
    app,
    token(cfg, 'admin', '*'),
    `${rx.base}/ops`,
    ['dead_letters.threshold'],
    's'.repeat(32),
  );
  const workers = [await startWebhookRole(app.rt), await startWebhookRole(app.rt)];
  for (const w of workers) defer(t, () => w.stop());
  const events = () => new Set(rx.at('/ops').map((r) => r.event.id));

  await waitFor('one monitor to lead', async () => workers.some((w) => w.monitorLeader));
  await sleep(5 * MONITOR_MS); // both have tried for the lock; the leader has its dead-letter baseline
  assert.equal(workers.filter((w) => w.monitorLeader).length, 1, 'exactly one monitor leads');
  await deadLetter(app, 3);
  await waitFor('the dead-letter event', async () => events().size >= 1, 60_000);
  // Several more periods: a second monitor would have recorded an event of its own by now.
  await sleep(10 * MONITOR_MS);
  assert.equal(events().size, 1, `one event, raised once: ${[...events()].join(', ')}`);

  const leader = workers.find((w) => w.monitorLeader)!;
  const other = workers.find((w) => w !== leader)!;
  await leader.stop(); // its connection, and the lock with it, gone: as when its process dies
  await waitFor('the other monitor to take over', async () => other.monitorLeader);
  await sleep(5 * MONITOR_MS); // the new leader's baseline
  await deadLetter(app, 3);
  await waitFor('the new leader raises the next event', async () => events().size >= 2, 60_000);

  // Its lock connection cut (the backend terminated): the lock is free and it leads again.
  const pid = await lockHolder(app.rt.pool, stream);
  assert.ok(pid !== null, 'the lock is held in PostgreSQL');
  await app.rt.pool.query('SELECT pg_terminate_backend($1)', [pid]);
  const again = await waitFor('the lock taken again on a new connection', async () => {
    const now = await lockHolder(app.rt.pool, stream);
    return now !== null && now !== pid && other.monitorLeader ? now : undefined;
  });
  assert.notEqual(again, pid);
}

async function readinessLostAndRestored(t: TestContext) {
  const s3 = await startPrivateS3((s) => console.log(`[s3] ${s}`));
  defer(t, () => s3.destroy());
  const cfg = testSettings('hookready', {
    ...s3.env,
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    WEBHOOK_MONITOR_MS: String(MONITOR_MS),
  });
  cleanupTopics(t, cfg);
  const rx = await receiver();
  defer(t, () => rx.close());
  const app = await startApp(cfg, ['api', 'webhooks'], { listen: false });
  defer(t, () => app.stop());
  const secret = 'readiness-secret-of-enough-length';
  await subscribeOps(
    app,
    token(cfg, 'admin', '*'),
    `${rx.base}/ops`,
    ['readiness.lost', 'readiness.restored'],
    secret,
  );
  await waitFor('the monitor to lead', async () => app.webhooks!.monitorLeader);
  // Ready before the kill. On a loaded machine every check can miss its 2-s deadline at once (seen: an
  // event loop held up), a loss and a restore of their own: wait until each loss heard is restored.
  const count = (type: string) =>
    new Set(
      rx
        .at('/ops')
        .filter((r) => r.event.type === type)
        .map((r) => r.event.id),
    ).size;
  await waitFor(
    'the deployment ready',
    async () => {
      const before = count('readiness.lost');
      await sleep(5 * MONITOR_MS);
      return before === count('readiness.lost') && before === count('readiness.restored');
    },
    60_000,
  );
  const killedAt = new Date().toISOString();
  const storeLost = () =>
    rx
      .at('/ops')
      .find(
        (r) =>
          r.event.type === 'readiness.lost' &&
          r.event.occurred_at >= killedAt &&
          (r.event.data.failing as { name: string }[]).some((f) => f.name === 'object_store'),
      );

  await s3.kill();
  const lost = await waitFor('readiness.lost naming the object store', async () => storeLost(), 60_000);
  const ts = lost.headers[TIMESTAMP_HEADER] as string;
  assert.ok(verify(secret, ts, lost.body, lost.headers[SIGNATURE_HEADER] as string), 'signature verifies');
  assert.equal(lost.headers[EVENT_ID_HEADER], lost.event.id);
  assert.equal(lost.event.tenant_id, '*');
  // Still down for several periods: lost is announced once, not at every check.
  await sleep(10 * MONITOR_MS);
  const lostEvents = rx
    .at('/ops')
    .filter(
      (r) =>
        r.event.type === 'readiness.lost' &&
        r.event.occurred_at >= killedAt &&
        (r.event.data.failing as { name: string }[]).some((f) => f.name === 'object_store'),
    );
  assert.equal(new Set(lostEvents.map((r) => r.event.id)).size, 1, 'readiness.lost once while down');
  assert.ok(
    !rx
      .at('/ops')
      .some((r) => r.event.type === 'readiness.restored' && r.event.occurred_at > lost.event.occurred_at),
    'restored while the store is down',
  );

  await s3.start();
  const restored = await waitFor(
    'readiness.restored after the loss',
    async () =>
      rx
        .at('/ops')
        .find((r) => r.event.type === 'readiness.restored' && r.event.occurred_at > lost.event.occurred_at),
    60_000,
  );
  assert.ok(
    verify(
      secret,
      restored.headers[TIMESTAMP_HEADER] as string,
      restored.body,
      restored.headers[SIGNATURE_HEADER] as string,
    ),
  );
  assert.equal(typeof restored.event.data.lost_since, 'string');
}

test('webhook monitor: one leader per stream raises each event once; the other takes over', (t) =>
  leaderOnly(t));

test('webhook monitor: the object store killed, readiness.lost arrives signed; back, readiness.restored', (t) =>
  readinessLostAndRestored(t));
