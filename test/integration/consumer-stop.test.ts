// Issue 16: a role stopped while its broker is away stays stopped. kafkajs restarts a consumer that
// crashed with a retriable error on a timer of its own; a consumer stopped while that restart was being
// decided or was joining came back after the stop and retried the dead broker for ever, holding the
// process open (fault-kafka.test.ts's leak). This runs one consumer of streams/kafka.ts createConsumer
// against a private broker, kills the broker, stops the consumer while kafkajs is restarting it, and
// counts what the consumer does afterwards.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { createConsumer } from '../../streams/kafka.ts';
import { createTopicsSettled } from '../../streams/topics.ts';
import { type PrivateKafka, startPrivateKafka } from '../helpers/privateKafka.ts';
import { uniqueId, waitFor } from '../helpers/runtime.ts';

let broker: PrivateKafka;
before(async () => {
  broker = await startPrivateKafka((s) => console.log(`[kafka] ${s}`));
});
after(async () => {
  await broker?.destroy();
});

interface Crash {
  at: number;
  restart: boolean;
  /** When kafkajs restarts it: the error's own retry time, or the consumer's initial retry time. */
  retryMs: number;
}

test('a consumer stopped while kafkajs restarts it after a broker outage does not come back', async () => {
  // Short retries so that a restart cycle against the dead broker takes well under a second.
  const kafka = new Kafka({
    clientId: 'consumer-stop',
    brokers: [broker.broker],
    connectionTimeout: 500,
    retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 },
    logLevel: logLevel.NOTHING,
  });
  const topic = uniqueId('cstop');
  await createTopicsSettled(kafka, [{ topic, numPartitions: 1 }]);

  const owned = createConsumer(kafka, {
    groupId: `${topic}.group`,
    maxWaitTimeInMs: 50,
    retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 200 },
  });
  const { consumer } = owned;
  const crashes: Crash[] = [];
  let joins = 0;
  consumer.on(consumer.events.CRASH, (e) => {
    const retryTime = (e.payload.error as Error & { retryTime?: number }).retryTime;
    crashes.push({ at: Date.now(), restart: e.payload.restart, retryMs: retryTime ?? 100 });
  });
  consumer.on(consumer.events.GROUP_JOIN, () => joins++);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachBatch: async () => {} });
  await waitFor('the consumer joined its group', async () => joins > 0, 30_000, 50);

  await broker.kill();
  // kafkajs decides to restart (a retriable crash) and starts the consumer again after the crash's
  // retry time; that start then spends a few hundred ms trying the dead broker. Stop inside it.
  await waitFor('a crash that kafkajs restarts', async () => crashes.some((c) => c.restart), 60_000, 5);
  const restart = crashes.find((c) => c.restart)!;
  await sleep(Math.max(0, restart.at + restart.retryMs + 30 - Date.now()));
  await owned.stop();
  const stoppedAt = Date.now();

  // The restart cycle is well under a second here: a consumer that came back would crash again and
  // again in this window.
  await sleep(4_000);
  const afterStop = crashes.filter((c) => c.at > stoppedAt);
  assert.deepEqual(
    afterStop.filter((c) => c.restart),
    [],
    'no restart of the stopped consumer is scheduled after its stop',
  );
  assert.ok(afterStop.length <= 1, `the stopped consumer crashed ${afterStop.length} times after its stop`);
});
