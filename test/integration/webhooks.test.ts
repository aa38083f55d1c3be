// Issue 12 point 6 with a real HTTP receiver on loopback, the real PostgreSQL (the deliveries are
// written in the change's transaction) and the real Kafka: the signature verifies, a receiver that
// answers 500 gets the same event again, a subscription that keeps failing is paused and hears nothing
// more (until resumed), another tenant's events never arrive, a slow receiver holds up neither the
// change path nor other receivers, a restarted worker loses nothing, and the deployment's own event
// (dead letters above the threshold) reaches an admin's subscription. The monitor's leader lock and
// readiness lost/restored: webhooks-monitor.test.ts.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startApp } from '../../runtime/app.ts';
import { startWebhookRole } from '../../runtime/webhooks.ts';
import { createProducer } from '../../streams/kafka.ts';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from '../../webhooks/sign.ts';
import { cleanupTopics, defer, testSettings, token, uniqueId, waitFor } from '../helpers/runtime.ts';
import { receiver } from '../helpers/webhookReceiver.ts';

async function setup(t: TestContext) {
  const cfg = testSettings('hooks', {
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    WEBHOOK_RETRY_BASE_MS: '50',
    WEBHOOK_MAX_BACKOFF_MS: '200',
    WEBHOOK_PAUSE_AFTER_FAILURES: '3',
    WEBHOOK_TIMEOUT_MS: '5000',
    WEBHOOK_MONITOR_MS: '200',
    WEBHOOK_DEAD_LETTER_THRESHOLD: '2',
  });
  cleanupTopics(t, cfg);
  const rx = await receiver();
  defer(t, () => rx.close());
  const app = await startApp(cfg, ['api', 'relay', 'persister', 'webhooks'], { listen: false });
  defer(t, () => app.stop());
  const [tenantA, tenantB] = [uniqueId('tnA'), uniqueId('tnB')];
  const opA = token(cfg, 'operator', tenantA);
  const opB = token(cfg, 'operator', tenantB);
  const call = (method: 'GET' | 'POST' | 'PATCH', url: string, auth: string, payload?: object) =>
    app.api!.inject({ method, url, headers: { authorization: auth }, ...(payload ? { payload } : {}) });
  const subscribe = async (auth: string, path: string, types: string[], extra: object = {}) => {
    const res = await call('POST', '/v1/webhooks', auth, {
      url: `${rx.base}${path}`,
      event_types: types,
      ...extra,
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json() as { id: string; secret: string; state: string };
  };
  let step = 0;
  const change = async (auth: string, tenant: string, gain: number) => {
    const res = await call('POST', '/v1/config/update', auth, {
      station_id: 4,
      scope: { level: 'call', tenant_id: tenant, call_id: `c${step++}` },
      parameters: { input_gain_db: gain },
      reason: 'webhook test',
    });
    return res.json() as { status: string; change_id: string };
  };

  return { cfg, rx, app, tenantA, tenantB, opA, opB, call, subscribe, change };
}

type Ctx = Awaited<ReturnType<typeof setup>>;

async function signatureAndTenants({ rx, tenantA, tenantB, opA, opB, call, subscribe, change }: Ctx) {
  const secret = 'a-secret-of-sufficient-length-42';
  await subscribe(opA, '/a', ['change.applied', 'change.rejected'], { secret });
  await subscribe(opB, '/b', ['change.applied']);
  const applied = await change(opA, tenantA, 3);
  const rejected = await change(opA, tenantA, 19); // beyond the max step: refused
  assert.equal(applied.status, 'applied');
  assert.equal(rejected.status, 'rejected');
  const ofB = await change(opB, tenantB, 2);
  await waitFor("both of A's events and B's", async () => rx.at('/a').length >= 2 && rx.at('/b').length >= 1);
  for (const r of rx.at('/a')) {
    const ts = r.headers[TIMESTAMP_HEADER] as string;
    const sig = r.headers[SIGNATURE_HEADER] as string;
    assert.ok(verify(secret, ts, r.body, sig), 'signature verifies');
    assert.ok(!verify('another-secret-entirely-0000000', ts, r.body, sig));
    assert.equal(r.headers[EVENT_ID_HEADER], r.event.id);
    assert.equal(r.event.tenant_id, tenantA);
  }
  const types = new Map(rx.at('/a').map((r) => [r.event.data.change_id, r.event.type]));
  assert.equal(types.get(applied.change_id), 'change.applied');
  assert.equal(types.get(rejected.change_id), 'change.rejected');
  assert.ok(!rx.at('/a').some((r) => r.event.data.change_id === ofB.change_id), "B's change reached A");
  assert.ok(rx.at('/b').every((r) => r.event.tenant_id === tenantB));
  // A token of B does not see A's subscriptions.
  const listB = (await call('GET', '/v1/webhooks', opB)).json() as { subscriptions: { url: string }[] };
  assert.deepEqual(
    listB.subscriptions.map((s) => s.url),
    [`${rx.base}/b`],
  );
}

async function retriedAfter500({ rx, tenantA, opA, opB, call, subscribe, change }: Ctx) {
  rx.on('/flaky', (n, res) => res.writeHead(n <= 2 ? 500 : 204).end());
  const sub = await subscribe(opA, '/flaky', ['change.applied']);
  const c = await change(opA, tenantA, 1);
  const seen = await waitFor('the third delivery', async () =>
    rx.at('/flaky').length >= 3 ? rx.at('/flaky') : undefined,
  );
  assert.equal(new Set(seen.map((r) => r.event.id)).size, 1, 'one event, delivered again');
  assert.equal(seen[0]!.event.data.change_id, c.change_id);
  const log = await waitFor('the delivery log to say delivered', async () => {
    const body = (await call('GET', `/v1/webhooks/${sub.id}/deliveries`, opA)).json() as {
      deliveries: { state: string; attempts: number; attempt_log: { status: number }[] }[];
    };
    return body.deliveries[0]?.state === 'delivered' ? body.deliveries[0] : undefined;
  });
  assert.equal(log.attempts, 3);
  assert.deepEqual(
    log.attempt_log.map((a) => a.status),
    [500, 500, 204],
  );
  // Another tenant cannot read it.
  assert.equal((await call('GET', `/v1/webhooks/${sub.id}/deliveries`, opB)).statusCode, 404);
}

async function pausedAfterFailures({ rx, tenantA, opA, call, subscribe, change }: Ctx) {
  let healthy = false;
  rx.on('/dead', (_n, res) => res.writeHead(healthy ? 200 : 500).end());
  const sub = await subscribe(opA, '/dead', ['change.applied']);
  await change(opA, tenantA, 1);
  const paused = await waitFor('the subscription to be paused', async () => {
    const s = (await call('GET', `/v1/webhooks/${sub.id}`, opA)).json() as {
      state: string;
      paused_reason: string;
    };
    return s.state === 'paused' ? s : undefined;
  });
  assert.match(paused.paused_reason, /3 failed attempts in a row/);
  const before = rx.at('/dead').length;
  assert.equal(before, 3);
  await change(opA, tenantA, 2); // while paused: not delivered, not even recorded for it
  await sleep(600); // several backoff periods: a live subscription would have been tried again
  assert.equal(rx.at('/dead').length, before, 'a paused subscription was called');
  healthy = true;
  const resumed = await call('PATCH', `/v1/webhooks/${sub.id}`, opA, { state: 'active' });
  assert.equal(resumed.statusCode, 200);
  await waitFor('the held delivery after resuming', async () =>
    rx.at('/dead').some((r, i) => i >= before && r.event.type === 'change.applied'),
  );
}

async function slowReceiver({ rx, tenantA, opA, subscribe, change }: Ctx) {
  let release: () => void = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  rx.on('/slow', (_n, res) => void held.then(() => res.writeHead(200).end()));
  await subscribe(opA, '/slow', ['change.applied']);
  await subscribe(opA, '/fast', ['change.applied']);
  const c = await change(opA, tenantA, 1);
  assert.equal(c.status, 'applied');
  await waitFor('the fast receiver', async () =>
    rx.at('/fast').some((r) => r.event.data.change_id === c.change_id),
  );
  assert.ok(
    rx.at('/slow').some((r) => r.event.data.change_id === c.change_id),
    'the slow one is being called',
  );
  const next = await change(opA, tenantA, 2); // the change path answers while /slow still holds its request
  assert.equal(next.status, 'applied');
  release();
}

async function restartLosesNothing({ rx, app, tenantA, opA, subscribe, change }: Ctx, t: TestContext) {
  await subscribe(opA, '/restart', ['change.applied']);
  await app.webhooks!.stop();
  const made = [await change(opA, tenantA, 1), await change(opA, tenantA, 2)];
  await sleep(200);
  assert.equal(rx.at('/restart').length, 0, 'delivered with the worker stopped');
  const again = await startWebhookRole(app.rt);
  defer(t, () => again.stop());
  await waitFor('both events after the restart', async () =>
    made.every((m) => rx.at('/restart').some((r) => r.event.data.change_id === m.change_id)),
  );
}

async function deploymentEvents({ cfg, rx, app, opA, call, subscribe }: Ctx) {
  const admin = token(cfg, 'admin', '*');
  const forbidden = await call('POST', '/v1/webhooks', opA, {
    url: `${rx.base}/ops`,
    event_types: ['dead_letters.threshold'],
  });
  assert.equal(forbidden.statusCode, 400, 'a tenant may not subscribe the deployment events');
  await subscribe(admin, '/ops', ['dead_letters.threshold', 'readiness.lost'], { tenant_id: '*' });
  await sleep(500); // the monitor takes its baseline
  const p = createProducer(app.rt.kafka);
  await p.connect();
  await p.send({
    topic: cfg.topics.snapshots,
    messages: [1, 2, 3].map((i) => ({ key: `k${i}`, value: Buffer.from('not avro') })),
  });
  await p.disconnect();
  const ev = await waitFor('the dead-letter event', async () =>
    rx.at('/ops').find((r) => r.event.type === 'dead_letters.threshold'),
  );
  assert.equal(ev.event.tenant_id, '*');
  assert.ok((ev.event.data.count as number) >= 2);
  assert.ok(!rx.at('/a').some((r) => r.event.type === 'dead_letters.threshold'));
}

test('webhooks: signed, retried, paused, tenant-scoped, not slowed, nothing lost on restart', async (t) => {
  const h = await setup(t);
  await t.test('the signature verifies; another tenant never hears it', () => signatureAndTenants(h));
  await t.test('a receiver answering 500 gets the same event again; the log shows every attempt', () =>
    retriedAfter500(h),
  );
  await t.test('a subscription that keeps failing is paused and hears nothing more until resumed', () =>
    pausedAfterFailures(h),
  );
  await t.test('a slow receiver holds up neither the change path nor another receiver', () =>
    slowReceiver(h),
  );
  await t.test('a restarted worker loses nothing', () => restartLosesNothing(h, t));
  await t.test("dead letters above the threshold reach an admin's deployment subscription", () =>
    deploymentEvents(h),
  );
});
