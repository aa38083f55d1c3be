// A role's consumer that crashes in a way kafkajs will not restart by itself (here: a programming error
// in the role's handler, which kafkajs classifies as unrecoverable) is restarted by the shared helper
// (streams/roleConsumer.ts) and consumes again: nothing is lost (the crashed batch was not committed),
// the restart is counted in a metric, and later records are consumed too. A handler that crashes every
// time ends the role as failed after the allowed restarts, instead of sitting alive but deaf.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../lib/log.ts';
import { createMetrics } from '../../lib/metrics.ts';
import { runRoleConsumer } from '../../streams/roleConsumer.ts';
import { ackStream } from '../helpers/ackStream.ts';
import { defer, waitFor } from '../helpers/runtime.ts';

test('a consumer crash kafkajs does not restart is restarted, counted, and consuming goes on', async (t) => {
  const { cfg, rt, codec, publish } = await ackStream(t, 'rcrash');
  const metrics = createMetrics();
  const seen: number[] = [];
  let crashed = false;
  let fatal: Error | undefined;
  await publish(1, 20);
  const consumer = await runRoleConsumer({
    kafka: rt.kafka,
    log: createLogger('silent'),
    metrics,
    groupId: `${cfg.topics.prefix}.crash-role`,
    topic: cfg.topics.acks,
    fromBeginning: true,
    codec,
    awaitJoin: true,
    async handle(batch) {
      if (!crashed && batch.records.some((r) => r.value.version === 10)) {
        crashed = true;
        // A programming error: kafkajs gives up on the consumer (no restart of its own).
        throw new TypeError('the handler met a bug at version 10');
      }
      for (const r of batch.records) seen.push(r.value.version);
    },
    onFatal: (err) => {
      fatal = err;
    },
  });
  defer(t, () => consumer.stop());

  await waitFor('every record of the first batch handled after the restart', async () =>
    seen.includes(20) ? true : undefined,
  );
  assert.ok(crashed, 'the handler crashed the consumer once');
  const restarts = await metrics.consumerRestarts.get();
  assert.deepEqual(
    restarts.values.map((v) => [v.labels.group, v.value]),
    [[`${cfg.topics.prefix}.crash-role`, 1]],
    'one restart counted for the group',
  );
  // Records published after the restart are consumed by the restarted consumer.
  await publish(21, 30);
  await waitFor('the records published after the restart', async () =>
    seen.includes(30) ? true : undefined,
  );
  const distinct = new Set(seen);
  for (let v = 1; v <= 30; v++) assert.ok(distinct.has(v), `version ${v} handled`);
  assert.equal(fatal, undefined, 'the role did not fail');
});

test('a consumer that crashes on every attempt ends the role as failed after its restarts', async (t) => {
  const { cfg, rt, codec, publish } = await ackStream(t, 'rfatal');
  const metrics = createMetrics();
  let attempts = 0;
  let fatal: Error | undefined;
  await publish(1, 3);
  const consumer = await runRoleConsumer({
    kafka: rt.kafka,
    log: createLogger('silent'),
    metrics,
    groupId: `${cfg.topics.prefix}.poison-role`,
    topic: cfg.topics.acks,
    fromBeginning: true,
    codec,
    maxRestarts: 2,
    async handle() {
      attempts++;
      throw new TypeError('the handler fails on this batch every time');
    },
    onFatal: (err) => {
      fatal = err;
    },
  });
  defer(t, () => consumer.stop());
  const err = await waitFor('the role to give up', async () => fatal, 60_000);
  assert.match(err.message, /every time/, 'the reason is the handler error');
  assert.equal(attempts, 3, 'the first run and two restarts each met the batch');
  const restarts = await metrics.consumerRestarts.get();
  assert.equal(restarts.values[0]?.value, 2, 'two restarts counted');
});
