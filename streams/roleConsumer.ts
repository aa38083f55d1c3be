// The one way a role consumes a Kafka topic: subscribe, decode every record through the schema
// registry, dead-letter what cannot be decoded (or skip it, for roles that only learn from records
// another role persists), hand the decoded batch to the role, and commit the batch's offsets only
// after that work has finished. Stopping disconnects after the batch in flight; a crash kafkajs will
// not restart ends the role as failed.
import type { Consumer, ConsumerConfig, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { canRetry, isProgrammingError, VoiceloopError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { Metrics } from '../lib/metrics.ts';
import { sendToDeadLetter } from './deadLetter.ts';
import { createProducer } from './kafka.ts';
import type { Codec } from './registry.ts';

export interface DecodedRecord<T> {
  value: T;
  message: KafkaMessage;
}

export interface ConsumedBatch<T> {
  topic: string;
  partition: number;
  records: DecodedRecord<T>[];
  /** False once the role is stopping or the partition was reassigned: stop early, nothing is committed. */
  isActive(): boolean;
  heartbeat(): Promise<void>;
  /** Sends one record to the dead-letter topic with the reason (only with `deadLetterTopic`). */
  deadLetter(message: KafkaMessage, err: unknown): Promise<void>;
}

export interface RoleConsumerOptions<T> {
  kafka: Kafka;
  log: Logger;
  metrics?: Metrics;
  groupId: string;
  topic: string;
  fromBeginning: boolean;
  codec: Codec<T>;
  /** Records that cannot be decoded (or fail `check`) go here; without it they are skipped. */
  deadLetterTopic?: string;
  /** Throws a VALIDATION error for a decoded record that makes no sense. */
  check?: (value: T) => void;
  partitionsConsumedConcurrently?: number;
  consumer?: Partial<ConsumerConfig>;
  /** Resolve start only once the group has assigned partitions (so nothing published after is missed). */
  awaitJoin?: boolean;
  /** The role's work on one partition's decoded records; offsets are committed after it resolves. */
  handle(batch: ConsumedBatch<T>): Promise<void>;
  /** Called when kafkajs crashes the consumer for good (no restart). */
  onFatal?(err: Error): void;
}

export interface RoleConsumer {
  consumer: Consumer;
  stop(): Promise<void>;
}

const JOIN_TIMEOUT_MS = 30_000;

export async function runRoleConsumer<T>(opts: RoleConsumerOptions<T>): Promise<RoleConsumer> {
  const { log, metrics } = opts;
  const consumer = opts.kafka.consumer({
    groupId: opts.groupId,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: 200,
    allowAutoTopicCreation: false,
    ...opts.consumer,
  });
  const dlq: Producer | undefined = opts.deadLetterTopic ? createProducer(opts.kafka) : undefined;

  // A batch whose handler fails comes back whole: a record already set aside is not set aside again
  // (per partition, until the batch's offsets are committed).
  const lettered = new Map<number, Set<string>>();

  async function deadLetter(topic: string, partition: number, message: KafkaMessage, err: unknown) {
    const done = lettered.get(partition) ?? new Set<string>();
    lettered.set(partition, done);
    if (done.has(message.offset)) return;
    if (!dlq || !opts.deadLetterTopic) {
      log.debug({ topic, partition, offset: message.offset }, 'unusable record skipped');
      return;
    }
    log.warn(
      { topic, partition, offset: message.offset, err: (err as Error).message },
      'record dead-lettered',
    );
    await sendToDeadLetter(
      dlq,
      opts.deadLetterTopic,
      { topic, partition, message, group: opts.groupId },
      err,
    );
    done.add(message.offset);
    metrics?.deadLettered.inc({
      source_topic: topic,
      code: err instanceof VoiceloopError ? err.code : 'UNKNOWN',
    });
  }

  const joined = new Promise<void>((resolve) => {
    const off = consumer.on(consumer.events.GROUP_JOIN, () => {
      off();
      resolve();
    });
  });
  consumer.on(consumer.events.CRASH, (e) => {
    const err = e.payload.error;
    if (e.payload.restart) {
      log.warn({ group: opts.groupId, err: err?.message }, 'consumer crashed; kafkajs restarts it');
      return;
    }
    log.error({ group: opts.groupId, err: err?.message }, 'consumer crashed and will not restart');
    opts.onFatal?.(err instanceof Error ? err : new Error(String(err)));
  });

  await dlq?.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: opts.topic, fromBeginning: opts.fromBeginning });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 1,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      const isActive = () => isRunning() && !isStale();
      const records: DecodedRecord<T>[] = [];
      for (const message of batch.messages) {
        if (!isActive()) return;
        try {
          const value = await opts.codec.decode(message.value);
          opts.check?.(value);
          records.push({ value, message });
        } catch (err) {
          // Transient trouble (registry unreachable) or a bug: fail the batch, it is redelivered.
          if (canRetry(err) || isProgrammingError(err)) throw err;
          await deadLetter(batch.topic, batch.partition, message, err);
        }
      }
      await opts.handle({
        topic: batch.topic,
        partition: batch.partition,
        records,
        isActive,
        heartbeat,
        deadLetter: (message, err) => deadLetter(batch.topic, batch.partition, message, err),
      });
      if (!isActive()) return;
      // The work is done: only now may the group move past these records.
      const next = (BigInt(batch.lastOffset()) + 1n).toString();
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
      lettered.delete(batch.partition);
      resolveOffset(batch.lastOffset());
      await heartbeat();
    },
  });
  if (opts.awaitJoin) {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([joined, new Promise((r) => (t = setTimeout(r, JOIN_TIMEOUT_MS)))]);
    clearTimeout(t);
  }
  return {
    consumer,
    async stop() {
      await consumer
        .disconnect()
        .catch((err) => log.warn({ err: (err as Error).message }, 'consumer disconnect failed'));
      await dlq?.disconnect().catch(() => {});
    },
  };
}
