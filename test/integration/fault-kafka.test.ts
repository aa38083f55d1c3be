// Issue 9, defect 4 and "survive Kafka": with every role in this one process against a private broker
// that is SIGKILLed and started again. While it is down, snapshot requests get 503 + Retry-After within
// about the produce timeout (they hung 20-35 s before) and a full queue answers at once; the process
// lives; once the broker is back, snapshots are accepted again and every acknowledged one is stored
// exactly once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readTestEnv } from '../../lib/settings.ts';
import { createSpoolingProducer } from '../../producers/spool.ts';
import { createStationProducer } from '../../producers/stationProducer.ts';
import { startApp } from '../../runtime/app.ts';
import { pcmTone, snapshotInput } from '../helpers/fixtures.ts';
import { type PrivateKafka, startPrivateKafka } from '../helpers/privateKafka.ts';
import { defer, readTopic, testSettings, token, uniqueId, waitFor } from '../helpers/runtime.ts';
import { snapshotTraffic, storedExactlyOnce } from '../helpers/snapshotTraffic.ts';

let broker: PrivateKafka;
before(async () => {
  broker = await startPrivateKafka((s) => console.log(`[kafka] ${s}`));
});
after(async () => {
  await broker?.destroy();
});

test('issue 9: Kafka down: 503 within ~1 s, bounded queue, process lives, nothing acknowledged lost', async (t) => {
  const cfg = testSettings('kfault', {
    KAFKA_BROKERS: broker.broker,
    PRODUCE_TIMEOUT_MS: '1000',
    PRODUCE_QUEUE_MAX: '8',
  });
  const app = await startApp(cfg, ['api', 'persister', 'relay', 'online'], { listen: false });
  defer(t, () => app.stop());
  const tenant = uniqueId('tn');
  const traffic = snapshotTraffic(app, token(cfg, 'station', tenant), tenant, { calls: 3 });
  const { acked, statuses } = traffic;
  const post = traffic.post;
  // Up: wait until the first snapshot is accepted. A fresh producer's first send fetches metadata and a
  // producer id, which on a loaded machine can outlast the 1 s produce timeout: that answer is a 503
  // with Retry-After (the behaviour under test), so it is waited out here, never taken for a 202.
  await waitFor(
    'the first snapshot accepted',
    async () => (await post()).res.statusCode === 202,
    60_000,
    250,
  );
  assert.deepEqual(
    [...statuses.keys()].filter((c) => c !== 202 && c !== 503),
    [],
  );
  for (let i = 0; i < 4; i++) assert.equal((await post()).res.statusCode, 202);
  await broker.kill();

  // Down: each request is answered 503 with Retry-After and the snapshot id to retry with, in about
  // the produce timeout; none waits for the broker.
  const down = await Promise.all(Array.from({ length: 20 }, () => post()));
  const codes = down.map((d) => d.res.statusCode);
  assert.deepEqual([...new Set(codes)], [503], JSON.stringify(codes));
  for (const d of down) {
    assert.ok(d.res.headers['retry-after'], d.res.body);
    assert.match(d.res.json().message, new RegExp(`snapshot_id ${d.id}`));
  }
  // 8 waited for the 1 s timeout, the other 12 found the queue full and were answered at once.
  // (The timeout's message says "unreachable or overloaded" too: only the queue's own answer counts.)
  const full = down.filter((d) => /already on their way to Kafka/.test(d.res.json().message));
  assert.ok(full.length >= 12, `queue-full answers: ${full.length}`);
  const slowest = Math.max(...down.map((d) => d.ms));
  assert.ok(slowest < 5_000, `slowest answer while Kafka is down took ${Math.round(slowest)} ms`);
  console.log(
    `Kafka down: slowest 503 after ${Math.round(slowest)} ms; ${full.length} of 20 answered queue-full`,
  );

  await sleep(3_000);
  await broker.start();
  const back = Date.now();
  // Back: accepted again (the producer reconnects by itself).
  await waitFor('snapshots accepted again', async () => (await post()).res.statusCode === 202, 60_000, 500);
  console.log(`accepting again ${Date.now() - back} ms after the broker was ready`);
  for (let i = 0; i < 5; i++) assert.equal((await post()).res.statusCode, 202);

  await storedExactlyOnce(app.rt.pool, tenant, acked.keys(), 60_000);
  assert.ok(acked.size >= 11);
});

test('issue 9: broker down 60 s during a call: the station spools, restarts, and every snapshot arrives exactly once, in order', async (t) => {
  const outageMs = readTestEnv().spoolOutageMs;
  const cfg = testSettings('spool', { KAFKA_BROKERS: broker.broker });
  const app = await startApp(cfg, ['persister'], { listen: false });
  defer(t, () => app.stop());
  const dir = mkdtempSync(join(tmpdir(), 'voiceloop-spool-'));
  defer(t, () => rmSync(dir, { recursive: true, force: true }));
  const producer = await createStationProducer({
    kafka: app.rt.kafka,
    codec: app.rt.registry.codec('StationSnapshot'),
    audio: app.rt.audio,
    topic: cfg.topics.snapshots,
    source: 'agent',
  });
  defer(t, () => producer.stop());
  const spoolOf = () => createSpoolingProducer(producer, { dir, sendTimeoutMs: 1000, log: app.rt.log });
  let spool = spoolOf();
  const tenant = uniqueId('tn');
  const call = `${tenant}-call`;
  const ids: string[] = [];
  let index = 0;
  const segment = async () => {
    const id = `${tenant}-seg${index}`;
    ids.push(id);
    await spool.publish(snapshotInput({ tenant, call, index, station: 4, snapshotId: id }), {
      bytes: pcmTone(0.1, 16000, 440, 0.1, index + 1),
      sampleRate: 16000,
    });
    index++;
  };
  for (let i = 0; i < 5; i++) await segment();
  await broker.kill();
  const downAt = Date.now();
  let restarted = false;
  while (Date.now() - downAt < outageMs) {
    await segment();
    // Half way, the agent restarts: a new process finds the spool and keeps it in order.
    if (!restarted && Date.now() - downAt > outageMs / 2) {
      await spool.stop();
      spool = spoolOf();
      restarted = true;
    }
    await sleep(500);
  }
  assert.ok(spool.pending > 0, 'snapshots were spooled during the outage');
  console.log(`outage of ${outageMs} ms: ${spool.pending} snapshots spooled`);
  const starting = broker.start();
  while (!(await Promise.race([starting.then(() => true), sleep(500).then(() => false)]))) await segment();
  for (let i = 0; i < 5; i++) await segment();
  await spool.drained(120_000);
  await spool.stop();

  const rows = await waitFor(
    'every snapshot of the call stored',
    async () => {
      const { rows } = await app.rt.pool.query<{ snapshot_id: string; n: number }>(
        'SELECT snapshot_id, count(*)::int AS n FROM station_snapshots WHERE tenant_id = $1 GROUP BY snapshot_id',
        [tenant],
      );
      return rows.length >= ids.length ? rows : undefined;
    },
    60_000,
    250,
  );
  assert.deepEqual(rows.map((r) => r.snapshot_id).sort(), [...ids].sort());
  assert.deepEqual(
    rows.filter((r) => r.n !== 1),
    [],
  );
  // In order on the topic: the first copy of each snapshot comes in the order it was measured.
  const seen = await readTopic(
    app.rt.kafka,
    cfg.topics.snapshots,
    async (v) => (await app.rt.registry.codec('StationSnapshot').decode(v)).snapshot_id,
    (items) => new Set(items.map((x) => x.value)).size >= ids.length,
    60_000,
  );
  const firsts = [...new Set(seen.filter((x) => x.key === call).map((x) => x.value))];
  assert.deepEqual(firsts, ids);
  console.log(
    `${ids.length} snapshots, ${seen.length} records on the topic (retries included), all stored once`,
  );
});
