// Issue 11 point 4: "a persister's group went Empty after 1,500 snapshots while the process lived".
// Reproduced here: kafkajs heartbeats only between batches, so a batch slower than the session timeout
// (here a PostgreSQL row lock held on the batch's call) got the only member evicted, the group Empty;
// the batch's commit was then refused (UNKNOWN_MEMBER_ID), which `consumer.commitOffsets` hands back
// wrapped as a non-retriable error, and kafkajs crashed the consumer with `restart: false`. The
// persister of 2026-11-26 only logged that crash: group Empty for good, process alive. Since
// 2026-12-02 the crash is restarted (streams/roleConsumer.ts); now the consumer heartbeats while a
// batch is in work, and a membership lost all the same (the process itself stalled) is a rejoin.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import pino from 'pino';
import { startPersister } from '../../consumers/persister/index.ts';
import { buildSnapshot } from '../../domain/snapshot.ts';
import { createLogger } from '../../lib/log.ts';
import { createMetrics } from '../../lib/metrics.ts';
import { runRoleConsumer } from '../../streams/roleConsumer.ts';
import { ackStream } from '../helpers/ackStream.ts';
import { snapshotInput } from '../helpers/fixtures.ts';
import { defer, groupOffsets, producingRuntime, testSettings, waitFor } from '../helpers/runtime.ts';

// The broker's smallest allowed session timeout (group.min.session.timeout.ms): a short test.
const SESSION_MS = 6_000;
const consumerSettings = { sessionTimeout: SESSION_MS, heartbeatInterval: 1_000 };

/** Samples a group's state (and member count) every 250 ms until stopped. */
function watchGroup(admin: import('kafkajs').Admin, group: string) {
  const samples: { at: number; state: string; members: number }[] = [];
  let on = true;
  const done = (async () => {
    while (on) {
      const g = (await admin.describeGroups([group])).groups[0];
      if (g) samples.push({ at: Date.now(), state: g.state, members: g.members.length });
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    samples,
    stop: async () => {
      on = false;
      await done;
    },
  };
}

/**
 * N snapshots of one call on the snapshot topic, the call already known, and another session holding
 * its row (FOR UPDATE): a persister's batch of them waits on the lock until `release()`.
 */
async function heldCall(t: TestContext, prefix: string, N: number) {
  const cfg = testSettings(prefix);
  const { rt, tenant, codec, producer } = await producingRuntime(t, cfg);
  const call = `${tenant}-call`;
  const messages = Array.from({ length: N }, (_, i) => ({
    key: call,
    value: codec.encode(buildSnapshot(snapshotInput({ tenant, call, index: i }))),
  }));
  await producer.send({ topic: cfg.topics.snapshots, acks: -1, messages });
  await rt.pool.query(
    'INSERT INTO calls (tenant_id, call_id, first_seen_at, last_seen_at) VALUES ($1, $2, now(), now())',
    [tenant, call],
  );
  const locker = await rt.pool.connect();
  let locked = true;
  const release = async () => {
    if (locked) await locker.query('ROLLBACK');
    locked = false;
  };
  defer(t, async () => {
    await release();
    locker.release();
  });
  await locker.query('BEGIN');
  await locker.query('SELECT 1 FROM calls WHERE tenant_id = $1 AND call_id = $2 FOR UPDATE', [tenant, call]);
  const count = async () =>
    (
      await rt.pool.query<{ n: number; d: number }>(
        'SELECT count(*)::int AS n, count(DISTINCT snapshot_id)::int AS d FROM station_snapshots WHERE tenant_id = $1',
        [tenant],
      )
    ).rows[0]!;
  /** Releases the lock, waits until every snapshot is stored and the group has committed them all. */
  const releaseAndDrain = async () => {
    await release();
    const final = await waitFor('every snapshot persisted', async () => {
      const c = await count();
      return c.n >= N ? c : undefined;
    });
    const offsets = await groupOffsets(t, rt.kafka, cfg.groups.persister, cfg.topics.snapshots);
    await offsets.caughtUp();
    return final;
  };
  return { cfg, rt, codec, count, release, releaseAndDrain };
}

/** What a role logs at warning and above, kept as parsed lines. */
function warnings() {
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
  const said = () => lines.map((l) => JSON.parse(l) as { msg: string; group?: string; level: number });
  return { log, lines, said };
}

test('a persister batch held by PostgreSQL past the session timeout keeps its group Stable', async (t) => {
  const N = 300;
  const { cfg, rt, codec, count, release, releaseAndDrain } = await heldCall(t, 'pstall', N);

  const admin = rt.kafka.admin();
  await admin.connect();
  defer(t, () => admin.disconnect());
  const watch = watchGroup(admin, cfg.groups.persister);
  defer(t, () => watch.stop());
  const metrics = createMetrics();
  // What the role logs at warning and above, kept to check that the slow batch was said.
  const { log, lines, said } = warnings();
  const persister = await startPersister(
    { kafka: rt.kafka, pool: rt.pool, codec, log, metrics },
    { topics: cfg.topics, groupId: cfg.groups.persister, consumer: consumerSettings },
  );
  defer(t, () => persister.stop());
  // Cleanup runs last-registered first: the lock goes before the persister is stopped, or a failed
  // test's stop would wait on the batch that waits on the lock.
  defer(t, release);

  // Hold the lock for 2.5 session timeouts once the persister's member is in the group.
  await waitFor(
    'the persister in its group',
    async () => watch.samples.at(-1)?.state === 'Stable' || undefined,
  );
  const heldFrom = Date.now();
  await new Promise((r) => setTimeout(r, 2.5 * SESSION_MS));
  const whileHeld = watch.samples.filter((s) => s.at >= heldFrom);
  assert.equal((await count()).n, 0, 'the batch was still waiting on the lock when it was released');
  const final = await releaseAndDrain();
  await watch.stop();
  assert.ok(whileHeld.length >= 20, `the group was sampled while the batch waited (${whileHeld.length})`);
  assert.deepEqual(
    [...new Set(whileHeld.map((s) => `${s.state}/${s.members}`))],
    ['Stable/1'],
    'the group kept its one member all the while the batch waited',
  );
  assert.deepEqual(final, { n: N, d: N }, 'every snapshot once');
  assert.deepEqual((await metrics.consumerRestarts.get()).values, [], 'the consumer never crashed');
  assert.equal(persister.state, 'running');
  // The batch stuck behind the lock was visible while it lasted, named by group and partition.
  const slow = said().filter((l) => l.group === cfg.groups.persister && l.level === 40);
  assert.ok(
    slow.some((l) => /has been in work for over 6000 ms, the session timeout/.test(l.msg)),
    `the slow batch was logged while in work: ${lines.join('')}`,
  );
  assert.ok(
    slow.some((l) => /slow batch .* ended after \d+ ms/.test(l.msg)),
    'and when it ended',
  );
});

test('a persister statement waiting on a lock past its statement timeout is cancelled, said, and tried again', async (t) => {
  const N = 50;
  const { cfg, rt, codec, count, release, releaseAndDrain } = await heldCall(t, 'pstmt', N);
  const metrics = createMetrics();
  const { log, lines, said } = warnings();
  const persister = await startPersister(
    { kafka: rt.kafka, pool: rt.pool, codec, log, metrics },
    { topics: cfg.topics, groupId: cfg.groups.persister, statementTimeoutMs: 1_000 },
  );
  defer(t, () => persister.stop());
  // Cleanup runs last-registered first: the lock goes before the persister is stopped, or a failed
  // test's stop would wait on the batch that waits on the lock.
  defer(t, release);
  // Without the timeout the batch would wait on the lock as long as it is held (the test above).
  const cancelled = await waitFor(
    'the batch cancelled by its statement timeout and said',
    async () => said().find((l) => l.level === 40 && /statement timeout/.test(l.msg)) ?? undefined,
    30_000,
  );
  assert.match(cancelled.msg, /PostgreSQL/, cancelled.msg);
  assert.equal((await count()).n, 0, 'nothing written while the lock is held');
  const final = await releaseAndDrain();
  assert.deepEqual(final, { n: N, d: N }, 'every snapshot once');
  assert.deepEqual((await metrics.consumerRestarts.get()).values, [], 'tried again in place, no crash');
  assert.equal(persister.state, 'running');
  assert.ok(
    said().some((l) => /answers again/.test(l.msg)),
    `the end of the refusals was said too: ${lines.join('')}`,
  );
});

test('a persister statement timeout that is not a positive integer is refused naming it', async () => {
  for (const bad of [0, -5, 1.5, Number.NaN]) {
    await assert.rejects(
      startPersister(
        // Refused before anything is used.
        {} as Parameters<typeof startPersister>[0],
        { topics: { snapshots: 'x', deadLetters: 'y' }, groupId: 'g', statementTimeoutMs: bad },
      ),
      (err: Error) => /statementTimeoutMs must be a positive integer/.test(err.message),
    );
  }
});

test('a consumer whose process stalled past the session timeout rejoins without a crash', async (t) => {
  const { cfg, rt, codec, publish } = await ackStream(t, 'cstall');
  await publish(1, 20);

  const group = `${cfg.topics.prefix}.stall-role`;
  const metrics = createMetrics();
  const seen: number[] = [];
  let stalled = false;
  let fatal: Error | undefined;
  const consumer = await runRoleConsumer({
    kafka: rt.kafka,
    log: createLogger('silent'),
    metrics,
    groupId: group,
    topic: cfg.topics.acks,
    fromBeginning: true,
    codec,
    awaitJoin: true,
    consumer: consumerSettings,
    async handle(batch) {
      if (!stalled) {
        stalled = true;
        // The whole process stops (a long GC pause, a starved CPU): no heartbeat can go out.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SESSION_MS + 4_000);
      }
      for (const r of batch.records) seen.push(r.value.version);
    },
    onFatal: (err) => {
      fatal = err;
    },
  });
  defer(t, () => consumer.stop());

  // The stalled batch's commit is refused (the member was evicted): its records come again.
  await waitFor('the stalled batch delivered again', async () =>
    seen.filter((v) => v === 1).length >= 2 ? true : undefined,
  );
  const offsets = await groupOffsets(t, rt.kafka, group, cfg.topics.acks);
  await offsets.caughtUp();
  for (let v = 1; v <= 20; v++) assert.ok(seen.includes(v), `version ${v} handled`);
  assert.deepEqual((await metrics.consumerRestarts.get()).values, [], 'a rejoin, not a crash and restart');
  assert.equal(fatal, undefined);
  const g = (await offsets.admin.describeGroups([group])).groups[0]!;
  assert.deepEqual([g.state, g.members.length], ['Stable', 1], 'back in the group');
});
