// Issue 9, "survive the object store": every role in this one process against a private S3Proxy that
// is SIGKILLed under load (snapshots with PCM, so every request writes an object) and started again.
// While it is down a snapshot with audio is refused as a temporary condition (503 + Retry-After, never
// a 500); the process lives; within 10 s of the store being back snapshots with audio are accepted again;
// every acknowledged snapshot is stored exactly once and the audio object it names exists.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startApp } from '../../runtime/app.ts';
import { pcmTone } from '../helpers/fixtures.ts';
import { startPrivateS3 } from '../helpers/privateS3.ts';
import { cleanupTopics, defer, testSettings, token, uniqueId, waitFor } from '../helpers/runtime.ts';
import { snapshotTraffic, storedExactlyOnce } from '../helpers/snapshotTraffic.ts';

test('issue 9: S3 killed and restarted under load: 503 while down, process lives, nothing acknowledged lost, recovery within 10 s', async (t) => {
  const s3 = await startPrivateS3((s) => console.log(`[s3] ${s}`));
  defer(t, () => s3.destroy());
  const cfg = testSettings('s3fault', s3.env);
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['api', 'persister', 'relay', 'online'], { listen: false });
  defer(t, () => app.stop());
  const tenant = uniqueId('tn');
  const traffic = snapshotTraffic(app, token(cfg, 'station', tenant), tenant, {
    payload: (n) => ({
      audio: {
        pcm_base64: pcmTone(0.1, 16000, 440, 0.1, n + 1).toString('base64'),
        sample_rate: 16000,
      },
    }),
  });
  const { acked, statuses } = traffic;
  const post = async () => (await traffic.post()).res;
  traffic.start();

  // Some acknowledged before the crash (the machine may be slow: wait for them rather than a time).
  await waitFor('snapshots acknowledged before the crash', async () => acked.size >= 5, 60_000, 100);
  await s3.kill();
  await sleep(3000);
  const down = await post();
  assert.equal(down.statusCode, 503, down.body);
  assert.ok(down.headers['retry-after'], 'Retry-After while the store is down');

  await s3.start();
  const back = Date.now();
  await waitFor(
    'a snapshot with audio accepted again',
    async () => (await post()).statusCode === 202,
    10_000,
    200,
  );
  console.log(`accepting audio again ${Date.now() - back} ms after the store was back`);
  await traffic.stop();
  for (let i = 0; i < 10; i++) {
    const res = await post();
    assert.equal(res.statusCode, 202, res.body);
  }

  await storedExactlyOnce(app.rt.pool, tenant, acked.keys());
  assert.ok(acked.size >= 15, `load too small: ${acked.size} acknowledged`); // 5 before, 10 after, and the load's
  for (const [id, res] of acked) {
    const key = res.json().storage_key as string;
    assert.ok(key, `${id} acknowledged with a storage key`);
    assert.ok(await app.rt.audio.exists(key), `audio of ${id} is in the store (${key})`);
  }
  assert.equal(statuses.get(500) ?? 0, 0, JSON.stringify([...statuses]));
  console.log(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}, acknowledged ${acked.size}`);
});
