// Issue 2, "Done when": killing the persister (SIGKILL) mid-stream and restarting it still gives
// exactly N rows — no loss (offsets are committed only after the database commit) and no duplicate
// (snapshot_keys refuses a second row for a redelivered snapshot).

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildSnapshot } from '../../domain/snapshot.ts';
import { envWith } from '../../lib/settings.ts';
import { snapshotInput } from '../helpers/fixtures.ts';
import { defer, producingRuntime, testSettings, waitFor } from '../helpers/runtime.ts';

const root = join(import.meta.dirname, '..', '..');

function startPersisterProcess(prefix: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/start.ts'], {
    cwd: root,
    env: envWith({ ROLES: 'persister', TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn', SNAPSHOT_PARTITIONS: '3' }),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return child;
}

test('SIGKILL of the persister mid-stream, then restart: exactly N rows, no loss, no duplicate', async (t) => {
  const cfg = testSettings('crash');
  const { rt, tenant, codec, producer } = await producingRuntime(t, cfg);
  const count = async () =>
    (
      await rt.pool.query(
        'SELECT count(*)::int AS n, count(DISTINCT snapshot_id)::int AS d FROM station_snapshots WHERE tenant_id = $1',
        [tenant],
      )
    ).rows[0] as { n: number; d: number };

  const N = 6000;
  const BATCH = 300;
  let sent = 0;
  async function publish(batches: number) {
    for (let b = 0; b < batches && sent < N; b++) {
      const messages = [];
      for (let i = 0; i < BATCH && sent < N; i++, sent++) {
        const call = `${tenant}-call-${sent % 40}`;
        messages.push({
          key: call,
          value: codec.encode(buildSnapshot(snapshotInput({ tenant, call, index: Math.floor(sent / 40) }))),
        });
      }
      await producer.send({ topic: cfg.topics.snapshots, acks: -1, messages });
    }
  }

  let child = startPersisterProcess(cfg.topics.prefix);
  defer(t, () => child.kill('SIGKILL'));
  await publish(4);
  await waitFor('first rows', async () => (await count()).n > 0 || undefined, 60_000, 20);
  await publish(6);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  const atKill = await count();
  assert.ok(atKill.n > 0 && atKill.n < N, `killed mid-stream: ${atKill.n} of ${N} persisted`);

  await publish(Number.POSITIVE_INFINITY);
  assert.equal(sent, N);
  child = startPersisterProcess(cfg.topics.prefix);
  const final = await waitFor(
    'N rows',
    async () => {
      const c = await count();
      return c.n >= N ? c : undefined;
    },
    120_000,
    200,
  );
  // Every record redelivered after the kill has been processed once the group's committed offsets
  // reach the topic's end (offsets are committed after the database commit): check again then.
  const admin = rt.kafka.admin();
  await admin.connect();
  defer(t, () => admin.disconnect());
  await waitFor(
    'the restarted persister to commit up to the end of the topic',
    async () => {
      const ends = await admin.fetchTopicOffsets(cfg.topics.snapshots);
      const [mine] = await admin.fetchOffsets({
        groupId: cfg.groups.persister,
        topics: [cfg.topics.snapshots],
      });
      const at = new Map(mine!.partitions.map((p) => [p.partition, Number(p.offset)]));
      return ends.every((e) => (at.get(e.partition) ?? -1) >= Number(e.high)) || undefined;
    },
    120_000,
    200,
  );
  const settled = await count();
  assert.equal(final.n, N);
  assert.equal(settled.n, N);
  assert.equal(settled.d, N);
});
